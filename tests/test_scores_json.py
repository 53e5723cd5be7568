"""Classroom 50's scores.json: official grades written as teacher overrides, read at any
size, never lost to a failed call, and kept against Classroom 50's own collector."""

from __future__ import annotations

import json

import pytest

from grader.classroom50.record import validate_record
from grader.github.client import GitHubError
from grader.github.scores import merge_scores, write_scores
from grader.service.batch import JobResult
from grader.service.plan import Plan
from grader.service.state import GradingState, load_state
from tests.fake_github import FakeGitHub
from tests.service_helpers import (
    NOW,
    at,
    collected,
    fake_github,  # noqa: F401 (the `fake` fixture)
    github,
    manual_record,
    official,
    official_job,
    on_time,
    publish_once,
    result,
    scores_document,
)


def test_overrides_keep_collected_submissions_and_never_replace_a_teacher_override():
    manual = manual_record("kim")
    document = scores_document(
        [
            {"owner": "Jay", "submissions": [collected("jay")]},
            {"owner": "kim", "override": True, "submissions": [manual]},
        ]
    )
    update = merge_scores(
        document, "tinytorch", "ml", [official("jay", 93), official("kim", 10)], at(NOW)
    )
    assert update.written == ["jay"] and update.kept_manual == ["kim"]
    jay = document["assignments"]["tinytorch"]["entries"][0]
    assert jay["override"] is True and len(jay["submissions"]) == 2
    first = jay["submissions"][0]
    assert first["score"] == 93 and first["datetime"] > collected("jay")["datetime"]
    validate_record(first, "ml")
    assert document["assignments"]["tinytorch"]["entries"][1]["submissions"] == [manual]


SCORES_V1_RECORD = {  # scores-v1 `submissionRecord` (schemas/scores-v1.schema.json)
    "schema": str,
    "classroom": str,
    "assignment_type": str,
    "owner": str,
    "submission": str,
    "commit": str,
    "release": str,
    "review": str,
    "datetime": str,
    "score": int,
    "max-score": int,
    "tests": list,
}


def test_the_written_file_follows_the_scores_schema_and_survives_a_conflict(fake):
    fake.put_file(
        "ml/scores.json",
        json.dumps({"schema": "classroom50/scores/v1", "assignments": {}}).encode(),
    )
    fake.fail("PUT", "/contents/ml/scores.json", 409)  # collection wrote in between
    update = write_scores(
        github(fake), "course/classroom50", "ml", "tinytorch", [official("lou", 77)], at(NOW)
    )
    assert update.attempts == 2 and update.written == ["lou"]
    document = json.loads(fake.file("ml/scores.json"))
    assert set(document) == {"schema", "assignments"}
    bucket = document["assignments"]["tinytorch"]
    assert bucket["type"] in ("individual", "group") and set(bucket) <= {"type", "entries"}
    record = bucket["entries"][0]["submissions"][0]
    for key, kind in SCORES_V1_RECORD.items():
        assert type(record[key]) is kind, key
    assert "assignment" not in record and record["submission"].startswith("submit/")
    assert record["score"] <= record["max-score"]
    for test in record["tests"]:
        assert type(test["passed"]) is bool and 0 <= test["score"] <= test["max-score"]


def test_a_gradebook_that_is_not_scores_v1_is_left_alone(fake):
    fake.put_file("ml/scores.json", b'{"hand": "edited"}')
    with pytest.raises(GitHubError, match="not classroom50/scores/v1; left alone"):
        write_scores(
            github(fake), "course/classroom50", "ml", "tinytorch", [official("max", 1)], at(NOW)
        )
    assert fake.file("ml/scores.json") == b'{"hand": "edited"}'


def test_a_five_megabyte_scores_json_is_read_raw_and_keeps_every_collected_record(fake):
    """A term of collected pushes makes scores.json pass the 1 MB that the contents API's
    JSON media type returns; official grades must still reach it."""
    filler = "x" * 2000
    entries = [
        {
            "owner": f"s{n:03d}",
            "submissions": [
                {
                    **collected(f"s{n:03d}"),
                    "tests": [{"test-name": filler, "passed": False, "score": 0, "max-score": 1}]
                    * 10,
                }
                for _ in range(10)
            ],
        }
        for n in range(27)
    ]
    fake.put_file("ml/scores.json", json.dumps(scores_document(entries)).encode())
    assert len(fake.file("ml/scores.json")) > 5 * 2**20
    update = write_scores(
        github(fake), "course/classroom50", "ml", "tinytorch", [official("s007", 88)], at(NOW)
    )
    assert update.written == ["s007"]
    written = json.loads(fake.file("ml/scores.json"))["assignments"]["tinytorch"]["entries"]
    assert len(written) == 27 and sum(len(e["submissions"]) for e in written) == 271
    leader = next(e for e in written if e["owner"] == "s007")["submissions"][0]
    assert leader["score"] == 88 and leader["submission"].startswith("submit/official-")


def test_a_failed_comment_call_still_gets_the_official_grade_to_scores_json(fake, tmp_path):
    name = "course/ml-tinytorch-rosa"
    fake.add_repository(name)
    fake.fail("POST", "/issues/1/comments$", 403, times=10, message="secondary rate limit")
    job = official_job(name)
    plan, path = Plan(NOW, ((job,),), {}, ()), tmp_path / "grading.json"
    report = publish_once(fake, plan, [JobResult(job, (result(80),))], GradingState(), path)
    assert any("rosa" in p and "secondary rate limit" in p for p in report.problems)
    assert load_state(path).repositories[name].official["01"]["on_time"].score == 80
    entry = json.loads(fake.file("ml/scores.json"))["assignments"]["tinytorch"]["entries"][0]
    assert entry["owner"] == "rosa" and entry["submissions"][0]["score"] == 80
    assert not load_state(path).scores_pending


def collector_rebase(fake: FakeGitHub, owner: str):
    """Classroom 50's collection, overlapping our write: its rejected push rebased with
    `-X theirs` puts its visible-test record back in place of ours (override kept)."""

    def rebase(path: str) -> None:
        fake.after_put = None  # one collection
        document = json.loads(fake.file(path))
        for entry in document["assignments"]["tinytorch"]["entries"]:
            if entry["owner"] == owner:
                entry["submissions"][0] = collected(owner)
        fake.put_file(path, json.dumps(document).encode())

    return rebase


def test_a_collection_overlapping_our_write_is_caught_and_our_record_restored(fake):
    fake.put_file("ml/scores.json", json.dumps({"schema": "classroom50/scores/v1"}).encode())
    fake.collection_polls = 2  # a collection is running when we come to write
    fake.after_put = collector_rebase(fake, "vera")
    waits: list[float] = []
    update = write_scores(
        github(fake),
        "course/classroom50",
        "ml",
        "tinytorch",
        [official("vera", 91)],
        at(NOW),
        sleep=waits.append,
    )
    assert waits == [30.0, 30.0] and update.waited_for_collection == 60
    assert update.displaced == ["vera"] and update.attempts == 2
    entry = json.loads(fake.file("ml/scores.json"))["assignments"]["tinytorch"]["entries"][0]
    assert entry["override"] and entry["submissions"][0]["score"] == 91
    assert entry["submissions"][0]["submission"].startswith("submit/official-")


def test_every_run_reasserts_entries_another_writer_displaced_but_not_manual_ones(fake, tmp_path):
    names = ["course/ml-tinytorch-walt", "course/ml-tinytorch-xena", "course/ml-tinytorch-yann"]
    state = GradingState()
    for name in names:
        state.repository(name, name.rsplit("-", 1)[1]).official["01"] = {"on_time": on_time(64)}
    manual = manual_record("yann")
    document = scores_document(
        [  # walt: a collection won a race; xena: "Clear override"
            {"owner": "walt", "override": True, "submissions": [collected("walt")]},
            {"owner": "xena", "submissions": []},
            {"owner": "yann", "override": True, "submissions": [manual]},
        ]
    )
    fake.put_file("ml/scores.json", json.dumps(document).encode())
    plan, path = Plan(NOW, (), {}, ()), tmp_path / "grading.json"
    report = publish_once(fake, plan, [], state, path)  # nothing graded, nothing pending
    entries = json.loads(fake.file("ml/scores.json"))["assignments"]["tinytorch"]["entries"]
    walt, xena, yann = entries
    for entry in (walt, xena):
        assert entry["override"] and entry["submissions"][0]["score"] == 64
    assert walt["submissions"][1] == collected("walt")  # the collected record is kept
    assert yann["submissions"] == [manual]
    assert any("yann" in p and "manual override" in p for p in report.problems)
    before = fake.count("PUT", "/contents/ml/scores.json")
    publish_once(fake, plan, [], state, path)  # nothing displaced: nothing written
    assert fake.count("PUT", "/contents/ml/scores.json") == before
