"""Text corpora for the language milestones: three novels by Jane Austen, or your own file.

`load_austen()` returns Pride and Prejudice, Emma and Persuasion (public domain), about
2 MB of text, each novel's lines joined with "\\n" and the novels with a blank line.

Where the novels come from, in order:
1. `<data root>/austen/<novel>.txt` (the data root is `$TINYTORCH_DATA` or
   `~/.cache/tinytorch`, see `fetch.py`): plain UTF-8 text you or an earlier run put there.
2. Otherwise they are downloaded from the `janeaustenr` package's repository (Julia
   Silge's, the source of the CRAN package of the same name), pinned to the commit of its
   1.0.0 release so that the bytes never change: each `data/<novel>.rda` is checked
   against its SHA-256, read with `read_rda_lines` (R's serialization format, bzip2
   compressed: no R needed, nothing is unpickled or executed), and saved as
   `<novel>.txt` beside it for the next run.

`load_text(path)` reads any UTF-8 text file instead (`--text FILE` in milestone 05).
"""

from __future__ import annotations

import bz2
import os
import struct
import tempfile
from pathlib import Path

from milestones.datasets.fetch import RemoteFile, data_root, find_or_download

__all__ = ["AUSTEN_NOVELS", "RdaFormatError", "load_austen", "load_text", "read_rda_lines"]

JANEAUSTENR = (
    "https://raw.githubusercontent.com/juliasilge/janeaustenr/"
    "c50b202f9a6ef24f14d4b1306aab7a0fe9aca011/data/"
)
# novel -> SHA-256 of data/<novel>.rda at that commit (measured on the repository's blobs)
AUSTEN_NOVELS = {
    "prideprejudice": "9704d3d55b0e59f3e9f6d6032d192200f925ec7b2ba4f1dba402f179578ae3c9",
    "emma": "65594dab7e37779e5b36c8551886d35cef2149fb442793e49b9879a4287f33f2",
    "persuasion": "758a227662b5f94785199b5c80a3d23533b397d476ddc43289181fb556d945a0",
}
MAX_TEXT_BYTES = 256 << 20

# R's serialization format (R Internals, "Serialization Formats"), the parts a saved
# character vector uses: XDR big-endian ints, a pairlist of (name, value) entries.
_LISTSXP, _SYMSXP, _CHARSXP, _STRSXP, _NILVALUE = 2, 1, 9, 16, 254
_HAS_TAG, _UTF8, _NA_LENGTH = 1 << 10, 1 << 15, -1


class RdaFormatError(ValueError):
    """An .rda file is not the saved character vector this reader understands."""


def read_rda_lines(data: bytes) -> dict[str, list[str]]:
    """The character vectors saved in a bzip2-compressed `.rda` file, by object name.

    Only what `save()` writes for character vectors is accepted; anything else is a
    clear `RdaFormatError`, never a guess. NA strings become empty lines.
    """
    try:
        raw = bz2.decompress(data)
    except (OSError, ValueError) as error:
        raise RdaFormatError(f"not a bzip2-compressed .rda file: {error}") from None
    if not raw.startswith(b"RDX2\nX\n"):
        raise RdaFormatError("not an R data file in XDR format (no RDX2/X header)")
    reader = _Reader(raw, 7)
    reader.int(), reader.int(), reader.int()  # format version, R version, minimal version
    found: dict[str, list[str]] = {}
    while (flags := reader.int()) & 0xFF != _NILVALUE:
        if flags & 0xFF != _LISTSXP or not flags & _HAS_TAG:
            raise RdaFormatError(f"expected a named entry, found R type {flags & 0xFF}")
        if reader.int() & 0xFF != _SYMSXP:
            raise RdaFormatError("expected the entry's name (a symbol)")
        name = reader.string()
        if reader.int() & 0xFF != _STRSXP:
            raise RdaFormatError(f"{name}: only character vectors are read")
        count = reader.int()
        if count < 0:
            raise RdaFormatError(f"{name}: negative length {count}")
        found[name or ""] = [reader.string() or "" for _ in range(count)]
    return found


class _Reader:
    """Big-endian ints and R strings from a byte buffer, checked against its end."""

    def __init__(self, raw: bytes, position: int) -> None:
        self.raw, self.position = raw, position

    def take(self, size: int) -> bytes:
        if size < 0 or self.position + size > len(self.raw):
            raise RdaFormatError("the file ends in the middle of an object")
        chunk = self.raw[self.position : self.position + size]
        self.position += size
        return chunk

    def int(self) -> int:
        return struct.unpack(">i", self.take(4))[0]

    def string(self) -> str | None:
        flags = self.int()
        if flags & 0xFF != _CHARSXP:
            raise RdaFormatError(f"expected a string, found R type {flags & 0xFF}")
        length = self.int()
        if length == _NA_LENGTH:
            return None
        return self.take(length).decode("utf-8" if flags & _UTF8 else "latin-1")


def _novel_text(folder: Path, novel: str) -> str:
    """`<novel>.txt` in `folder`, made from `<novel>.rda` there the first time."""
    text_file = folder / f"{novel}.txt"
    if text_file.is_file():
        return text_file.read_text(encoding="utf-8")
    vectors = read_rda_lines((folder / f"{novel}.rda").read_bytes())
    if novel not in vectors:
        raise RdaFormatError(f"{novel}.rda holds {sorted(vectors)}, not {novel}")
    text = "\n".join(vectors[novel])
    handle, temp = tempfile.mkstemp(prefix=f".{novel}.", suffix=".part", dir=folder)
    with os.fdopen(handle, "w", encoding="utf-8") as out:
        out.write(text)
    os.replace(temp, text_file)
    return text


def load_austen() -> str:
    """Pride and Prejudice, Emma and Persuasion, in that order, separated by blank lines."""
    folder = data_root() / "austen"
    needed = [
        RemoteFile(f"{novel}.rda", (JANEAUSTENR + f"{novel}.rda",), sha256)
        for novel, sha256 in AUSTEN_NOVELS.items()
        if not (folder / f"{novel}.txt").is_file()
    ]
    if needed:
        folder = find_or_download("austen", needed)
    return "\n\n".join(_novel_text(folder, novel) for novel in AUSTEN_NOVELS)


def load_text(path: Path) -> str:
    """A UTF-8 text file given by the user, with a clear error for what cannot be used."""
    try:
        size = path.stat().st_size
    except OSError as error:
        raise ValueError(f"cannot read the text file {path}: {error.strerror}") from None
    if size > MAX_TEXT_BYTES:
        raise ValueError(f"{path} has {size:,} bytes; the limit is {MAX_TEXT_BYTES:,}")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as error:
        where = f"byte {error.start}"
        raise ValueError(f"{path} is not UTF-8 text ({where}): convert it first") from None
    if len(text) < 1000:
        raise ValueError(f"{path} holds {len(text)} characters; a language model needs more")
    return text
