"""Metrics for a model on labelled examples, full evaluation reports, and cross-validation by post.

Gold labels are the example's tags that are evaluated: by default the tags the model knows
(``classes_``). A tag below the model's ``min_count`` is "no tag" to it, so an example carrying
only such tags should get no suggestion. When two models are compared they are scored on the
union of their tags, and a tag a model does not know counts as missed, so dropping a hard tag
cannot look like an improvement.

Top-1 accuracy is measured on block tags (post tags are themes shared by a whole post, and
ranking them first would flatter the number); corpora without post tags have only block tags,
so there it is plain top-1 accuracy.

The report keys are documented in REPORTS.md; keep that file in step with ``build_report``.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np

from .config import BATCH_SIZE
from .metrics import REPORT_GRID, prf
from .scorer import Scoring, check_options

# Flat headline numbers, in table order; the same keys in held-out scores, --cv summaries and deltas.
METRIC_KEYS = ("top1_accuracy", "micro_f1", "macro_f1", "micro_precision", "micro_recall", "recall_at_k",
               "correctly_empty", "wrongly_empty", "brier", "ece")
LOWER_IS_BETTER = frozenset({"wrongly_empty", "brier", "ece"})
CALIBRATION_BINS = 10
# Per-tag calibration needs enough positives for its bins to mean anything.
CALIBRATION_MIN_SUPPORT = 10
CALIBRATION_MAX_TAGS = 8
HEAT_MAP_TAGS = 12

Progress = Callable[[str], None]


def _quiet(message: str) -> None:
    pass


# --------------------------------------------------------------------------------------------
# scoring: one model's probabilities and decisions on examples, over a fixed list of tags

@dataclass
class Scored:
    tags: list                 # evaluated tags, the columns of every matrix below
    scopes: dict               # tag -> "block" | "post"
    known: np.ndarray          # (n_tags,) the model has this tag
    probabilities: np.ndarray  # (n_texts, n_tags); 0 where the model does not know the tag
    gold: np.ndarray           # (n_texts, n_tags) bool
    predicted: np.ndarray      # (n_texts, n_tags) bool: in the top k and above the cutoff
    top_k: np.ndarray          # (n_texts, n_tags) bool: ranked in the top k, whatever the score
    cutoffs: np.ndarray        # (n_tags,) the threshold applied to each tag
    k: int
    threshold: float | None    # None: the model's per-tag thresholds

    @property
    def is_block(self) -> np.ndarray:
        return np.array([self.scopes[tag] == "block" for tag in self.tags], dtype=bool)


def evaluation_tags(model: Scoring, examples: Sequence) -> dict:
    """The model's tags that can be judged on ``examples``, tag -> scope.

    A corpus without post tags (JSON Lines of paragraphs, a folder per label) says nothing about
    the model's post tags: scoring them would count every post-tag suggestion as wrong.
    """
    has_post_tags = any(e.post_tags for e in examples)
    seen = {tag for e in examples for tag in e.labels}
    return {tag: model.scopes_[tag] for tag in model.classes_
            if has_post_tags or model.scopes_[tag] != "post" or tag in seen}


def decide_in_batches(model: Scoring, texts: Sequence[str], k: int | None = None, threshold: float | None = None,
                      progress: Progress | None = None) -> tuple[np.ndarray, np.ndarray]:
    """``model.decide`` in batches, saying how far it got when the input is large."""
    say = progress or _quiet
    parts = []
    for start in range(0, len(texts), BATCH_SIZE):
        parts.append(model.decide(texts[start:start + BATCH_SIZE], k, threshold))
        if len(texts) > BATCH_SIZE:
            say(f"scored {min(start + BATCH_SIZE, len(texts))}/{len(texts)} texts")
    return np.vstack([p for p, _ in parts]), np.vstack([kept for _, kept in parts])


def score(model: Scoring, examples: Sequence, k: int | None = None, threshold: float | None = None,
          tags: dict | None = None, decisions: tuple[np.ndarray, np.ndarray] | None = None,
          progress: Progress | None = None) -> Scored:
    """Score ``examples`` once; every metric, curve and error list is read off the result.

    decisions : ``model.decide(texts, k, threshold)`` for the examples, if known (from parallel
        workers): the probabilities and what the model suggests, in ``classes_`` order.
    tags : tag -> scope to evaluate on (default: ``evaluation_tags``); tags the model lacks
        score 0 and are never suggested.
    """
    if not examples:
        raise ValueError("cannot evaluate on zero examples")
    k, threshold = check_options(model.k if k is None else k, threshold)
    tags = dict(tags) if tags is not None else evaluation_tags(model, examples)
    if not tags:
        raise ValueError("no tags to evaluate on: the model knows none of the corpus's tags")
    if decisions is None:
        decisions = decide_in_batches(model, [e.text for e in examples], k, threshold, progress)
    probabilities, kept = decisions
    n_classes = len(model.classes_)
    if probabilities.shape != (len(examples), n_classes):
        raise ValueError(f"probabilities must have shape ({len(examples)}, {n_classes}), got {probabilities.shape}")

    columns = list(tags)
    model_index = {tag: j for j, tag in enumerate(model.classes_)}
    known = np.array([tag in model_index for tag in columns], dtype=bool)
    P = np.zeros((len(examples), len(columns)), dtype=np.float64)
    predicted = np.zeros(P.shape, dtype=bool)
    cutoffs = np.full(len(columns), np.inf)
    for c, tag in enumerate(columns):
        if tag in model_index:
            j = model_index[tag]
            P[:, c], predicted[:, c] = probabilities[:, j], kept[:, j]
            cutoffs[c] = model.thresholds_[j] if threshold is None else float(threshold)

    column_index = {tag: c for c, tag in enumerate(columns)}
    gold = np.zeros(P.shape, dtype=bool)
    for i, example in enumerate(examples):
        for tag in example.labels:
            if tag in column_index:
                gold[i, column_index[tag]] = True

    # Tags the model lacks rank below every tag it knows.
    order = np.argsort(-np.where(known, P, -1.0), axis=1, kind="stable")
    top_k = np.zeros(P.shape, dtype=bool)
    np.put_along_axis(top_k, order[:, :k], True, axis=1)
    return Scored(columns, tags, known, P, gold, predicted, top_k, cutoffs, k,
                  None if threshold is None else float(threshold))


# --------------------------------------------------------------------------------------------
# metrics

def _ratio(numerator, denominator) -> float | None:
    return round(float(numerator) / float(denominator), 4) if denominator else None


def calibration(probabilities: np.ndarray, gold: np.ndarray, bins: int = CALIBRATION_BINS) -> dict | None:
    """Brier score, expected calibration error and the reliability curve of (score, gold) pairs.

    Bins are equal-width over [0, 1]; ECE is the count-weighted mean gap between a bin's mean
    score and the share of its pairs that are gold.
    """
    p = np.asarray(probabilities, dtype=np.float64).ravel()
    y = np.asarray(gold, dtype=np.float64).ravel()
    if not p.size:
        return None
    which = np.clip((p * bins).astype(int), 0, bins - 1)
    curve, ece = [], 0.0
    for b in range(bins):
        members = which == b
        n = int(members.sum())
        if not n:
            continue
        mean_score, observed = float(p[members].mean()), float(y[members].mean())
        ece += n / p.size * abs(observed - mean_score)
        curve.append({"low": round(b / bins, 4), "high": round((b + 1) / bins, 4), "n": n,
                      "mean_score": round(mean_score, 4), "observed": round(observed, 4)})
    return {"n_pairs": int(p.size), "n_positive": int(y.sum()), "brier": round(float(np.mean((p - y) ** 2)), 4),
            "ece": round(ece, 4), "curve": curve}


def _calibration_report(scored: Scored) -> dict:
    known = scored.known
    overall = calibration(scored.probabilities[:, known], scored.gold[:, known])
    support = scored.gold.sum(axis=0)
    frequent = sorted((c for c in np.flatnonzero(known) if support[c] >= CALIBRATION_MIN_SUPPORT),
                      key=lambda c: (-support[c], scored.tags[c]))[:CALIBRATION_MAX_TAGS]
    return {"bins": CALIBRATION_BINS, "overall": overall,
            "per_tag": {scored.tags[c]: calibration(scored.probabilities[:, c], scored.gold[:, c]) for c in frequent},
            "min_support": CALIBRATION_MIN_SUPPORT}


def _confusions(scored: Scored, n: int) -> list[dict]:
    """Block-tag pairs (gold tag missed, other tag suggested instead) with how often they occur."""
    is_block = scored.is_block
    missed = scored.gold & ~scored.predicted & is_block
    wrong = scored.predicted & ~scored.gold & is_block
    counts = Counter()
    for i in np.flatnonzero(missed.any(axis=1) & wrong.any(axis=1)):
        for g in np.flatnonzero(missed[i]):
            for p in np.flatnonzero(wrong[i]):
                counts[(scored.tags[g], scored.tags[p])] += 1
    pairs = sorted(counts.items(), key=lambda item: (-item[1], item[0]))[:n]
    return [{"gold": g, "predicted": p, "count": c} for (g, p), c in pairs]


def _metrics(scored: Scored, n_confusions: int = 15) -> dict:
    gold, predicted, tags = scored.gold, scored.predicted, scored.tags
    n = gold.shape[0]
    is_block = scored.is_block
    block_gold = gold & is_block
    has_block_gold = block_gold.any(axis=1)
    top_block = np.argmax(np.where(is_block & scored.known, scored.probabilities, -1.0), axis=1)
    top1_hits = block_gold[np.arange(n), top_block] & has_block_gold

    tp = predicted & gold
    per_tag = {}
    for c, tag in enumerate(tags):
        support, n_predicted = int(gold[:, c].sum()), int(predicted[:, c].sum())
        per_tag[tag] = {**prf(int(tp[:, c].sum()), n_predicted, support), "support": support,
                        "predicted": n_predicted, "scope": scored.scopes[tag], "known": bool(scored.known[c]),
                        "threshold": round(float(scored.cutoffs[c]), 4) if scored.known[c] else None}
    present = [t for t, s in per_tag.items() if s["support"] or s["predicted"]]
    micro = prf(int(tp.sum()), int(predicted.sum()), int(gold.sum()))
    macro = {m: round(float(np.mean([per_tag[t][m] for t in present])), 4) if present else 0.0
             for m in ("precision", "recall", "f1")}

    no_gold = ~gold.any(axis=1)
    empty = ~predicted.any(axis=1)
    return {
        "n_examples": n,
        "n_labelled": int((~no_gold).sum()),
        "k": scored.k,
        "threshold": "per-tag" if scored.threshold is None else scored.threshold,
        "top1_accuracy": _ratio(top1_hits.sum(), has_block_gold.sum()),
        "micro": micro,
        "macro": macro,
        "recall_at_k": _ratio((scored.top_k & gold).sum(), gold.sum()),
        "abstention": {
            "texts_without_gold": int(no_gold.sum()),
            "correctly_empty": _ratio((empty & no_gold).sum(), no_gold.sum()),
            "labelled_texts": int((~no_gold).sum()),
            "wrongly_empty": _ratio((empty & ~no_gold).sum(), (~no_gold).sum()),
            "block_labelled_texts": int(has_block_gold.sum()),
            "wrongly_empty_block": _ratio((empty & has_block_gold).sum(), has_block_gold.sum()),
        },
        "calibration": _calibration_report(scored),
        "per_tag": per_tag,
        "confusions": _confusions(scored, n_confusions),
    }


def evaluate(model: Scoring, examples: Sequence, k: int | None = None, threshold: float | None = None,
             probabilities: np.ndarray | None = None, n_confusions: int = 15, tags: dict | None = None,
             progress: Progress | None = None) -> dict:
    """Scores of ``model`` on ``examples`` with its default (or the given) k and threshold."""
    return _metrics(score(model, examples, k, threshold, tags, probabilities, progress), n_confusions)


def flat_scores(report: dict) -> dict:
    """The headline numbers of a report, flat (``METRIC_KEYS``), for tables, summaries and deltas."""
    overall = (report.get("calibration") or {}).get("overall") or {}
    return {"top1_accuracy": report["top1_accuracy"], "micro_f1": report["micro"]["f1"],
            "macro_f1": report["macro"]["f1"], "micro_precision": report["micro"]["precision"],
            "micro_recall": report["micro"]["recall"], "recall_at_k": report.get("recall_at_k"),
            "correctly_empty": report["abstention"]["correctly_empty"],
            "wrongly_empty": report["abstention"]["wrongly_empty"],
            "brier": overall.get("brier"), "ece": overall.get("ece")}


# --------------------------------------------------------------------------------------------
# what a person looks at: curves, the heat map, the errors

def threshold_curve(scored: Scored) -> list[dict]:
    """Micro precision, recall and F1 if one threshold applied to every tag (top k still applies)."""
    points = []
    n_gold = int(scored.gold.sum())
    for t in REPORT_GRID:
        predicted = scored.top_k & scored.known & (scored.probabilities >= t)
        points.append({"threshold": t, **prf(int((predicted & scored.gold).sum()), int(predicted.sum()), n_gold)})
    return points


def confusion_matrix(scored: Scored, max_tags: int = HEAT_MAP_TAGS) -> dict:
    """Gold block tag (rows) against suggested tag (columns) for the tags with the most errors.

    A cell counts texts with the row's gold tag that got the column's tag: on the diagonal a hit,
    elsewhere a wrong suggestion. "(other)" counts wrong suggestions of tags outside the chosen
    ones, "(none)" texts that got no suggestion at all.
    """
    is_block = scored.is_block
    # Block tags only: a post tag is a theme of the whole post, not an alternative to a topic.
    gold, predicted = scored.gold & is_block, scored.predicted & is_block
    wrong = predicted & ~gold
    missed = gold & ~predicted
    support = gold.sum(axis=0)
    # Errors a tag takes part in: its misses, and wrong suggestions on texts that carry it.
    involvement = missed.sum(axis=0) + np.array([wrong[gold[:, c]].sum() for c in range(len(scored.tags))])
    candidates = [c for c in np.flatnonzero(is_block) if support[c]]
    chosen = sorted(candidates, key=lambda c: (-involvement[c], -support[c], scored.tags[c]))[:max_tags]
    chosen = sorted(chosen, key=lambda c: scored.tags[c])
    chosen_set = set(chosen)
    empty = ~predicted.any(axis=1)
    counts = []
    for g in chosen:
        rows = gold[:, g]
        row = [int((predicted[rows, p] if p == g else wrong[rows, p]).sum()) for p in chosen]
        outside = [c for c in np.flatnonzero(is_block) if c not in chosen_set]
        row.append(int(wrong[rows][:, outside].sum()) if outside else 0)
        row.append(int((rows & empty).sum()))
        counts.append(row)
    labels = [scored.tags[c] for c in chosen]
    return {"tags": labels, "columns": labels + ["(other)", "(none)"], "counts": counts,
            "support": [int(support[c]) for c in chosen]}


def error_records(scored: Scored, examples: Sequence) -> list[dict]:
    """Every text with a wrong or missed suggestion, worst first.

    cost: the sum of the scores of wrong suggestions and of (1 - score) of missed gold tags, so
    a confident mistake costs more than a hesitant one. block_cost counts block tags only, and
    ranks first: post tags ride along on every paragraph of a post, off-topic ones included,
    and their misses would otherwise bury the topic errors a curator can act on.
    """
    records = []
    tags, P = scored.tags, scored.probabilities
    is_block = scored.is_block
    evaluated = set(tags)
    for i in np.flatnonzero((scored.predicted != scored.gold).any(axis=1)):
        example = examples[i]
        suggested = sorted(np.flatnonzero(scored.predicted[i]), key=lambda c: -P[i, c])
        wrong = [c for c in suggested if not scored.gold[i, c]]
        missed = sorted(np.flatnonzero(scored.gold[i] & ~scored.predicted[i]), key=lambda c: -P[i, c])
        if not scored.gold[i].any():
            kind = "false_alarm"
        elif not suggested:
            kind = "wrongly_empty"
        elif wrong and missed:
            kind = "confused"
        else:
            kind = "missed" if missed else "wrong"
        costs = [(P[i, c], is_block[c]) for c in wrong] + [(1.0 - P[i, c], is_block[c]) for c in missed]
        records.append({
            "source": example.source, "kind": kind,
            "block_cost": round(float(sum(cost for cost, block in costs if block)), 4),
            "cost": round(float(sum(cost for cost, _ in costs)), 4),
            "gold": [tags[c] for c in np.flatnonzero(scored.gold[i])],
            "suggested": [{"tag": tags[c], "score": round(float(P[i, c]), 4)} for c in suggested],
            "wrong": [tags[c] for c in wrong],
            "missed": [{"tag": tags[c], "score": round(float(P[i, c]), 4)} for c in missed],
            "other_labels": [tag for tag in example.labels if tag not in evaluated],
            "text": example.text,
        })
    records.sort(key=worst_first)
    return records


def worst_first(record: dict):
    return -record["block_cost"], -record["cost"], record["source"]


# --------------------------------------------------------------------------------------------
# the corpus, and which metrics apply to it

def describe_corpus(examples: Sequence, tags: dict, model_tags: Sequence[str]) -> dict:
    labelled = [e for e in examples if any(tag in tags for tag in e.labels)]
    per_text = [sum(tag in tags for tag in e.labels) for e in labelled]
    unknown = Counter(tag for e in examples for tag in e.labels if tag not in model_tags)
    multi = any(n > 1 for n in per_text)
    return {
        "kind": "multi-label" if multi else "single-label",
        "n_examples": len(examples),
        "n_labelled": len(labelled),
        "n_without_gold": len(examples) - len(labelled),
        "labels_per_text": round(float(np.mean(per_text)), 3) if per_text else None,
        "has_post_tags": any(e.post_tags for e in examples),
        "mean_chars": round(float(np.mean([len(e.text) for e in examples])), 1),
        "unknown_labels": dict(sorted(unknown.items(), key=lambda item: (-item[1], item[0]))[:20]),
        "n_unknown_labels": len(unknown),
        "n_posts": len({e.group or e.source for e in examples}),
    }


def applicable_metrics(corpus: dict, model_scopes: dict, tags: dict) -> tuple[dict, list[str]]:
    """Which headline metrics mean something on this corpus, and notes that say why."""
    single = corpus["kind"] == "single-label"
    applies = {
        "top1_accuracy": corpus["n_labelled"] > 0,
        "micro": corpus["n_labelled"] > 0,
        "macro": corpus["n_labelled"] > 0,
        "recall_at_k": corpus["n_labelled"] > 0,
        "abstention.correctly_empty": corpus["n_without_gold"] > 0,
        "abstention.wrongly_empty": corpus["n_labelled"] > 0,
        "calibration": corpus["n_labelled"] > 0,
        "post_tags": any(scope == "post" for scope in tags.values()),
    }
    notes = []
    if not corpus["n_labelled"]:
        notes.append("none of the corpus's labels is a tag of this model: the scores below mean nothing; "
                     "evaluate a model trained on this kind of corpus")
    if single:
        notes.append("single-label corpus (one gold tag a text): top1_accuracy is the headline; recall_at_k "
                     "is top-k accuracy; micro precision and recall depend on k and the threshold")
    else:
        notes.append(f"multi-label corpus ({corpus['labels_per_text']} gold tags a labelled text): micro and "
                     f"macro F1 are the headline; top1_accuracy asks whether the best block tag is one of "
                     f"the gold block tags")
    if not applies["abstention.correctly_empty"]:
        notes.append("every text has a gold tag: correctly_empty (abstaining on off-topic text) does not apply")
    dropped = [tag for tag, scope in model_scopes.items() if scope == "post" and tag not in tags]
    if dropped:
        notes.append(f"the corpus has no post tags: the model's {len(dropped)} post tags are not scored")
    if corpus["n_unknown_labels"]:
        notes.append(f"{corpus['n_unknown_labels']} labels of the corpus are not tags of this model "
                     f"(too rare in its training data, or new): texts with only such labels count as "
                     f"'no gold tag'")
    if corpus["mean_chars"] > 2000:
        notes.append(f"long texts (mean {corpus['mean_chars']:.0f} characters): the model was built for "
                     f"paragraphs; its explanations and thresholds may not transfer")
    return applies, notes
