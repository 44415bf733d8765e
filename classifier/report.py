"""An evaluation report: built from one scoring of a model (``classifier.evaluate``), printed as a
short terminal table, and written as a folder: report.json (stable keys, documented in
REPORTS.md), errors.jsonl (every wrong or missed suggestion) and report.html.
"""
from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Sequence


from .evaluate import (LOWER_IS_BETTER, METRIC_KEYS, Progress, Scored, _metrics, _quiet, applicable_metrics,
                       describe_corpus, error_records, evaluation_tags, flat_scores, score, threshold_curve,
                       confusion_matrix)
from .scorer import Scoring
from .metrics import fmt
from .persist import model_version, write_atomic, write_json
from .report_html import render_cv_html, render_html

REPORT_FILE = "report.json"
ERRORS_FILE = "errors.jsonl"
HTML_FILE = "report.html"

# --------------------------------------------------------------------------------------------
# files

def write_report(directory, report: dict, errors: Sequence[dict], html_page: str | None = None) -> dict:
    """Write the three report files into ``directory``; each replaces its old copy atomically."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    write_json(directory / REPORT_FILE, report)
    write_atomic(directory / ERRORS_FILE,
                       "".join(json.dumps(record, ensure_ascii=False) + "\n" for record in errors))
    if html_page is None:
        html_page = render_cv_html(report, errors) if report.get("kind") == "cross-validation" \
            else render_html(report, errors)
    write_atomic(directory / HTML_FILE, html_page)
    return {name: directory / name for name in (REPORT_FILE, ERRORS_FILE, HTML_FILE)}


def remove_report(directory) -> None:
    for name in (REPORT_FILE, ERRORS_FILE, HTML_FILE):
        (Path(directory) / name).unlink(missing_ok=True)


# --------------------------------------------------------------------------------------------
# the full report

def model_summary(model: Scoring, metadata: dict | None, directory=None) -> dict:
    metadata = metadata or {}
    return {
        "dir": str(directory) if directory is not None else None,
        "version": model_version(metadata),
        "created": metadata.get("created"),
        "artifact_sha256": metadata.get("artifact_sha256"),
        "n_tags": len(model.classes_),
        "n_post_tags": sum(1 for scope in model.scopes_.values() if scope == "post"),
        "k": model.k,
        "params": model.get_params(),
        "training_data": metadata.get("data"),
        "holdout_fraction": (metadata.get("holdout") or {}).get("fraction"),
    }


def build_report(model: Scoring, examples: Sequence, k: int | None = None, threshold: float | None = None,
                 metadata: dict | None = None, model_dir=None, data_paths: Sequence | None = None,
                 baseline: tuple | None = None, decisions: tuple | None = None,
                 progress: Progress | None = None) -> tuple[dict, list[dict]]:
    """The whole evaluation: report (report.json) and error records (errors.jsonl), worst first.

    baseline : (model, metadata, directory) of a second model scored on the same examples;
        both are then scored on the union of their tags.
    """
    say = progress or _quiet
    examples = list(examples)
    tags = evaluation_tags(model, examples)
    if baseline is not None:
        tags = {**tags, **{t: s for t, s in evaluation_tags(baseline[0], examples).items() if t not in tags}}
    say(f"scoring {len(examples)} texts on {len(tags)} tags")
    scored = score(model, examples, k, threshold, tags, decisions, say)
    metrics = _metrics(scored)
    errors = error_records(scored, examples)
    corpus = describe_corpus(examples, tags, list(model.classes_))
    applies, notes = applicable_metrics(corpus, dict(model.scopes_), tags)
    report = {
        "kind": "evaluation",
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "model": model_summary(model, metadata, model_dir),
        "data": {"paths": [str(p) for p in data_paths] if data_paths else None, "n_examples": len(examples)},
        **metrics,
        "threshold_curve": threshold_curve(scored),
        "confusion_matrix": confusion_matrix(scored),
        "n_errors": len(errors),
        "corpus": corpus,
        "applicable": applies,
        "notes": notes,
        "baseline": None,
    }
    if baseline is not None:
        base_model, base_metadata, base_dir = baseline
        say(f"scoring the baseline {base_dir if base_dir is not None else 'model'} on the same texts")
        base_scored = score(base_model, examples, k, threshold, tags, progress=say)
        report["baseline"] = compare(metrics, _metrics(base_scored), scored, base_scored)
        report["baseline"]["model"] = model_summary(base_model, base_metadata, base_dir)
    return report, errors


def compare(report: dict, base: dict, scored: Scored | None = None, base_scored: Scored | None = None) -> dict:
    """Deltas (report minus base) per headline metric and per tag; lower-is-better keys are named."""
    new_flat, old_flat = flat_scores(report), flat_scores(base)
    delta = {key: (round(new_flat[key] - old_flat[key], 4) if new_flat[key] is not None and old_flat[key] is not None
                   else None) for key in METRIC_KEYS}
    per_tag = {}
    for tag in sorted(set(report["per_tag"]) | set(base["per_tag"])):
        new, old = report["per_tag"].get(tag), base["per_tag"].get(tag)
        entry = {"support": (new or old)["support"]}
        for metric in ("precision", "recall", "f1"):
            entry[metric] = new[metric] if new else None
            entry[f"baseline_{metric}"] = old[metric] if old else None
            entry[f"delta_{metric}"] = round(new[metric] - old[metric], 4) if new and old else None
        per_tag[tag] = entry
    result = {"model": None, "scores": old_flat, "delta": delta, "lower_is_better": sorted(LOWER_IS_BETTER),
              "per_tag": per_tag}
    if scored is not None and base_scored is not None:
        # Texts whose suggestions went from wrong to exactly right, and the other way.
        right = ~(scored.predicted != scored.gold).any(axis=1)
        base_right = ~(base_scored.predicted != base_scored.gold).any(axis=1)
        result["texts_fixed"] = int((right & ~base_right).sum())
        result["texts_broken"] = int((~right & base_right).sum())
        result["texts_changed"] = int((scored.predicted != base_scored.predicted).any(axis=1).sum())
    return result


# --------------------------------------------------------------------------------------------
# terminal tables

def format_scores(scores: dict) -> str:
    return "\n".join(f"{key:16} {fmt(scores.get(key))}" for key in METRIC_KEYS)


def format_summary(report: dict) -> str:
    """The short terminal table of a report: headline numbers, and the baseline's when compared."""
    scores = flat_scores(report)
    baseline = report.get("baseline")
    lines = []
    if baseline:
        lines.append(f"{'metric':16} {'model':>8} {'baseline':>9} {'delta':>8}")
        for key in METRIC_KEYS:
            delta = baseline["delta"][key]
            lines.append(f"{key:16} {fmt(scores[key]):>8} {fmt(baseline['scores'][key]):>9} "
                         f"{'n/a' if delta is None else f'{delta:+.3f}':>8}")
        lines.append(f"texts fixed {baseline.get('texts_fixed', 'n/a')}, broken {baseline.get('texts_broken', 'n/a')}, "
                     f"changed {baseline.get('texts_changed', 'n/a')}")
    else:
        lines.append(format_scores(scores))
    threshold = report["threshold"]
    lines.append(f"{report['n_examples']} texts ({report['n_labelled']} labelled), k={report['k']}, threshold "
                 f"{threshold if isinstance(threshold, str) else f'{threshold:g}'}, {report.get('n_errors', 0)} "
                 f"texts with errors")
    if report.get("confusions"):
        lines.append("most confused: " + ", ".join(f"{c['gold']} -> {c['predicted']} ({c['count']})"
                                                   for c in report["confusions"][:3]))
    for note in report.get("notes", []):
        lines.append(f"note: {note}")
    return "\n".join(lines)


def format_cv(result: dict) -> str:
    lines = [f"{result['folds']}-fold cross-validation by post: {result['n_examples']} texts, "
             f"{result['n_posts']} posts (mean ± spread over folds)", format_scores(result["scores"])]
    lines += [f"note: {note}" for note in result.get("notes", [])]
    return "\n".join(lines)

