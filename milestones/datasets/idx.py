"""Read and write IDX files, the format of MNIST and Fashion-MNIST (gzip-compressed or raw).

An IDX file is a 4-byte magic number (two zero bytes, a type code, the number of
dimensions), one big-endian uint32 per dimension, then the values in C order. Every
check here fails with an `IdxFormatError` naming the file and what is wrong with it.
"""

from __future__ import annotations

import gzip
import struct
import zlib
from pathlib import Path

import numpy as np

__all__ = ["IdxFormatError", "read_idx", "write_idx"]

GZIP_MAGIC = b"\x1f\x8b"
TYPE_CODES: dict[int, np.dtype] = {
    0x08: np.dtype(np.uint8),
    0x09: np.dtype(np.int8),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}


class IdxFormatError(ValueError):
    """A file is not a well-formed IDX file (or not the one expected)."""


def _contents(path: Path) -> bytes:
    """The file's bytes, decompressed when it is gzip (recognised by its magic bytes)."""
    data = path.read_bytes()
    if not data.startswith(GZIP_MAGIC):
        return data
    try:
        return gzip.decompress(data)
    except (OSError, EOFError, zlib.error) as error:
        raise IdxFormatError(
            f"{path}: corrupt or truncated gzip data ({error}); delete the file and "
            "download it again"
        ) from None


def read_idx(
    path: str | Path, dtype: np.dtype | type | None = None, ndim: int | None = None
) -> np.ndarray:
    """The array stored in the IDX file at `path` (native byte order, a fresh copy).

    Args:
        path: an IDX file, gzip-compressed or not.
        dtype: if given, the element type the file must declare.
        ndim: if given, the number of dimensions the file must declare.
    """
    path = Path(path)
    data = _contents(path)
    if len(data) < 4 or data[:2] != b"\x00\x00":
        raise IdxFormatError(
            f"{path}: not an IDX file (it should start with two zero bytes, a type code "
            f"and the number of dimensions; it starts with {data[:4].hex(' ') or 'nothing'})"
        )
    code, dims_count = data[2], data[3]
    if code not in TYPE_CODES:
        raise IdxFormatError(f"{path}: unknown IDX type code 0x{code:02x}")
    if dims_count == 0:
        raise IdxFormatError(f"{path}: the IDX header declares 0 dimensions")
    header = 4 + 4 * dims_count
    if len(data) < header:
        raise IdxFormatError(f"{path}: truncated inside the header ({len(data)} bytes)")
    dims = struct.unpack(f">{dims_count}I", data[4:header])
    element = TYPE_CODES[code]
    expected = int(np.prod(dims, dtype=np.int64)) * element.itemsize
    found = len(data) - header
    if found != expected:
        problem = "truncated" if found < expected else "has extra bytes"
        raise IdxFormatError(
            f"{path}: {problem}: the header declares shape {dims} ({expected} bytes of "
            f"data) but {found} bytes follow it"
        )
    if dtype is not None and element.newbyteorder("=") != np.dtype(dtype):
        raise IdxFormatError(f"{path}: holds {element.name} values, expected {np.dtype(dtype)}")
    if ndim is not None and dims_count != ndim:
        raise IdxFormatError(f"{path}: has {dims_count} dimensions {dims}, expected {ndim}")
    values = np.frombuffer(data, dtype=element, offset=header).reshape(dims)
    return values.astype(element.newbyteorder("="))


def write_idx(path: str | Path, array: np.ndarray, compress: bool | None = None) -> Path:
    """Write `array` as an IDX file; gzip-compressed when `compress` (default: a .gz path)."""
    path = Path(path)
    array = np.asarray(array)
    codes = {dtype.newbyteorder("="): code for code, dtype in TYPE_CODES.items()}
    if array.dtype not in codes or array.ndim == 0:
        raise ValueError(f"IDX stores arrays of 1+ dimensions of {sorted(map(str, codes))}")
    code = codes[array.dtype]
    body = struct.pack(f">BBBB{array.ndim}I", 0, 0, code, array.ndim, *array.shape)
    body += np.ascontiguousarray(array, dtype=TYPE_CODES[code]).tobytes()
    if compress if compress is not None else path.suffix == ".gz":
        body = gzip.compress(body, mtime=0)
    path.write_bytes(body)
    return path
