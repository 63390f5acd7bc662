#!/usr/bin/env python3
"""Benchmark (issue 17, adaptive concurrency): a fleet of 100 images against a scripted ECR on
127.0.0.1 that answers every request after 100 ms.

(a) 100 sequential single-image `check` runs against one run of all 100 images at the default
    --concurrency: wall times and the ratio (bar: >= 20x).
(b) The same 100 images against the same server with a rate quota (--quota, default 20
    requests/s): a token bucket shared by every call, as many tokens as one second's refill,
    answering HTTP 400 ThrottlingException beyond it. Prints the share of requests throttled
    (bar: <= 10 %), the wall time against the quota's floor (every request the run needs, at
    the quota's rate; bar: <= 1.5x) and whether every image was judged right (exit code and
    the JSON verdicts). Run at the defaults, and with --max-attempts 1 (the SDK then retries
    nothing, so every throttle reaches the gate's own limiter and retry loop).

Every image has a COMPLETE basic scan; one in four has a HIGH finding (fails the default
policy), the others LOW and MEDIUM ones (pass).

usage: bench-fleet.py [--bin PATH] [--quota N] [--images N] [--skip-sequential]
       (a release build: cargo build --release)
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LATENCY = 0.1
REGISTRY = "123456789012"


def repository(i):
    return f"fleet/svc-{i:03d}"


def digest(i):
    return "sha256:" + f"{i:064x}"


def fails(i):
    return i % 4 == 0


def finding(name, severity):
    return {
        "name": name,
        "description": f"{name}: a flaw",
        "uri": f"https://security-tracker.debian.org/tracker/{name}",
        "severity": severity,
        "attributes": [{"key": "package_name", "value": "pkg"},
                       {"key": "package_version", "value": "1.0-1"}],
    }


def findings(i):
    found = [finding(f"CVE-2026-{i}1", "LOW"), finding(f"CVE-2026-{i}2", "MEDIUM")]
    if fails(i):
        found.append(finding(f"CVE-2026-{i}3", "HIGH"))
    return found


def index_of(name):
    try:
        return int(name.rsplit("-", 1)[1])
    except (IndexError, ValueError):
        return None


class Server:
    """The shared state: the quota's bucket and what was asked."""

    def __init__(self):
        self.lock = threading.Lock()
        self.quota = None
        self.tokens = 0.0
        self.stamp = time.monotonic()
        self.requests = 0
        self.throttled = 0

    def reset(self, quota):
        with self.lock:
            self.quota = quota
            self.tokens = float(quota or 0)
            self.stamp = time.monotonic()
            self.requests = 0
            self.throttled = 0

    def admit(self):
        """Counts a request; False when the quota throttles it."""
        with self.lock:
            self.requests += 1
            if self.quota is None:
                return True
            now = time.monotonic()
            self.tokens = min(float(self.quota), self.tokens + (now - self.stamp) * self.quota)
            self.stamp = now
            if self.tokens >= 1.0:
                self.tokens -= 1.0
                return True
            self.throttled += 1
            return False


STATE = Server()


class Fake(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def answer(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("content-type", "application/x-amz-json-1.1")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers.get("content-length", 0))) or b"{}")
        op = self.headers.get("x-amz-target", "").rsplit(".", 1)[-1]
        admitted = STATE.admit()
        time.sleep(LATENCY)
        if not admitted:
            return self.answer(400, {"__type": "ThrottlingException", "message": "Rate exceeded"})
        if op == "GetRegistryScanningConfiguration":
            return self.answer(200, {"registryId": REGISTRY,
                                     "scanningConfiguration": {"scanType": "BASIC", "rules": []}})
        i = index_of(body.get("repositoryName", ""))
        if i is None:
            return self.answer(400, {"__type": "RepositoryNotFoundException", "message": "no such repository"})
        if op == "DescribeImages":
            return self.answer(200, {"imageDetails": [{
                "registryId": REGISTRY, "repositoryName": repository(i), "imageDigest": digest(i),
                "imageTags": ["v1"], "imageManifestMediaType": "application/vnd.oci.image.manifest.v1+json",
                "imageScanStatus": {"status": "COMPLETE", "description": "done"}}]})
        if op == "DescribeImageScanFindings":
            found = findings(i)
            counts = {}
            for f in found:
                counts[f["severity"]] = counts.get(f["severity"], 0) + 1
            return self.answer(200, {
                "registryId": REGISTRY, "repositoryName": repository(i),
                "imageId": {"imageDigest": digest(i), "imageTag": "v1"},
                "imageScanStatus": {"status": "COMPLETE", "description": "The scan was completed successfully."},
                "imageScanFindings": {"imageScanCompletedAt": 1763630071.512,
                                      "vulnerabilitySourceUpdatedAt": 1763620000,
                                      "findingSeverityCounts": counts, "findings": found}})
        return self.answer(400, {"__type": "InvalidParameterException", "message": op})

    def log_message(self, *args):
        pass


class Listener(ThreadingHTTPServer):
    daemon_threads = True
    # 32 connections open at once: the default backlog of 5 would cost SYN retries (1 s each).
    request_queue_size = 256


def environment():
    env = {k: v for k, v in os.environ.items() if not k.startswith("ECR_SCAN_GATE_") and k != "RUST_LOG"}
    env.update(AWS_ACCESS_KEY_ID="bench", AWS_SECRET_ACCESS_KEY="bench",
               AWS_REGION="us-east-1", AWS_DEFAULT_REGION="us-east-1", AWS_EC2_METADATA_DISABLED="true",
               AWS_CONFIG_FILE="/dev/null", AWS_SHARED_CREDENTIALS_FILE="/dev/null", NO_COLOR="1")
    env.pop("AWS_SESSION_TOKEN", None)
    env.pop("AWS_PROFILE", None)
    return env


def check(gate, url, indices, extra, json_path):
    cmd = [gate, "check", *[f"{repository(i)}:v1" for i in indices], "--endpoint-url", url,
           "--region", "us-east-1", "-q", "-o", f"json={json_path}", *extra]
    start = time.perf_counter()
    result = subprocess.run(cmd, env=environment(), capture_output=True, text=True)
    return time.perf_counter() - start, result


def judged_right(result, json_path, indices):
    """Exit code and every verdict as the findings say; a description of what was wrong."""
    expected_code = 1 if any(fails(i) for i in indices) else 0
    problems = []
    if result.returncode != expected_code:
        problems.append(f"exit {result.returncode}, expected {expected_code}: {result.stderr.strip()[:300]}")
    try:
        with open(json_path) as f:
            report = json.load(f)
    except (OSError, ValueError) as e:
        return problems + [f"no JSON report: {e}"]
    by_repository = {image["repository"]: image for image in report["images"]}
    for i in indices:
        image = by_repository.get(repository(i))
        want = "fail" if fails(i) else "pass"
        if image is None:
            problems.append(f"{repository(i)} missing from the report")
        elif image["verdict"] != want or image["digest"] != digest(i):
            problems.append(f"{repository(i)}: {image['verdict']} {image.get('error')}, expected {want}")
    return problems


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    target = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
    parser.add_argument("--bin", default=os.path.join(target, "release", "ecr-scan-gate"))
    parser.add_argument("--quota", type=int, default=20, help="requests per second in (b)")
    parser.add_argument("--images", type=int, default=100)
    parser.add_argument("--skip-sequential", action="store_true", help="only (b)")
    args = parser.parse_args()
    if not os.path.exists(args.bin):
        sys.exit(f"needs {args.bin} (cargo build --release)")
    server = Listener(("127.0.0.1", 0), Fake)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_port}"
    indices = list(range(args.images))
    ok = True
    with tempfile.TemporaryDirectory() as tmp:
        report = os.path.join(tmp, "report.json")
        print(f"{args.images} images, {LATENCY * 1000:.0f} ms per request, binary {args.bin}")

        if not args.skip_sequential:
            STATE.reset(None)
            check(args.bin, url, [0], [], report)  # warm-up: page cache
            sequential = 0.0
            for i in indices:
                elapsed, result = check(args.bin, url, [i], [], report)
                sequential += elapsed
                problems = judged_right(result, report, [i])
                if problems:
                    ok = False
                    print(f"  sequential run {i}: {problems[0]}")
            STATE.reset(None)
            fleet, result = check(args.bin, url, indices, [], report)
            problems = judged_right(result, report, indices)
            ok &= not problems
            print("(a) no quota")
            print(f"  {args.images} sequential single-image runs: {sequential:.2f} s")
            print(f"  one run of {args.images} images (default --concurrency): {fleet:.2f} s, "
                  f"{STATE.requests} requests, judged right: {not problems}")
            print(f"  ratio: {sequential / fleet:.1f}x (bar >= 20x)")
            for p in problems[:5]:
                print(f"    {p}")

        # Every request the run needs: the registry's scanning type, then DescribeImages and one
        # findings page per image.
        needed = 1 + 2 * args.images
        floor = needed / args.quota
        print(f"(b) quota {args.quota} requests/s (bucket of {args.quota}); floor {needed} requests / "
              f"{args.quota} per s = {floor:.2f} s")
        for label, extra in [
            ("defaults", []),
            ("--max-attempts 1 (SDK retries nothing)", ["--max-attempts", "1"]),
            # The waiter polls a throttled first page again after --poll-interval: 200 ms is the
            # fault schedule's first delay, what a waiter retrying throttles through it would do.
            ("--max-attempts 1 --poll-interval 200ms", ["--max-attempts", "1", "--poll-interval", "200ms"]),
            ("--concurrency 8 (the old default)", ["--concurrency", "8"]),
        ]:
            STATE.reset(args.quota)
            elapsed, result = check(args.bin, url, indices, extra, report)
            problems = judged_right(result, report, indices)
            with STATE.lock:
                requests, throttled = STATE.requests, STATE.throttled
            share = throttled / max(requests, 1)
            print(f"  {label}: {throttled}/{requests} requests throttled ({share * 100:.1f} %, bar <= 10 %), "
                  f"wall {elapsed:.2f} s = {elapsed / floor:.2f}x the floor (bar <= 1.5x), "
                  f"exit {result.returncode}, judged right: {not problems}")
            for p in problems[:5]:
                print(f"    {p}")
            ok &= not problems
    server.shutdown()
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
