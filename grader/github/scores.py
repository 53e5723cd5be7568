"""Official grades into Classroom 50's gradebook: `<classroom>/scores.json` in the
organization's private `classroom50` repository (schema `classroom50/scores/v1`).

Classroom 50 documents one way for a teacher to set a score: an entry with
`"override": true`, which its score collection then leaves as it is. Each entry we write
leads with one record (a `classroom50/result/v1` payload without `assignment`) whose
`submission` is `submit/official-<time>`, whose `commit` is the graded commit's address
and whose tests are the modules with their official points; the entry keeps the student's
collected submissions below it. A teacher's own hand-entered override (a record whose
submission starts with `submit/manual-`) is never replaced. The file is read, changed
and written with its blob SHA, and re-read on a conflict with another writer.

Classroom 50's score collection is the file's other writer, and single-writer by design:
when its push is rejected it rebases with `-X theirs`, which keeps `override: true` but
can put its own record back in place of ours. So a write waits while a collection runs
(`collect-scores.yaml`), re-reads the file afterwards and writes again any entry whose
leading record is not the one just written; and every run re-asserts each student whose
entry does not lead with our current official record (`reassert`).
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from grader.classroom50.record import OFFICIAL_PREFIX, OfficialScore, official_record
from grader.github.client import GitHub, GitHubError, NotFoundError
from grader.timestamps import parse_time

SCORES_SCHEMA = "classroom50/scores/v1"
MANUAL_PREFIX = "submit/manual-"
CONFLICT_RETRIES = 5
COLLECTOR_WORKFLOW = "collect-scores.yaml"
COLLECTION_POLL_SECONDS = 30.0
COLLECTION_WAIT_SECONDS = 300.0
"""How long a write waits for a running collection before it leaves the grades pending."""


@dataclass
class ScoresUpdate:
    """What writing scores.json did."""

    written: list[str] = field(default_factory=list)
    kept_manual: list[str] = field(default_factory=list)
    displaced: list[str] = field(default_factory=list)
    """Owners whose record another writer replaced after our write (written again)."""
    attempts: int = 0
    waited_for_collection: float = 0.0


def merge_scores(
    document: dict,
    assignment: str,
    classroom: str,
    scores: Sequence[OfficialScore],
    now: dt.datetime,
) -> ScoresUpdate:
    """Put each official score into `document` (in place) as a teacher override, unless
    the owner's entry already leads with our record of that score."""
    update = ScoresUpdate()
    bucket = document.setdefault("assignments", {}).setdefault(
        assignment, {"type": "individual", "entries": []}
    )
    entries = bucket.setdefault("entries", [])
    for score in scores:
        key = score.owner.lower()
        entry = next((e for e in entries if str(e.get("owner", "")).lower() == key), None)
        if entry is None:
            entry = {"owner": score.owner, "submissions": []}
            entries.append(entry)
        records = [r for r in entry.get("submissions", []) if isinstance(r, dict)]
        if entry.get("override") and records and _is(records[0], MANUAL_PREFIX):
            update.kept_manual.append(score.owner)
            continue
        if leads_with(entry, score):
            continue
        collected = [r for r in records if not _is(r, OFFICIAL_PREFIX)]
        dates = (parse_time(str(r.get("datetime", ""))) for r in collected)
        newest = max(filter(None, dates), default=None)
        entry["submissions"] = [official_record(score, classroom, now, newest), *collected]
        entry["override"] = True
        update.written.append(score.owner)
    return update


def leads_with(entry: dict, score: OfficialScore, submission: str = "") -> bool:
    """Whether `entry` is an override led by our official record of `score` (and, if
    given, by exactly the record named `submission`)."""
    records = entry.get("submissions") or [{}]
    first = records[0] if isinstance(records[0], dict) else {}
    return (
        bool(entry.get("override"))
        and _is(first, OFFICIAL_PREFIX)
        and (not submission or first.get("submission") == submission)
        and first.get("score") == score.score
        and first.get("tests") == [dict(test) for test in score.tests]
    )


def write_scores(
    github: GitHub,
    repository: str,
    classroom: str,
    assignment: str,
    scores: Sequence[OfficialScore],
    now: dt.datetime,
    sleep: Callable[[float], None] = time.sleep,
) -> ScoresUpdate:
    """Read, merge and write `<classroom>/scores.json`: after any running collection,
    again when another writer changed the file in between, and again for the entries
    whose record another writer replaced right after ours (see the module's note)."""
    path = f"/repos/{repository}/contents/{classroom}/scores.json"
    total = ScoresUpdate()
    by_owner = {score.owner.lower(): score for score in scores}
    for attempt in range(1, CONFLICT_RETRIES + 1):
        total.attempts = attempt
        total.waited_for_collection += _wait_for_collection(github, repository, sleep)
        document, blob = _read(github, path)
        update = merge_scores(document, assignment, classroom, scores, now)
        total.kept_manual = update.kept_manual
        if not update.written:
            return total
        text = json.dumps(document, indent=2, ensure_ascii=False) + "\n"
        body = {
            "message": f"Official TinyTorch grades: {classroom}/{assignment} "
            f"({len(update.written)} student(s))",
            "content": base64.b64encode(text.encode("utf-8")).decode("ascii"),
        }
        if blob:
            body["sha"] = blob
        try:
            github.put(path, body)
        except GitHubError as error:
            if error.status not in (409, 422) or attempt == CONFLICT_RETRIES:
                raise
            continue
        total.written = sorted(set(total.written) | set(update.written))
        ours = _leading_submissions(document, assignment, update.written)
        after, _ = _read(github, path)
        entries = _entries(after, assignment)
        displaced = [
            owner
            for owner in update.written
            if not leads_with(entries.get(owner.lower(), {}), by_owner[owner.lower()], ours[owner])
        ]
        if not displaced:
            return total
        total.displaced += displaced
    raise GitHubError(
        "PUT",
        path,
        0,
        "another writer kept replacing official records: " + ", ".join(total.displaced),
    )


def _wait_for_collection(github: GitHub, repository: str, sleep: Callable[[float], None]) -> float:
    """Seconds waited for Classroom 50's running score collection to finish (none when
    it cannot be seen: the re-read after writing still catches an overlap)."""
    runs = f"/repos/{repository}/actions/workflows/{COLLECTOR_WORKFLOW}/runs"
    waited = 0.0
    while True:
        try:
            running = [
                run
                for status in ("in_progress", "queued")
                for run in github.get(runs, {"status": status}).get("workflow_runs", [])
            ]
        except (GitHubError, AttributeError):
            return waited
        if not running:
            return waited
        if waited >= COLLECTION_WAIT_SECONDS:
            raise GitHubError(
                "GET",
                runs,
                0,
                f"Classroom 50's score collection ran for over "
                f"{COLLECTION_WAIT_SECONDS:g} s; official grades stay pending",
            )
        sleep(COLLECTION_POLL_SECONDS)
        waited += COLLECTION_POLL_SECONDS


def _entries(document: dict, assignment: str) -> dict[str, dict]:
    bucket = document.get("assignments", {}).get(assignment, {})
    return {str(e.get("owner", "")).lower(): e for e in bucket.get("entries", [])}


def _leading_submissions(document: dict, assignment: str, owners: list[str]) -> dict[str, str]:
    entries = _entries(document, assignment)
    return {owner: entries[owner.lower()]["submissions"][0]["submission"] for owner in owners}


def _read(github: GitHub, path: str) -> tuple[dict, str]:
    """scores.json and its blob SHA; a classroom that never collected gets a new file.

    Read raw: the file keeps every collected submission, so it grows past the 1 MB the
    contents API's JSON media type returns. The blob SHA that a write must name is the
    git hash of exactly these bytes, so it needs no second request.
    """
    try:
        raw = github.get_raw(path)
    except NotFoundError:
        return {"schema": SCORES_SCHEMA, "assignments": {}}, ""
    try:
        document = json.loads(raw)
    except ValueError as error:
        raise GitHubError("GET", path, 200, f"scores.json is not readable JSON: {error}") from None
    if not isinstance(document, dict) or document.get("schema") != SCORES_SCHEMA:
        raise GitHubError("GET", path, 200, f"scores.json is not {SCORES_SCHEMA}; left alone")
    return document, blob_sha(raw)


def blob_sha(data: bytes) -> str:
    """Git's object name for a file holding `data` (what the contents API calls its sha)."""
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def _is(record: dict, prefix: str) -> bool:
    return str(record.get("submission", "")).startswith(prefix)
