"""A stand-in for the GitHub and GitLab comment APIs that ci/comment.sh uses, on 127.0.0.1.

One pull request (GitHub: owner/repo #7) and one merge request (GitLab: project 42 !7) share a
list of comments, seeded with unrelated ones so the marked comment can land on a later page,
and first of all a forged one: mallory's comment that starts with the gate's marker. Comments
the token posts are written by github-actions[bot] (GitHub; GET /user answers 403, as it does
for a workflow's GITHUB_TOKEN) or by user 77 (GitLab; GET /api/v4/user).
Lists are paged like the real APIs: GitHub with a `Link: rel="next"` header, GitLab with
`X-Next-Page`. Writes need the token (`Authorization: Bearer` / `PRIVATE-TOKEN`). Every request
is appended to the log as one JSON line; GET /_state shows the comments.

    python fake_forge.py TOKEN SEED LOG   (prints the port, then serves until killed)
"""

import json
import re
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

TOKEN, SEED, LOG = sys.argv[1], int(sys.argv[2]), sys.argv[3]
FORGED = {"id": 999, "body": "<!-- ecr-scan-gate -->\n## ECR scan gate: \u2705 pass (forged)",
          "user": {"login": "mallory"}, "author": {"id": 666}}
COMMENTS = [FORGED] + [{"id": 1000 + i, "body": f"unrelated comment {i}", "user": {"login": "someone"},
                        "author": {"id": 5}} for i in range(SEED)]
NEXT_ID = [5000]

GITHUB_LIST = re.compile(r"^/repos/owner/repo/issues/7/comments$")
GITHUB_ITEM = re.compile(r"^/repos/owner/repo/issues/comments/(\d+)$")
GITLAB_LIST = re.compile(r"^/api/v4/projects/42/merge_requests/7/notes$")
GITLAB_ITEM = re.compile(r"^/api/v4/projects/42/merge_requests/7/notes/(\d+)$")


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def answer(self, status, body, headers=()):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for key, value in headers:
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(data)

    def handle_any(self):
        url = urlparse(self.path)
        query = parse_qs(url.query)
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        gitlab = url.path.startswith("/api/v4/")
        authorized = (
            self.headers.get("PRIVATE-TOKEN") == TOKEN
            if gitlab
            else self.headers.get("Authorization") == f"Bearer {TOKEN}"
        )
        with open(LOG, "a") as log:
            log.write(json.dumps({"method": self.command, "path": url.path, "query": url.query,
                                  "authorized": authorized, "body_length": len(raw)}) + "\n")
        if url.path == "/_state":
            return self.answer(200, COMMENTS)
        if not authorized:
            return self.answer(401, {"message": "Bad credentials"})
        if url.path == "/user" and self.command == "GET":
            return self.answer(403, {"message": "Resource not accessible by integration"})
        if url.path == "/api/v4/user" and self.command == "GET":
            return self.answer(200, {"id": 77, "username": "gate-bot"})
        lister = GITLAB_LIST if gitlab else GITHUB_LIST
        itemer = GITLAB_ITEM if gitlab else GITHUB_ITEM
        if lister.match(url.path) and self.command == "GET":
            per_page = min(int(query.get("per_page", ["30"])[0]), 100)
            page = int(query.get("page", ["1"])[0])
            items = COMMENTS[(page - 1) * per_page: page * per_page]
            more = page * per_page < len(COMMENTS)
            headers = []
            if more and gitlab:
                headers.append(("X-Next-Page", str(page + 1)))
            elif more:
                base = f"http://{self.headers['Host']}{url.path}?per_page={per_page}"
                headers.append(("Link", f'<{base}&page={page + 1}>; rel="next", <{base}&page=9999>; rel="last"'))
            return self.answer(200, items, headers)
        if lister.match(url.path) and self.command == "POST":
            body = json.loads(raw)["body"]
            NEXT_ID[0] += 1
            comment = {"id": NEXT_ID[0], "body": body, "user": {"login": "github-actions[bot]"},
                       "author": {"id": 77}}
            COMMENTS.append(comment)
            return self.answer(201, comment)
        match = itemer.match(url.path)
        if match and self.command == ("PUT" if gitlab else "PATCH"):
            for comment in COMMENTS:
                if comment["id"] == int(match.group(1)):
                    if comment is FORGED and gitlab:
                        return self.answer(403, {"message": "403 Forbidden"})
                    comment["body"] = json.loads(raw)["body"]
                    return self.answer(200, comment)
            return self.answer(404, {"message": "Not Found"})
        return self.answer(404, {"message": f"no route {self.command} {url.path}"})

    do_GET = do_POST = do_PATCH = do_PUT = handle_any


server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
print(server.server_address[1], flush=True)
server.serve_forever()
