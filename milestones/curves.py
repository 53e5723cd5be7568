"""Training curves: a TSV table and a PNG drawn with matplotlib.

    write_curve(Path("runs/curve"), rows)   # -> runs/curve.tsv and runs/curve.png

`rows` are dicts with the same keys, one per epoch (or step). The x axis is the `epoch`
column, else `step`, else the first column. Columns whose name ends in `accuracy` are
drawn on a 0-100% scale at the left; columns ending in `loss` (or `nats`) on the loss
scale at the right. `baselines` (name -> value on the loss scale, for example the
n-gram models of milestone 05) are drawn as dashed horizontal lines, labelled in the
legend. The picture is deterministic: the same rows give the same bytes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

__all__ = ["write_curve", "plot_curve"]

Row = Mapping[str, float | int]
SIZE_INCHES, DPI = (6.4, 4.0), 100


def _x_key(row: Row) -> str:
    for key in ("epoch", "step"):
        if key in row:
            return key
    return next(iter(row))


def _is_accuracy(name: str) -> bool:
    return name.endswith("accuracy")


def _is_loss(name: str) -> bool:
    return name.endswith("loss") or name.endswith("nats")


def plot_curve(
    rows: Sequence[Row], title: str = "", baselines: Mapping[str, float] | None = None
) -> Figure:
    """The curve as a matplotlib Figure (no pyplot: no global state, no window)."""
    if not rows:
        raise ValueError("a curve needs at least one row")
    figure = Figure(figsize=SIZE_INCHES, dpi=DPI)
    FigureCanvasAgg(figure)
    x_key = _x_key(rows[0])
    xs = [row[x_key] for row in rows]
    accuracies = [k for k in rows[0] if _is_accuracy(k)]
    losses = [k for k in rows[0] if _is_loss(k)]
    axes = figure.add_subplot()
    loss_axes = axes
    lines = []
    if accuracies:
        for name in accuracies:
            lines += axes.plot(xs, [row[name] for row in rows], marker=".", label=name)
        axes.set_ylim(0, 100)
        axes.set_ylabel("accuracy (%)")
        axes.grid(True, alpha=0.3)
        if losses or baselines:
            loss_axes = axes.twinx()
    colours = iter(["tab:red", "tab:green", "tab:purple", "tab:brown", "tab:pink", "tab:olive"])
    for name in losses:
        lines += loss_axes.plot(
            xs, [row[name] for row in rows], marker=".", color=next(colours), label=name
        )
    for name, value in (baselines or {}).items():
        lines.append(loss_axes.axhline(value, linestyle="--", linewidth=1, label=name,
                                       color=next(colours, "tab:gray")))  # fmt: skip
    if losses or baselines:
        loss_axes.set_ylabel("loss")
        if loss_axes is axes:
            axes.grid(True, alpha=0.3)
    axes.set_xlabel(x_key)
    axes.xaxis.set_major_locator(MaxNLocator(integer=True))
    if title:
        axes.set_title(title)
    axes.legend(handles=lines, loc="best", fontsize="small")
    figure.tight_layout()
    return figure


def write_curve(
    stem: Path,
    rows: Sequence[Row],
    title: str = "",
    baselines: Mapping[str, float] | None = None,
) -> tuple[Path, Path]:
    """Write `stem.tsv` (the table) and `stem.png` (the plot); returns both paths."""
    figure = plot_curve(rows, title, baselines)
    stem.parent.mkdir(parents=True, exist_ok=True)
    names = list(rows[0])
    lines = ["\t".join(names)]
    lines += ["\t".join(f"{row[n]:.4f}" if isinstance(row[n], float) else str(row[n])
                        for n in names) for row in rows]  # fmt: skip
    table, picture = stem.with_suffix(".tsv"), stem.with_suffix(".png")
    table.write_text("\n".join(lines) + "\n", encoding="utf-8")
    figure.savefig(picture, format="png", metadata={"Software": None})
    return table, picture
