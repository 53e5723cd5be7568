"""The language milestones' text: R's .rda reader, the Austen loader and a user's file."""

import bz2
import struct

import pytest

from milestones.datasets.fetch import DataUnavailableError
from milestones.datasets.text import (
    AUSTEN_NOVELS,
    RdaFormatError,
    load_austen,
    load_text,
    read_rda_lines,
)


def _string(text: str | None, utf8: bool = True) -> bytes:
    if text is None:
        return struct.pack(">ii", 9, -1)
    data = text.encode("utf-8" if utf8 else "latin-1")
    flags = 9 | ((1 << 15) if utf8 else (1 << 14))  # CHARSXP, encoded as UTF-8 or latin-1
    return struct.pack(">ii", flags, len(data)) + data


def _rda(vectors: dict[str, list[str | None]]) -> bytes:
    """A bzip2-compressed .rda as R's save() writes it for named character vectors."""
    body = b"RDX2\nX\n" + struct.pack(">iii", 2, 0x030400, 0x020300)
    for name, lines in vectors.items():
        body += struct.pack(">ii", 2 | (1 << 10), 1) + _string(name, utf8=False)  # tag
        body += struct.pack(">ii", 16, len(lines)) + b"".join(_string(s) for s in lines)
    body += struct.pack(">i", 254)  # the end of the pairlist
    return bz2.compress(body)


def test_rda_character_vectors_are_read_exactly():
    lines = ["PRIDE AND PREJUDICE", "", "“Café”, naïve – 😀", None]
    assert read_rda_lines(_rda({"novel": lines, "other": ["x"]})) == {
        "novel": ["PRIDE AND PREJUDICE", "", "“Café”, naïve – 😀", ""],
        "other": ["x"],
    }


@pytest.mark.parametrize(
    "data, message",
    [
        (b"plain text", "not a bzip2-compressed"),
        (bz2.compress(b"RDA3\n"), "no RDX2/X header"),
        (_rda({"n": ["a", "b"]})[:-1], "bzip2"),
        (bz2.compress(bz2.decompress(_rda({"n": ["abc"]}))[:-6]), "ends in the middle"),
        (bz2.compress(b"RDX2\nX\n" + struct.pack(">iiii", 2, 0, 0, 19)), "expected a named entry"),
    ],
)
def test_a_broken_rda_file_is_a_clear_error(data, message):
    with pytest.raises(RdaFormatError, match=message):
        read_rda_lines(data)


def test_austen_is_made_from_rda_files_once_and_read_as_text_after(tmp_path, monkeypatch):
    monkeypatch.setenv("TINYTORCH_DATA", str(tmp_path))
    monkeypatch.setenv("TINYTORCH_OFFLINE", "1")
    folder = tmp_path / "austen"
    folder.mkdir()
    for novel in AUSTEN_NOVELS:
        (folder / f"{novel}.rda").write_bytes(_rda({novel: [novel.upper(), "", "Chapter 1"]}))
    text = load_austen()
    assert text == "\n\n".join(f"{n.upper()}\n\nChapter 1" for n in AUSTEN_NOVELS)
    for novel in AUSTEN_NOVELS:
        (folder / f"{novel}.rda").unlink()
    assert load_austen() == text, "the saved .txt files are read on the next run"


def test_austen_offline_and_absent_names_the_files_and_their_source(tmp_path, monkeypatch):
    monkeypatch.setenv("TINYTORCH_DATA", str(tmp_path))
    monkeypatch.setenv("TINYTORCH_OFFLINE", "1")
    with pytest.raises(DataUnavailableError) as error:
        load_austen()
    message = str(error.value)
    assert "emma.rda" in message and "juliasilge/janeaustenr" in message
    assert AUSTEN_NOVELS["persuasion"] in message


def test_a_users_text_file_is_checked(tmp_path):
    good = tmp_path / "book.txt"
    good.write_text("Call me Ishmael. " * 100, encoding="utf-8")
    assert load_text(good).startswith("Call me Ishmael.")
    short = tmp_path / "short.txt"
    short.write_text("too short", encoding="utf-8")
    with pytest.raises(ValueError, match="a language model needs more"):
        load_text(short)
    binary = tmp_path / "binary.txt"
    binary.write_bytes(b"\xff\xfe" * 1000)
    with pytest.raises(ValueError, match="not UTF-8 text"):
        load_text(binary)
    with pytest.raises(ValueError, match="cannot read the text file"):
        load_text(tmp_path / "missing.txt")
