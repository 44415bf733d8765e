"""Plots drawn as inline SVG for the report page: bars, lines, a heat map, reliability curves.

Every label is escaped: tags and texts come from corpora, which are not trusted markup.
"""
from __future__ import annotations

import html
import math
from typing import Sequence

from .metrics import fmt, signed

BLUE, ORANGE, GREEN, RED, GREY = "#3467b0", "#dd7a2e", "#3c9a55", "#c23b3b", "#888888"


def esc(value) -> str:
    return html.escape(str(value), quote=True)


def _svg(width: float, height: float, title: str, body: list[str], name: str) -> str:
    return (f'<svg class="plot" data-plot="{esc(name)}" xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" '
            f'height="{height:.0f}" viewBox="0 0 {width:.0f} {height:.0f}" role="img" aria-label="{esc(title)}">'
            f'<title>{esc(title)}</title>{"".join(body)}</svg>')


def _text(x, y, content, anchor="start", size=11, extra="") -> str:
    return (f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}" text-anchor="{anchor}" {extra}>'
            f'{esc(content)}</text>')


def bar_chart(rows: Sequence[tuple], title: str, name: str, whiskers: Sequence[float] | None = None,
              diverging: bool = False) -> str:
    """Horizontal bars, one a row: (label, value, note). Values in [0, 1], or signed if diverging."""
    label_width, bar_width, row_height, top = 190, 340, 18, 26
    height = top + row_height * len(rows) + 24
    width = label_width + bar_width + 90
    body = [_text(4, 15, title, size=13, extra='font-weight="bold"')]
    if diverging:
        scale = max([abs(v) for _, v, _ in rows if v is not None] + [0.05])
        zero = label_width + bar_width / 2
        body.append(f'<line x1="{zero}" y1="{top - 4}" x2="{zero}" y2="{height - 20}" stroke="#444"/>')
        body.append(_text(label_width, height - 6, f"-{scale:.2f}", size=10))
        body.append(_text(label_width + bar_width, height - 6, f"+{scale:.2f}", anchor="end", size=10))
    else:
        scale, zero = 1.0, label_width
        for tick in (0, 0.25, 0.5, 0.75, 1.0):
            x = label_width + tick * bar_width
            body.append(f'<line x1="{x:.1f}" y1="{top - 4}" x2="{x:.1f}" y2="{height - 20}" stroke="#ddd"/>')
            body.append(_text(x, height - 6, f"{tick:g}", anchor="middle", size=10))
    for i, (label, value, note) in enumerate(rows):
        y = top + i * row_height
        body.append(_text(label_width - 6, y + 12, label, anchor="end"))
        if value is None:
            body.append(_text(label_width + 4, y + 12, "n/a", size=10, extra=f'fill="{GREY}"'))
            continue
        if diverging:
            length = abs(value) / scale * bar_width / 2
            x = zero if value >= 0 else zero - length
            color = GREEN if value >= 0 else RED
        else:
            length, x, color = max(0.0, min(1.0, value)) * bar_width, zero, BLUE
        body.append(f'<rect class="bar" x="{x:.1f}" y="{y + 2}" width="{length:.1f}" height="{row_height - 5}" '
                    f'fill="{color}"><title>{esc(label)}: {esc(fmt(value))} {esc(note)}</title></rect>')
        if whiskers is not None and whiskers[i]:
            low = label_width + max(0.0, value - whiskers[i]) * bar_width
            high = label_width + min(1.0, value + whiskers[i]) * bar_width
            middle = y + row_height / 2
            body.append(f'<line x1="{low:.1f}" y1="{middle:.1f}" x2="{high:.1f}" y2="{middle:.1f}" stroke="#222"/>')
        shown = signed(value) if diverging else fmt(value)
        body.append(_text(label_width + bar_width + 6, y + 12, f"{shown} {note}".strip(), size=10))
    return _svg(width, height, title, body, name)


def line_chart(series: Sequence[dict], title: str, name: str, x_label: str, y_label: str,
               diagonal: bool = False, rug: Sequence[float] = (), size: int = 300) -> str:
    """Lines over [0, 1] x [0, 1]. A series: {"name", "x", "y", "color", "sizes" (optional markers)}."""
    left, top, right, bottom = 44, 28, 130, 40
    width, height = left + size + right, top + size + bottom

    def px(x):
        return left + x * size

    def py(y):
        return top + (1 - y) * size

    body = [_text(4, 15, title, size=13, extra='font-weight="bold"'),
            f'<rect x="{left}" y="{top}" width="{size}" height="{size}" fill="none" stroke="#999"/>']
    for tick in (0, 0.25, 0.5, 0.75, 1.0):
        body.append(f'<line x1="{px(tick):.1f}" y1="{top}" x2="{px(tick):.1f}" y2="{top + size}" stroke="#eee"/>')
        body.append(f'<line x1="{left}" y1="{py(tick):.1f}" x2="{left + size}" y2="{py(tick):.1f}" stroke="#eee"/>')
        body.append(_text(px(tick), top + size + 14, f"{tick:g}", anchor="middle", size=10))
        body.append(_text(left - 4, py(tick) + 4, f"{tick:g}", anchor="end", size=10))
    body.append(_text(left + size / 2, height - 6, x_label, anchor="middle"))
    body.append(_text(12, top + size / 2, y_label, anchor="middle",
                      extra=f'transform="rotate(-90 12 {top + size / 2:.1f})"'))
    if diagonal:
        body.append(f'<line x1="{px(0)}" y1="{py(0)}" x2="{px(1)}" y2="{py(1)}" stroke="{GREY}" '
                    f'stroke-dasharray="4 3"><title>perfect calibration</title></line>')
    for x in rug:
        body.append(f'<line x1="{px(x):.1f}" y1="{top + size - 6}" x2="{px(x):.1f}" y2="{top + size}" '
                    f'stroke="#333"/>')
    for n, line in enumerate(series):
        points = [(px(x), py(y)) for x, y in zip(line["x"], line["y"]) if y is not None]
        color = line.get("color", BLUE)
        if len(points) > 1:
            path = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
            body.append(f'<polyline points="{path}" fill="none" stroke="{color}" stroke-width="2"/>')
        sizes = line.get("sizes")
        for index, (x, y) in enumerate(points):
            radius = 2.5 if not sizes else 2 + 6 * math.sqrt(sizes[index] / max(sizes))
            tip = f"{line['name']}: x {line['x'][index]:.3f}, y {line['y'][index]:.3f}"
            if sizes:
                tip += f", n {sizes[index]}"
            body.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{radius:.1f}" fill="{color}" fill-opacity="0.8">'
                        f'<title>{esc(tip)}</title></circle>')
        legend_y = top + 12 + n * 16
        body.append(f'<rect x="{left + size + 10}" y="{legend_y - 8}" width="10" height="10" fill="{color}"/>')
        body.append(_text(left + size + 24, legend_y + 1, line["name"], size=10))
    return _svg(width, height, title, body, name)


def heat_map(matrix: dict, title: str, name: str) -> str:
    """Gold tags (rows) against suggested tags (columns); colour is the share of the row's texts."""
    rows, columns, counts, support = matrix["tags"], matrix["columns"], matrix["counts"], matrix["support"]
    cell, left, top = 30, 190, 110
    width, height = left + cell * len(columns) + 20, top + cell * len(rows) + 30
    body = [_text(4, 15, title, size=13, extra='font-weight="bold"')]
    for c, column in enumerate(columns):
        x = left + c * cell + cell / 2
        body.append(_text(x, top - 6, column, size=10, extra=f'transform="rotate(-55 {x:.1f} {top - 6})"'))
    for r, row in enumerate(rows):
        y = top + r * cell
        body.append(_text(left - 6, y + cell / 2 + 4, f"{row} ({support[r]})", anchor="end", size=10))
        for c, count in enumerate(counts[r]):
            share = count / support[r] if support[r] else 0.0
            diagonal = c == r
            # Hits in blue, mistakes in red: the eye should find the red cells.
            base = (52, 103, 176) if diagonal else (194, 59, 59)
            color = "rgb(%d,%d,%d)" % tuple(round(255 - (255 - v) * min(1.0, share)) for v in base)
            x = left + c * cell
            body.append(f'<rect class="cell" x="{x}" y="{y}" width="{cell - 1}" height="{cell - 1}" fill="{color}">'
                        f'<title>gold {esc(row)} → {esc(columns[c])}: {count} of {support[r]}</title></rect>')
            if count:
                ink = "#fff" if share > 0.55 else "#222"
                body.append(_text(x + cell / 2, y + cell / 2 + 4, count, anchor="middle", size=10,
                                  extra=f'fill="{ink}"'))
    body.append(_text(left, height - 8, "rows: gold tag (texts); columns: suggested tag; blue: hits, red: mistakes",
                      size=10, extra=f'fill="{GREY}"'))
    return _svg(width, height, title, body, name)


def reliability_plot(curve: dict, title: str, name: str, size: int = 300) -> str:
    points = curve["curve"]
    return line_chart([{"name": f"{curve['n_pairs']} pairs", "x": [p["mean_score"] for p in points],
                        "y": [p["observed"] for p in points], "sizes": [p["n"] for p in points], "color": ORANGE}],
                      title, name, "mean score in bin", "share gold", diagonal=True, size=size)


