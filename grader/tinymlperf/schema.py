"""The submission file of TinyMLPerf (`20_capstone/submission.json`), checked against
`submission.schema.json` before anything runs.

The validator covers the part of JSON Schema that file uses (type, required,
additionalProperties, properties, enum, pattern, minimum, maximum, maxLength): a dozen
lines of our own rather than a dependency. Every error names the field, what it must be
and what the file holds, so a student can fix it without reading this code.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SCHEMA_FILE = Path(__file__).with_name("submission.schema.json")
SUBMISSION_FILE = "submission.json"
FILE_LIMIT = 16_000

_TYPES: dict[str, tuple[type, ...]] = {
    "object": (dict,),
    "string": (str,),
    "number": (int, float),
    "integer": (int,),
    "boolean": (bool,),
}


class SubmissionError(ValueError):
    """A submission file that cannot be measured; the message names the field."""


def _shown(value: Any) -> str:
    text = json.dumps(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _kind(value: Any) -> str:
    """The JSON name of a value's type, as a student reads it."""
    names = {bool: "a boolean", dict: "an object", list: "a list", str: "a string"}
    if value is None:
        return "null"
    if isinstance(value, int | float) and not isinstance(value, bool):
        return "a number"
    return names.get(type(value), type(value).__name__)


def _is(value: Any, kind: str) -> bool:
    """JSON's idea of `kind` (true and false are booleans, never numbers)."""
    return isinstance(value, _TYPES[kind]) and (isinstance(value, bool) == (kind == "boolean"))


def _article(kind: str) -> str:
    return {"object": "an object", "integer": "an integer"}.get(kind, f"a {kind}")


def _check(value: Any, schema: dict, where: str) -> None:
    """Raise SubmissionError for the first place where `value` breaks `schema`."""
    wanted = schema.get("type")
    if wanted and not _is(value, wanted):
        raise SubmissionError(
            f"{where} must be {_article(wanted)}, got {_kind(value)} ({_shown(value)})"
        )
    if "enum" in schema and value not in schema["enum"]:
        choices = ", ".join(json.dumps(c) for c in schema["enum"])
        raise SubmissionError(f"{where} must be one of {choices}, got {_shown(value)}")
    if isinstance(value, str):
        if len(value) > schema.get("maxLength", len(value)):
            raise SubmissionError(f"{where} is longer than {schema['maxLength']} characters")
        if "pattern" in schema and not re.fullmatch(schema["pattern"], value):
            raise SubmissionError(
                f"{where} must be a Python name (letters, digits, _), got {_shown(value)}"
            )
    if isinstance(value, int | float) and not isinstance(value, bool):
        low, high = schema.get("minimum", value), schema.get("maximum", value)
        if value != value or not low <= value <= high:
            bounds = f"[{schema.get('minimum', '-inf')}, {schema.get('maximum', 'inf')}]"
            raise SubmissionError(f"{where} must lie in {bounds}, got {_shown(value)}")
    if isinstance(value, dict):
        for name in schema.get("required", []):
            if name not in value:
                raise SubmissionError(f"{where} is missing the field {name!r}")
        known = schema.get("properties", {})
        for name, item in value.items():
            if name not in known:
                if schema.get("additionalProperties", True) is False:
                    raise SubmissionError(
                        f"{where} has an unknown field {name!r} (known: {', '.join(known)})"
                    )
                continue
            _check(item, known[name], f"{where}.{name}")


@dataclass(frozen=True)
class Submission:
    """A checked submission file."""

    task: str
    track: str
    entry_point: str
    name: str = ""
    self_reported: dict[str, float] = field(default_factory=dict)


def parse_submission(text: str | bytes, where: str = SUBMISSION_FILE) -> Submission:
    """The Submission in `text`; SubmissionError names the field of a bad one."""
    try:
        data = json.loads(text)
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise SubmissionError(f"{where} is not valid JSON: {error}") from None
    _check(data, json.loads(SCHEMA_FILE.read_text(encoding="utf-8")), where)
    return Submission(
        task=data["task"],
        track=data["track"],
        entry_point=data["entry_point"],
        name=data.get("name", ""),
        self_reported=dict(data.get("self_reported", {})),
    )
