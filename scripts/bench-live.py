#!/usr/bin/env python3
"""Benchmark (issue 4): `ecr-scan-gate check` against today's shell approach on the same
scripted ECR (127.0.0.1, 5,000 findings in 50 pages), in one run.

The shell approach is what teams glue together today:
    aws ecr wait image-scan-complete ... &&
    aws ecr describe-image-scan-findings ... | jq '<count HIGH and CRITICAL>'
(the CLI follows nextToken itself). Prints the median wall time of each and the ratio.

usage: bench-live.py [RUNS]   (needs .tools from scripts/install-tools.sh, jq, a release build)
"""
import json
import os
import shutil
import statistics
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DIGEST = "sha256:" + "ab" * 32
PAGES, PER_PAGE = 50, 100
SEVERITIES = ["CRITICAL", "HIGH", "MEDIUM", "LOW", "INFORMATIONAL"]


def finding(i):
    return {
        "name": f"CVE-2026-{10000 + i}",
        "description": f"A flaw in pkg{i % 300} lets an attacker do thing {i}.",
        "uri": f"https://security-tracker.debian.org/tracker/CVE-2026-{10000 + i}",
        "severity": SEVERITIES[i % len(SEVERITIES)],
        "attributes": [{"key": "package_name", "value": f"pkg{i % 300}"},
                       {"key": "package_version", "value": "1.0-1"},
                       {"key": "CVSS3_SCORE", "value": "7.5"}],
    }


def build_pages():
    counts = {}
    for i in range(PAGES * PER_PAGE):
        sev = finding(i)["severity"]
        counts[sev] = counts.get(sev, 0) + 1
    pages = {}
    for p in range(PAGES):
        page = {
            "registryId": "123456789012", "repositoryName": "app/web",
            "imageId": {"imageDigest": DIGEST, "imageTag": "v1"},
            "imageScanStatus": {"status": "COMPLETE", "description": "The scan was completed successfully."},
            "imageScanFindings": {
                "imageScanCompletedAt": 1763630071.512, "vulnerabilitySourceUpdatedAt": 1763620000,
                "findingSeverityCounts": counts,
                "findings": [finding(i) for i in range(p * PER_PAGE, (p + 1) * PER_PAGE)],
            },
        }
        if p + 1 < PAGES:
            page["nextToken"] = f"token-{p + 1}"
        pages[None if p == 0 else f"token-{p}"] = json.dumps(page).encode()
    return pages


PAGES_BY_TOKEN = build_pages()
IMAGES = json.dumps({"imageDetails": [{
    "registryId": "123456789012", "repositoryName": "app/web", "imageDigest": DIGEST, "imageTags": ["v1"],
    "imageManifestMediaType": "application/vnd.oci.image.manifest.v1+json",
    "imageScanStatus": {"status": "COMPLETE", "description": "done"}}]}).encode()


class Fake(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers.get("content-length", 0))) or b"{}")
        op = self.headers.get("x-amz-target", "").rsplit(".", 1)[-1]
        if op == "DescribeImages":
            answer = IMAGES
        elif op == "DescribeImageScanFindings":
            answer = PAGES_BY_TOKEN[body.get("nextToken")]
        else:
            self.send_response(400)
            answer = json.dumps({"__type": "InvalidParameterException", "message": op}).encode()
        if op in ("DescribeImages", "DescribeImageScanFindings"):
            self.send_response(200)
        self.send_header("content-type", "application/x-amz-json-1.1")
        self.send_header("content-length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, *args):
        pass


def timed(cmd, env, shell=False):
    start = time.perf_counter()
    result = subprocess.run(cmd, env=env, shell=shell, capture_output=True, text=True)
    return time.perf_counter() - start, result


def main():
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    server = ThreadingHTTPServer(("127.0.0.1", 0), Fake)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_port}"
    env = dict(os.environ, AWS_ACCESS_KEY_ID="test", AWS_SECRET_ACCESS_KEY="test", AWS_DEFAULT_REGION="us-east-1",
               AWS_REGION="us-east-1", AWS_EC2_METADATA_DISABLED="true", AWS_PAGER="")
    gate = os.path.join(ROOT, "target/release/ecr-scan-gate")
    aws = os.path.join(ROOT, ".tools/venv/bin/aws")
    jq = shutil.which("jq")
    if not (os.path.exists(gate) and os.path.exists(aws) and jq):
        sys.exit("needs target/release/ecr-scan-gate (cargo build --release), .tools (scripts/install-tools.sh) and jq")
    gate_cmd = [gate, "check", "app/web:v1", "--endpoint-url", url, "--region", "us-east-1", "-q", "-o", "json=/dev/null"]
    shell_cmd = (
        f"{aws} ecr wait image-scan-complete --endpoint-url {url} --repository-name app/web --image-id imageTag=v1 && "
        f"{aws} ecr describe-image-scan-findings --endpoint-url {url} --repository-name app/web "
        f"--image-id imageTag=v1 --output json | {jq} '[.imageScanFindings.findings[] | "
        f"select(.severity == \"CRITICAL\" or .severity == \"HIGH\")] | length'"
    )
    # One warm-up each (page cache, Python bytecode), then measured runs interleaved.
    _, g = timed(gate_cmd, env)
    _, s = timed(shell_cmd, env, shell=True)
    assert g.returncode == 1, f"check should fail on 2,000 HIGH/CRITICAL findings: {g.returncode} {g.stderr}"
    assert s.stdout.strip() == "2000", f"shell approach counted {s.stdout!r} {s.stderr}"
    gate_times, shell_times = [], []
    for _ in range(runs):
        gate_times.append(timed(gate_cmd, env)[0])
        shell_times.append(timed(shell_cmd, env, shell=True)[0])
    g, s = statistics.median(gate_times), statistics.median(shell_times)
    print(f"findings: {PAGES * PER_PAGE} in {PAGES} pages, {runs} runs each, median wall time")
    print(f"ecr-scan-gate check (resolve + wait + 50 pages + policy + JSON report): {g * 1000:.0f} ms")
    print(f"aws ecr wait + describe-image-scan-findings | jq:                       {s * 1000:.0f} ms")
    print(f"ratio (shell / ecr-scan-gate): {s / g:.1f}x")
    server.shutdown()


if __name__ == "__main__":
    main()
