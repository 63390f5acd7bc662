#!/usr/bin/env python3
"""Generates full-size risk data for the benchmark: a CISA KEV catalog of 1,400 entries in the
published JSON feed format, and a FIRST EPSS daily file of 300,000 rows (gzip), as the real
feeds are sized. Their CVE ids cover the ones gen-large-fixture.py writes, so lookups hit as
they would on a real image. Deterministic, so runs compare.

usage: gen-risk-data.py OUT_DIR
"""
import datetime
import gzip
import json
import os
import random
import sys

ROWS = 300_000
KEV_ENTRIES = 1_400


def cve_ids():
    """Every CVE id gen-large-fixture.py writes (same formulas), then older ids up to ROWS."""
    ids = [f"CVE-20{20 + i % 7}-{10000 + i}" for i in range(50_000)]
    ids += [f"CVE-20{20 + i % 7}-{50000 + i}" for i in range(50_000)]
    year, n = 1999, 1
    while len(ids) < ROWS:
        ids.append(f"CVE-{year}-{n:04d}")
        n += 1
        if n > 9_000:
            year, n = year + 1, 1
    return ids[:ROWS]


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    rng = random.Random(7)
    today = datetime.date.today()
    ids = cve_ids()
    rng.shuffle(ids)
    # EPSS is heavily skewed: most CVEs score well under 1%, a few near 1.
    scores = sorted(((min(1.0, rng.paretovariate(1.2) * 0.0004), cve) for cve in ids), reverse=False)
    rows = []
    for rank, (score, cve) in enumerate(scores):
        rows.append(f"{cve},{score:.5f},{rank / len(scores):.5f}\n")
    rows.sort()
    with gzip.open(os.path.join(out, "epss_scores.csv.gz"), "wt", compresslevel=6) as f:
        f.write(f"#model_version:v2025.03.14,score_date:{today.isoformat()}T12:55:00Z\n")
        f.write("cve,epss,percentile\n")
        f.writelines(rows)

    vulnerabilities = []
    for i, cve in enumerate(rng.sample(ids, KEV_ENTRIES)):
        added = today - datetime.timedelta(days=rng.randrange(1, 1500))
        vulnerabilities.append({
            "cveID": cve,
            "vendorProject": f"Vendor {i % 300}",
            "product": f"Product {i % 800}",
            "vulnerabilityName": f"Vendor {i % 300} Product {i % 800} Remote Code Execution Vulnerability",
            "dateAdded": added.isoformat(),
            "shortDescription": "Product contains an unspecified vulnerability that allows remote code execution. " * 2,
            "requiredAction": "Apply mitigations per vendor instructions, follow applicable BOD 22-01 guidance "
                              "for cloud services, or discontinue use of the product if mitigations are unavailable.",
            "dueDate": (added + datetime.timedelta(days=21)).isoformat(),
            "knownRansomwareCampaignUse": "Known" if i % 5 == 0 else "Unknown",
            "notes": f"https://example.test/advisories/{cve} ; https://nvd.nist.gov/vuln/detail/{cve}",
            "cwes": [f"CWE-{rng.choice([20, 22, 78, 79, 94, 287, 416, 787])}"],
        })
    catalog = {
        "title": "CISA Catalog of Known Exploited Vulnerabilities",
        "catalogVersion": today.strftime("%Y.%m.%d"),
        "dateReleased": f"{today.isoformat()}T17:01:44.6254Z",
        "count": len(vulnerabilities),
        "vulnerabilities": vulnerabilities,
    }
    with open(os.path.join(out, "known_exploited_vulnerabilities.json"), "w") as f:
        json.dump(catalog, f, indent=2)


if __name__ == "__main__":
    main()
