"""Handles: what the tests hold of the student's code.

A `Handle` is an object that lives in the worker; a `RemoteName` is a name in one of the
worker's modules (`student.tensor.Tensor`, grader/testing/kit.py), looked up when used.
Attribute lookups, calls and operators on either become requests to the session of the
running test (grader/remote/session.py); only plain data and arrays come back as values.
`is` and `==` on handles are identity, decided here; truth values are refused, so a test
cannot take the student's word for a comparison.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from grader.worker.wire import Op

if TYPE_CHECKING:
    from grader.remote.session import Session

_CURRENT: list[Session] = []
LOCAL_PREFIXES = ("__", "_pytest", "_hypothesis", "_repr_", "_ipython")
"""Attribute names that tools (pytest, hypothesis, pretty printers) probe on any object:
answered locally, never sent to the worker."""


def current() -> Session:
    """The session of the running test (set by the grading plugin)."""
    if not _CURRENT:
        raise RuntimeError(
            "these tests reach your code only through the grader: run them with "
            "`make grade MODULE=NN` or `tito grade NN`, which also sync your notebook and "
            "build tinytorch from your module file (plain `pytest` cannot)"
        )
    return _CURRENT[0]


def activate(session: Session | None) -> None:
    """Make `session` the one names and kit functions reach (None: no test is running)."""
    _CURRENT[:] = [session] if session else []


class Remote:
    """What the tests hold of the student's code: a handle or a name."""

    __slots__ = ()
    __array_ufunc__ = None  # NumPy defers to our reflected operators

    def _remote_tag(self) -> dict:
        raise NotImplementedError

    def _remote_session(self) -> Session:
        raise NotImplementedError

    def _remote_request(self, op: Op, args: list, name: str | None = None) -> Any:
        return self._remote_session().request(op, args, name)

    def __getattr__(self, name: str) -> Any:
        if name.startswith(LOCAL_PREFIXES):
            raise AttributeError(name)
        return self._remote_request(Op.GETATTR, [self, name])

    def __setattr__(self, name: str, value: Any) -> None:
        self._remote_request(Op.SETATTR, [self, name, value])

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self._remote_request(Op.CALL, [self, list(args), kwargs])

    def __bool__(self) -> bool:
        raise TypeError(
            "a test cannot take the truth value of an object in the student's code: "
            "fetch plain data (.data, .shape) and compare that"
        )

    def __eq__(self, other: object) -> bool:
        return self is other

    def __ne__(self, other: object) -> bool:
        return self is not other

    def __hash__(self) -> int:
        return id(self)

    def __len__(self) -> int:
        return _expect(self._remote_request(Op.OPERATOR, [self], "len"), int, "len()")

    def __float__(self) -> float:
        value = self._remote_request(Op.CALL, [_BUILTIN_FLOAT, [self], {}])
        return _expect(value, float, "float()")

    def __int__(self) -> int:
        return _expect(self._remote_request(Op.CALL, [_BUILTIN_INT, [self], {}]), int, "int()")

    def __iter__(self) -> Any:
        return self._remote_request(Op.ITER, [self])

    def __next__(self) -> Any:
        return self._remote_request(Op.NEXT, [self])

    def __enter__(self) -> Any:
        return self._remote_request(Op.METHOD, [self, "__enter__", [], {}])

    def __exit__(self, *exc_info: object) -> bool:
        self._remote_request(Op.METHOD, [self, "__exit__", [None, None, None], {}])
        return False


def _binary(name: str) -> tuple:
    def forward(self: Remote, other: Any) -> Any:
        return self._remote_request(Op.OPERATOR, [self, other], name)

    def reflected(self: Remote, other: Any) -> Any:
        return self._remote_request(Op.OPERATOR, [other, self], name)

    return forward, reflected


def _unary(name: str) -> Any:
    def apply(self: Remote) -> Any:
        return self._remote_request(Op.OPERATOR, [self], name)

    return apply


for _name, _op in {
    "add": "add", "sub": "sub", "mul": "mul", "truediv": "truediv", "floordiv": "floordiv",
    "mod": "mod", "pow": "pow", "matmul": "matmul", "and": "and_", "or": "or_", "xor": "xor",
}.items():  # fmt: skip
    _forward, _reflected = _binary(_op)
    setattr(Remote, f"__{_name}__", _forward)
    setattr(Remote, f"__r{_name}__", _reflected)
for _name in ("lt", "le", "gt", "ge", "getitem", "contains"):
    setattr(Remote, f"__{_name}__", _binary(_name)[0])
for _name in ("iadd", "isub", "imul", "itruediv", "imatmul"):
    setattr(Remote, f"__{_name}__", _binary(_name)[0])
for _name in ("neg", "pos", "abs", "invert"):
    setattr(Remote, f"__{_name}__", _unary(_name))


def _setitem(self: Remote, key: Any, value: Any) -> None:
    self._remote_request(Op.OPERATOR, [self, key, value], "setitem")


Remote.__setitem__ = _setitem  # type: ignore[method-assign]


def _expect(value: Any, kind: type, what: str) -> Any:
    if type(value) is not kind:
        raise TypeError(
            f"the student's {what} returned {type(value).__name__}, not {kind.__name__}"
        )
    return value


class Handle(Remote):
    """An object that lives in the worker. The same object always gives the same Handle,
    so `is` and `==` (identity, decided here) work as on local objects."""

    __slots__ = ("_remote_owner", "_remote_epoch", "_remote_id", "_remote_type")

    def __init__(self, owner: Session, epoch: int, handle_id: int, type_name: str) -> None:
        object.__setattr__(self, "_remote_owner", owner)
        object.__setattr__(self, "_remote_epoch", epoch)
        object.__setattr__(self, "_remote_id", handle_id)
        object.__setattr__(self, "_remote_type", type_name)

    def _remote_session(self) -> Session:
        return self._remote_owner

    def __getattr__(self, name: str) -> Any:
        if name.startswith(LOCAL_PREFIXES):
            raise AttributeError(name)
        session = self._remote_owner
        if (self._remote_type, name) in session.methods:
            return Method(self, name)
        return session.request(Op.GETATTR, [self, name])

    def _remote_tag(self) -> dict:
        if self._remote_epoch != self._remote_owner.epoch:
            raise RuntimeError("this handle belongs to an earlier test or an earlier worker")
        return {"$h": self._remote_id}

    def __repr__(self) -> str:
        return f"<student {self._remote_type}>"


class Method:
    """A method of an object in the worker: calling it is one request. (After the first
    lookup, methods of a type are known, so `x.sum(dim=0)` costs one round trip.)"""

    __slots__ = ("owner", "name")

    def __init__(self, owner: Handle, name: str) -> None:
        self.owner = owner
        self.name = name

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        session = self.owner._remote_owner
        return session.request(Op.METHOD, [self.owner, self.name, list(args), kwargs])

    def __repr__(self) -> str:
        return f"<method {self.name} of {self.owner!r}>"


class RemoteName(Remote):
    """A name in a module of the worker (`tinytorch.core.tensor`, `Tensor`), looked up when
    used: calling it is one request, an attribute of it is a longer name."""

    __slots__ = ("_remote_module", "_remote_path")

    def __init__(self, module: str, path: str = "") -> None:
        object.__setattr__(self, "_remote_module", module)
        object.__setattr__(self, "_remote_path", path)

    def _remote_session(self) -> Session:
        return current()

    def _remote_tag(self) -> dict:
        return {"$n": [self._remote_module, self._remote_path]}

    def __getattr__(self, name: str) -> RemoteName:
        if name.startswith(LOCAL_PREFIXES):
            raise AttributeError(name)
        path = self._remote_path
        return RemoteName(self._remote_module, f"{path}.{name}" if path else name)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, RemoteName) and other._remote_tag() == self._remote_tag()

    def __hash__(self) -> int:
        return hash((self._remote_module, self._remote_path))

    def __repr__(self) -> str:
        path = self._remote_path
        return f"<student name {self._remote_module}{':' + path if path else ''}>"


_BUILTIN_FLOAT = RemoteName("builtins", "float")
_BUILTIN_INT = RemoteName("builtins", "int")


def refuse_local(value: Any) -> dict:
    """The wire tag of a handle or name; the test's own objects never cross."""
    if isinstance(value, Remote):
        return value._remote_tag()
    raise TypeError(
        f"a test cannot send a {type(value).__name__} to the student's code: only plain data, "
        "NumPy arrays and handles cross"
    )
