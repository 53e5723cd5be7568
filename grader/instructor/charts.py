"""The dashboard's charts, drawn with matplotlib as inline SVG (text kept as text, no
external font or image), one function per chart. No pyplot: each chart is its own
Figure, so nothing global is touched."""

from __future__ import annotations

import io

import matplotlib
from matplotlib.figure import Figure

from grader.instructor.analysis import Failure, Timeline

STYLE = {
    "svg.fonttype": "none",  # text stays text: small, searchable, no embedded glyphs
    "svg.hashsalt": "tinytorch",  # the same data draws the same file
    "font.size": 9,
    "axes.spines.top": False,
    "axes.spines.right": False,
}
BLUE, ORANGE, GREY = "#1f5fa8", "#d9822b", "#8a8f98"


def _svg(figure: Figure) -> str:
    out = io.StringIO()
    with matplotlib.rc_context(STYLE):
        figure.savefig(out, format="svg", bbox_inches="tight", metadata={"Date": None})
    text = out.getvalue()
    return text[text.index("<svg") :]  # inline: no XML prolog or doctype


def score_distribution(scores: dict[str, list[float]]) -> str:
    """One box per module: the spread of scores, as a share of its points."""
    with matplotlib.rc_context(STYLE):
        figure = Figure(figsize=(9, 3.2))
        axes = figure.subplots()
        names = list(scores)
        data = [[100 * s for s in scores[name]] or [float("nan")] for name in names]
        axes.boxplot(data, showfliers=False, patch_artist=True,
                     boxprops={"facecolor": "#dbe6f4", "edgecolor": BLUE},
                     medianprops={"color": ORANGE})  # fmt: skip
        axes.set_xticks(range(1, len(names) + 1), [name[:2] for name in names])
        axes.set_ylabel("% of the module's points")
        axes.set_xlabel("module")
        axes.set_ylim(-3, 103)
        return _svg(figure)


def completion(timeline: Timeline) -> str:
    """Modules complete (median and middle half of the class) against the schedule."""
    with matplotlib.rc_context(STYLE):
        figure = Figure(figsize=(9, 3.2))
        axes = figure.subplots()
        days = timeline.days
        axes.step(days, timeline.released, where="post", color=GREY, label="released")
        axes.step(days, timeline.due, where="post", color="black", label="due (schedule)")
        axes.fill_between(days, timeline.low, timeline.high, color=BLUE, alpha=0.2,
                          label="middle half of the class")  # fmt: skip
        axes.plot(days, timeline.median, color=BLUE, label="median student")
        axes.set_ylabel("modules complete")
        axes.legend(loc="upper left", frameon=False)
        figure.autofmt_xdate()
        return _svg(figure)


def failure_bars(tasks: list[Failure], count: int = 20) -> str:
    """The tasks the class fails most: share of newest pushes failing them."""
    shown = [task for task in tasks if task.failures][:count][::-1]
    with matplotlib.rc_context(STYLE):
        figure = Figure(figsize=(9, 0.25 * max(len(shown), 4) + 0.8))
        axes = figure.subplots()
        axes.barh([task.name for task in shown], [100 * task.rate for task in shown],
                  color=ORANGE)  # fmt: skip
        axes.set_xlabel("% of students' newest pushes failing a test of the task")
        axes.set_xlim(0, 100)
        if not shown:
            axes.text(50, 0, "no failing test", ha="center")
        return _svg(figure)
