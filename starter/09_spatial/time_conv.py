"""Time three ways to compute the same convolution, on your machine.

    python assignments/09_spatial/time_conv.py      (after `make package`)

or, in a notebook cell: `%run time_conv.py`. The layer is the second convolution of
a small CIFAR-10 network: a batch of 64 feature maps of 32 channels, 15 x 15 pixels,
and 64 filters of 3 x 3. The three ways:

1. scalar loops: seven nested Python loops, one multiply-add at a time (timed on a
   few output pixels and extrapolated: the full run would take minutes);
2. pixel loops: a Python loop over the output pixels, each one a small matrix product
   over the batch and the channels;
3. your `conv2d` from module 09 (im2col: one big matrix product).
"""

from __future__ import annotations

import time

import numpy as np

from tinytorch.core.spatial import conv2d
from tinytorch.core.tensor import Tensor

N, C_IN, SIDE, C_OUT, K = 64, 32, 15, 64, 3
OUT = SIDE - K + 1


def scalar_loops(x: np.ndarray, weight: np.ndarray, pixels: int) -> None:
    """The textbook definition, for the first `pixels` output pixels of every image."""
    out = np.zeros((N, C_OUT, OUT, OUT), dtype=np.float32)
    for n in range(N):
        for o in range(C_OUT):
            for p in range(pixels):
                i, j = divmod(p, OUT)
                total = 0.0
                for c in range(C_IN):
                    for di in range(K):
                        for dj in range(K):
                            total += x[n, c, i + di, j + dj] * weight[o, c, di, dj]
                out[n, o, i, j] = total


def pixel_loops(x: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """One (N, C_in*K*K) @ (C_in*K*K, C_out) product per output pixel."""
    out = np.empty((N, C_OUT, OUT, OUT), dtype=np.float32)
    w = weight.reshape(C_OUT, -1).T
    for i in range(OUT):
        for j in range(OUT):
            out[:, :, i, j] = x[:, :, i : i + K, j : j + K].reshape(N, -1) @ w
    return out


def best_time(function, repeats: int = 5) -> float:
    """The fastest of `repeats` runs, in seconds (after one warm-up run)."""
    function()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    rng = np.random.default_rng(0)
    x = rng.standard_normal((N, C_IN, SIDE, SIDE)).astype(np.float32)
    weight = rng.standard_normal((C_OUT, C_IN, K, K)).astype(np.float32)
    mine = conv2d(Tensor(x), Tensor(weight)).data
    np.testing.assert_allclose(mine, pixel_loops(x, weight), rtol=1e-3, atol=1e-3)

    pixels = 2
    sample = best_time(lambda: scalar_loops(x, weight, pixels), repeats=1)
    rows = [
        ("scalar loops (extrapolated)", sample * OUT * OUT / pixels),
        ("pixel loops", best_time(lambda: pixel_loops(x, weight))),
        ("your conv2d (im2col)", best_time(lambda: conv2d(Tensor(x), Tensor(weight)))),
    ]
    flops = 2 * N * C_OUT * OUT * OUT * C_IN * K * K
    fastest = rows[-1][1]
    print(f"conv of ({N}, {C_IN}, {SIDE}, {SIDE}) with ({C_OUT}, {C_IN}, {K}, {K}) filters:")
    print(f"{'method':30} {'time':>12} {'GFLOP/s':>9} {'vs im2col':>10}")
    for name, seconds in rows:
        print(
            f"{name:30} {seconds * 1e3:9.2f} ms {flops / seconds / 1e9:9.3f} "
            f"{seconds / fastest:9.1f}x"
        )


if __name__ == "__main__":
    main()
