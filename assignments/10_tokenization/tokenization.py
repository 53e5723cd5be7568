# %% [markdown]
# # Module 10: Tokenization
#
# A language model reads integers, not text. A tokenizer turns text into a list of
# token ids and back, and must lose nothing: `decode(encode(s)) == s` for every string,
# spaces, newlines, accents and emoji included.
#
# Two tokenizers, as in every modern course:
# - `CharTokenizer`: one id per character seen in a corpus. Simple and exact; a text
#   becomes as many ids as it has characters.
# - `BPETokenizer`: byte-level byte-pair encoding, GPT-2's scheme. Text becomes UTF-8
#   bytes (256 base tokens, so any string can be encoded), and training learns
#   *merges*: the most frequent adjacent pair of tokens becomes a new token, again and
#   again, until the vocabulary has the size asked for. With GPT-2's 50,257 tokens,
#   English needs about one token per 4 bytes.
#
# Loaded with GPT-2's published `encoder.json` and `vocab.bpe`, your `BPETokenizer`
# gives exactly the token ids of OpenAI's `tiktoken` for GPT-2 (the grader checks it).
#
# Tasks: 10.1 CharTokenizer, 10.2 GPT-2's pre-tokenizer and byte alphabet, 10.3 BPE
# encode and decode, 10.4 special tokens, 10.5 training with incremental pair counts,
# 10.6 saving, loading and GPT-2's files.


# %%
from __future__ import annotations

import array
import json
import operator
import re
import sys
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Iterable
from functools import cache
from pathlib import Path

__all__ = ["CharTokenizer", "BPETokenizer", "bytes_to_unicode", "gpt2_pattern"]

FORMAT = "tinytorch-bpe"
Pair = tuple[bytes, bytes]


def _check_ids(ids: Iterable[int], size: int) -> list[int]:
    """`ids` as a list of ints (NumPy integers too), or a ValueError naming the first id
    that is not an integer in 0..size-1."""
    checked = []
    for position, token in enumerate(ids):
        integer = hasattr(token, "__index__") and not isinstance(token, bool)
        if not integer or not 0 <= operator.index(token) < size:
            raise ValueError(
                f"token id {token!r} at position {position} is not in this tokenizer's "
                f"vocabulary (ids 0 to {size - 1})"
            )
        checked.append(operator.index(token))
    return checked


# %% [markdown]
# ## Task 10.1: CharTokenizer
#
# The vocabulary is the sorted set of characters of a text; a character's id is its
# place in that list. Encoding a character that is not in the vocabulary is an error
# (a `ValueError` naming it and its position): a silent `<unk>` would break
# `decode(encode(s)) == s`.


# %%
class CharTokenizer:
    """One token per character (the tokenizer of character-level language models).

    Example:
        >>> tokenizer = CharTokenizer.from_text("hello world")
        >>> tokenizer.encode("hold"), tokenizer.decode([3, 4, 6])
        ([3, 5, 4, 1], 'hlr')
    """

    def __init__(self, chars: Iterable[str]) -> None:
        self.chars = list(chars)
        if any(not isinstance(c, str) or len(c) != 1 for c in self.chars):
            raise ValueError("CharTokenizer needs single characters")
        # TODO (Task 10.1)
        raise NotImplementedError(
            'Task 10.1: implement CharTokenizer.__init__. Hint: a dict from character to id; '
            'refuse a character listed twice.'
        )

    @classmethod
    def from_text(cls, text: str) -> CharTokenizer:
        """A tokenizer for every distinct character of `text`, in sorted order."""
        # TODO (Task 10.1)
        raise NotImplementedError('Task 10.1: implement CharTokenizer.from_text.')

    @property
    def vocab_size(self) -> int:
        return len(self.chars)

    def encode(self, text: str) -> list[int]:
        """The id of each character of `text`."""
        # TODO (Task 10.1)
        raise NotImplementedError(
            'Task 10.1: implement CharTokenizer.encode. Hint: the error names the character (repr) '
            'and its position in text.'
        )

    def decode(self, ids: Iterable[int]) -> str:
        """The characters of `ids`, joined."""
        # TODO (Task 10.1)
        raise NotImplementedError('Task 10.1: implement CharTokenizer.decode.')


# %% [markdown]
# ## Task 10.2: GPT-2's pre-tokenizer and byte alphabet
#
# BPE never merges across word boundaries: the text is first cut into *pre-tokens* by
# GPT-2's regular expression
#
#     's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
#
# (contractions, a word with its leading space, a number, a run of punctuation, and
# whitespace, where the last space before a word stays with the word). Python's `re`
# has no `\p{L}` (any letter) or `\p{N}` (any number), and its `\s` is wider than
# Unicode's White_Space. So build those classes yourself: `every_character()` (given)
# is all of Unicode in one string, `str.isalpha` is exactly "a letter" (categories L*),
# a number is a character whose `unicodedata.category` starts with "N", and
# `_char_class(chars)` (given) turns characters into a `re` class body of ranges such as
# `A-Za-z`. `WHITE_SPACE` (given) is Unicode's White_Space, the `\s` of GPT-2.
#
# `bytes_to_unicode()` is GPT-2's trick for writing bytes as printable characters in
# its JSON files: the 188 printable bytes (`!` to `~`, `¡` to `¬`, `®` to `ÿ`) stand for
# themselves; the other 68 bytes, in order, become the characters 256, 257, ... So a
# space (byte 32) is written `Ġ` (chr(256 + 32)).


# %%
WHITE_SPACE = "\t\n\x0b\x0c\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
"""Unicode's White_Space characters as a class body (`\\s` of GPT-2's regex engines)."""


@cache
def every_character() -> str:
    """All of Unicode's code points, in order, as one string (built at C speed)."""
    codes = array.array("I", range(sys.maxunicode + 1)).tobytes()
    return codes.decode(f"utf-32-{sys.byteorder[0]}e", "surrogatepass")


def _char_class(chars: Iterable[str]) -> str:
    """Characters (in code point order) as a `re` class body of ranges, such as `A-Za-z`."""
    codes = [ord(char) for char in chars]
    parts, start = [], 0
    for i, code in enumerate(codes):
        if i + 1 == len(codes) or codes[i + 1] != code + 1:
            first, last = re.escape(chr(codes[start])), re.escape(chr(code))
            parts.append(first if start == i else f"{first}-{last}")
            start = i + 1
    return "".join(parts)


@cache
def gpt2_pattern() -> re.Pattern[str]:
    """GPT-2's pre-tokenizer regex, with `\\p{L}`, `\\p{N}` and `\\s` spelled out."""
    # TODO (Task 10.2)
    raise NotImplementedError(
        'Task 10.2: implement gpt2_pattern. Hint: letters: filter(str.isalpha, every_character()); '
        'numbers: the characters that are str.isnumeric and whose unicodedata.category starts with '
        '"N".'
    )


@cache
def bytes_to_unicode() -> dict[int, str]:
    """GPT-2's printable character for each byte value 0-255."""
    # TODO (Task 10.2)
    raise NotImplementedError('Task 10.2: implement bytes_to_unicode.')


def _to_text(token: bytes) -> str:
    """A token's bytes written in GPT-2's printable alphabet."""
    alphabet = bytes_to_unicode()
    return "".join(alphabet[byte] for byte in token)


@cache
def _byte_of() -> dict[str, int]:
    """The byte that each character of GPT-2's printable alphabet stands for."""
    return {char: byte for byte, char in bytes_to_unicode().items()}


def _from_text(text: str) -> bytes:
    """The bytes that `text`, written in GPT-2's alphabet, stands for."""
    try:
        return bytes(_byte_of()[char] for char in text)
    except KeyError as error:
        raise ValueError(f"{text!r} is not written in GPT-2's byte alphabet") from error


# %% [markdown]
# ## Tasks 10.3, 10.4 and 10.6: the BPETokenizer
#
# A `BPETokenizer` is a `vocab` (id -> bytes), its `merges` in the order they were
# learned, and its special tokens (token -> id). **10.3** To encode a pre-token, start
# from its single bytes and repeatedly merge the adjacent pair whose merge was learned
# *first* (lowest rank), every occurrence of it (`_merge`, given), until no adjacent
# pair is a merge; then look up each piece's id. The same pre-tokens come back again
# and again ("the", " of"): cache their ids. Decoding joins the tokens' bytes and
# decodes UTF-8, with `errors="replace"` because a slice of ids can end in the middle of
# a character.
#
# **10.4** Special tokens (`<|endoftext|>`) are never split or merged: cut the text at
# them first (the longest first when one contains another), encode the pieces between
# them, and give each special token its own id.
#
# **10.6** `save` writes JSON: the vocabulary as `{token: id}` with each token's bytes
# written in GPT-2's printable alphabet (`bytes_to_unicode`), the merges as pairs written
# the same way, and the special tokens; `load` reads it back. GPT-2's own `encoder.json`
# is that same vocabulary format, and its `vocab.bpe` lists one merge per line ("Ġ t"),
# after a `#version` line: `from_gpt2` reads both.
#
# Training (`train`, task 10.5) has its own section below the class.


# %%
def _merge(word: list[bytes], pair: Pair) -> list[bytes]:
    """`word` with every occurrence of `pair`, left to right, joined into one token."""
    merged, i = [], 0
    while i < len(word):
        if i + 1 < len(word) and word[i] == pair[0] and word[i + 1] == pair[1]:
            merged.append(pair[0] + pair[1])
            i += 2
        else:
            merged.append(word[i])
            i += 1
    return merged


def _split_special(text: str, special_tokens: Iterable[str]) -> list[str]:
    """`text` cut at the special tokens, which are kept as pieces of their own."""
    # TODO (Task 10.4)
    raise NotImplementedError(
        'Task 10.4: implement _split_special. Hint: re.split with a capturing group of the escaped '
        'tokens, longest first.'
    )


# %%
class BPETokenizer:
    """Byte-level BPE, as GPT-2.

    Args:
        vocab: token id -> the token's bytes; ids 0, 1, 2, ... without gaps.
        merges: the learned pairs, first learned first; each merged token is in `vocab`.
        special_tokens: special token -> its id in `vocab` (its UTF-8 bytes there).

    Example:
        >>> tokenizer = BPETokenizer.train("low lower lowest " * 50, vocab_size=260)
        >>> tokenizer.decode(tokenizer.encode("lowest lows")) == "lowest lows"
        True
    """

    def __init__(
        self,
        vocab: dict[int, bytes],
        merges: list[Pair],
        special_tokens: dict[str, int] | None = None,
    ) -> None:
        self.vocab = dict(vocab)
        self.merges = list(merges)
        self.special_tokens = dict(special_tokens or {})
        if sorted(self.vocab) != list(range(len(self.vocab))):
            raise ValueError("a BPE vocabulary's ids must be 0, 1, 2, ... without gaps")
        for token, token_id in self.special_tokens.items():
            if not token or self.vocab.get(token_id) != token.encode("utf-8"):
                raise ValueError(
                    f"special token {token!r} is not in the vocabulary as id {token_id}"
                )
        regular = sorted(set(self.vocab) - set(self.special_tokens.values()), reverse=True)
        self.ids = {self.vocab[i]: i for i in regular}  # the lowest id wins a duplicate
        needed = [bytes([byte]) for byte in range(256)] + [a + b for a, b in self.merges]
        missing = [token for token in needed if token not in self.ids]
        if missing:
            raise ValueError(
                "a byte-level BPE vocabulary needs all 256 single bytes and every merged "
                f"token; {missing[0]!r} is missing"
            )
        self.ranks = {pair: rank for rank, pair in enumerate(self.merges)}
        self._cache: dict[str, list[int]] = {}

    @property
    def vocab_size(self) -> int:
        return len(self.vocab)

    def _bpe(self, piece: str) -> list[int]:
        """The ids of one pre-token (merges applied by rank)."""
        # TODO (Task 10.3)
        raise NotImplementedError(
            'Task 10.3: implement BPETokenizer._bpe. Hint: parts = [bytes([b]) for b in '
            'piece.encode("utf-8")]; while two or more parts, merge the adjacent pair of lowest '
            'rank (self.ranks); stop when none is a merge.'
        )

    def encode(self, text: str) -> list[int]:
        """The token ids of `text` (this tokenizer's special tokens are recognised)."""
        if not isinstance(text, str):
            raise TypeError(f"encode takes a str, got {type(text).__name__}")
        ids: list[int] = []
        for chunk in _split_special(text, self.special_tokens):
            # TODO (Task 10.4)
            raise NotImplementedError('Task 10.4: implement BPETokenizer.encode.')
            # TODO (Task 10.3)
            raise NotImplementedError(
                'Task 10.3: implement BPETokenizer.encode. Hint: gpt2_pattern().findall(chunk); '
                "keep each piece's ids in self._cache."
            )
        return ids

    def decode(self, ids: Iterable[int]) -> str:
        """The text of `ids` (bytes that are not valid UTF-8 become U+FFFD)."""
        # TODO (Task 10.3)
        raise NotImplementedError('Task 10.3: implement BPETokenizer.decode.')

    @classmethod
    def train(cls, text: str, vocab_size: int, special_tokens: Iterable[str] = ()) -> BPETokenizer:
        """Learn merges on `text` until the vocabulary (256 bytes, the merges, then the
        special tokens) has `vocab_size` tokens, or no pair is left to merge."""
        special_tokens = list(dict.fromkeys(special_tokens))
        if not isinstance(vocab_size, int) or vocab_size < 256 + len(special_tokens):
            raise ValueError(
                f"vocab_size must be at least 256 + {len(special_tokens)} special tokens, "
                f"got {vocab_size!r}"
            )
        counts: Counter[str] = Counter()
        for chunk in _split_special(text, special_tokens):
            if chunk not in special_tokens:
                counts.update(gpt2_pattern().findall(chunk))
        words = [[bytes([byte]) for byte in piece.encode("utf-8")] for piece in counts]
        merge_count = vocab_size - 256 - len(special_tokens)
        merges = _learn_merges(words, list(counts.values()), merge_count)
        bytes_only = {i: bytes([i]) for i in range(256)}
        vocab = bytes_only | {256 + rank: a + b for rank, (a, b) in enumerate(merges)}
        specials = {token: len(vocab) + i for i, token in enumerate(special_tokens)}
        vocab.update({i: token.encode("utf-8") for token, i in specials.items()})
        return cls(vocab, merges, specials)

    def save(self, path: str | Path) -> None:
        """Write the tokenizer to `path` as JSON (see task 10.6)."""
        # TODO (Task 10.6)
        raise NotImplementedError('Task 10.6: implement BPETokenizer.save.')
        Path(path).write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")

    @classmethod
    def load(cls, path: str | Path) -> BPETokenizer:
        """A tokenizer written by `save`."""
        try:
            document = json.loads(Path(path).read_text(encoding="utf-8"))
            if document.get("format") != FORMAT:
                raise ValueError("no tinytorch-bpe format tag")
            # TODO (Task 10.6)
            raise NotImplementedError(
                "Task 10.6: implement BPETokenizer.load. Hint: _from_text turns GPT-2's printable "
                'alphabet back into bytes.'
            )
        except (AttributeError, KeyError, TypeError, ValueError) as error:
            raise ValueError(
                f"{path} is not a tokenizer saved by BPETokenizer.save ({error})"
            ) from None
        return cls(vocab, merges, specials)

    @classmethod
    def from_gpt2(
        cls,
        encoder: dict[str, int] | str,
        merges: str,
        special_tokens: Iterable[str] = ("<|endoftext|>",),
    ) -> BPETokenizer:
        """GPT-2's tokenizer from the contents of its `encoder.json` (a dict, or the JSON
        text) and of its `vocab.bpe` (the text)."""
        if isinstance(encoder, str):
            encoder = json.loads(encoder)
        added = [token for token in dict.fromkeys(special_tokens) if token not in encoder]
        specials = {token: encoder[token] for token in special_tokens if token in encoder}
        specials |= {token: len(encoder) + i for i, token in enumerate(added)}
        # TODO (Task 10.6)
        raise NotImplementedError(
            'Task 10.6: implement BPETokenizer.from_gpt2. Hint: skip blank lines and the '
            '"#version" line; "Ġ t" is the pair (b" ", b"t").'
        )
        return cls(vocab, pairs, specials)


# %% [markdown]
# ## Task 10.5: training with incremental pair counts
#
# `train` counts the pre-tokens of the corpus once (special tokens cut it first and are
# never part of a pre-token) and hands `_learn_merges` the distinct pre-tokens, as words
# of single bytes, with their counts. Then repeat: the most frequent adjacent pair (on a
# tie, the lexicographically greater pair of bytes) becomes a merge and a new token.
#
# The slow way recounts every pair of every word after each merge. The fast way keeps
# `pair -> count` and `pair -> the words that hold it`, and after a merge updates only
# the words that hold the merged pair: subtract their old pairs, merge, add their new
# pairs. A 500-token vocabulary on 130 KB of text then trains in a fraction of a second
# (`time_bpe.py` next to this file measures it on your machine).


# %%
def _learn_merges(words: list[list[bytes]], counts: list[int], merge_count: int) -> list[Pair]:
    """Up to `merge_count` merges for `words` (word `i` seen `counts[i]` times); `words`
    is merged in place."""
    merges: list[Pair] = []
    # TODO (Task 10.5)
    raise NotImplementedError(
        'Task 10.5: implement _learn_merges. Hint: pair_counts = defaultdict(int); holders = '
        'defaultdict(set) of word indices; best = the max pair among those whose count is '
        'max(pair_counts.values()).'
    )
    return merges
