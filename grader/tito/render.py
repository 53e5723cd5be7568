"""Tables for people: `rich` on a terminal, aligned plain text when piped or in CI.

`--json` bypasses this module entirely (each report has its own `to_json`).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import TextIO

STYLES = {"ok": "green", "unlocked": "green", "warn": "yellow", "fail": "red", "locked": "dim"}


def is_terminal(stream: TextIO | None = None) -> bool:
    stream = stream or sys.stdout
    return hasattr(stream, "isatty") and stream.isatty()


def table(
    title: str,
    columns: Sequence[str],
    rows: Sequence[Sequence[str]],
    *,
    stream: TextIO | None = None,
) -> None:
    """Print a table: boxed and coloured by `rich` on a terminal, plain columns elsewhere."""
    stream = stream or sys.stdout
    if is_terminal(stream):
        from rich.console import Console
        from rich.table import Table

        rich_table = Table(title=title, title_justify="left", header_style="bold")
        for column in columns:
            rich_table.add_column(column)
        for row in rows:
            rich_table.add_row(*(_styled(cell) for cell in row))
        Console(file=stream).print(rich_table)
        return
    widths = [max(len(row[i]) for row in [columns, *rows]) for i in range(len(columns))]
    print(title, file=stream)
    for row in [columns, *rows]:
        cells = (cell.ljust(width) for cell, width in zip(row, widths, strict=True))
        print("  " + "  ".join(cells).rstrip(), file=stream)


def _styled(cell: str) -> str:
    from rich.markup import escape

    style = STYLES.get(cell.split(":")[0].strip())
    return f"[{style}]{escape(cell)}[/{style}]" if style else escape(cell)


def next_step(text: str, *, stream: TextIO | None = None) -> None:
    """The closing `Next: ...` line of a report."""
    stream = stream or sys.stdout
    if not is_terminal(stream):
        print(f"Next: {text}", file=stream)
        return
    from rich.console import Console
    from rich.markup import escape

    Console(file=stream, highlight=False).print(f"[bold]Next:[/bold] {escape(text)}")
