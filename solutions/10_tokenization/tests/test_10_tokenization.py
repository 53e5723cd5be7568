"""Visible tests for module 10 (Tokenization). Run them with `make grade MODULE=10`.

Each test names its task; the hidden tests check the same tasks on many more texts,
against a plain BPE trainer and against OpenAI's tiktoken with GPT-2's vocabulary.
Your code runs in a separate process: `student.tokenization.BPETokenizer` is your class
there. Bytes cannot come back from it, so `aids.tokenization.merges_hex` writes your
merges as hex strings.
"""

import json

import pytest

from grader.testing import bpe
from grader.testing.kit import aids, scratch, student

tokenization = student.tokenization
CharTokenizer, BPETokenizer = tokenization.CharTokenizer, tokenization.BPETokenizer

BYTES = [[i, bytes([i]).hex()] for i in range(256)]


def _hex(merges):
    return [[a.hex(), b.hex()] for a, b in merges]


@pytest.mark.task("10.1")
@pytest.mark.points(2)
def test_char_tokenizer_round_trip():
    chars = sorted(set("hello world"))
    tokenizer = CharTokenizer.from_text("hello world")
    assert tokenizer.vocab_size == len(chars)
    expected = [chars.index(c) for c in "hold"]
    assert tokenizer.encode("hold") == expected, "ids are places in the sorted characters"
    assert tokenizer.decode([3, 4, 6]) == chars[3] + chars[4] + chars[6]
    with pytest.raises(ValueError, match="'z'"):
        tokenizer.encode("hello z")


@pytest.mark.task("10.2")
@pytest.mark.points(3)
def test_gpt2_pretokenizer_and_byte_alphabet():
    text = "I've 42 cafés!!  Hello\n\n  world 🙃"
    pieces = tokenization.gpt2_pattern().findall(text)
    assert pieces == bpe.GPT2_SPLIT.findall(text), f"pre-tokens of {text!r}: {pieces}"
    alphabet = tokenization.bytes_to_unicode()
    assert alphabet[ord("A")] == "A" and alphabet[32] == "Ġ" and alphabet[10] == "Ċ"
    assert len(set(alphabet.values())) == 256


@pytest.mark.task("10.3")
@pytest.mark.points(3)
def test_encode_applies_merges_in_learned_order():
    merges = [(b"a", b"a"), (b"aa", b"b"), (b"aab", b"d")]
    vocab = bpe.vocab_of(merges)
    tokenizer = aids.tokenization.from_hex([[i, t.hex()] for t, i in vocab.items()], _hex(merges))
    ids = tokenizer.encode("aaabdaaabac")
    expected = bpe.encode_with(merges, vocab, "aaabdaaabac")
    assert ids == expected, f"encode('aaabdaaabac'): expected {expected}, got {ids}"
    assert tokenizer.decode(ids) == "aaabdaaabac"


@pytest.mark.task("10.4")
@pytest.mark.points(2)
def test_special_tokens_are_never_split():
    vocab = [*BYTES, [256, b"<|end|>".hex()]]
    tokenizer = aids.tokenization.from_hex(vocab, [], {"<|end|>": 256})
    ids = tokenizer.encode("a<|end|>b")
    assert ids == [97, 256, 98], f"encode('a<|end|>b'): {ids}"
    assert tokenizer.decode(ids) == "a<|end|>b"


@pytest.mark.task("10.5")
@pytest.mark.points(3)
def test_training_learns_the_most_frequent_pairs():
    text = "low lower lowest newer wider " * 20
    tokenizer = BPETokenizer.train(text, vocab_size=270)
    expected = bpe.train_merges(text, 270)
    assert aids.tokenization.merges_hex(tokenizer) == _hex(expected)
    assert tokenizer.vocab_size == 270
    assert tokenizer.decode(tokenizer.encode(text)) == text


@pytest.mark.task("10.6")
@pytest.mark.points(3)
def test_save_load_and_gpt2_vocabulary():
    folder, text = scratch(), "the cat sat on the mat " * 10
    BPETokenizer.train(text, vocab_size=264).save(folder.path("tok.json"))
    saved = json.loads(folder.read_bytes("tok.json"))
    assert saved["vocab"]["Ġ"] == 32, "the vocabulary is written in GPT-2's byte alphabet"
    loaded = BPETokenizer.load(folder.path("tok.json"))
    merges = bpe.train_merges(text, 264)
    vocab = bpe.vocab_of(merges)
    assert loaded.encode("the mat sat") == bpe.encode_with(merges, vocab, "the mat sat")
    gpt2 = BPETokenizer.from_gpt2(bpe.gpt2_file("encoder.json"), bpe.gpt2_file("vocab.bpe"))
    text = "Hello world<|endoftext|>"
    assert gpt2.encode(text) == bpe.gpt2_ids(text), "GPT-2's ids, as tiktoken gives them"
