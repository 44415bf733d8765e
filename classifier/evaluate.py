"""Metrics for a model on labelled examples, and cross-validation by post.

Gold labels are the example's tags that the model knows (``classes_``): a tag below the
model's ``min_count`` is "no tag" to it, so an example carrying only such tags should get no
suggestion. Top-1 accuracy is measured on block tags (post tags are themes shared by a whole
post, and ranking them first would flatter the number); corpora without post tags have only
block tags, so there it is plain top-1 accuracy.
"""
from __future__ import annotations

import math
from collections import Counter
from typing import Callable, Sequence

import numpy as np

from .model import HashtagModel, group_folds, fit_examples

METRIC_KEYS = ("top1_accuracy", "micro_f1", "macro_f1", "micro_precision", "micro_recall")


def _gold_matrix(model: HashtagModel, examples) -> np.ndarray:
    index = {tag: j for j, tag in enumerate(model.classes_)}
    gold = np.zeros((len(examples), len(model.classes_)), dtype=bool)
    for i, example in enumerate(examples):
        for tag in example.labels:
            if tag in index:
                gold[i, index[tag]] = True
    return gold


def _prf(tp: int, n_predicted: int, n_gold: int) -> dict:
    precision = tp / n_predicted if n_predicted else 0.0
    recall = tp / n_gold if n_gold else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": round(precision, 4), "recall": round(recall, 4), "f1": round(f1, 4)}


def evaluate(model: HashtagModel, examples: Sequence, k: int | None = None, threshold: float | None = None,
             probabilities: np.ndarray | None = None, n_confusions: int = 15) -> dict:
    """Scores of ``model`` on ``examples`` with its default (or the given) k and threshold."""
    if not examples:
        raise ValueError("cannot evaluate on zero examples")
    k = model.k if k is None else int(k)
    if probabilities is None:
        probabilities = model.predict_proba([e.text for e in examples])
    gold = _gold_matrix(model, examples)
    cutoffs = model.thresholds_ if threshold is None else np.full(len(model.classes_), float(threshold))

    order = np.argsort(-probabilities, axis=1, kind="stable")
    top_k = np.zeros_like(gold)
    np.put_along_axis(top_k, order[:, :k], True, axis=1)
    predicted = top_k & (probabilities >= cutoffs)

    is_block = np.array([model.scopes_[tag] == "block" for tag in model.classes_])
    block_gold = gold & is_block
    has_block_gold = block_gold.any(axis=1)
    block_scores = np.where(is_block, probabilities, -1.0)
    top_block = np.argmax(block_scores, axis=1)
    top1_hits = block_gold[np.arange(len(examples)), top_block] & has_block_gold

    tp = predicted & gold
    per_tag = {}
    for j, tag in enumerate(model.classes_):
        scores = _prf(int(tp[:, j].sum()), int(predicted[:, j].sum()), int(gold[:, j].sum()))
        per_tag[tag] = {**scores, "support": int(gold[:, j].sum()), "predicted": int(predicted[:, j].sum()),
                        "scope": model.scopes_[tag]}
    present = [t for t, s in per_tag.items() if s["support"] or s["predicted"]]
    micro = _prf(int(tp.sum()), int(predicted.sum()), int(gold.sum()))
    macro = {m: round(float(np.mean([per_tag[t][m] for t in present])) if present else 0.0, 4)
             for m in ("precision", "recall", "f1")}
    ranked_gold = top_k & gold

    no_gold = ~gold.any(axis=1)
    empty = ~predicted.any(axis=1)
    confusions = Counter()
    for i in range(len(examples)):
        for g in np.flatnonzero(gold[i] & ~predicted[i] & is_block):
            for p in np.flatnonzero(predicted[i] & ~gold[i] & is_block):
                confusions[(model.classes_[g], model.classes_[p])] += 1
    return {
        "n_examples": len(examples),
        "n_labelled": int((~no_gold).sum()),
        "k": k,
        "threshold": "per-tag" if threshold is None else float(threshold),
        "top1_accuracy": round(float(top1_hits.sum() / has_block_gold.sum()), 4) if has_block_gold.any() else None,
        "micro": micro,
        "macro": macro,
        f"recall_at_{k}": round(float(ranked_gold.sum() / gold.sum()), 4) if gold.any() else None,
        "abstention": {
            "texts_without_gold": int(no_gold.sum()),
            "correctly_empty": round(float((empty & no_gold).sum() / no_gold.sum()), 4) if no_gold.any() else None,
            "wrongly_empty": round(float((empty & ~no_gold).sum() / (~no_gold).sum()), 4) if (~no_gold).any() else None,
        },
        "per_tag": per_tag,
        "confusions": [{"gold": g, "predicted": p, "count": n} for (g, p), n in confusions.most_common(n_confusions)],
    }


def flat_scores(report: dict) -> dict:
    """The headline numbers of a report, flat, for tables and cross-validation summaries."""
    return {"top1_accuracy": report["top1_accuracy"], "micro_f1": report["micro"]["f1"],
            "macro_f1": report["macro"]["f1"], "micro_precision": report["micro"]["precision"],
            "micro_recall": report["micro"]["recall"]}


def cross_validate(examples: Sequence, params: dict, folds: int = 5, seed: int = 0,
                   progress: Callable[[str], None] | None = None) -> dict:
    """K-fold cross-validation split by post: fit a fresh model per fold and evaluate it."""
    say = progress or (lambda message: None)
    examples = list(examples)
    groups = np.array([e.group or e.source for e in examples], dtype=object)
    if len(set(groups)) < folds:
        raise ValueError(f"{folds}-fold cross-validation needs at least {folds} posts, got {len(set(groups))}")
    fold_scores, per_tag_f1 = [], {}
    confusions = Counter()
    for number, (train, test) in enumerate(group_folds(groups, folds, seed), 1):
        say(f"fold {number}/{folds}: fitting on {len(train)} texts")
        train_examples = [examples[i] for i in train]
        model = fit_examples(HashtagModel(**{**params, "random_state": seed}), train_examples)
        report = evaluate(model, [examples[i] for i in test])
        fold_scores.append(flat_scores(report))
        for tag, scores in report["per_tag"].items():
            if scores["support"]:
                per_tag_f1.setdefault(tag, []).append(scores["f1"])
        for item in report["confusions"]:
            confusions[(item["gold"], item["predicted"])] += item["count"]
    summary = {}
    for key in METRIC_KEYS:
        values = [s[key] for s in fold_scores if s[key] is not None]
        summary[key] = {"mean": round(float(np.mean(values)), 4), "std": round(float(np.std(values)), 4)} \
            if values else None
    return {"folds": folds, "seed": seed, "n_examples": len(examples), "n_posts": len(set(groups)),
            "scores": summary, "per_fold": fold_scores,
            "per_tag_f1": {t: round(float(np.mean(v)), 4) for t, v in sorted(per_tag_f1.items())},
            "confusions": [{"gold": g, "predicted": p, "count": n} for (g, p), n in confusions.most_common(15)]}


def format_scores(scores: dict) -> str:
    def cell(value):
        if value is None:
            return "n/a"
        if isinstance(value, dict):
            return f"{value['mean']:.3f} ± {value['std']:.3f}"
        return f"{value:.3f}" if isinstance(value, float) and not math.isnan(value) else str(value)

    return "\n".join(f"{key:16} {cell(scores.get(key))}" for key in METRIC_KEYS)
