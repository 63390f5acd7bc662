#!/usr/bin/env python3
"""Load benchmark of `ecr-scan-gate serve`: N keep-alive HTTPS clients each send M
AdmissionReviews of one cached image, and every answer is checked (uid echoed, allowed).

Prints p50/p99 decision latency as the clients see it, requests per second, and the server's
resident memory after the load. ECR is a small scripted fake on 127.0.0.1 (a tag costs one
DescribeImages per review; the scan is read once and then cached by digest).

    python3 scripts/bench-webhook.py --bin target/release/ecr-scan-gate [--clients 8] [--reviews 100]
"""

import argparse
import http.client
import json
import os
import re
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ECR = "123456789012.dkr.ecr.us-east-1.amazonaws.com"
DIGEST = "sha256:" + "a" * 64


class FakeEcr(BaseHTTPRequestHandler):
    """The three calls a review makes, answered at once."""

    protocol_version = "HTTP/1.1"
    calls = {}

    def setup(self):
        super().setup()
        # Headers and body go out in two writes: without this, Nagle and the client's delayed
        # ACK add 40 ms to every answer, a cost of this fake that real ECR does not have.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def do_POST(self):
        length = int(self.headers.get("content-length", 0))
        self.rfile.read(length)
        op = self.headers.get("x-amz-target", "").rsplit(".", 1)[-1]
        FakeEcr.calls[op] = FakeEcr.calls.get(op, 0) + 1
        if op == "DescribeImages":
            body = {"imageDetails": [{"registryId": "123456789012", "repositoryName": "app/web",
                                      "imageDigest": DIGEST, "imageTags": ["v1"],
                                      "imageManifestMediaType": "application/vnd.oci.image.manifest.v1+json"}]}
        elif op == "GetRegistryScanningConfiguration":
            body = {"registryId": "123456789012", "scanningConfiguration": {"scanType": "BASIC", "rules": []}}
        elif op == "DescribeImageScanFindings":
            body = {"registryId": "123456789012", "repositoryName": "app/web", "imageId": {"imageDigest": DIGEST},
                    "imageScanStatus": {"status": "COMPLETE", "description": "ok"},
                    "imageScanFindings": {"imageScanCompletedAt": 1763630071.5, "findingSeverityCounts": {"LOW": 1},
                                          "findings": [{"name": "CVE-2026-0001", "severity": "LOW", "attributes": [
                                              {"key": "package_name", "value": "zlib"},
                                              {"key": "package_version", "value": "1.0"}]}]}}
        else:
            self.send_response(400)
            self.send_header("content-length", "0")
            self.end_headers()
            return
        data = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("content-type", "application/x-amz-json-1.1")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


def openssl(dir, *args):
    subprocess.run(["openssl", *args], cwd=dir, check=True, capture_output=True)


def make_pki(dir):
    openssl(dir, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-keyout", "ca.key", "-out", "ca.pem", "-days", "1", "-subj", "/CN=bench-ca")
    with open(os.path.join(dir, "san.ext"), "w") as f:
        f.write("subjectAltName=DNS:localhost,IP:127.0.0.1\n")
    openssl(dir, "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=localhost")
    openssl(dir, "x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
            "-out", "server.pem", "-days", "1", "-extfile", "san.ext")


def review(uid, image):
    pod = {"kind": "Pod", "apiVersion": "v1",
           "metadata": {"generateName": "web-5d8f9c7b4-", "namespace": "shop"},
           "spec": {"containers": [{"name": "web", "image": image}]}}
    return json.dumps({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": {
        "uid": uid, "kind": {"group": "", "version": "v1", "kind": "Pod"},
        "resource": {"group": "", "version": "v1", "resource": "pods"},
        "namespace": "shop", "operation": "CREATE", "userInfo": {"username": "bench"},
        "object": pod, "oldObject": None, "dryRun": False}}).encode()


def client(port, context, image, reviews, latencies, errors, barrier, index):
    conn = http.client.HTTPSConnection("localhost", port, context=context, timeout=15)
    barrier.wait()
    for i in range(reviews):
        uid = f"bench-{index}-{i}"
        body = review(uid, image)
        start = time.perf_counter()
        conn.request("POST", "/validate", body=body, headers={"content-type": "application/json"})
        response = conn.getresponse()
        data = response.read()
        latencies.append(time.perf_counter() - start)
        answer = json.loads(data) if response.status == 200 else {}
        got = answer.get("response", {})
        if got.get("uid") != uid or got.get("allowed") is not True:
            errors.append(f"{uid}: HTTP {response.status} {data[:200]!r}")
    conn.close()


def percentile(sorted_values, p):
    index = min(len(sorted_values) - 1, max(0, round(p / 100 * len(sorted_values)) - 1))
    return sorted_values[index]


def histogram_quantiles(metrics, quantiles):
    """Upper bucket bounds holding each quantile of ecr_scan_gate_decision_duration_seconds."""
    buckets = []
    for line in metrics.splitlines():
        m = re.match(r'ecr_scan_gate_decision_duration_seconds_bucket\{le="([^"]+)"\} (\d+)', line)
        if m:
            buckets.append((float(m.group(1)), int(m.group(2))))
    total = buckets[-1][1] if buckets else 0
    return tuple(next((le for le, n in buckets if n >= q * total), float("inf")) for q in quantiles)


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def run(args, image, label):
    fake = ThreadingHTTPServer(("127.0.0.1", 0), FakeEcr)
    threading.Thread(target=fake.serve_forever, daemon=True).start()
    FakeEcr.calls = {}
    with tempfile.TemporaryDirectory() as dir:
        make_pki(dir)
        env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "ECR_SCAN_GATE_"))}
        env.update(AWS_ACCESS_KEY_ID="AKIABENCHBENCHBENCH0", AWS_SECRET_ACCESS_KEY="bench",
                   AWS_EC2_METADATA_DISABLED="true", AWS_CONFIG_FILE="/dev/null",
                   AWS_SHARED_CREDENTIALS_FILE="/dev/null")
        server = subprocess.Popen(
            [args.bin, "serve", "--listen", "127.0.0.1:0", "--region", "us-east-1",
             "--tls-cert", f"{dir}/server.pem", "--tls-key", f"{dir}/server.key",
             "--endpoint-url", f"http://127.0.0.1:{fake.server_address[1]}", "--settle", "0"],
            env=env, stderr=subprocess.PIPE, text=True)
        port = None
        for line in server.stderr:
            m = re.search(r"serving admission reviews on https://127\.0\.0\.1:(\d+)/validate", line)
            if m:
                port = int(m.group(1))
                break
        if port is None:
            sys.exit(f"the webhook did not start (exit {server.wait()})")
        threading.Thread(target=lambda: [None for _ in server.stderr], daemon=True).start()
        context = ssl.create_default_context(cafile=f"{dir}/ca.pem")
        # Warm the cache: the benchmark is of cached decisions.
        warm = http.client.HTTPSConnection("localhost", port, context=context)
        warm.request("POST", "/validate", body=review("warm", image))
        assert json.loads(warm.getresponse().read())["response"]["allowed"] is True
        warm.close()
        latencies, errors = [], []
        barrier = threading.Barrier(args.clients + 1)
        threads = [threading.Thread(target=client, args=(port, context, image, args.reviews, latencies,
                                                         errors, barrier, i)) for i in range(args.clients)]
        for t in threads:
            t.start()
        barrier.wait()
        start = time.perf_counter()
        for t in threads:
            t.join()
        wall = time.perf_counter() - start
        rss = rss_kib(server.pid)
        scrape = http.client.HTTPSConnection("localhost", port, context=context)
        scrape.request("GET", "/metrics")
        server_p50, server_p99 = histogram_quantiles(scrape.getresponse().read().decode(), (0.5, 0.99))
        scrape.close()
        server.terminate()
        server.wait(timeout=30)
    fake.shutdown()
    total = args.clients * args.reviews
    values = sorted(latencies)
    print(f"{label}: {len(values)}/{total} answers, {len(errors)} wrong; "
          f"p50 {percentile(values, 50) * 1000:.2f} ms, p99 {percentile(values, 99) * 1000:.2f} ms, "
          f"max {values[-1] * 1000:.2f} ms; server-side (histogram buckets) p50 <= {server_p50 * 1000:g} ms, "
          f"p99 <= {server_p99 * 1000:g} ms; {total / wall:.0f} reviews/s; server RSS after {rss / 1024:.1f} MiB; "
          f"ECR calls {dict(sorted(FakeEcr.calls.items()))}")
    for e in errors[:5]:
        print("  wrong:", e)
    return not errors and len(values) == total


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bin", default="target/release/ecr-scan-gate")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--reviews", type=int, default=100)
    args = parser.parse_args()
    print(f"{args.clients} keep-alive clients x {args.reviews} reviews, {os.cpu_count()} cores")
    ok = run(args, f"{ECR}/app/web:1.4.2", "by tag (DescribeImages each review)")
    ok = run(args, f"{ECR}/app/web@{DIGEST}", "by digest (no ECR call)") and ok
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
