"""How much of each pair of students' module files is the same code, beyond what the
course gave everyone.

Each file becomes a set of fingerprints (winnowing, as MOSS does): Python tokens with
every name and literal replaced by its kind (renaming variables changes nothing),
hashed in runs of K tokens, of which each window of W runs keeps its smallest. The
fingerprints of the starter file and of the reference solution are the base: removed
from every student's set, so code everyone was given, or that the task forces, never
counts, and neither does what much of the class shares (COMMON). A pair's similarity is
their shared fingerprints over the smaller set. Standard
library only: no maintained tool fit without adding a dependency to every student's
environment (the course's venv is the students' too).
"""

from __future__ import annotations

import hashlib
import io
import itertools
import keyword
import tokenize
from collections import defaultdict
from dataclasses import dataclass

K = 12
"""Tokens per run: a line or two of code."""
W = 6
"""Runs per window: a match of K + W - 1 tokens or more is always seen."""
COMMON = 0.2
"""A fingerprint held by more than this share of the class (and more than 3 students) is
an idiom everyone reaches, not evidence: left out, as MOSS's `-m` does."""
SKIPPED = {tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT,
           tokenize.ENCODING, tokenize.ENDMARKER}  # fmt: skip


def tokens(source: str) -> list[str]:
    """The file's tokens, names and literals by kind; an unreadable tail is dropped."""
    found = []
    try:
        for token in tokenize.generate_tokens(io.StringIO(source).readline):
            if token.type in SKIPPED:
                continue
            if token.type == tokenize.NAME and not keyword.iskeyword(token.string):
                found.append("NAME")
            elif token.type in (tokenize.NUMBER, tokenize.STRING):
                found.append(tokenize.tok_name[token.type])
            else:
                found.append(token.string)
    except (tokenize.TokenError, IndentationError, SyntaxError):
        pass
    return found


def fingerprints(source: str) -> set[int]:
    """The winnowed fingerprints of a file."""
    stream = tokens(source)
    hashes = [
        int.from_bytes(hashlib.blake2b(" ".join(stream[i : i + K]).encode(), digest_size=8)
                       .digest(), "big")
        for i in range(len(stream) - K + 1)
    ]  # fmt: skip
    if len(hashes) <= W:
        return set(hashes)
    return {min(hashes[i : i + W]) for i in range(len(hashes) - W + 1)}


@dataclass(frozen=True)
class Pair:
    first: str
    second: str
    similarity: float
    shared: int


def similar_pairs(files: dict[str, str], base: list[str], threshold: float) -> list[Pair]:
    """Pairs of `files` (student -> source) at least `threshold` similar, most first."""
    excluded = set().union(*(fingerprints(text) for text in base)) if base else set()
    prints = {student: fingerprints(text) - excluded for student, text in files.items()}
    holders: dict[int, list[str]] = defaultdict(list)
    for student, found in prints.items():
        for fingerprint in found:
            holders[fingerprint].append(student)
    shared: dict[tuple[str, str], int] = defaultdict(int)
    common = max(3, int(COMMON * len(files)))
    for students in holders.values():
        if len(students) > common:
            continue
        for pair in itertools.combinations(sorted(students), 2):
            shared[pair] += 1
    pairs = []
    for (first, second), count in shared.items():
        smaller = min(len(prints[first]), len(prints[second]))
        score = count / smaller if smaller else 0.0
        if score >= threshold:
            pairs.append(Pair(first, second, round(score, 3), count))
    return sorted(pairs, key=lambda p: (-p.similarity, p.first, p.second))
