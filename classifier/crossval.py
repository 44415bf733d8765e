"""Cross-validation by post: a fresh model per fold, every text scored once out of fold."""
from __future__ import annotations

from collections import Counter
from datetime import datetime, timezone
from typing import Sequence

import numpy as np

from .evaluate import (METRIC_KEYS, Progress, _metrics, _quiet, applicable_metrics, describe_corpus,
                       error_records, flat_scores, score, worst_first)
from .model import HashtagModel, fit_examples, group_folds

def cross_validate_report(examples: Sequence, params: dict, folds: int = 5, seed: int = 0,
                          progress: Progress | None = None, k: int | None = None,
                          threshold: float | None = None) -> tuple[dict, list[dict]]:
    """K-fold cross-validation split by post: a fresh model per fold, each text scored once out of fold.

    Returns the summary (mean and spread over folds) and every error of every fold, worst first.
    """
    say = progress or _quiet
    examples = list(examples)
    if folds < 2:
        raise ValueError(f"cross-validation needs at least 2 folds, got {folds}")
    groups = np.array([e.group or e.source for e in examples], dtype=object)
    if len(set(groups)) < folds:
        raise ValueError(f"{folds}-fold cross-validation needs at least {folds} posts, got {len(set(groups))}")
    fold_scores, per_tag_f1, errors = [], {}, []
    confusions = Counter()
    for number, (train, test) in enumerate(group_folds(groups, folds, seed), 1):
        say(f"fold {number}/{folds}: fitting on {len(train)} texts, scoring {len(test)}")
        train_examples = [examples[i] for i in train]
        test_examples = [examples[i] for i in test]
        model = fit_examples(HashtagModel(**{**params, "random_state": seed}), train_examples)
        scored = score(model, test_examples, k, threshold)
        report = _metrics(scored)
        fold_scores.append({"fold": number, "n_train": len(train), "n_test": len(test), **flat_scores(report)})
        for tag, scores in report["per_tag"].items():
            if scores["support"]:
                per_tag_f1.setdefault(tag, []).append(scores["f1"])
        for item in report["confusions"]:
            confusions[(item["gold"], item["predicted"])] += item["count"]
        errors.extend({**record, "fold": number} for record in error_records(scored, test_examples))
    summary = {}
    for key in METRIC_KEYS:
        values = [s[key] for s in fold_scores if s[key] is not None]
        summary[key] = {"mean": round(float(np.mean(values)), 4), "std": round(float(np.std(values)), 4)} \
            if values else None
    # Each fold's model learns its own tags; the corpus is described on all of its labels.
    labels = {t: "block" for e in examples for t in e.labels}
    corpus = describe_corpus(examples, labels, list(labels))
    notes = applicable_metrics(corpus, {}, labels)[1]
    errors.sort(key=worst_first)
    result = {
        "kind": "cross-validation",
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "folds": folds, "seed": seed, "params": params, "k": k, "threshold": "per-tag" if threshold is None
        else float(threshold), "n_examples": len(examples),
        "n_posts": len(set(groups)),
        "scores": summary, "per_fold": fold_scores,
        "per_tag_f1": {t: round(float(np.mean(v)), 4) for t, v in sorted(per_tag_f1.items())},
        "per_tag": {t: {"f1_mean": round(float(np.mean(v)), 4), "f1_std": round(float(np.std(v)), 4), "folds": len(v)}
                    for t, v in sorted(per_tag_f1.items())},
        "confusions": [{"gold": g, "predicted": p, "count": n}
                       for (g, p), n in sorted(confusions.items(), key=lambda item: (-item[1], item[0]))[:15]],
        "corpus": {key: corpus[key] for key in ("kind", "n_labelled", "n_without_gold", "labels_per_text",
                                                 "has_post_tags", "mean_chars")},
        "notes": notes,
        "n_errors": len(errors),
    }
    return result, errors


def cross_validate(examples: Sequence, params: dict, folds: int = 5, seed: int = 0,
                   progress: Progress | None = None) -> dict:
    """The summary of ``cross_validate_report``."""
    return cross_validate_report(examples, params, folds, seed, progress)[0]


