"""A small client for GitHub's REST API, used only by the instructors' grader repository.

It exists so that a class of hundreds can be graded on a schedule without losing a run to
GitHub's limits: every list is read to its last page (the `Link: rel="next"` header);
a rate limit (403 or 429 with `x-ratelimit-remaining: 0` or `retry-after`) is waited out
when the reset is near and reported when it is not; a secondary rate limit without
those headers (any 429, a 403 whose message names a rate limit) waits at least a minute,
longer each time, as GitHub asks; content-creating requests (POST, PUT, PATCH, DELETE)
are paced under GitHub's secondary limits (80 a minute, 500 an hour); a 5xx answer or a
dropped connection is retried with growing pauses; every other refusal becomes a
`GitHubError` that names the request and GitHub's own message. Standard library only
(urllib), so the grader repository's `plan` needs no environment at all.

(A kept client such as PyGithub retries secondary limits too, but it would need an
installed environment in every job, including `plan`, which runs every hour; these
few rules are tested against a loopback server in tests/test_github_client.py.)
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

API_VERSION = "2022-11-28"
JSON_MEDIA_TYPE = "application/vnd.github+json"
RAW_MEDIA_TYPE = "application/vnd.github.raw+json"
RETRY_PAUSES = (1.0, 4.0, 15.0, 30.0)
"""Seconds to wait before each retry of a 5xx answer or a failed connection."""
SECONDARY_WAIT_SECONDS = 60.0
"""GitHub: after a secondary rate limit without `retry-after`, wait at least a minute."""
SECONDARY_RETRIES = 3
"""Waits (60 s, 120 s, 240 s) before a secondary rate limit is reported."""
WRITES_PER_MINUTE = 80
WRITES_PER_HOUR = 500
"""GitHub's secondary limits on content-creating requests."""
WRITE_METHODS = ("POST", "PUT", "PATCH", "DELETE")


class GitHubError(RuntimeError):
    """GitHub refused a request, or could not be reached after every retry."""

    def __init__(self, method: str, path: str, status: int, message: str) -> None:
        self.method, self.path, self.status = method, path, status
        where = f"{method} {path}"
        super().__init__(f"{where}: {message}" if status == 0 else f"{where}: {status} {message}")


class NotFoundError(GitHubError):
    """404: the repository or object does not exist, or the token cannot see it."""


class RateLimitedError(GitHubError):
    """The rate limit resets later than this run may wait."""

    def __init__(
        self, method: str, path: str, status: int, reset_at: float, kind: str = "rate limit"
    ) -> None:
        self.reset_at = reset_at
        when = time.strftime("%H:%M:%S UTC", time.gmtime(reset_at))
        message = f"{kind} reached; it resets at {when}, later than this run waits"
        super().__init__(method, path, status, message)


@dataclass
class ApiStats:
    """What talking to GitHub cost in one run (printed in the run's summary)."""

    requests: int = 0
    retries: int = 0
    rate_limit_waits: int = 0
    waited_seconds: float = 0.0
    problems: list[str] = field(default_factory=list)

    def summary(self) -> str:
        text = f"{self.requests} GitHub API request(s), {self.retries} retried"
        if self.rate_limit_waits:
            text += f", {self.rate_limit_waits} rate-limit wait(s) ({self.waited_seconds:.0f} s)"
        return text


@dataclass(frozen=True)
class Response:
    status: int
    headers: Mapping[str, str]
    data: Any


class GitHub:
    """One authenticated connection to GitHub's REST API (or a server that speaks it)."""

    def __init__(
        self,
        token: str,
        *,
        api_url: str = "https://api.github.com",
        max_wait_seconds: float = 900.0,
        timeout_seconds: float = 30.0,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.time,
        secondary_wait_seconds: float = SECONDARY_WAIT_SECONDS,
    ) -> None:
        if not token:
            raise ValueError("a GitHub token is needed (the grader repository's GRADER_TOKEN)")
        self.api_url = api_url.rstrip("/")
        self.max_wait_seconds = max_wait_seconds
        self.timeout_seconds = timeout_seconds
        self.stats = ApiStats()
        self.secondary_wait_seconds = secondary_wait_seconds
        self._token = token
        self._sleep, self._clock = sleep, clock
        self._writes: list[float] = []
        """When each content-creating request of the last hour was sent."""

    def get(self, path: str, params: Mapping[str, Any] | None = None) -> Any:
        return self.request("GET", path, params=params).data

    def get_raw(self, path: str, params: Mapping[str, Any] | None = None) -> bytes:
        """A file's bytes through the raw media type, which has no 1 MB limit (the JSON
        media type of the contents API returns no content above 1 MB)."""
        response = self._send("GET", self._url(path, params), None, path, raw=True)
        return response.data

    def post(self, path: str, body: Mapping[str, Any]) -> Any:
        return self.request("POST", path, body=body).data

    def put(self, path: str, body: Mapping[str, Any]) -> Any:
        return self.request("PUT", path, body=body).data

    def pages(self, path: str, params: Mapping[str, Any] | None = None) -> Iterator[Any]:
        """Every item of a list endpoint, page after page (100 per page)."""
        url: str | None = self._url(path, {"per_page": 100, **(params or {})})
        while url is not None:
            response = self._send("GET", url, None, path)
            if not isinstance(response.data, list):
                raise GitHubError("GET", path, response.status, "expected a list")
            yield from response.data
            url = _next_link(response.headers.get("link", ""))
            if url is not None and not url.startswith(self.api_url + "/"):
                raise GitHubError("GET", path, 0, f"refused a next page outside the API: {url}")

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        body: Mapping[str, Any] | None = None,
    ) -> Response:
        return self._send(method, self._url(path, params), body, path)

    def _url(self, path: str, params: Mapping[str, Any] | None) -> str:
        query = urllib.parse.urlencode({k: v for k, v in (params or {}).items() if v is not None})
        return f"{self.api_url}{path}" + (f"?{query}" if query else "")

    def _send(
        self,
        method: str,
        url: str,
        body: Mapping[str, Any] | None,
        path: str,
        *,
        raw: bool = False,
    ) -> Response:
        data = None if body is None else json.dumps(body).encode("utf-8")
        headers = {
            "Accept": RAW_MEDIA_TYPE if raw else JSON_MEDIA_TYPE,
            "Authorization": f"Bearer {self._token}",
            "X-GitHub-Api-Version": API_VERSION,
            "User-Agent": "tinytorch-classroom-grader",
        }
        if data is not None:
            headers["Content-Type"] = "application/json"
        failures = secondary = 0
        while True:
            if method in WRITE_METHODS:
                self._pace_write(method, path)
            self.stats.requests += 1
            request = urllib.request.Request(url, data=data, headers=headers, method=method)
            try:
                with urllib.request.urlopen(request, timeout=self.timeout_seconds) as answer:
                    content = answer.read()
                    decoded = content if raw else _decode(content)
                    return Response(answer.status, _lower(answer.headers), decoded)
            except urllib.error.HTTPError as error:
                status, answer_headers = error.code, _lower(error.headers)
                message = _message(error.read())
                wait = self._rate_limit_wait(method, path, status, answer_headers)
                if wait is None and _secondary_limit(status, message):
                    if secondary == SECONDARY_RETRIES:
                        reset = self._clock() + self.secondary_wait_seconds * 2**secondary
                        raise RateLimitedError(
                            method, path, status, reset, "secondary rate limit"
                        ) from None
                    wait = self.secondary_wait_seconds * 2**secondary
                    secondary += 1
                if wait is not None:
                    self.stats.rate_limit_waits += 1
                    self._pause(wait)
                    continue
                if status < 500 or failures >= len(RETRY_PAUSES):
                    raise _error(method, path, status, message) from None
            except (urllib.error.URLError, TimeoutError, ConnectionError) as error:
                if failures >= len(RETRY_PAUSES):
                    reason = getattr(error, "reason", error)
                    raise GitHubError(method, path, 0, f"GitHub unreachable: {reason}") from None
            self.stats.retries += 1
            self._pause(RETRY_PAUSES[failures])
            failures += 1

    def _rate_limit_wait(
        self, method: str, path: str, status: int, headers: Mapping[str, str]
    ) -> float | None:
        """Seconds to wait out a rate limit, None if this is not one; raise if too long."""
        if status not in (403, 429):
            return None
        if headers.get("retry-after", "").isdigit():
            wait = float(headers["retry-after"])
            reset_at = self._clock() + wait
        elif headers.get("x-ratelimit-remaining") == "0" and headers.get("x-ratelimit-reset"):
            reset_at = float(headers["x-ratelimit-reset"])
            wait = max(0.0, reset_at - self._clock()) + 1.0
        else:
            return None
        if wait > self.max_wait_seconds:
            raise RateLimitedError(method, path, status, reset_at)
        return wait

    def _pace_write(self, method: str, path: str) -> None:
        """Wait until one more content-creating request stays under GitHub's limits."""
        now = self._clock()
        self._writes = [moment for moment in self._writes if moment > now - 3600.0]
        wait = 0.0
        if self._writes:
            wait = self._writes[-1] + 60.0 / WRITES_PER_MINUTE - now
        if len(self._writes) >= WRITES_PER_HOUR:
            wait = max(wait, self._writes[-WRITES_PER_HOUR] + 3600.0 - now)
            if wait > self.max_wait_seconds:
                raise RateLimitedError(
                    method, path, 0, now + wait, f"{WRITES_PER_HOUR} writes an hour"
                )
        if wait > 0:
            self._pause(wait)
        self._writes.append(self._clock())

    def _pause(self, seconds: float) -> None:
        self.stats.waited_seconds += seconds
        self._sleep(seconds)


def _lower(headers: Any) -> dict[str, str]:
    return {key.lower(): value for key, value in (headers or {}).items()}


def _decode(raw: bytes) -> Any:
    return json.loads(raw) if raw.strip() else None


def _message(raw: bytes) -> str:
    """GitHub's own explanation from an error body (`{"message": ...}`), else the text."""
    try:
        data = json.loads(raw)
    except ValueError:
        return raw.decode("utf-8", "replace")[:200] or "no message"
    return str(data.get("message", data))[:300] if isinstance(data, dict) else str(data)[:300]


def _secondary_limit(status: int, message: str) -> bool:
    """GitHub's secondary rate limit when it sends no header to say so: any 429, or a 403
    whose message names a rate limit (a 403 for a missing permission does not)."""
    return status == 429 or (status == 403 and "rate limit" in message.lower())


def _error(method: str, path: str, status: int, message: str) -> GitHubError:
    if status == 404:
        return NotFoundError(method, path, status, message)
    if status == 401:
        message += " (the token is missing, expired or revoked)"
    elif status == 403:
        message += " (the token lacks a permission this request needs; see the README)"
    return GitHubError(method, path, status, message)


def _next_link(header: str) -> str | None:
    """The URL of `rel="next"` in a Link header, if any."""
    for part in header.split(","):
        pieces = part.split(";")
        if len(pieces) >= 2 and any(p.strip() == 'rel="next"' for p in pieces[1:]):
            return pieces[0].strip().strip("<>")
    return None
