"""Training curves written with the standard library and NumPy only: a TSV table and a PNG.

    write_curve(Path("runs/curve"), rows)   # -> runs/curve.tsv and runs/curve.png

`rows` are dicts with the same keys, one per epoch. The PNG shows every column whose
name ends in `accuracy` (in percent, left scale) and every column ending in `loss`
(scaled to the plot, right side), one coloured line each, against the epoch number.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Sequence
from pathlib import Path

import numpy as np

__all__ = ["write_curve", "write_png"]

WIDTH, HEIGHT, MARGIN = 480, 320, 24
COLOURS = [(31, 119, 180), (214, 39, 40), (44, 160, 44), (255, 127, 14), (148, 103, 189)]


def write_png(path: Path, pixels: np.ndarray) -> None:
    """Write an RGB uint8 image `(H, W, 3)` as a PNG file (zlib-compressed, no filter)."""
    height, width, _ = pixels.shape
    raw = b"".join(b"\x00" + pixels[row].tobytes() for row in range(height))

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw, 9))
        + chunk(b"IEND", b"")
    )


def _draw_line(image: np.ndarray, xs: np.ndarray, ys: np.ndarray, colour: tuple) -> None:
    """A 2-pixel-wide polyline through the points (xs, ys) in pixel coordinates."""
    for x0, y0, x1, y1 in zip(xs[:-1], ys[:-1], xs[1:], ys[1:], strict=True):
        steps = int(max(abs(x1 - x0), abs(y1 - y0))) + 1
        px = np.round(np.linspace(x0, x1, steps)).astype(int)
        py = np.round(np.linspace(y0, y1, steps)).astype(int)
        for dy in (0, 1):
            image[np.clip(py + dy, 0, image.shape[0] - 1), px] = colour
    for x, y in zip(xs, ys, strict=True):
        image[int(y) - 2 : int(y) + 3, int(x) - 2 : int(x) + 3] = colour


def plot(rows: Sequence[dict[str, float]]) -> np.ndarray:
    """The curve picture: accuracies on a 0-100% scale, losses scaled to their maximum."""
    image = np.full((HEIGHT, WIDTH, 3), 255, dtype=np.uint8)
    left, right, top, bottom = MARGIN, WIDTH - MARGIN, MARGIN, HEIGHT - MARGIN
    for fraction in np.linspace(0, 1, 11):  # grid: every 10% of the accuracy scale
        image[int(round(bottom - fraction * (bottom - top))), left:right] = 225
    image[top:bottom, left] = image[bottom, left:right] = 0
    epochs = np.array([row["epoch"] for row in rows], dtype=float)
    span = max(epochs.max() - epochs.min(), 1.0)
    xs = left + (epochs - epochs.min()) / span * (right - left - 1)
    columns = [k for k in rows[0] if k.endswith("accuracy") or k.endswith("loss")]
    for colour, name in zip(COLOURS, columns, strict=False):
        values = np.array([row[name] for row in rows], dtype=float)
        scale = 100.0 if name.endswith("accuracy") else max(values.max(), 1e-12)
        ys = bottom - np.clip(values / scale, 0, 1) * (bottom - top - 1)
        _draw_line(image, xs, ys, colour)
    return image


def write_curve(stem: Path, rows: Sequence[dict[str, float]]) -> tuple[Path, Path]:
    """Write `stem.tsv` (the table) and `stem.png` (the plot); returns both paths."""
    stem.parent.mkdir(parents=True, exist_ok=True)
    names = list(rows[0])
    lines = ["\t".join(names)]
    lines += ["\t".join(f"{row[n]:.4f}" if isinstance(row[n], float) else str(row[n])
                        for n in names) for row in rows]  # fmt: skip
    table, picture = stem.with_suffix(".tsv"), stem.with_suffix(".png")
    table.write_text("\n".join(lines) + "\n", encoding="utf-8")
    write_png(picture, plot(rows))
    return table, picture
