"""What milestone 06 measures of every version of a model: its values, a profile
(module 15), interleaved latency (module 19) and the table row that holds them."""

from __future__ import annotations

import argparse
from collections.abc import Callable

import numpy as np

from milestones.tradeoff import Step
from tinytorch.core.autograd import no_grad
from tinytorch.core.benchmarking import BenchmarkReport, benchmark
from tinytorch.core.layers import Module
from tinytorch.core.profiling import count_flops, measure_latency, memory_footprint, profile
from tinytorch.core.quantization import model_size_bytes, quantize_model
from tinytorch.core.tensor import Tensor

MAX_RELATIVE_IQR = 0.25  # module 19's default: noisier timings are not ranked
Version = tuple[Module, int, str]
"""A model, its bytes, and how they are stored."""


def values(model: Module) -> tuple[int, int]:
    """(values, non-zero values) of every weight and bias, float or int8, each once."""
    tensors = dict(model.named_parameters())
    tensors |= {
        n: t for n, t in model.named_buffers() if n.rsplit(".", 1)[-1] in ("weight", "bias")
    }
    unique = {id(t): t.data for t in tensors.values()}.values()
    return sum(v.size for v in unique), sum(int(np.count_nonzero(v)) for v in unique)


def report_profile(name: str, model: Module, *inputs: Tensor, **kwargs: object) -> None:
    """Module 15 on one forward pass: parameters, FLOPs, bytes, latency, slowest ops."""
    count, _ = values(model)
    flops = count_flops(model, *inputs, **kwargs)
    memory = memory_footprint(model, *inputs, **kwargs)
    with no_grad():
        latency = measure_latency(lambda: model(*inputs, **kwargs), warmup=2, repeats=10)
        with profile(model) as prof:
            model(*inputs, **kwargs)
    shapes = ", ".join(str(tuple(x.shape)) for x in inputs)
    print(f"\nProfile of the {name}, one forward pass on {shapes} (module 15):")
    print(f"  {count:,} parameters, {flops:,} FLOPs; memory_footprint: {memory}")
    print(f"  latency {latency}")
    print(prof.table(sort_by="self_time", row_limit=6))


def timed(calls: dict[str, Callable[[], object]], args: argparse.Namespace) -> BenchmarkReport:
    """Module 19's harness: every version timed in interleaved windows, in this process."""
    return benchmark(calls, warmup=1, windows=args.windows,
                     min_window_seconds=args.window_seconds, seed=args.seed)  # fmt: skip


def versus_first(report: BenchmarkReport, name: str) -> str:
    """The median time of `name` against the first version's, with the harness's verdict."""
    first = next(iter(report.variants))
    if name == first:
        return "1.00x (the reference)"
    a, b = report.variants[first], report.variants[name]
    verdict = report.compare(first, name, max_relative_iqr=MAX_RELATIVE_IQR)
    if not verdict.rankable:
        noisy = max(a.relative_iqr, b.relative_iqr) > MAX_RELATIVE_IQR
        return f"{b.median / a.median:.2f}x (cannot rank: {'too noisy' if noisy else 'overlap'})"
    return f"{b.median / a.median:.2f}x ({'faster' if verdict.faster == name else 'slower'})"


def step(
    model_name: str,
    report: BenchmarkReport,
    name: str,
    net: Module,
    size: int,
    stored_as: str,
    per: str,
    count: int,
    quality: float,
    quality_name: str,
) -> Step:
    """A table row: `count` units of `per` are timed per call."""
    stats = report.variants[name]
    parameters, nonzero = values(net)
    return Step(model_name, name, parameters, nonzero, size, stored_as, stats.median / count,
                stats.ci_low / count, stats.ci_high / count, per, versus_first(report, name),
                quality, quality_name)  # fmt: skip


def in_int8(model: Module, calibration: list) -> Version:
    """Module 17's int8 copy of `model`, calibrated on `calibration`, with its bytes."""
    quantized = quantize_model(model, calibration)
    return quantized, model_size_bytes(quantized), "int8 + scales"
