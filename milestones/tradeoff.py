"""Trade-offs of a model's optimization steps: one table and one picture.

    rows = [Step("MLP", "float32", ...), Step("MLP", "int8", ...), ...]
    print(table(rows))
    write_tradeoff(Path("runs/systems"), rows)   # -> runs/systems.tsv and runs/systems.png

Each `Step` is one version of a model, measured: its size, its latency (a median with
its interval, from module 19's harness) and its quality, where quality is either an
accuracy in percent (higher is better) or a loss in nats per character (lower is
better). The picture has, for each model, one panel of quality against bytes and one
against latency (with its interval); the same rows always give the same bytes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import astuple, dataclass, fields
from pathlib import Path

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

__all__ = ["Step", "table", "plot_tradeoff", "write_tradeoff"]

DPI = 100


@dataclass(frozen=True)
class Step:
    """One measured version of a model."""

    model: str
    step: str
    parameters: int
    nonzero: int
    bytes: int
    stored_as: str
    latency: float
    """Median seconds per `per`."""
    latency_low: float
    latency_high: float
    per: str
    """What one latency measures, like "359 images" or "token"."""
    versus_first: str
    """The time against the model's first step, with the harness's verdict."""
    quality: float
    quality_name: str
    """"accuracy" (percent, higher is better) or "nats/char" (lower is better)."""

    @property
    def quality_text(self) -> str:
        if self.quality_name == "accuracy":
            return f"{self.quality:.2f}% accuracy"
        return f"{self.quality:.5f} {self.quality_name}"


def table(steps: Sequence[Step]) -> str:
    """The steps as a Markdown table, one row each, in order."""
    lines = [
        "| model | step | parameters | non-zero | bytes | stored as | latency (median "
        "[95% interval]) | time vs first | quality |",
        "|---|---|---:|---:|---:|---|---|---|---:|",
    ]
    for s in steps:
        latency = (
            f"{s.latency * 1e3:.3f} ms [{s.latency_low * 1e3:.3f}, "
            f"{s.latency_high * 1e3:.3f}] per {s.per}"
        )
        lines.append(
            f"| {s.model} | {s.step} | {s.parameters:,} | {s.nonzero:,} | {s.bytes:,} | "
            f"{s.stored_as} | {latency} | {s.versus_first} | {s.quality_text} |"
        )
    return "\n".join(lines)


def plot_tradeoff(steps: Sequence[Step], title: str = "") -> Figure:
    """Quality against bytes and against latency, two panels per model."""
    models = list(dict.fromkeys(s.model for s in steps))
    if not models:
        raise ValueError("a trade-off needs at least one step")
    figure = Figure(figsize=(10.0, 3.6 * len(models)), dpi=DPI)
    FigureCanvasAgg(figure)
    for row, model in enumerate(models):
        mine = [s for s in steps if s.model == model]
        for column, key in enumerate(("bytes", "latency")):
            axes = figure.add_subplot(len(models), 2, 2 * row + column + 1)
            ys = [s.quality for s in mine]
            if key == "bytes":
                xs = [s.bytes / 1000 for s in mine]
                axes.scatter(xs, ys, color="tab:blue", zorder=3)
                axes.set_xlim(left=0, right=1.1 * max(xs))
                axes.set_xlabel("size (kB)")
            else:
                xs = [s.latency * 1e3 for s in mine]
                spread = [[(s.latency - s.latency_low) * 1e3 for s in mine],
                          [(s.latency_high - s.latency) * 1e3 for s in mine]]  # fmt: skip
                axes.errorbar(xs, ys, xerr=spread, fmt="o", color="tab:blue", capsize=3)
                axes.set_xlabel(f"latency (ms per {mine[0].per}; median, 95% interval)")
            for index, (x, y) in enumerate(zip(xs, ys, strict=True)):
                axes.annotate(str(index + 1), (x, y), textcoords="offset points",
                              xytext=(4, 4), fontsize="small")  # fmt: skip
            axes.ticklabel_format(axis="y", useOffset=False)
            # at least 2% of the values tall, so that a tiny difference looks tiny
            pad = max(0.01 * abs(sum(ys) / len(ys)), 0.1 * (max(ys) - min(ys)))
            axes.set_ylim(min(ys) - pad, max(ys) + pad)
            better = "higher is better" if mine[0].quality_name == "accuracy" else "lower is better"
            axes.set_ylabel(f"{mine[0].quality_name} ({better})")
            axes.set_title(f"{model}: quality vs {key}", fontsize="medium")
            axes.grid(True, alpha=0.3)
        legend = "\n".join(f"{i + 1}: {s.step}" for i, s in enumerate(mine))
        axes.text(1.02, 0.5, legend, transform=axes.transAxes, fontsize="x-small",
                  va="center", ha="left")  # fmt: skip
    if title:
        figure.suptitle(title)
    figure.tight_layout()
    return figure


def write_tradeoff(stem: Path, steps: Sequence[Step], title: str = "") -> tuple[Path, Path]:
    """Write `stem.tsv` (every field of every step) and `stem.png`; returns both paths."""
    figure = plot_tradeoff(steps, title)
    stem.parent.mkdir(parents=True, exist_ok=True)
    lines = ["\t".join(f.name for f in fields(Step))]
    lines += ["\t".join(f"{v:.6g}" if isinstance(v, float) else str(v) for v in astuple(s))
              for s in steps]  # fmt: skip
    tsv, png = stem.with_suffix(".tsv"), stem.with_suffix(".png")
    tsv.write_text("\n".join(lines) + "\n", encoding="utf-8")
    figure.savefig(png, format="png", metadata={"Software": None}, bbox_inches="tight")
    return tsv, png
