"""Helpers for the tests of module 10 (tokenization) that run beside the student's code.

Bytes cannot cross between the test and the student's code, so these write a
tokenizer's tokens as hex, and build one from hex.
"""

from __future__ import annotations

from tinytorch.core.tokenization import BPETokenizer


def merges_hex(tokenizer):
    """The tokenizer's merges, in order, each pair as two hex strings."""
    return [[left.hex(), right.hex()] for left, right in tokenizer.merges]


def vocab_hex(tokenizer):
    """The tokenizer's vocabulary as [id, hex of the token's bytes] pairs."""
    return [[token_id, token.hex()] for token_id, token in tokenizer.vocab.items()]


def from_hex(vocab, merges, special_tokens=None):
    """`BPETokenizer(vocab, merges, special_tokens)` from hex strings: `vocab` as
    [id, hex] pairs, `merges` as [hex, hex] pairs (a test cannot send bytes)."""
    return BPETokenizer(
        {token_id: bytes.fromhex(token) for token_id, token in vocab},
        [(bytes.fromhex(left), bytes.fromhex(right)) for left, right in merges],
        special_tokens,
    )
