"""Is there anything to unlock today? A standard-library check the unlock workflow runs
before it installs anything, so that most days it stops within seconds.

`PYTHONPATH=. python3 -P -m grader.assign.pending [--root DIR] [--today DATE]` prints
`pending=true` when a module of classroom.yml is released by today (in the course's time
zone) and its folder is missing from assignments/, else `pending=false`. It reads only
the keys it needs, line by line (PyYAML is not installed yet); anything it cannot read
counts as pending, so the full unlock decides.
"""

from __future__ import annotations

import argparse
import datetime as dt
import re
import sys
from pathlib import Path
from zoneinfo import ZoneInfo

FIELD = re.compile(r"^\s*(?:-\s+)?(number|slug|release|timezone):\s*[\"']?([^\"'#\s]+)")


def modules(text: str) -> tuple[str, list[dict[str, str]]]:
    """The course time zone and each module's number, slug and release date."""
    timezone, found = "UTC", []
    for line in text.splitlines():
        match = FIELD.match(line)
        if not match:
            continue
        key, value = match.groups()
        if key == "timezone":
            timezone = value
        elif key == "number":
            found.append({"number": value})
        elif found:
            found[-1][key] = value
    return timezone, found


def pending(root: Path, today: dt.date | None = None) -> bool:
    """Whether a released module has no folder in assignments/ yet."""
    try:
        timezone, entries = modules((root / "classroom.yml").read_text(encoding="utf-8"))
        today = today or dt.datetime.now(ZoneInfo(timezone)).date()
        for entry in entries:
            folder = f"{int(entry['number']):02d}_{entry['slug']}"
            released = dt.date.fromisoformat(entry["release"]) <= today
            if released and not (root / "assignments" / folder).is_dir():
                return True
        return not entries
    except (OSError, KeyError, ValueError):
        return True


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--root", default=".")
    parser.add_argument("--today")
    args = parser.parse_args()
    today = dt.date.fromisoformat(args.today) if args.today else None
    print(f"pending={'true' if pending(Path(args.root), today) else 'false'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
