"""A GitHub REST API stand-in on loopback, for the grader repository's tests.

It answers the endpoints the grader uses with bodies and headers of GitHub's shapes
(`Link` pagination, `x-ratelimit-*` and `retry-after`, `{"message": ...}` errors, the
contents API's base64 and blob SHA with 409 on a stale SHA, no content above 1 MB
through the JSON media type but any size through the raw one) and records every request.
`fail(...)` makes the next matching requests answer with an error first.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import subprocess
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit


@dataclass
class FakeRepository:
    full_name: str
    default_branch: str = "main"
    pushed_at: str | None = None
    is_template: bool = False
    archived: bool = False
    activity: list[dict] = field(default_factory=list)
    statuses: list[dict] = field(default_factory=list)
    pulls: list[dict] = field(default_factory=list)
    issues: list[dict] = field(default_factory=list)
    comments: list[dict] = field(default_factory=list)
    git_dir: str = ""
    """A bare git repository whose commits the contents API lists (`?ref=<sha>`)."""


@dataclass
class Fault:
    method: str
    pattern: str
    status: int
    headers: dict[str, str]
    times: int
    message: str = "fault"


class FakeGitHub:
    """The server's data; `url` is the API root to give the client."""

    def __init__(self, token: str = "test-token") -> None:
        self.token = token
        self.repositories: dict[str, FakeRepository] = {}
        self.files: dict[str, tuple[bytes, str]] = {}
        self.requests: list[tuple[str, str]] = []
        self.faults: list[Fault] = []
        self.lock = threading.Lock()
        self.clock = 1_900_000_000
        self.collection_polls = 0
        """How many more looks at Classroom 50's collect-scores runs find one running."""
        self.after_put: Callable[[str], None] | None = None
        """Called with the path after a file is written (another writer stepping in)."""
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def add_repository(self, full_name: str, **options) -> FakeRepository:
        repository = FakeRepository(full_name, **options)
        self.repositories[full_name] = repository
        return repository

    def record_push(self, full_name: str, before: str, after: str, when: str) -> None:
        """GitHub's record of a push to the default branch at `when` (ISO 8601, UTC)."""
        repository = self.repositories[full_name]
        kind = "branch_creation" if not repository.activity else "push"
        repository.activity.insert(
            0,
            {
                "id": len(repository.activity) + 1,
                "before": before,
                "after": after,
                "ref": f"refs/heads/{repository.default_branch}",
                "timestamp": when,
                "activity_type": kind,
                "actor": {"login": full_name.split("/")[1].rsplit("-", 1)[-1]},
            },
        )
        repository.pushed_at = when

    def fail(
        self,
        method: str,
        pattern: str,
        status: int,
        times: int = 1,
        message: str = "fault",
        **headers,
    ) -> None:
        """The next `times` requests matching `pattern` (a regex on the path) fail."""
        headers = {k.replace("_", "-"): str(v) for k, v in headers.items()}
        self.faults.append(Fault(method, pattern, status, headers, times, message))

    def put_file(self, path: str, data: bytes) -> None:
        blob = hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()  # git's object name
        self.files[path] = (data, blob)

    def file(self, path: str) -> bytes:
        return self.files[path][0]

    def count(self, method: str, pattern: str) -> int:
        return sum(1 for m, p in self.requests if m == method and re.search(pattern, p))


def _handler(fake: FakeGitHub) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args) -> None:
            pass

        def do_GET(self) -> None:
            self._serve("GET")

        def do_POST(self) -> None:
            self._serve("POST")

        def do_PUT(self) -> None:
            self._serve("PUT")

        def _serve(self, method: str) -> None:
            parts = urlsplit(self.path)
            path, query = parts.path, {k: v[0] for k, v in parse_qs(parts.query).items()}
            length = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(length)) if length else None
            with fake.lock:
                fake.requests.append((method, path))
                if self.headers.get("Authorization") != f"Bearer {fake.token}":
                    return self._send(401, {"message": "Bad credentials"})
                for fault in fake.faults:
                    if fault.times and fault.method == method and re.search(fault.pattern, path):
                        fault.times -= 1
                        return self._send(fault.status, {"message": fault.message}, fault.headers)
                try:
                    status, data, headers = _route(fake, method, path, query, body, self)
                except KeyError:
                    status, data, headers = 404, {"message": "Not Found"}, {}
            self._send(status, data, headers)

        def _send(self, status: int, data, headers: dict | None = None) -> None:
            raw = data if isinstance(data, bytes) else json.dumps(data).encode()
            self.send_response(status)
            kind = "application/octet-stream" if isinstance(data, bytes) else "application/json"
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(raw)))
            for key, value in (headers or {}).items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(raw)

    return Handler


def _page(items: list, query: dict, path: str, handler) -> tuple[int, list, dict]:
    size = int(query.get("per_page", 30))
    page = int(query.get("page", 1))
    chunk = items[(page - 1) * size : page * size]
    headers = {}
    if page * size < len(items):
        rest = "&".join(f"{k}={v}" for k, v in {**query, "page": page + 1}.items())
        host = handler.headers.get("Host")
        headers["Link"] = f'<http://{host}{path}?{rest}>; rel="next", <http://x>; rel="last"'
    return 200, chunk, headers


def _route(fake: FakeGitHub, method: str, path: str, query: dict, body, handler):
    if re.fullmatch(r"/repos/[^/]+/[^/]+/actions/workflows/collect-scores\.yaml/runs", path):
        running = fake.collection_polls > 0 and query.get("status") == "in_progress"
        if query.get("status") == "in_progress":
            fake.collection_polls = max(0, fake.collection_polls - 1)
        runs = [{"id": 1, "status": "in_progress"}] if running else []
        return 200, {"total_count": len(runs), "workflow_runs": runs}, {}
    if m := re.fullmatch(r"/orgs/([^/]+)/repos", path):
        listed = [
            {
                "name": r.full_name.split("/")[1],
                "full_name": r.full_name,
                "default_branch": r.default_branch,
                "pushed_at": r.pushed_at,
                "is_template": r.is_template,
                "archived": r.archived,
            }
            for r in sorted(fake.repositories.values(), key=lambda r: r.full_name)
            if r.full_name.startswith(m.group(1) + "/")
        ]
        return _page(listed, query, path, handler)
    if (m := re.fullmatch(r"/repos/([^/]+/[^/]+)/contents/(.+)", path)) and "ref" in query:
        return _folder(fake.repositories[m.group(1)], m.group(2), query["ref"])
    if m := re.fullmatch(r"/repos/([^/]+/[^/]+)/contents/(.+)", path):
        raw = "raw" in (handler.headers.get("Accept") or "")
        return _contents(fake, method, m.group(2), body, raw)
    m = re.fullmatch(r"/repos/([^/]+/[^/]+)/(.+)", path)
    repository, rest = fake.repositories[m.group(1)], m.group(2)
    if rest == "activity":
        ref = query.get("ref")
        found = [a for a in repository.activity if ref is None or a["ref"] == ref]
        return _page(found, query, path, handler)
    if (s := re.fullmatch(r"statuses/([0-9a-f]{40})", rest)) and method == "POST":
        repository.statuses.append({"sha": s.group(1), **body})
        return 201, body, {}
    if rest == "pulls" and method == "POST":
        number = len(repository.issues) + len(repository.pulls) + 1
        pull = {"number": number, "title": body["title"], "body": body.get("body", ""),
                "state": "open", "head": {"ref": body["head"]}, "base": {"ref": body["base"]},
                "pull_request": {}}  # fmt: skip
        repository.pulls.append(pull)
        return 201, pull, {}
    if rest == "pulls":
        return 200, [p for p in repository.pulls if _listed(repository, p, query)], {}
    if rest == "issues" and method == "GET":
        return _page(repository.issues + repository.pulls, query, path, handler)
    if rest == "issues" and method == "POST":
        number = len(repository.issues) + len(repository.pulls) + 1
        issue = {"number": number, "title": body["title"], "body": body.get("body", "")}
        repository.issues.append(issue)
        return 201, issue, {}
    if (c := re.fullmatch(r"issues/(\d+)/comments", rest)) and method == "POST":
        number = int(c.group(1))
        known = {i["number"] for i in repository.issues + repository.pulls}
        if number not in known:
            return 404, {"message": "Not Found"}, {}
        url = (
            f"https://github.com/{repository.full_name}/issues/{number}#c{len(repository.comments)}"
        )
        repository.comments.append({"number": number, "body": body["body"], "html_url": url})
        return 201, {"html_url": url}, {}
    return 404, {"message": "Not Found"}, {}


def _listed(repository: FakeRepository, pull: dict, query: dict) -> bool:
    """Whether GitHub's pull request listing with these filters shows `pull`."""
    head = f"{repository.full_name.split('/')[0]}:{pull.get('head', {}).get('ref', '')}"
    return (
        query.get("base") in (None, pull["base"]["ref"])
        and query.get("head") in (None, head)
        and query.get("state", "open") in ("all", pull.get("state", "open"))
    )


def _folder(repository: FakeRepository, folder: str, ref: str):
    """The contents API's listing of a folder at a commit, from the bare repository."""
    listed = subprocess.run(
        ["git", "--git-dir", repository.git_dir, "ls-tree", ref, folder.rstrip("/") + "/"],
        capture_output=True,
        text=True,
    )
    if listed.returncode != 0 or not listed.stdout.strip():
        return 404, {"message": "Not Found"}, {}
    entries = []
    for line in listed.stdout.splitlines():
        meta, name = line.split("\t", 1)
        _, kind, sha = meta.split()
        entries.append(
            {
                "name": name.rsplit("/", 1)[-1],
                "path": name,
                "sha": sha,
                "type": "file" if kind == "blob" else "dir",
            }
        )
    return 200, entries, {}


JSON_CONTENT_LIMIT = 2**20
"""The contents API's JSON media type returns no file content above 1 MB."""


def _contents(fake: FakeGitHub, method: str, path: str, body, raw: bool):
    if method == "GET":
        data, sha = fake.files[path]
        if raw:
            return 200, data, {}
        if len(data) > JSON_CONTENT_LIMIT:
            message = "This API returns blobs up to 1 MB in size. The requested blob is too large"
            return 403, {"message": message, "errors": [{"code": "too_large"}]}, {}
        encoded = base64.b64encode(data).decode()
        return 200, {"content": encoded, "sha": sha, "encoding": "base64"}, {}
    current = fake.files.get(path)
    if current is not None and body.get("sha") != current[1]:
        return 409, {"message": f"{path} does not match {body.get('sha')}"}, {}
    if current is None and body.get("sha"):
        return 422, {"message": "sha given for a new file"}, {}
    fake.put_file(path, base64.b64decode(body["content"]))
    answer = {"content": {"sha": fake.files[path][1]}}
    if fake.after_put is not None:
        fake.after_put(path)
    return 200, answer, {}
