"""The worker protocol's wire format: plain data and numeric arrays, never pickle.

A message is a 4-byte big-endian length, a JSON document of that length, then the raw
bytes of every array the document names, in order. Values inside the document are JSON
with a few tags: `{"$t": [...]}` a tuple, `{"$d": [[k, v], ...]}` a dict, `{"$f": "nan"}`
a non-finite float, `{"$a": i, "dtype": ..., "shape": [...]}` the i-th array buffer,
`{"$dtype": name}` a NumPy dtype, `{"$slice": [start, stop, step]}`, `{"$e": 1}` the
Ellipsis, `{"$h": id}` a handle to an object that stays in the worker and
`{"$n": [module, path]}` a name in one of the worker's modules (the trusted side's
`student.tensor.Tensor`), looked up when it is used.

The trusted side decodes everything the worker sends as hostile: unknown tags, deep
nesting, non-numeric dtypes, a buffer whose size disagrees with its shape, or a message
over `MAX_MESSAGE_BYTES` are a `WireError`; an array arrives as a fresh, exact
`np.ndarray` built from bytes, whatever object the worker started from.
"""

from __future__ import annotations

import json
import math
import os
import select
import struct
import time
from collections.abc import Callable
from enum import StrEnum
from typing import Any

import numpy as np

MAX_MESSAGE_BYTES = 256 * 1024 * 1024
MAX_JSON_BYTES = 8 * 1024 * 1024
MAX_CONTAINERS = 250_000
"""The JSON part of a message is capped on its own, and its lists and objects are counted
before it is decoded: decoded, each costs the reader some 60 bytes or more, so a few MB of
`[[],[],...]` would cost hundreds of MB (arrays travel as buffers, not in the JSON)."""
MAX_DEPTH = 48
MAX_DIMS = 32
NUMERIC_DTYPES = frozenset(
    ["bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64"]
    + ["float16", "float32", "float64"]
)
_LENGTH = struct.Struct(">I")
_PLAIN_SCALARS = (type(None), bool, int, str)


class WireError(ValueError):
    """A message that does not follow the wire format."""


class Op(StrEnum):
    """What the trusted side can ask the worker (a request's `op`; its `args` follow)."""

    GET = "get"
    """[name]: the value of a name in a module."""
    GETATTR = "getattr"
    """[object, attribute]"""
    SETATTR = "setattr"
    """[object, attribute, value]"""
    CALL = "call"
    """[callable, args, kwargs]"""
    METHOD = "method"
    """[object, method name, args, kwargs]: one request for `obj.name(...)`."""
    OPERATOR = "op"
    """[operands...], with `name` one of the worker's OPERATORS (`add`, `getitem`, ...)."""
    ISINSTANCE = "isinstance"
    """[object, class]"""
    ITER = "iter"
    """[object]: an iterator, as a handle."""
    NEXT = "next"
    """[iterator]: the next item, or a StopIteration error."""
    RESET = "reset"
    """[]: forget every handle (the end of a test)."""


def _dtype_name(dtype: np.dtype) -> str:
    if dtype.name not in NUMERIC_DTYPES:
        raise WireError(f"arrays of dtype {dtype} cannot cross (numeric dtypes only)")
    return dtype.name


def _object_array_problem(array: np.ndarray) -> str:
    """Why an array of Python objects cannot cross, with its likely cause."""
    kinds = sorted({type(item).__name__ for item in array.flat[:100]})
    if "Tensor" in kinds:
        return (
            "a NumPy array holding Tensor objects (dtype object). Most likely a Function's "
            "forward returned a Tensor: forward works on NumPy arrays and must return an "
            "ndarray (`return a * b`, not `return Tensor(a * b)`)."
        )
    held = ", ".join(kinds[:4]) or "nothing"
    return (
        f"a NumPy array of dtype object (holding {held}). A Tensor's data must be numbers "
        "(float32, int64 or bool): look for dtype=object, or for nested lists of "
        "different lengths."
    )


class Encoder:
    """Turns a value into a JSON document plus array buffers.

    `to_handle` decides what happens to anything that is not plain data: the worker keeps
    the object and sends a handle; the trusted side refuses (its own objects never cross).
    """

    def __init__(self, to_handle: Callable[[Any], dict]) -> None:
        self.to_handle = to_handle
        self.buffers: list[bytes] = []

    def encode(self, value: Any, depth: int = 0) -> Any:
        if depth > MAX_DEPTH:
            raise WireError(f"data nested deeper than {MAX_DEPTH} levels cannot cross")
        kind = type(value)
        if kind in _PLAIN_SCALARS:
            return value
        if kind is float:
            return value if math.isfinite(value) else {"$f": repr(value)}
        if kind is list:
            return [self.encode(item, depth + 1) for item in value]
        if kind is tuple:
            return {"$t": [self.encode(item, depth + 1) for item in value]}
        if kind is dict:
            return {
                "$d": [
                    [self.encode(k, depth + 1), self.encode(v, depth + 1)] for k, v in value.items()
                ]
            }
        if kind is np.ndarray or isinstance(value, np.generic):
            return self._array(value)
        if kind is slice:
            parts = [value.start, value.stop, value.step]
            return {"$slice": [self.encode(p, depth + 1) for p in parts]}
        if value is Ellipsis:
            return {"$e": 1}
        if isinstance(value, np.dtype) or (
            isinstance(value, type) and issubclass(value, np.generic)
        ):
            return {"$dtype": _dtype_name(np.dtype(value))}
        return self.to_handle(value)

    def _array(self, value: np.ndarray | np.generic) -> dict:
        array = np.asarray(value)
        if array.dtype == object:
            raise WireError(_object_array_problem(array))
        name = _dtype_name(array.dtype)
        little = np.ascontiguousarray(array, dtype=array.dtype.newbyteorder("<"))
        self.buffers.append(little.tobytes())
        tag = {"$a": len(self.buffers) - 1, "dtype": name, "shape": list(array.shape)}
        if isinstance(value, np.generic):
            tag["scalar"] = True
        return tag


class Decoder:
    """Turns a JSON document plus buffers back into values, checking every tag.

    `from_handle` maps `{"$h": id, ...}` to a local object (the worker's table, or a
    trusted-side proxy); `dtype_as_type` decodes dtypes as NumPy scalar types (the worker,
    where a test passed `np.int64`) rather than `np.dtype` objects (the trusted side).
    """

    def __init__(
        self,
        buffers: list[bytes],
        from_handle: Callable[[dict], Any],
        dtype_as_type: bool = False,
    ) -> None:
        self.buffers = buffers
        self.from_handle = from_handle
        self.dtype_as_type = dtype_as_type

    def decode(self, data: Any, depth: int = 0) -> Any:
        if depth > MAX_DEPTH:
            raise WireError(f"data nested deeper than {MAX_DEPTH} levels")
        kind = type(data)
        if kind in _PLAIN_SCALARS or kind is float:
            return data
        if kind is list:
            return [self.decode(item, depth + 1) for item in data]
        if kind is not dict or len(data) == 0:
            raise WireError(f"unexpected JSON value of type {kind.__name__}")
        if "$t" in data:
            return tuple(self.decode(item, depth + 1) for item in self._list(data, "$t"))
        if "$d" in data:
            return self._dict(data, depth)
        if "$a" in data:
            return self._array(data)
        if "$f" in data:
            if data["$f"] not in ("nan", "inf", "-inf"):
                raise WireError("a non-finite float must be nan, inf or -inf")
            return float(data["$f"])
        if "$slice" in data:
            parts = [self.decode(p, depth + 1) for p in self._list(data, "$slice")]
            if len(parts) != 3:
                raise WireError("a slice has three parts")
            return slice(*parts)
        if "$e" in data:
            return Ellipsis
        if "$dtype" in data:
            name = data["$dtype"]
            if name not in NUMERIC_DTYPES:
                raise WireError(f"unknown dtype {name!r}")
            return np.dtype(name).type if self.dtype_as_type else np.dtype(name)
        if "$h" in data or "$n" in data:
            return self.from_handle(data)
        raise WireError(f"unknown tag in {sorted(data)[:3]}")

    @staticmethod
    def _list(data: dict, key: str) -> list:
        items = data[key]
        if type(items) is not list:
            raise WireError(f"{key} holds a list")
        return items

    def _dict(self, data: dict, depth: int) -> dict:
        result = {}
        for pair in self._list(data, "$d"):
            if type(pair) is not list or len(pair) != 2:
                raise WireError("a dict entry is a [key, value] pair")
            key = self.decode(pair[0], depth + 1)
            try:
                hash(key)
            except TypeError as error:
                raise WireError("a dict key must be hashable") from error
            result[key] = self.decode(pair[1], depth + 1)
        return result

    def _array(self, data: dict) -> np.ndarray | np.generic:
        index, name, shape = data.get("$a"), data.get("dtype"), data.get("shape")
        if type(index) is not int or not 0 <= index < len(self.buffers):
            raise WireError("an array names a buffer that was not sent")
        if name not in NUMERIC_DTYPES:
            raise WireError(f"arrays of dtype {name!r} cannot cross (numeric dtypes only)")
        if (
            type(shape) is not list
            or len(shape) > MAX_DIMS
            or any(type(side) is not int or side < 0 for side in shape)
        ):
            raise WireError("an array shape is a list of non-negative integers")
        dtype = np.dtype(name)
        buffer = self.buffers[index]
        if math.prod(shape) * dtype.itemsize != len(buffer):
            raise WireError(f"an array of shape {tuple(shape)} and dtype {name} has the wrong size")
        array = np.frombuffer(buffer, dtype=dtype.newbyteorder("<")).astype(dtype).reshape(shape)
        if data.get("scalar") is True:
            if shape:
                raise WireError("a scalar has shape ()")
            return array[()]
        return array


def pack(message: dict, buffers: list[bytes]) -> bytes:
    """One framed message: length, JSON document (with the buffer sizes), buffers."""
    document = dict(message, buffers=[len(b) for b in buffers])
    body = json.dumps(document, allow_nan=False, separators=(",", ":")).encode("utf-8")
    if len(body) > MAX_JSON_BYTES:
        raise WireError(f"data over {MAX_JSON_BYTES // 2**20} MB (other than arrays) cannot cross")
    if len(body) + sum(map(len, buffers)) > MAX_MESSAGE_BYTES:
        raise WireError(f"a message over {MAX_MESSAGE_BYTES // 2**20} MB cannot cross")
    return b"".join([_LENGTH.pack(len(body)), body, *buffers])


def write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


class Reader:
    """Reads framed messages from a file descriptor, with an optional deadline."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.pending = bytearray()
        os.set_blocking(fd, False)

    def _chunk(self, size: int, deadline: float | None) -> bytes:
        """Some bytes: sleep until there are some, EOF, or the deadline."""
        while True:
            try:
                return os.read(self.fd, max(size, 1 << 16))
            except BlockingIOError:
                pass
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                raise TimeoutError
            if not select.select([self.fd], [], [], left)[0]:
                raise TimeoutError

    def _need(self, size: int, deadline: float | None) -> None:
        """Read until `size` bytes are pending (consuming none of them)."""
        while len(self.pending) < size:
            chunk = self._chunk(size - len(self.pending), deadline)
            if not chunk:
                raise EOFError("the other side closed the connection")
            self.pending += chunk

    def read(self, deadline: float | None = None) -> tuple[dict, list[bytes]]:
        """The next message and its buffers. TimeoutError past `deadline` (nothing is lost:
        the next call goes on with the same message), EOFError at the end."""
        self._need(_LENGTH.size, deadline)
        (length,) = _LENGTH.unpack(self.pending[: _LENGTH.size])
        if length > MAX_JSON_BYTES:
            raise WireError(f"a message's data part of {length} bytes is over the limit")
        start, end = _LENGTH.size, _LENGTH.size + length
        self._need(end, deadline)
        body = bytes(self.pending[start:end])
        if body.count(b"[") + body.count(b"{") > MAX_CONTAINERS:
            raise WireError(f"a message holds more than {MAX_CONTAINERS} lists and objects")
        try:
            document = json.loads(body, parse_constant=_no_constant)
        except (ValueError, RecursionError) as error:
            raise WireError(f"a message is not valid JSON ({error})") from error
        sizes = document.get("buffers") if type(document) is dict else None
        if type(sizes) is not list or any(type(s) is not int or s < 0 for s in sizes):
            raise WireError("a message must list its buffer sizes")
        if sum(sizes) + length > MAX_MESSAGE_BYTES:
            raise WireError("a message's arrays are over the size limit")
        self._need(end + sum(sizes), deadline)
        buffers = []
        for size in sizes:
            buffers.append(bytes(self.pending[end : end + size]))
            end += size
        del self.pending[:end]
        return document, buffers


def _no_constant(name: str) -> None:
    raise WireError(f"{name} is not valid JSON (non-finite floats are tagged)")
