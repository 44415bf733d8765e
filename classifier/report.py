"""Write an evaluation report folder: report.json, errors.jsonl and one self-contained report.html.

The page carries its own CSS, a few lines of script (table sorting) and plots drawn here as
inline SVG, so it opens from a file, offline, in any browser, and a report can be mailed or
archived as one file. Every string from a corpus is escaped: corpora are not trusted markup.
"""
from __future__ import annotations

import html
import json
import math
import os
import tempfile
from pathlib import Path
from typing import Sequence

from .evaluate import LOWER_IS_BETTER, METRIC_KEYS, flat_scores
from .model import write_json_atomic

REPORT_FILE = "report.json"
ERRORS_FILE = "errors.jsonl"
HTML_FILE = "report.html"
ERRORS_SHOWN = 50
TEXT_SHOWN = 400  # characters of a text shown in the page; errors.jsonl keeps the whole text

BLUE, ORANGE, GREEN, RED, GREY = "#3467b0", "#dd7a2e", "#3c9a55", "#c23b3b", "#888888"
METRIC_HELP = {
    "top1_accuracy": "best block tag is a gold tag",
    "micro_f1": "F1 over all (text, tag) decisions",
    "macro_f1": "mean of per-tag F1",
    "micro_precision": "share of suggestions that are gold",
    "micro_recall": "share of gold tags suggested",
    "recall_at_k": "share of gold tags ranked in the top k, whatever their score",
    "correctly_empty": "texts without a gold tag that got no suggestion",
    "wrongly_empty": "labelled texts that got no suggestion (lower is better)",
    "brier": "mean squared error of the scores (lower is better)",
    "ece": "expected calibration error (lower is better)",
}


# --------------------------------------------------------------------------------------------
# files

def write_report(directory, report: dict, errors: Sequence[dict], html_page: str | None = None) -> dict:
    """Write the three report files into ``directory``; each replaces its old copy atomically."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    write_json_atomic(directory / REPORT_FILE, report)
    _write_text_atomic(directory / ERRORS_FILE,
                       "".join(json.dumps(record, ensure_ascii=False) + "\n" for record in errors))
    if html_page is None:
        html_page = render_cv_html(report, errors) if report.get("kind") == "cross-validation" \
            else render_html(report, errors)
    _write_text_atomic(directory / HTML_FILE, html_page)
    return {name: directory / name for name in (REPORT_FILE, ERRORS_FILE, HTML_FILE)}


def remove_report(directory) -> None:
    for name in (REPORT_FILE, ERRORS_FILE, HTML_FILE):
        (Path(directory) / name).unlink(missing_ok=True)


def _write_text_atomic(path: Path, text: str) -> None:
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}-", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(text)
        os.replace(temporary, path)
    finally:
        if os.path.exists(temporary):
            os.unlink(temporary)


# --------------------------------------------------------------------------------------------
# small formatting helpers

def esc(value) -> str:
    return html.escape(str(value), quote=True)


def fmt(value, digits: int = 3) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    if isinstance(value, dict) and "mean" in value:
        return f"{value['mean']:.{digits}f} ± {value['std']:.{digits}f}"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def signed(value) -> str:
    return "n/a" if value is None else f"{value:+.3f}"


def _delta_class(key: str, delta) -> str:
    if not delta:
        return ""
    better = delta < 0 if key in LOWER_IS_BETTER else delta > 0
    return "better" if better else "worse"


def _num_cell(value, shown: str | None = None, css: str = "") -> str:
    sort_value = "" if value is None else f"{value}"
    klass = f' class="{css}"' if css else ""
    return f'<td data-value="{esc(sort_value)}"{klass}>{esc(shown if shown is not None else fmt(value))}</td>'


# --------------------------------------------------------------------------------------------
# plots: inline SVG

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


# --------------------------------------------------------------------------------------------
# page pieces

_STYLE = """
body { font-family: system-ui, "Noto Sans CJK JP", "Hiragino Sans", sans-serif; margin: 24px; color: #222;
       max-width: 1200px; }
h1 { font-size: 22px; margin-bottom: 4px; } h2 { font-size: 18px; margin-top: 32px; border-bottom: 1px solid #ccc; }
.meta { color: #555; font-size: 13px; }
table { border-collapse: collapse; font-size: 13px; margin: 8px 0; }
th, td { border: 1px solid #ddd; padding: 3px 8px; text-align: left; vertical-align: top; }
td[data-value] { text-align: right; font-variant-numeric: tabular-nums; }
th.sortable { cursor: pointer; user-select: none; } th.sortable::after { content: " ⇅"; color: #aaa; }
th[aria-sort="ascending"]::after { content: " ▲"; color: #333; } th[aria-sort="descending"]::after { content: " ▼"; color: #333; }
.better { color: #1f7a38; font-weight: bold; } .worse { color: #b22222; font-weight: bold; }
.notes li { margin: 2px 0; } .plots { display: flex; flex-wrap: wrap; gap: 16px; align-items: flex-start; }
.errors td.text { max-width: 520px; white-space: pre-wrap; } .tag { white-space: nowrap; }
.kind { font-size: 11px; background: #eee; border-radius: 3px; padding: 0 4px; }
.help { color: #666; font-size: 12px; }
"""

# Click a header to sort by it; numbers sort by data-value, missing values last.
_SCRIPT = """
(function () {
  function key(cell) {
    var raw = cell.getAttribute("data-value");
    if (raw === null) { return cell.textContent.trim().toLowerCase(); }
    return raw === "" ? null : parseFloat(raw);
  }
  document.querySelectorAll("table.sortable").forEach(function (table) {
    var headers = table.querySelectorAll("thead th");
    headers.forEach(function (th, column) {
      th.classList.add("sortable");
      th.addEventListener("click", function () {
        var ascending = th.getAttribute("aria-sort") !== "ascending";
        var rows = Array.prototype.slice.call(table.tBodies[0].rows);
        rows.sort(function (a, b) {
          var x = key(a.cells[column]), y = key(b.cells[column]);
          if (x === null || y === null) { return (x === null) - (y === null); }
          var order = x < y ? -1 : x > y ? 1 : 0;
          return ascending ? order : -order;
        });
        rows.forEach(function (row) { table.tBodies[0].appendChild(row); });
        headers.forEach(function (other) { other.removeAttribute("aria-sort"); });
        th.setAttribute("aria-sort", ascending ? "ascending" : "descending");
      });
    });
  });
})();
"""


def _page(title: str, sections: list[str]) -> str:
    # The empty icon link keeps the browser from asking a server for /favicon.ico.
    return ("<!DOCTYPE html>\n<html lang=\"ja\"><head><meta charset=\"utf-8\">"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            f"<link rel=\"icon\" href=\"data:,\"><title>{esc(title)}</title><style>{_STYLE}</style></head>"
            f"<body>{''.join(sections)}<script>{_SCRIPT}</script></body></html>\n")


def _notes(notes: Sequence[str]) -> str:
    if not notes:
        return ""
    return "<h2>What applies to this corpus</h2><ul class=\"notes\">" + \
        "".join(f"<li>{esc(note)}</li>" for note in notes) + "</ul>"


def _header(report: dict) -> str:
    model = report.get("model") or {}
    data = report.get("data") or {}
    threshold = report["threshold"]
    return (f"<h1>Evaluation report</h1><p class=\"meta\">model <b>{esc(model.get('dir') or '')}</b> "
            f"(version {esc(model.get('version'))}, {esc(model.get('n_tags'))} tags) · data "
            f"{esc(', '.join(data.get('paths') or []) or 'held-out posts')} · {report['n_examples']} texts, "
            f"{report['n_labelled']} labelled · k = {report['k']} · threshold "
            f"{esc(threshold if isinstance(threshold, str) else f'{threshold:g}')} · created {esc(report.get('created'))}</p>")


def _summary(report: dict) -> str:
    scores = flat_scores(report)
    baseline = report.get("baseline")
    head = "<tr><th>metric</th><th>value</th>" + ("<th>baseline</th><th>delta</th>" if baseline else "") + \
        "<th>meaning</th></tr>"
    rows = []
    for key in METRIC_KEYS:
        cells = f"<td>{esc(key)}</td>{_num_cell(scores[key])}"
        if baseline:
            delta = baseline["delta"][key]
            cells += _num_cell(baseline["scores"][key]) + _num_cell(delta, signed(delta), _delta_class(key, delta))
        rows.append(f"<tr>{cells}<td class=\"help\">{esc(METRIC_HELP[key])}</td></tr>")
    abstention = report["abstention"]
    extra = (f"<p>{abstention['texts_without_gold']} texts have no gold tag; {fmt(abstention['correctly_empty'])} of "
             f"them got no suggestion. {fmt(abstention['wrongly_empty'])} of the {abstention['labelled_texts']} "
             f"labelled texts were wrongly left empty ({fmt(abstention.get('wrongly_empty_block'))} of the "
             f"{abstention.get('block_labelled_texts')} with a block tag). {report.get('n_errors', 0)} texts have "
             f"at least one wrong or missed tag (all in errors.jsonl).</p>")
    if baseline:
        extra += (f"<p>Against the baseline <b>{esc((baseline.get('model') or {}).get('dir') or '')}</b>: "
                  f"{baseline.get('texts_fixed')} texts fixed, {baseline.get('texts_broken')} broken, "
                  f"{baseline.get('texts_changed')} with changed suggestions.</p>")
    return f"<h2>Summary</h2><table><thead>{head}</thead><tbody>{''.join(rows)}</tbody></table>{extra}"


def _per_tag(report: dict) -> str:
    per_tag = {t: s for t, s in report["per_tag"].items() if s["support"] or s["predicted"]}
    baseline = (report.get("baseline") or {}).get("per_tag")
    ranked = sorted(per_tag.items(), key=lambda item: (-item[1]["f1"], item[0]))
    bars = bar_chart([(tag, s["f1"], f"n={s['support']}") for tag, s in ranked], "F1 per tag", "per-tag-f1")
    plots = [bars]
    if baseline:
        deltas = sorted(((t, baseline[t]["delta_f1"]) for t in per_tag if t in baseline),
                        key=lambda item: (item[1] is None, item[1] if item[1] is not None else 0, item[0]))
        plots.append(bar_chart([(t, d, "") for t, d in deltas], "F1 change against the baseline",
                               "per-tag-delta-f1", diverging=True))
    head = ["tag", "scope", "support", "suggested", "precision", "recall", "F1", "threshold"]
    if baseline:
        head += ["baseline F1", "ΔF1"]
    rows = []
    # Worst first: the tags that need a curator's attention lead the table.
    for tag, s in sorted(per_tag.items(), key=lambda item: (item[1]["f1"], item[0])):
        cells = [f"<td class=\"tag\">{esc(tag)}</td>", f"<td>{esc(s['scope'])}</td>", _num_cell(s["support"]),
                 _num_cell(s["predicted"]), _num_cell(s["precision"]), _num_cell(s["recall"]), _num_cell(s["f1"]),
                 _num_cell(s["threshold"], "not known" if s["threshold"] is None else None)]
        if baseline:
            b = baseline.get(tag, {})
            cells += [_num_cell(b.get("baseline_f1")),
                      _num_cell(b.get("delta_f1"), signed(b.get("delta_f1")), _delta_class("f1", b.get("delta_f1")))]
        rows.append(f"<tr>{''.join(cells)}</tr>")
    sorted_by = ' aria-sort="ascending"'
    headers = "".join(f"<th{sorted_by if h == 'F1' else ''}>{esc(h)}</th>" for h in head)
    return (f"<h2>Per tag</h2><div class=\"plots\">{''.join(plots)}</div>"
            f"<p class=\"help\">Click a column to sort; worst F1 first. Tags with neither gold texts nor "
            f"suggestions here are left out.</p>"
            f"<table class=\"sortable\" id=\"per-tag\"><thead><tr>{headers}</tr></thead>"
            f"<tbody>{''.join(rows)}</tbody></table>")


def _confusions(report: dict) -> str:
    parts = ["<h2>Confusions</h2>"]
    matrix = report.get("confusion_matrix")
    if matrix and matrix["tags"]:
        parts.append(f"<div class=\"plots\">{heat_map(matrix, 'Gold against suggested, tags with most errors', 'confusion-heat-map')}</div>")
    if report["confusions"]:
        rows = "".join(f"<tr><td class=\"tag\">{esc(c['gold'])}</td><td class=\"tag\">{esc(c['predicted'])}</td>"
                       f"{_num_cell(c['count'])}</tr>" for c in report["confusions"])
        parts.append("<p class=\"help\">Block tag missed, other block tag suggested in its place:</p>"
                     f"<table><thead><tr><th>gold (missed)</th><th>suggested instead</th><th>texts</th></tr></thead>"
                     f"<tbody>{rows}</tbody></table>")
    else:
        parts.append("<p>No block tag was replaced by another.</p>")
    return "".join(parts)


def _thresholds(report: dict) -> str:
    curve = report.get("threshold_curve") or []
    if not curve:
        return ""
    xs = [p["threshold"] for p in curve]
    series = [{"name": "precision", "x": xs, "y": [p["precision"] for p in curve], "color": BLUE},
              {"name": "recall", "x": xs, "y": [p["recall"] for p in curve], "color": ORANGE},
              {"name": "F1", "x": xs, "y": [p["f1"] for p in curve], "color": GREEN}]
    used = [s["threshold"] for s in report["per_tag"].values() if s["threshold"] is not None]
    chart = line_chart(series, "Micro precision and recall against one threshold for all tags",
                       "threshold-curve", "threshold", "score", rug=used)
    operating = (f"The report uses {'per-tag thresholds (ticks on the axis)' if report['threshold'] == 'per-tag' else 'threshold ' + fmt(report['threshold'])}: "
                 f"micro precision {fmt(report['micro']['precision'])}, recall {fmt(report['micro']['recall'])}, "
                 f"F1 {fmt(report['micro']['f1'])}. At most k = {report['k']} suggestions a text in every point.")
    return f"<h2>Thresholds</h2><div class=\"plots\">{chart}</div><p class=\"help\">{esc(operating)}</p>"


def _calibration(report: dict) -> str:
    calibration = report.get("calibration") or {}
    overall = calibration.get("overall")
    if not overall:
        return ""
    plots = [reliability_plot(overall, "Reliability: all (text, tag) pairs", "reliability-overall")]
    rows = [f"<tr><td>all tags</td>{_num_cell(overall['n_positive'])}{_num_cell(overall['brier'], fmt(overall['brier'], 4))}"
            f"{_num_cell(overall['ece'], fmt(overall['ece'], 4))}</tr>"]
    for tag, curve in (calibration.get("per_tag") or {}).items():
        plots.append(reliability_plot(curve, tag, f"reliability-{tag}", size=160))
        rows.append(f"<tr><td class=\"tag\">{esc(tag)}</td>{_num_cell(curve['n_positive'])}"
                    f"{_num_cell(curve['brier'], fmt(curve['brier'], 4))}{_num_cell(curve['ece'], fmt(curve['ece'], 4))}</tr>")
    return ("<h2>Calibration</h2><p class=\"help\">A score means what it says when, of the pairs scored about 0.8, "
            "about 80% are gold: points on the dashed diagonal. Marker size is the number of pairs in the bin; "
            f"most pairs are easy negatives near 0. Per-tag curves for tags with at least "
            f"{calibration.get('min_support')} gold texts.</p>"
            f"<div class=\"plots\">{''.join(plots)}</div>"
            "<table><thead><tr><th>tags</th><th>gold pairs</th><th>Brier</th><th>ECE</th></tr></thead>"
            f"<tbody>{''.join(rows)}</tbody></table>")


def _tag_list(items) -> str:
    return " ".join(f"<span class=\"tag\">{esc(item)}</span>" for item in items) or "—"


def _scored_list(items, wrong=()) -> str:
    parts = []
    for item in items:
        text = f"{item['tag']} {item['score']:.2f}"
        parts.append(f"<span class=\"tag{' worse' if item['tag'] in wrong else ''}\">{esc(text)}</span>")
    return " ".join(parts) or "—"


def _errors(errors: Sequence[dict], total: int) -> str:
    if not errors:
        return "<h2>Worst errors</h2><p>No errors.</p>"
    rows = []
    for record in errors[:ERRORS_SHOWN]:
        text = record["text"]
        shown = text if len(text) <= TEXT_SHOWN else text[:TEXT_SHOWN] + " …"
        cost = f"{record['block_cost']:.2f} / {record['cost']:.2f}"
        rows.append(f"<tr>{_num_cell(record['block_cost'] + record['cost'] / 1000, cost)}<td><span class=\"kind\">{esc(record['kind'])}</span></td>"
                    f"<td class=\"text\">{esc(shown)}<br><span class=\"help\">{esc(record['source'])}</span></td>"
                    f"<td>{_tag_list(record['gold'])}</td><td>{_scored_list(record['suggested'], record['wrong'])}</td>"
                    f"<td>{_scored_list(record['missed'])}</td></tr>")
    return (f"<h2>Worst errors</h2><p class=\"help\">{min(total, ERRORS_SHOWN)} of {total} texts with errors, "
            "costliest first (cost: scores of wrong suggestions plus 1 − score of missed gold tags; block-tag "
            "errors rank before post-tag ones). All of them are in errors.jsonl.</p><table class=\"errors sortable\"><thead><tr><th>cost: block / all</th><th>kind</th><th>text</th>"
            "<th>gold</th><th>suggested (wrong in red)</th><th>missed (score)</th></tr></thead>"
            f"<tbody>{''.join(rows)}</tbody></table>")


def render_html(report: dict, errors: Sequence[dict]) -> str:
    """The page of one evaluation report (``evaluate.build_report``)."""
    sections = [_header(report), _notes(report.get("notes", [])), _summary(report), _per_tag(report),
                _confusions(report), _thresholds(report), _calibration(report),
                _errors(errors, report.get("n_errors", len(errors))),
                "<p class=\"help\">The keys of report.json are documented in REPORTS.md.</p>"]
    title = f"Evaluation · {(report.get('model') or {}).get('dir') or 'model'}"
    return _page(title, sections)


def render_cv_html(result: dict, errors: Sequence[dict]) -> str:
    """The page of a cross-validation summary (``evaluate.cross_validate_report``)."""
    corpus = result.get("corpus") or {}
    header = (f"<h1>Cross-validation report</h1><p class=\"meta\">{result['folds']} folds split by post · "
              f"{result['n_examples']} texts from {result['n_posts']} posts · {esc(corpus.get('kind', ''))} corpus · "
              f"seed {result['seed']} · created {esc(result.get('created'))}</p>")
    rows = "".join(f"<tr><td>{esc(key)}</td>{_num_cell((result['scores'][key] or {}).get('mean'), fmt(result['scores'][key]))}"
                   f"<td class=\"help\">{esc(METRIC_HELP[key])}</td></tr>" for key in METRIC_KEYS)
    summary = (f"<h2>Summary: mean ± spread over folds</h2><table><thead><tr><th>metric</th><th>mean ± std</th>"
               f"<th>meaning</th></tr></thead><tbody>{rows}</tbody></table>")
    fold_head = "".join(f"<th>{esc(h)}</th>" for h in ("fold", "train", "test", *METRIC_KEYS))
    fold_rows = "".join("<tr>" + "".join(_num_cell(fold[h]) for h in ("fold", "n_train", "n_test", *METRIC_KEYS))
                        + "</tr>" for fold in result["per_fold"])
    folds = f"<h2>Per fold</h2><table class=\"sortable\"><thead><tr>{fold_head}</tr></thead><tbody>{fold_rows}</tbody></table>"
    ranked = sorted(result["per_tag"].items(), key=lambda item: (-item[1]["f1_mean"], item[0]))
    bars = bar_chart([(t, s["f1_mean"], f"({s['folds']} folds)") for t, s in ranked],
                     "F1 per tag: mean over folds, line: ± spread", "per-tag-f1",
                     whiskers=[s["f1_std"] for _, s in ranked])
    confusions = "".join(f"<tr><td class=\"tag\">{esc(c['gold'])}</td><td class=\"tag\">{esc(c['predicted'])}</td>"
                         f"{_num_cell(c['count'])}</tr>" for c in result["confusions"])
    sections = [header, _notes(result.get("notes", [])), summary, folds,
                f"<h2>Per tag</h2><div class=\"plots\">{bars}</div>",
                "<h2>Confusions, all folds</h2><table><thead><tr><th>gold (missed)</th><th>suggested instead</th>"
                f"<th>texts</th></tr></thead><tbody>{confusions}</tbody></table>",
                _errors(errors, result.get("n_errors", len(errors)))]
    return _page("Cross-validation report", sections)
