"""The report page: one self-contained report.html for an evaluation or a cross-validation.

The page carries its own CSS, a few lines of script (table sorting) and plots drawn as inline
SVG (``classifier.charts``), so it opens from a file, offline, in any browser, and a report can be
mailed or archived as one file. Every string from a corpus is escaped.
"""
from __future__ import annotations

from typing import Sequence

from .charts import BLUE, GREEN, ORANGE, bar_chart, esc, heat_map, line_chart, reliability_plot
from .evaluate import LOWER_IS_BETTER, METRIC_KEYS, flat_scores
from .metrics import fmt, signed

ERRORS_SHOWN = 50
TEXT_SHOWN = 400  # characters of a text shown in the page; errors.jsonl keeps the whole text
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
.notes li { margin: 2px 0; } .banner { background: #fdecea; border: 1px solid #b3261e; color: #5f1410; padding: 10px 14px; border-radius: 6px; margin: 12px 0; } .plots { display: flex; flex-wrap: wrap; gap: 16px; align-items: flex-start; }
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
    sections = [_header(report), _overlap_banner(report), _notes(report.get("notes", [])), _summary(report),
                _per_tag(report),
                _confusions(report), _thresholds(report), _calibration(report),
                _errors(errors, report.get("n_errors", len(errors))),
                "<p class=\"help\">The keys of report.json are documented in REPORTS.md.</p>"]
    title = f"Evaluation · {(report.get('model') or {}).get('dir') or 'model'}"
    return _page(title, sections)


def _overlap_banner(report: dict) -> str:
    """A warning at the top when the evaluation texts include the model's training texts."""
    overlap = report.get("overlap_with_training") or {}
    if not overlap.get("n_overlapping"):
        return ""
    return (f"<div class=\"banner\" role=\"alert\" id=\"overlap-with-training\"><strong>Evaluated on training "
            f"data:</strong> {overlap['share']:.0%} of these texts ({overlap['n_overlapping']} of "
            f"{overlap['n_texts']}) are texts the model was trained on. The scores below measure memory, not "
            f"how it does on new text.</div>")


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

