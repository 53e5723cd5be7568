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

from grader.tinymlperf.leaderboard import (
    RecordError,
    append_record,
    finalize,
    read_records,
    write_board,
)
from grader.tinymlperf.measure import measure

RECORDS = Path("leaderboard/records.jsonl")
TOP = 3


def _remeasure(record: dict) -> dict:
    """A second official measurement of the submission a record came from."""
    return dict(
        measure(Path(record["submission"]), record["student"]), submission=record["submission"]
    )


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
            record = dict(
                measure(args.submission, args.student), submission=str(args.submission.resolve())
            )
            append_record(args.records, record)
            print(json.dumps({k: v for k, v in record.items() if k != "machine"}, indent=2))
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
