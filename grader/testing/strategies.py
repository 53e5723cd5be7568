"""Hypothesis strategies shared by the visible and hidden tests of every module."""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

FINITE = {"allow_nan": False, "allow_infinity": False, "width": 32}


def shapes(
    min_dims: int = 0, max_dims: int = 4, min_side: int = 1, max_side: int = 5
) -> st.SearchStrategy:
    """Array shapes, scalars (0-d) included by default."""
    return hnp.array_shapes(
        min_dims=min_dims, max_dims=max_dims, min_side=min_side, max_side=max_side
    )


def _float32_bounds(low: float, high: float) -> tuple[float, float]:
    """The tightest float32 interval inside [low, high] (hypothesis needs exact bounds)."""
    low32, high32 = np.float32(low), np.float32(high)
    if low32 < low:
        low32 = np.nextafter(low32, np.float32(np.inf))
    if high32 > high:
        high32 = np.nextafter(high32, np.float32(-np.inf))
    return float(low32), float(high32)


def arrays(
    shape: st.SearchStrategy | tuple[int, ...] | None = None, low: float = -10.0, high: float = 10.0
) -> st.SearchStrategy:
    """float32 arrays with values in [low, high]."""
    return hnp.arrays(
        np.float32,
        shape if shape is not None else shapes(),
        elements=st.floats(*_float32_bounds(low, high), **FINITE),
    )


@st.composite
def broadcastable_pairs(
    draw: st.DrawFn, low: float = -10.0, high: float = 10.0
) -> tuple[np.ndarray, np.ndarray]:
    """Two float32 arrays whose shapes broadcast together (NumPy's rules)."""
    shape_a, shape_b = draw(
        hnp.mutually_broadcastable_shapes(num_shapes=2, max_dims=4, max_side=4)
    ).input_shapes
    return draw(arrays(shape_a, low, high)), draw(arrays(shape_b, low, high))


@st.composite
def matmul_pairs(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray]:
    """Operands for matmul: vectors, matrices and broadcast batches of matrices."""
    n, k, m = draw(st.integers(1, 5)), draw(st.integers(1, 5)), draw(st.integers(1, 5))
    kind = draw(st.sampled_from(["mm", "mv", "vm", "vv", "batched"]))
    if kind == "mm":
        shape_a, shape_b = (n, k), (k, m)
    elif kind == "mv":
        shape_a, shape_b = (n, k), (k,)
    elif kind == "vm":
        shape_a, shape_b = (k,), (k, m)
    elif kind == "vv":
        shape_a, shape_b = (k,), (k,)
    else:
        batch = draw(st.integers(1, 3))
        shape_a, shape_b = (batch, n, k), draw(st.sampled_from([(batch, k, m), (1, k, m), (k, m)]))
    return draw(arrays(shape_a, -3, 3)), draw(arrays(shape_b, -3, 3))


@st.composite
def array_and_dim(
    draw: st.DrawFn, min_dims: int = 1
) -> tuple[np.ndarray, int | tuple[int, ...] | None]:
    """An array and a valid `dim` for it: None, one (possibly negative) axis, or a tuple."""
    array = draw(arrays(shapes(min_dims=min_dims)))
    axes = st.integers(-array.ndim, array.ndim - 1)
    dim = draw(
        st.one_of(
            st.none(),
            axes,
            st.lists(
                st.integers(0, array.ndim - 1), min_size=1, max_size=array.ndim, unique=True
            ).map(tuple),
        )
    )
    return array, dim


@st.composite
def permutations_of(
    draw: st.DrawFn, array_strategy: st.SearchStrategy | None = None
) -> tuple[np.ndarray, tuple[int, ...]]:
    """An array and a permutation of its dimensions."""
    array = draw(array_strategy if array_strategy is not None else arrays(shapes(min_dims=1)))
    return array, tuple(draw(st.permutations(range(array.ndim))))


@st.composite
def conv_inputs(
    draw: st.DrawFn, max_batch: int = 2, max_channels: int = 3, max_side: int = 6
) -> tuple[np.ndarray, np.ndarray, np.ndarray, tuple[int, int], tuple[int, int]]:
    """(x, weight, bias, stride, padding) for a 2-D convolution, all float32.

    x is NCHW, weight `(C_out, C_in, kh, kw)` with kernels up to 3 (rectangular too),
    strides 1-2 and paddings below the kernel size, so every output is well defined.
    """
    kernel = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    stride = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    padding = tuple(draw(st.integers(0, k - 1)) for k in kernel)
    sides = tuple(
        draw(st.integers(max(1, k - 2 * p), max_side)) for k, p in zip(kernel, padding, strict=True)
    )
    n = draw(st.integers(1, max_batch))
    c_in, c_out = draw(st.integers(1, max_channels)), draw(st.integers(1, max_channels))
    x = draw(arrays((n, c_in, *sides), -2, 2))
    weight = draw(arrays((c_out, c_in, *kernel), -2, 2))
    bias = draw(arrays((c_out,), -2, 2))
    return x, weight, bias, stride, padding


@st.composite
def pool_inputs(
    draw: st.DrawFn, max_side: int = 7
) -> tuple[np.ndarray, tuple[int, int], tuple[int, int]]:
    """(x, kernel, stride) for 2-D pooling; x is NCHW float64 with all-distinct values,
    so a maximum never ties. Strides below the kernel size give overlapping windows."""
    kernel = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    stride = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    shape = (
        draw(st.integers(1, 2)),
        draw(st.integers(1, 3)),
        draw(st.integers(kernel[0], max_side)),
        draw(st.integers(kernel[1], max_side)),
    )
    order = draw(st.permutations(range(int(np.prod(shape)))))
    return (np.array(order, dtype=np.float64).reshape(shape) - 20.0) / 8.0, kernel, stride
