"""`python -m grader.tinymlperf`: measure submissions, build and finalize the leaderboard.

measure SUBMISSION --student NAME [--records FILE]   one official measurement, appended
leaderboard [--records FILE] [--out DIR]             index.html and leaderboard.csv
finalize --top K [--records FILE] [--out DIR]        re-measure the top K of each table,
                                                      then write the final board
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from grader.tinymlperf.leaderboard import finalize, write_board
from grader.tinymlperf.measure import measure
from grader.tinymlperf.record import Measurement, RecordError, append_record, read_records

RECORDS = Path("leaderboard/records.jsonl")
TOP = 3


def _measured(submission: Path, student: str) -> Measurement:
    """An official measurement of `submission`, checked as every record is, naming its tree."""
    fields = dict(measure(submission, student), submission=str(submission.resolve()))
    return Measurement.from_json(fields, f"the measurement of {student}")


def _remeasure(record: Measurement) -> Measurement:
    """A second official measurement of the submission a record came from."""
    if record.submission is None:
        raise RecordError(
            f"the record of {record.student} does not name its submission, so it cannot "
            "be measured again: measure it with `measure SUBMISSION --student NAME`"
        )
    return _measured(Path(record.submission), record.student)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m grader.tinymlperf", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    one = commands.add_parser("measure", help="measure one submission (a student's repository)")
    one.add_argument("submission", type=Path)
    one.add_argument("--student", required=True)
    for command in (one, commands.add_parser("leaderboard"), commands.add_parser("finalize")):
        command.add_argument("--records", type=Path, default=RECORDS)
        command.add_argument("--out", type=Path, default=RECORDS.parent)
        command.add_argument("--top", type=int, default=TOP, help="entries re-measured per table")
    args = parser.parse_args(argv)
    try:
        if args.command == "measure":
            record = _measured(args.submission, args.student)
            append_record(args.records, record)
            shown = {k: v for k, v in record.to_json().items() if k != "machine"}
            print(json.dumps(shown, indent=2))
            return 0
        records = read_records(args.records) if args.records.exists() else []
        if args.command == "finalize":
            for record in finalize(records, args.top, _remeasure):
                append_record(args.records, record)
                records.append(record)
        page, table = write_board(records, args.out, args.top)
        print(f"wrote {page} and {table} from {len(records)} records")
        return 0
    except RecordError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
