"""Hidden tests for module 10 (Tokenization): the character tokenizer, GPT-2's
pre-tokenizer, BPE encoding against a reference encoder, training against a plain
reference trainer, special tokens, saving and loading, GPT-2's ids against tiktoken, and
`decode(encode(s)) == s` for any Unicode text.

Every call on the tokenizers runs in the worker; expected values are computed here by
grader/testing/bpe.py (the `regex` package, a plain trainer, tiktoken with GPT-2's
published files) from texts this file made.
PYTEST_DONT_REWRITE: failures show the helpers' messages, never this file's source.
"""

import json
import random

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from grader.testing import bpe
from grader.testing.kit import aids, scratch, student

tokenization = student.tokenization
CharTokenizer, BPETokenizer = tokenization.CharTokenizer, tokenization.BPETokenizer
from_hex = aids.tokenization.from_hex

# A varied corpus: prose, code, Unicode, emoji, whitespace runs, contractions, numbers.
CORPUS = [
    "",
    "s",
    "🙃",
    "Hello world",
    "It is a truth universally acknowledged, that a single man in possession of a good "
    "fortune, must be in want of a wife.",
    "I'm sure you'll see they've gone; we'd go, she's here and you're late. DON'T 'S 'LL",
    "def tokenize(text: str) -> list[int]:\n    return [ord(c) for c in text]  # ids\n",
    "\tif (x >= 10 && y != 0) { return x/y; }\r\n\r\n    }\n",
    "naïve café, Straße, Ελληνικά, русский текст, עברית, العربية, हिन्दी",
    "日本語のテキストと中文文本，한국어 문장。",
    "emoji: 👨\u200d👩\u200d👧 🎉✨ 🇫🇷 👍🏽 and text",
    "numbers 123 4567890 3.14159 1,000,000 ½ ² ³ Ⅻ ١٢٣ ๔๕",
    "numerals that are letters: 1一2 3五 ٣〇 x二十 百1",
    "   leading, inner    runs,\t\ttabs and trailing   ",
    "\n\n\n   \n \n",
    "a\x1cb\x1dc\x1e d\x1f e\xa0f\u2003g\u200bh\u3000i",
    "<|endoftext|>The end.<|endoftext|><|endoftext|> New start",
    "x" * 300 + " " + "ab" * 150,
    "URL https://example.org/a_b-c?d=1&e=%20 mail: someone@example.com",
    "Ünïcödé mixed with ASCII... and !!!??? punctuation --- ***",
]

BYTES = [[i, bytes([i]).hex()] for i in range(256)]
TRAINING_TEXT = (
    "the quick brown fox jumps over the lazy dog. The dog sleeps; the fox runs.\n"
    "naïve café ünïcödé 日本語 🙃🙃 x = f(y) + 42\n"
) * 8
# Characters this Python's Unicode database knows (the reference regex may know more).
known_text = st.text(st.characters(exclude_categories=("Cs", "Cn")), max_size=40)


# Pieces of random texts: characters from many scripts, spaces, contractions, emoji.
PIECES = [
    [chr(c) for c in range(32, 127)],
    list(" \t\n\r\x0b\x0c\xa0\u2003\u3000\x1c\x85"),
    [chr(c) for c in range(0xC0, 0x100)],
    [chr(c) for c in range(0x391, 0x3CA)],
    [chr(c) for c in range(0x410, 0x450)],
    [chr(c) for c in range(0x4E00, 0x4F00)],
    [chr(c) for c in range(0x3041, 0x3097)],
    [chr(c) for c in range(0x660, 0x66A)],
    [chr(c) for c in range(0x300, 0x370)],
    [chr(c) for c in range(0x1F600, 0x1F650)],
    "'s",
    "'ll",
    "'re",
    " the",
    "  ",
    "\n\n",
    "123",
    "½",
]


def _ids(value, what):
    """A list of ints that came back, or an AssertionError saying what came instead."""
    if type(value) is not list or any(type(token) is not int for token in value):
        raise AssertionError(f"{what} should return a list of ints, got {value!r}"[:300])
    return value


def _merges(tokenizer):
    """The tokenizer's merges, as pairs of bytes (sent as hex by the aid)."""
    merges = aids.tokenization.merges_hex(tokenizer)
    if type(merges) is not list:
        raise AssertionError(f"merges should be a list of pairs of bytes, got {merges!r}")
    return [(bytes.fromhex(a), bytes.fromhex(b)) for a, b in merges]


def _vocab(tokenizer):
    """The tokenizer's vocabulary, id -> bytes."""
    return {token_id: bytes.fromhex(t) for token_id, t in aids.tokenization.vocab_hex(tokenizer)}


def _gpt2():
    return BPETokenizer.from_gpt2(bpe.gpt2_file("encoder.json"), bpe.gpt2_file("vocab.bpe"))


@pytest.mark.task("10.1")
@pytest.mark.points(3)
@given(text=st.text(min_size=1, max_size=60), data=st.data())
def test_char_tokenizer_ids_are_places_in_the_sorted_characters(text, data):
    chars = sorted(set(text))
    tokenizer = CharTokenizer.from_text(text)
    assert tokenizer.vocab_size == len(chars)
    sample = data.draw(st.text(st.sampled_from(chars), max_size=30))
    ids = _ids(tokenizer.encode(sample), "CharTokenizer.encode")
    assert ids == [chars.index(c) for c in sample], f"encode({sample!r})"
    assert tokenizer.decode(ids) == sample
    assert CharTokenizer(["b", "a"]).encode("ab") == [1, 0], "CharTokenizer(chars) keeps the order"


@pytest.mark.task("10.1")
@pytest.mark.points(2)
def test_char_tokenizer_errors_name_the_problem():
    tokenizer = CharTokenizer.from_text("abc")
    with pytest.raises(ValueError, match=r"'é'.*position 2"):
        tokenizer.encode("abé")
    with pytest.raises(ValueError, match="3"):
        tokenizer.decode([0, 3])
    with pytest.raises(ValueError, match="-1"):
        tokenizer.decode([-1])
    assert tokenizer.decode(np.array([2, 0], dtype=np.int64)) == "ca", "NumPy ids decode too"
    with pytest.raises(ValueError):
        CharTokenizer(["a", "b", "a"])


@pytest.mark.task("10.2")
@pytest.mark.points(4)
@given(text=known_text)
def test_pretokenizer_splits_as_gpt2(text):
    pattern = tokenization.gpt2_pattern()
    for sample in [*CORPUS, text, text + "  " + text, " " + text + "\n"]:
        pieces = pattern.findall(sample)
        expected = bpe.GPT2_SPLIT.findall(sample)
        assert pieces == expected, f"pre-tokens of {sample!r}: {pieces} (GPT-2: {expected})"


@pytest.mark.task("10.2")
@pytest.mark.points(2)
def test_bytes_to_unicode_is_gpt2s_alphabet():
    alphabet = tokenization.bytes_to_unicode()
    assert type(alphabet) is dict, f"bytes_to_unicode() should return a dict, got {alphabet!r}"
    assert alphabet == bpe.gpt2_alphabet(), "bytes_to_unicode() differs from GPT-2's alphabet"


@pytest.mark.task("10.3")
@pytest.mark.points(4)
@given(text=st.text(st.sampled_from("abc d\né"), max_size=40), size=st.integers(257, 290))
def test_encode_matches_the_reference_encoder(text, size):
    merges = bpe.train_merges(TRAINING_TEXT + text, size)
    vocab = bpe.vocab_of(merges)
    hexed = [[a.hex(), b.hex()] for a, b in merges]
    tokenizer = from_hex([[i, t.hex()] for t, i in vocab.items()], hexed)
    for sample in (text, TRAINING_TEXT[:150], "the fox, the dog 🙃"):
        ids = _ids(tokenizer.encode(sample), "encode")
        assert ids == bpe.encode_with(merges, vocab, sample), f"encode({sample!r})"
        assert tokenizer.decode(ids) == sample


@pytest.mark.task("10.3")
@pytest.mark.points(3)
def test_merges_apply_by_rank_not_by_position():
    # "abc": (b, c) was learned before (a, b), so it wins although (a, b) comes first.
    merges = [(b"b", b"c"), (b"a", b"b"), (b"a", b"bc")]
    vocab = BYTES + [[256 + r, (a + b).hex()] for r, (a, b) in enumerate(merges)]
    tokenizer = from_hex(vocab, [[a.hex(), b.hex()] for a, b in merges])
    expected_vocab = {bytes.fromhex(t): i for i, t in vocab}
    for text in ("abc", "ab abc bcab", "aaaa bbbb cccc"):
        ids = _ids(tokenizer.encode(text), "encode")
        assert ids == bpe.encode_with(merges, expected_vocab, text), f"encode({text!r})"
    # A slice of ids that ends inside a character decodes to U+FFFD, never an error.
    plain = from_hex(BYTES, [])
    ids = _ids(plain.encode("é!"), "encode")
    assert ids == list("é!".encode())
    assert plain.decode(ids[:1]) == "\ufffd"
    assert plain.decode(np.array(ids, dtype=np.int32)) == "é!", "NumPy ids decode too"
    with pytest.raises(ValueError, match="256"):
        plain.decode([97, 256])


@pytest.mark.task("10.3")
@pytest.mark.points(4)
@given(text=st.text(max_size=80))
def test_decode_encode_is_the_identity_for_any_unicode_text(text):
    tokenizer = BPETokenizer.train(TRAINING_TEXT, 300, ["<|endoftext|>"])
    for sample in (text, text + "<|endoftext|>" + text, "\n  " + text + "   "):
        ids = _ids(tokenizer.encode(sample), "encode")
        assert tokenizer.decode(ids) == sample, f"decode(encode({sample!r})) differs"


@pytest.mark.task("10.4")
@pytest.mark.points(3)
def test_special_tokens_longest_first_and_never_merged():
    long, short = "<|end|><|end|>", "<|end|>"
    vocab = BYTES + [[256, short.encode().hex()], [257, long.encode().hex()]]
    tokenizer = from_hex(vocab, [], {short: 256, long: 257})
    text = "a<|end|><|end|><|end|>b <|end"
    expected = [97, 257, 256, 98, *list(b" <|end")]
    assert _ids(tokenizer.encode(text), "encode") == expected, f"encode({text!r})"
    assert tokenizer.decode(expected) == text
    corpus = ("x<|s|>y " * 40) + "<|s|><|s|>"
    trained = BPETokenizer.train(corpus, 280, ["<|s|>"])
    merges = _merges(trained)
    assert merges == bpe.train_merges(corpus, 280, ["<|s|>"]), "merges around special tokens"
    special = 256 + len(merges)  # after the merges (here no pair is left before 280)
    vocab = _vocab(trained)
    assert trained.vocab_size == len(vocab) == special + 1
    assert vocab[special] == b"<|s|>", "the special token takes the last id"
    assert all(b"<|s|>" not in a + b for a, b in merges), "a special token was merged"
    assert trained.encode("<|s|>x") == [special, ord("x")]


@pytest.mark.task("10.5")
@pytest.mark.points(5)
@given(
    text=st.text(st.sampled_from("aab bc\nd'sé🙃"), min_size=1, max_size=200),
    size=st.integers(256, 300),
)
def test_training_learns_the_reference_merges(text, size):
    tokenizer = BPETokenizer.train(text, size)
    expected = bpe.train_merges(text, size)
    merges = _merges(tokenizer)
    assert merges == expected, f"merges on {text!r}: {merges[:8]}... (expected {expected[:8]})"
    vocab = _vocab(tokenizer)
    assert len(vocab) == 256 + len(expected) == tokenizer.vocab_size
    assert all(vocab[i] == bytes([i]) for i in range(256)), "ids 0-255 are the single bytes"
    assert all(vocab[256 + r] == a + b for r, (a, b) in enumerate(expected)), "merge ids"


@pytest.mark.task("10.5")
@pytest.mark.points(3)
def test_training_on_prose_with_special_tokens():
    text = "<|endoftext|>".join(CORPUS[3:14]) * 3
    tokenizer = BPETokenizer.train(text, 400, ["<|endoftext|>", "<pad>"])
    expected = bpe.train_merges(text, 400, ["<|endoftext|>", "<pad>"])
    assert _merges(tokenizer) == expected, "merges differ from the reference trainer"
    assert tokenizer.vocab_size == 400
    assert tokenizer.encode("<pad>") == [399] and tokenizer.encode("<|endoftext|>") == [398]
    with pytest.raises(ValueError):
        BPETokenizer.train(text, 257, ["<|endoftext|>", "<pad>"])


@pytest.mark.task("10.6")
@pytest.mark.points(3)
def test_save_writes_gpt2s_format_and_load_restores_it():
    text = "<|endoftext|>".join(CORPUS[3:12])
    tokenizer = BPETokenizer.train(text, 330, ["<|endoftext|>"])
    folder = scratch()
    tokenizer.save(folder.path("tokenizer.json"))
    saved = json.loads(folder.read_bytes("tokenizer.json"))
    merges = bpe.train_merges(text, 330, ["<|endoftext|>"])
    alphabet = bpe.gpt2_alphabet()
    vocab = bpe.vocab_of(merges)
    written = {"".join(alphabet[byte] for byte in token): i for token, i in vocab.items()}
    assert saved["vocab"] == written, "vocab: {token in GPT-2's alphabet: id}"
    pairs = [["".join(alphabet[byte] for byte in token) for token in pair] for pair in merges]
    assert saved["merges"] == pairs, "merges: pairs of tokens in GPT-2's alphabet"
    assert saved["special_tokens"] == {"<|endoftext|>": 329}
    loaded = BPETokenizer.load(folder.path("tokenizer.json"))
    for sample in CORPUS:
        expected = bpe.encode_with(merges, vocab, sample.replace("<|endoftext|>", ""))
        ids = _ids(loaded.encode(sample.replace("<|endoftext|>", "")), "the loaded encode")
        assert ids == expected, f"the loaded tokenizer encodes {sample!r} differently"
    assert loaded.encode("a<|endoftext|>") == [97, 329], "the loaded special token"
    (folder.local / "bad.json").write_text('{"format": "something else"}')
    with pytest.raises(ValueError, match="bad.json"):
        BPETokenizer.load(folder.path("bad.json"))


@pytest.mark.task("10.6")
@pytest.mark.points(7)
def test_gpt2_vocabulary_gives_tiktokens_ids():
    gpt2 = _gpt2()
    assert gpt2.vocab_size == 50257
    for text in CORPUS:
        ids = _ids(gpt2.encode(text), "GPT-2's encode")
        expected = bpe.gpt2_ids(text)
        assert ids == expected, f"GPT-2 ids of {text!r}: {ids[:20]} (tiktoken: {expected[:20]})"
        assert gpt2.decode(expected) == text, f"decode of tiktoken's ids for {text!r}"


@pytest.mark.task("10.6")
@pytest.mark.points(2)
def test_gpt2_ids_of_random_texts():
    gpt2 = _gpt2()
    rng = random.Random(10)
    for _ in range(60):
        parts = rng.choices(PIECES, k=rng.randint(0, 30))
        text = "".join(rng.choice(part) if isinstance(part, list) else part for part in parts)
        ids = _ids(gpt2.encode(text), "GPT-2's encode")
        assert ids == bpe.gpt2_ids(text), f"GPT-2 ids of {text!r}"
