#!/usr/bin/env python3
"""Generates the large benchmark set: 100,000 findings as saved
`aws ecr describe-image-scan-findings` output, half basic (50 pages of 1,000) and half
enhanced (500 pages of 100, Inspector's page size). Deterministic, so runs compare.

usage: gen-large-fixture.py OUT_DIR [TOTAL]
"""
import json
import os
import random
import sys

SEVERITIES = ["CRITICAL", "HIGH", "MEDIUM", "LOW", "INFORMATIONAL", "UNDEFINED"]
WEIGHTS = [2, 10, 35, 35, 10, 8]


def digest(n):
    return "sha256:" + format(n, "064x")


def basic_pages(count, rng):
    findings = []
    for i in range(count):
        sev = rng.choices(SEVERITIES, WEIGHTS)[0]
        findings.append({
            "name": f"CVE-20{20 + i % 7}-{10000 + i}",
            "description": f"A flaw in package pkg{i % 900} allows an attacker to do thing {i}. " * 2,
            "uri": f"https://security-tracker.debian.org/tracker/CVE-20{20 + i % 7}-{10000 + i}",
            "severity": sev,
            "attributes": [
                {"key": "package_version", "value": f"1.{i % 50}.{i % 7}-1"},
                {"key": "package_name", "value": f"pkg{i % 900}"},
                {"key": "CVSS3_VECTOR", "value": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"},
                {"key": "CVSS3_SCORE", "value": f"{rng.uniform(1, 10):.1f}"},
            ],
        })
    return paginate(findings, 1000, "app/large-basic", digest(1), "findings")


def enhanced_pages(count, rng):
    findings = []
    for i in range(count):
        sev = rng.choices(["CRITICAL", "HIGH", "MEDIUM", "LOW", "UNTRIAGED"], [2, 10, 40, 40, 8])[0]
        vid = f"CVE-20{20 + i % 7}-{50000 + i}"
        findings.append({
            "awsAccountId": "123456789012",
            "description": f"Enhanced finding {i}: improper input validation in lib{i % 700}. " * 2,
            "findingArn": f"arn:aws:inspector2:us-east-1:123456789012:finding/{i:032x}",
            "firstObservedAt": "2026-11-20T09:14:31.512000+00:00",
            "lastObservedAt": "2026-11-21T09:14:31.512000+00:00",
            "packageVulnerabilityDetails": {
                "cvss": [{"baseScore": 7.5, "scoringVector": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N",
                          "source": "NVD", "version": "3.1"}],
                "referenceUrls": [f"https://example.test/advisory/{i}"],
                "source": "NVD",
                "sourceUrl": f"https://nvd.nist.gov/vuln/detail/{vid}",
                "vendorSeverity": sev,
                "vulnerabilityId": vid,
                "vulnerablePackages": [{
                    "arch": "X86_64", "epoch": 0, "name": f"lib{i % 700}", "packageManager": "OS",
                    "release": "1+deb12u1", "version": f"2.{i % 30}.0",
                    "fixedInVersion": f"2.{i % 30}.1" if i % 3 else "NotAvailable",
                }],
            },
            "score": 7.5,
            "severity": sev,
            "status": "SUPPRESSED" if i % 97 == 0 else ("CLOSED" if i % 89 == 0 else "ACTIVE"),
            "title": f"{vid} - lib{i % 700}",
            "type": "PACKAGE_VULNERABILITY",
            "updatedAt": "2026-11-21T09:14:31.512000+00:00",
            "fixAvailable": "YES" if i % 3 else "NO",
            "exploitAvailable": "YES" if i % 11 == 0 else "NO",
        })
    return paginate(findings, 100, "app/large-enhanced", digest(2), "enhancedFindings")


def paginate(findings, size, repository, image_digest, key):
    counts = {}
    for f in findings:
        counts[f["severity"]] = counts.get(f["severity"], 0) + 1
    pages = []
    for start in range(0, len(findings), size):
        page = {
            "imageScanFindings": {
                key: findings[start:start + size],
                "imageScanCompletedAt": "2026-11-21T09:14:31.512000+00:00",
                "vulnerabilitySourceUpdatedAt": "2026-11-21T06:02:11+00:00",
                "findingSeverityCounts": counts,
            },
            "registryId": "123456789012",
            "repositoryName": repository,
            "imageId": {"imageDigest": image_digest, "imageTag": "bench"},
            "imageScanStatus": {"status": "COMPLETE", "description": "The scan was completed successfully."},
        }
        if start + size < len(findings):
            page["nextToken"] = f"token-{start + size}"
        pages.append(page)
    return pages


def main():
    out = sys.argv[1]
    total = int(sys.argv[2]) if len(sys.argv) > 2 else 100_000
    os.makedirs(out, exist_ok=True)
    rng = random.Random(42)
    with open(os.path.join(out, "basic.json"), "w") as f:
        json.dump(basic_pages(total // 2, rng), f)
    with open(os.path.join(out, "enhanced.json"), "w") as f:
        json.dump(enhanced_pages(total - total // 2, rng), f)


if __name__ == "__main__":
    main()
