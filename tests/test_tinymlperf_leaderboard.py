"""The TinyMLPerf leaderboard: built only from measurement records, ranked per task and
track by the measured speedup and, in a table of its own, by the throughput ratio, ties
where intervals overlap, floors shown, entries not
ranked listed apart, final only once the top entries are re-measured; a static page that
opens in headless Chromium without a console error, and a CSV. 200 submissions build in
under 5 s (the time is printed)."""

from __future__ import annotations

import csv
import io
import json
import re
import time

import numpy as np
import pytest

from grader.tinymlperf import leaderboard as board
from grader.tinymlperf.__main__ import main
from grader.tinymlperf.record import (
    THROUGHPUT_NEEDED,
    Measurement,
    RecordError,
    append_record,
    read_records,
)
from grader.tinymlperf.tasks import TASKS
from tests.chromium import Browser
from tests.test_instructor_dashboard import artifact


def typed(records: list[dict]) -> list[Measurement]:
    """The records as the board reads them from a file."""
    return [Measurement.from_json(r, f"record {n}") for n, r in enumerate(records, 1)]


def record(student, speedup, width=0.1, task="digits", track="closed", wide=None, **extra):
    """A ranked record; `wide` is its throughput ratio (its speedup unless given)."""
    wide = speedup if wide is None else wide
    return {
        "student": student, "status": "ranked", "message": "", "task": task, "track": track,
        "measured_at": "2027-01-20T10:00:00+00:00", "accuracy": 0.97, "floor": TASKS[task].floor,
        "speedup": speedup, "speedup_low": speedup - width, "speedup_high": speedup + width,
        "latency_ms": 10 / speedup, "baseline_ms": 10.0, "throughput_speedup": wide,
        "throughput_speedup_low": wide - width, "throughput_speedup_high": wide + width,
        "throughput": 1000.0 * wide, "throughput_low": 900.0 * wide,
        "throughput_high": 1100.0 * wide, "baseline_throughput": 1000.0, **extra,
    }  # fmt: skip


def gpt(student, speedup, width=0.1, track="closed", **extra):
    """A ranked record of the text task: nats instead of accuracy, no throughput."""
    entry = {k: v for k, v in record(student, speedup, width, "austen_gpt", track).items()
             if k not in THROUGHPUT_NEEDED and k != "accuracy"}  # fmt: skip
    return {**entry, "nats": 2.3, **extra}


def synthetic(count: int, seed: int = 0) -> list[dict]:
    """`count` measurement records over every task and track, a tenth of them not ranked."""
    rng = np.random.default_rng(seed)
    records = []
    for i in range(count):
        task, track = list(TASKS)[i % 3], board.TRACKS[(i // 3) % 2]
        if i % 10 == 9:
            message = "accuracy 80.00% on the held-out set is under the floor"
            records.append({"student": f"s{i:03d}", "status": "under_floor", "task": task,
                            "message": message, "track": track,
                            "measured_at": "2027-01-20T10:00:00+00:00"})  # fmt: skip
            continue
        speedup, wide = (float(v) for v in rng.uniform(0.8, 4.0, 2))
        width = float(rng.uniform(0.02, 0.3))
        if task == "austen_gpt":
            records.append(gpt(f"s{i:03d}", speedup, width, track, name=f"entry <{i}>"))
            continue
        records.append(record(f"s{i:03d}", speedup, width, task, track, wide,
                              name=f"entry <{i}>", self_reported={"speedup": 99.0}))  # fmt: skip
    return records


def test_ranks_follow_the_measurement_and_overlapping_intervals_tie():
    records = [
        record("ann", 3.0),
        record("bea", 2.9),  # [2.8, 3.0] overlaps ann's [2.9, 3.1]: tied, rank 1
        record(
            "cal",
            2.0,
            self_reported={"speedup": 100.0},  # claims change nothing
            disagreements=["self-reported speedup 100.00x, measured [1.90, 2.10]x"],
        ),
        record("dan", 1.5, task="digits", track="open"),
        {**record("eve", 9.0), "status": "under_floor", "message": "accuracy 50% < floor"},
    ]
    records = typed(records)
    tables = board.rank(records)
    closed = [(e.record.student, e.rank, e.tie) for e in tables[("digits", "closed")]]
    assert closed == [("ann", 1, False), ("bea", 1, True), ("cal", 3, False)]
    assert [e.record.student for e in tables[("digits", "open")]] == ["dan"]
    assert tables[("fashion_mnist", "closed")] == []
    page = board.render(records, top=2)
    assert "eve" in page.split('id="unranked"')[1] and "accuracy 50% &lt; floor" in page
    assert "Floor: 95% accuracy" in page and "Provisional" in page
    assert "<td>self-reported speedup 100.00x, measured [1.90, 2.10]x</td>" in page


def test_the_throughput_table_ranks_by_its_own_measurement_and_older_records_stay_out():
    records = [
        record("ann", 3.0, wide=1.2),
        record("bea", 2.0, wide=2.5),
        record("cal", 1.5, wide=2.45),  # [2.35, 2.55] overlaps bea's [2.4, 2.6]: tied
        {k: v for k, v in record("dan", 2.5).items() if k not in THROUGHPUT_NEEDED},
    ]  # fmt: skip
    records = typed(records)
    speed = board.rank(records)[("digits", "closed")]
    assert [(e.record.student, e.rank) for e in speed] == [
        ("ann", 1), ("dan", 2), ("bea", 3), ("cal", 4)
    ]  # fmt: skip
    wide = board.rank(records, "throughput_speedup")[("digits", "closed")]
    assert [(e.record.student, e.rank, e.tie) for e in wide] == [
        ("bea", 1, False), ("cal", 1, True), ("ann", 3, False)
    ]  # fmt: skip
    rows = {r["student"]: r for r in csv.DictReader(io.StringIO(board.to_csv(records)))}
    assert (rows["cal"]["rank"], rows["cal"]["throughput_rank"], rows["cal"]["throughput_tie"]) == (
        "4", "1", "=")  # fmt: skip
    assert rows["dan"]["throughput_rank"] == rows["dan"]["throughput_speedup"] == ""
    assert float(rows["bea"]["throughput"]) == 2500.0
    page = board.render(records, top=1)
    throughput = page.split('id="digits-closed-throughput_speedup"')[1].split("</table>")[0]
    assert "images per second" in throughput and "dan" not in throughput
    assert "<td>2,500 / 1,000</td>" in throughput


def test_a_record_with_part_of_a_throughput_is_refused():
    partial = {k: v for k, v in record("ann", 2.0).items() if k != "throughput_speedup_high"}
    with pytest.raises(
        RecordError, match="line 1: field 'throughput_speedup_high' must be a float"
    ):
        Measurement.from_json(partial, "line 1")


def test_the_top_entries_are_remeasured_until_the_board_is_final():
    records = typed([record("ann", 3.0), record("bea", 2.0), record("cal", 1.7)])
    asked = []

    def remeasure(first):
        asked.append(first.student)
        again = record(first.student, {"ann": 1.0, "bea": 2.0, "cal": 1.6}[first.student])
        return typed([{**again, "measured_at": "2027-01-21T10:00:00+00:00"}])[0]

    assert not board.is_final(board.rank(records), 2)
    assert "Provisional" in board.render(records, top=2)
    fresh = board.finalize(records, 2, remeasure)
    # ann's second measurement drops her to third, which lifts cal into the top two:
    # cal is re-measured too; the second measurements stand
    assert asked == ["ann", "bea", "cal"] and all(r.remeasured for r in fresh)
    tables = board.rank(records + fresh)
    assert [e.record.student for e in tables[("digits", "closed")]] == ["bea", "cal", "ann"]
    assert [e.record.speedup for e in tables[("digits", "closed")]] == [2.0, 1.6, 1.0]
    assert board.is_final(tables, 2) and "Final" in board.render(records + fresh, top=2)
    assert board.finalize(records + fresh, 2, remeasure) == [] and len(asked) == 3


def test_the_csv_holds_every_ranked_entry_with_its_interval_and_floor():
    records = synthetic(40)
    rows = list(csv.DictReader(io.StringIO(board.to_csv(typed(records)))))
    ranked = [r for r in records if r["status"] == "ranked"]
    assert len(rows) == len(ranked) == 36
    by_student = {r["student"]: r for r in ranked}
    measured = {r.student: r for r in typed(ranked)}
    previous = None
    for row in rows:
        source = by_student[row["student"]]
        assert float(row["speedup"]) == source["speedup"]
        assert float(row["speedup_low"]) == source["speedup_low"]
        assert float(row["speedup_high"]) == source["speedup_high"]
        assert float(row["floor"]) == TASKS[row["task"]].floor
        for column in ("throughput_speedup", "throughput", "nats"):
            assert row[column] == str(source.get(column, ""))
        if previous is not None and (previous["task"], previous["track"]) == (
            row["task"],
            row["track"],
        ):
            assert float(row["speedup"]) <= float(previous["speedup"])
            tied = board.overlap(measured[previous["student"]], measured[row["student"]])
            assert (row["tie"] == "=") == tied and (row["rank"] == previous["rank"]) == tied
        else:
            assert row["rank"] == "1" and row["tie"] == ""
        previous = row


def test_a_bad_record_is_refused_naming_the_line_and_field(tmp_path):
    path = tmp_path / "records.jsonl"
    good = record("ann", 2.0)
    path.write_text(json.dumps(good) + "\n\n" + json.dumps({**good, "speedup": "fast"}) + "\n")
    with pytest.raises(RecordError, match=r"records.jsonl:3: field 'speedup' must be a float"):
        read_records(path)
    path.write_text(json.dumps({**good, "task": "cifar10"}) + "\n")
    with pytest.raises(RecordError, match="unknown task or track 'cifar10'"):
        read_records(path)
    assert main(["leaderboard", "--records", str(path), "--out", str(tmp_path)]) == 2


def _line(**changes) -> bytes:
    """One records.jsonl line: bea's ranked record with `changes`."""
    return json.dumps({**record("bea", 2.0), **changes}).encode()


@pytest.mark.parametrize(
    ("line", "message"),
    [
        (b'{"student": "bea", "status"', "not JSON"),
        (b"[1, 2]", "a record must be a JSON object"),
        (_line(student=None), "field 'student' must be a str, got None"),
        (_line(disagreements=3), "field 'disagreements' must be a list of strings, got 3"),
        (_line(remeasured="yes"), "field 'remeasured' must be a bool, got 'yes'"),
        (_line(speedup=float("nan")), "field 'speedup' must be a finite float, got nan"),
        (_line().replace(b"bea", b"b\xe9a"), "not UTF-8"),
    ],
)
def test_a_malformed_line_is_named_with_its_file_and_line_never_a_traceback(
    tmp_path, capsys, line, message
):
    path = tmp_path / "records.jsonl"
    path.write_bytes(json.dumps(record("ann", 3.0)).encode() + b"\n" + line + b"\n")
    where = "records.jsonl:" if message == "not UTF-8" else "records.jsonl:2: "
    with pytest.raises(RecordError, match=re.escape(where) + ".*" + re.escape(message)):
        read_records(path)
    assert main(["leaderboard", "--records", str(path), "--out", str(tmp_path / "out")]) == 2
    assert f"{path}" in capsys.readouterr().err and not (tmp_path / "out").exists()


def test_a_record_reads_back_as_it_was_written_with_the_fields_the_board_does_not_read():
    measured = {
        **record("ann", 2.0, disagreements=[], self_reported={"speedup": 9.0}),
        "machine": {"cpu": "x86_64", "threads": 1}, "verdict": "faster", "batch": 1024,
        "latency_timed_accuracy": 0.97, "submission": "/srv/ann", "remeasured": True,
    }  # fmt: skip
    for fields in [measured, *synthetic(12)]:
        assert Measurement.from_json(fields, "line 1").to_json() == fields
    typed_record = Measurement.from_json(measured, "line 1")
    assert typed_record.details["machine"] == {"cpu": "x86_64", "threads": 1}
    assert typed_record.interval("speedup") == (2.0, 1.9, 2.1)


def test_finalize_refuses_a_record_that_does_not_name_its_submission(tmp_path, capsys):
    path = tmp_path / "records.jsonl"
    path.write_text(json.dumps(record("ann", 3.0)) + "\n")
    assert main(["finalize", "--records", str(path), "--out", str(tmp_path), "--top", "1"]) == 2
    assert "the record of ann does not name its submission" in capsys.readouterr().err


def test_two_hundred_submissions_build_in_under_five_seconds(tmp_path):
    records_file = tmp_path / "records.jsonl"
    for entry in typed(synthetic(200)):
        append_record(records_file, entry)
    started = time.perf_counter()
    assert main(["leaderboard", "--records", str(records_file), "--out", str(tmp_path)]) == 0
    seconds = time.perf_counter() - started
    print(f"leaderboard of 200 submissions built in {seconds:.3f} s")
    assert seconds < 5.0
    rows = list(csv.DictReader((tmp_path / "leaderboard.csv").open()))
    assert len(rows) == 180 and {(r["task"], r["track"]) for r in rows} == set(board.rank([]))


def test_the_board_opens_in_chromium_without_errors_and_names_cannot_inject(tmp_path):
    records = synthetic(200)
    records.append(record("mal", 1.2, name='<script>alert(1)</script><img src="http://x/y.png">'))
    page, _ = board.write_board(typed(records), tmp_path / "board", top=3)
    text = page.read_text()
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", text)  # no asset, no injection
    browser = Browser(tmp_path / "profile")
    try:
        browser.open(page.as_uri())
        assert browser.errors() == []
        shown = browser.evaluate("""[document.querySelectorAll('script, img').length,
            Array.from(document.querySelectorAll('h2')).map((h) => h.id),
            document.querySelectorAll('tbody tr').length,
            Math.round(document.querySelector('.bar span').getBoundingClientRect().width)]""")
        assert shown[0] == 0
        assert shown[1] == [f"{t}-{k}" for t in TASKS for k in board.TRACKS] + ["unranked"]
        images = sum(r["status"] == "ranked" and r["task"] != "austen_gpt" for r in records)
        assert shown[2] == 181 + images + 20  # text: one table; images: two; not ranked
        assert shown[3] > 0  # the interval bars are drawn
        browser.screenshot(artifact("leaderboard.png"))
        assert browser.errors() == []
    finally:
        browser.close()


def test_the_commands_measure_then_finalize_a_board_from_a_students_repository(
    tmp_path, monkeypatch
):
    """`measure` appends the grader's record; `finalize` measures the top entry again and
    writes a final board (quick harness settings, the real workers)."""
    from functools import partial

    from grader.tinymlperf import __main__ as command
    from grader.tinymlperf.measure import measure
    from tests.test_tinymlperf_measure import GOOD, QUICK, _tree

    monkeypatch.setattr(command, "measure", partial(measure, settings=QUICK))
    tree, records = _tree(tmp_path, {**GOOD, "name": "<b>mine</b>"}), tmp_path / "r.jsonl"
    assert main(["measure", str(tree), "--student", "ann", "--records", str(records)]) == 0
    first = read_records(records)
    assert [(r.student, r.status, r.submission) for r in first] == [
        ("ann", "ranked", str(tree.resolve()))
    ]
    out = tmp_path / "board"
    assert main(["leaderboard", "--records", str(records), "--out", str(out), "--top", "1"]) == 0
    assert "Provisional" in (out / "index.html").read_text()
    assert main(["finalize", "--records", str(records), "--out", str(out), "--top", "1"]) == 0
    both = read_records(records)
    assert [r.remeasured for r in both] == [False, True]
    page = (out / "index.html").read_text()
    assert "Final" in page and "&lt;b&gt;mine&lt;/b&gt;" in page
    rows = list(csv.DictReader((out / "leaderboard.csv").open()))
    assert [(r["student"], r["remeasured"]) for r in rows] == [("ann", "True")]
    assert float(rows[0]["speedup"]) == both[1].speedup


def test_the_text_task_ranks_by_time_per_character_shows_nats_and_has_no_throughput():
    records = typed([gpt("ann", 1.5), gpt("bea", 3.0)])
    tables = board.rank(records)
    assert [e.record.student for e in tables[("austen_gpt", "closed")]] == ["bea", "ann"]
    page = board.render(records, top=1)
    assert "Floor: at most 2.50 nats/char on held-out text." in page
    assert "<td>2.300 nats/char</td>" in page and 'id="austen_gpt-closed-throughput' not in page
    rows = list(csv.DictReader(io.StringIO(board.to_csv(records))))
    assert [(r["student"], r["nats"], r["accuracy"]) for r in rows] == [
        ("bea", "2.3", ""), ("ann", "2.3", "")
    ]  # fmt: skip
    without = {k: v for k, v in gpt("cal", 2.0).items() if k != "nats"}
    with pytest.raises(RecordError, match="field 'nats' must be a float"):
        Measurement.from_json(without, "line 1")
