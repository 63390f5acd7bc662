#!/usr/bin/env python3
"""What --settle costs a clean image: `check` against a local ECR (127.0.0.1) under enhanced
scanning whose scan completed just now, with the default --settle and with --settle 0, and
once for a scan that completed an hour ago. Prints the wall time of each.

    scripts/bench-settle.py [path/to/ecr-scan-gate]
"""
import json
import os
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

DIGEST = "sha256:" + "a" * 64
COMPLETED = {"now": time.time()}


class Ecr(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def do_POST(self):
        self.rfile.read(int(self.headers.get("content-length", 0)))
        op = self.headers.get("x-amz-target", "").rsplit(".", 1)[-1]
        if op == "DescribeImages":
            body = {"imageDetails": [{"registryId": "123456789012", "repositoryName": "app/web",
                                      "imageDigest": DIGEST,
                                      "imageManifestMediaType": "application/vnd.oci.image.manifest.v1+json"}]}
        elif op == "GetRegistryScanningConfiguration":
            body = {"registryId": "123456789012", "scanningConfiguration": {"scanType": "ENHANCED", "rules": []}}
        elif op == "DescribeImageScanFindings":
            body = {"registryId": "123456789012", "repositoryName": "app/web", "imageId": {"imageDigest": DIGEST},
                    "imageScanStatus": {"status": "COMPLETE"},
                    "imageScanFindings": {"imageScanCompletedAt": COMPLETED["now"],
                                          "findingSeverityCounts": {}, "enhancedFindings": []}}
        else:
            self.send_response(400)
            self.end_headers()
            return
        data = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("content-type", "application/x-amz-json-1.1")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


def main():
    binary = sys.argv[1] if len(sys.argv) > 1 else "target/release/ecr-scan-gate"
    server = ThreadingHTTPServer(("127.0.0.1", 0), Ecr)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    env = dict(os.environ, AWS_ACCESS_KEY_ID="AKIATEST", AWS_SECRET_ACCESS_KEY="test", AWS_REGION="us-east-1",
               AWS_EC2_METADATA_DISABLED="true", AWS_CONFIG_FILE="/dev/null", AWS_SHARED_CREDENTIALS_FILE="/dev/null")
    endpoint = f"http://127.0.0.1:{server.server_port}"
    for label, completed_ago, extra in [
        ("completed just now, default --settle (30s)", 0, []),
        ("completed just now, --settle 0", 0, ["--settle", "0"]),
        ("completed an hour ago, default --settle", 3600, []),
    ]:
        COMPLETED["now"] = time.time() - completed_ago
        start = time.monotonic()
        code = subprocess.run([binary, "check", "app/web:v1", "--endpoint-url", endpoint, "-q", *extra],
                              env=env, stdout=subprocess.DEVNULL).returncode
        print(f"{label}: {time.monotonic() - start:.1f} s (exit {code})")
    server.shutdown()


if __name__ == "__main__":
    main()
