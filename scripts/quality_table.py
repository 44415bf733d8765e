"""Quality of model configurations on three kinds of text, one Markdown row each.

    python scripts/quality_table.py [--params JSON] [--rule JSON] [--train blocks|add|only] [--para-calib]
    python scripts/quality_table.py --grid [NAME ...]          # named configurations (GRID), all by default

(a) training_data, 5-fold CV by post: top-1 (ranking only, as `evaluate --cv`), macro/micro-F1 (mean ± spread), share
    of in-taxonomy blocks empty; their article paragraphs: first suggestion right / empty; blocks under tags outside
    the taxonomy (and their paragraphs) left empty. (b) a model fitted on every bundled post, on the seeds' tagged
    blocks and article paragraphs: curator's tag first / empty / ranked first at threshold 0. (c) SIB-200 5-fold CV by
    post: top-1 at the operating point (no suggestion = wrong), share empty; the bundled model on SIB sentences of
    topics outside the taxonomy: share empty. Article paragraphs leave out tweet headlines (t.co) and attributions.
Rule (JSON; `decide`): {} per-tag thresholds; "global": t one threshold; "top": T the top tag is given when its score
>= T (per-tag thresholds only for further tags); "gate": G and/or "floor": f also give the top tag when an
in-/out-of-taxonomy model (same engine and params) scores >= G and the top score >= f; "strict": nothing when the gate
is below G; "margin": m / "share": s top tag also when p1 - p2 >= m / p1 / sum(p) >= s.
Training: --train add (blocks plus each block's paragraphs), only (paragraphs); --para-calib: Platt and thresholds
refitted on out-of-fold scores of blocks and their paragraphs (prototype of item iii).
"""
from __future__ import annotations

import argparse
import json
import re
import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np
from scipy.special import expit, logit

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from classifier.corpus import Example, load_corpus, read_blog  # noqa: E402
from classifier.model import HashtagModel, fit_examples, group_folds  # noqa: E402

ATTRIBUTION = re.compile(r"^\s*[—―-]\s*.{0,80}\(@\w{1,30}\)\s+[A-Za-z]+\s+\d{1,2},\s*\d{4}\s*$")
OFF_SIB = {"sports", "entertainment", "travel", "health", "science/technology", "geography"}
ADD, C3 = {"train": "add"}, {"C": 0.3}
GATE = {"gate": 0.97, "floor": 0.03}
GRID = {  # name: (HashtagModel params, training options, rule)
    "default": ({}, {}, {}), "global 0.2": ({}, {}, {"global": 0.2}), "global 0.1": ({}, {}, {"global": 0.1}),
    "no per-tag thr": ({"per_tag_thresholds": False}, {}, {}), "1-2g df2": ({"ngram_range": [1, 2], "min_df": 2}, {}, {}),
    "1-2g df1": ({"ngram_range": [1, 2]}, {}, {}), "1-3g df2": ({"ngram_range": [1, 3], "min_df": 2}, {}, {}),
    "1g df2": ({"min_df": 2}, {}, {}), "C 0.3": (C3, {}, {}), "C 3": ({"C": 3.0}, {}, {}),
    "logistic C10": ({"loss": "logistic", "C": 10.0}, {}, {}), "no class weight": ({"class_weight": None}, {}, {}),
    "margin .05 floor .03": ({}, {}, {"margin": 0.05, "floor": 0.03}), "share .3": ({}, {}, {"share": 0.3}),
    "gate .5 strict": ({}, {}, {"gate": 0.5, "strict": True}), "gate .97 floor .03": ({}, {}, GATE),
"train +paras": ({}, ADD, {}), "paras only": ({}, {"train": "only"}, {}),
    "+paras C.3": (C3, ADD, {}), "+paras C.3 gate .97 floor .03": (C3, ADD, GATE),
    "+paras C.3 top .7 gate .99 floor .03": (C3, ADD, {"top": 0.7, "gate": 0.99, "floor": 0.03}),
}


def paragraphs(example, article=True):
    return [line for line in example.text.split("\n") if line.strip() and not ATTRIBUTION.match(line)
            and not (article and "https://t.co/" in line)]


def split(examples, article=False, keep=None):
    """Each paragraph of a multi-paragraph block as an example (same post; tags limited to ``keep`` if given, so that
    a tag on too few blocks cannot reach min_count by counting paragraphs)."""
    return [Example(p, tuple(t for t in e.tags if keep is None or t in keep), e.post_tags, e.source, e.group)
            for e in examples for p in (paragraphs(e, article) if "\n" in e.text else [])]


def fit(examples, params, options, rule, cache={}):
    key = (id(examples), json.dumps([params, options, "gate" in rule], sort_keys=True))
    if key not in cache:
        started = time.perf_counter()
        counts = Counter(t for e in examples for t in e.tags)
        paras = split(examples, keep={t for t, n in counts.items() if n >= params.get("min_count", 10)})
        train = {"add": examples + paras, "only": paras + [e for e in examples if "\n" not in e.text]}
        model = fit_examples(HashtagModel(**params), train.get(options.get("train"), examples))
        gate = None
        if "gate" in rule:  # tagged blocks and their paragraphs: in the taxonomy or not (untagged stretches left out)
            known, rows = set(model.classes_[model.linear_columns_]), [e for e in examples if e.tags]
            rows += split(rows)
            gate = HashtagModel(**params).fit([e.text for e in rows], [["on"] if known & set(e.tags) else []
                                                                       for e in rows], groups=[e.group for e in rows])
        cache[key] = model, gate, time.perf_counter() - started
    return cache[key]


def decide(model, gate, texts, rule):
    """(block tags given to each text, ranked; block scores; block tag names; post tags given)."""
    lin, k = model.linear_columns_, model.k
    B = model.predict_proba(texts)[:, lin]
    rows, order = np.arange(len(B)), np.argsort(-B, axis=1, kind="stable")
    emit = B >= (np.full(B.shape[1], rule["global"]) if "global" in rule else model.thresholds_[lin])
    p1, p2 = B[rows, order[:, 0]], B[rows, order[:, min(1, B.shape[1] - 1)]]
    g = gate.predict_proba(texts)[:, 0] if gate is not None else np.ones(len(B))
    force = np.zeros(len(B), dtype=bool)
    if any(key in rule for key in ("gate", "floor", "margin", "share")):
        force = (p1 >= rule.get("floor", 0.0)) & (g >= rule.get("gate", 0.0))
        force &= (p1 - p2 >= rule.get("margin", 0.0)) & (p1 / np.maximum(B.sum(axis=1), 1e-9) >= rule.get("share", 0))
    if "top" in rule:
        on = (p1 >= rule["top"]) | force
        emit &= on[:, None]
        emit[rows, order[:, 0]] |= on
    else:
        emit[rows, order[:, 0]] |= force
    if rule.get("strict"):
        emit &= (g >= rule["gate"])[:, None]
    post = np.zeros((len(B), 0), dtype=bool)
    if len(model.post_columns_):  # derived post-tag scores, given only with a block tag (as model._compose)
        a, b = model.post_calibration_[:, 0], model.post_calibration_[:, 1]
        derived = np.clip((B[:, None, :] * model.post_given_block_.T[None]).max(axis=2), 1e-6, 1 - 1e-6)
        scores = expit(logit(derived) * a + b) * emit.any(axis=1)[:, None]
        top_k = np.zeros((len(B), B.shape[1] + scores.shape[1]), dtype=bool)  # k counts block and post tags
        np.put_along_axis(top_k, np.argsort(-np.hstack([B, scores]), axis=1, kind="stable")[:, :k], True, axis=1)
        emit &= top_k[:, :B.shape[1]]
        post = (scores >= model.thresholds_[model.post_columns_]) & top_k[:, B.shape[1]:]
    else:
        emit[rows[:, None], order[:, k:]] = False
    return [[j for j in order[i] if emit[i, j]] for i in rows], B, list(model.classes_[lin]), post


def first_and_empty(given, names, gold_sets):
    return sum(bool(g) and names[g[0]] in gold for g, gold in zip(given, gold_sets)), sum(not g for g in given)


def bundled_cv(examples, params, options, rule, folds=5):
    per_fold, n = [], Counter()
    for fold, (train, test) in enumerate(group_folds(np.array([e.group for e in examples], dtype=object), folds, 0)):
        model, gate, _ = fit(_folded(examples, train, fold), params, options, rule)
        tests = [examples[i] for i in test]
        given, B, names, post = decide(model, gate, [e.text for e in tests], rule)
        tags = names + list(model.classes_[model.post_columns_])
        gold = np.array([[t in e.labels for t in tags] for e in tests])
        predicted = np.hstack([np.zeros((len(tests), len(names)), dtype=bool), post])
        for i, g in enumerate(given):
            predicted[i, g] = True
        has_block = gold[:, :len(names)].any(axis=1)
        tp, n_pred, n_gold = (predicted & gold).sum(0), predicted.sum(0), gold.sum(0)
        f1 = np.divide(2 * tp, n_pred + n_gold, out=np.zeros(len(tags)), where=n_pred + n_gold > 0)
        per_fold.append((gold[np.arange(len(tests)), B.argmax(axis=1)][has_block].mean(),
                         f1[n_gold + n_pred > 0].mean(), 2 * tp.sum() / (n_pred.sum() + n_gold.sum())))
        empty = np.array([not g for g in given])
        outside = np.array([bool(e.tags) for e in tests]) & ~has_block
        paras = split([e for e, h in zip(tests, has_block) if h], article=True)
        first, para_empty = first_and_empty(decide(model, gate, [p.text for p in paras], rule)[0], names,
                                            [set(p.tags) for p in paras])
        oot_paras = split([e for e, o in zip(tests, outside) if o], article=True)
        n.update({"in": has_block.sum(), "in empty": (empty & has_block).sum(), "paras": len(paras), "first": first,
                  "para empty": para_empty, "oot": outside.sum(), "oot empty": (empty & outside).sum(),
                  "oot paras": len(oot_paras),
                  "oot para empty": sum(not g for g in decide(model, gate, [p.text for p in oot_paras], rule)[0])})
    mean, std = np.mean(per_fold, axis=0), np.std(per_fold, axis=0)
    return {"top1": mean[0], "macro-F1": f"{mean[1]:.3f} ± {std[1]:.3f}", "micro-F1": mean[2],
            "blk empty": n["in empty"] / n["in"], "para first": n["first"] / n["paras"],
            "para empty": n["para empty"] / n["paras"], "OOT blk/para empty":
            f"{n['oot empty'] / n['oot']:.3f} / {n['oot para empty'] / n['oot paras']:.3f}"}


def _folded(examples, train, fold, folds={}):
    """One list object per fold, so that fits are cached across rules."""
    return folds.setdefault((id(examples), fold), [examples[i] for i in train])


def real_and_independent(examples, sib, seeds, params, options, rule):
    model, gate, seconds = fit(examples, params, options, rule)
    row, known = {"fit s": seconds}, set(model.classes_[model.linear_columns_])
    blocks = [e for f in sorted(seeds.glob("*.txt")) for e in read_blog(f) if known & set(e.tags)] if seeds.is_dir() else []
    for name, rows in (("seed blocks", blocks), ("seed paras", split(blocks, article=True))):
        given, B, names, _ = decide(model, gate, [e.text for e in rows], rule) if rows else ([], [], [], [])
        first, empty = first_and_empty(given, names, [set(e.tags) for e in rows])
        ranked = sum(names[j] in e.tags for j, e in zip(np.argmax(B, axis=1), rows)) if rows else 0
        row[name] = f"{first}/{empty}/{ranked} of {len(rows)}" if rows else "no seeds"
    if sib:
        off = [e for e in sib if OFF_SIB & set(e.tags)]
        row["SIB off empty"] = sum(not g for g in decide(model, gate, [e.text for e in off], rule)[0]) / len(off)
        right = empty = 0
        for fold, (train, test) in enumerate(group_folds(np.array([e.group for e in sib], dtype=object), 5, 0)):
            m, g, _ = fit(_folded(sib, train, fold), params, options, rule)
            given, _, names, _ = decide(m, g, [sib[i].text for i in test], rule)
            f, e = first_and_empty(given, names, [set(sib[i].tags) for i in test])
            right, empty = right + f, empty + e
        row["SIB top1@op"], row["SIB empty"] = right / len(sib), empty / len(sib)
    return row


COLUMNS = ["top1", "macro-F1", "micro-F1", "blk empty", "para first", "para empty", "OOT blk/para empty",
           "seed blocks", "seed paras", "SIB top1@op", "SIB empty", "SIB off empty", "fit s"]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--params", default="{}", help="HashtagModel parameters as JSON")
    parser.add_argument("--rule", action="append", help="decision rule as JSON (see above); repeat to compare rules")
    parser.add_argument("--train", choices=["blocks", "add", "only"], default="blocks")
    parser.add_argument("--grid", nargs="*", help="named configurations (all when none is named)")
    parser.add_argument("--data", default="training_data")
    parser.add_argument("--shared", default=str(Path(__file__).resolve().parents[2] / "shared"))
    args = parser.parse_args(argv)
    examples, shared = load_corpus([args.data]), Path(args.shared)
    sib_path = shared / "corpora" / "sib200_ja.jsonl"
    sib = load_corpus([sib_path]) if sib_path.is_file() else []
    configs = {name: GRID[name] for name in (args.grid or GRID)} if args.grid is not None else {
        f"{args.params} {args.train} {rule}": (json.loads(args.params), {"train": args.train}, json.loads(rule))
        for rule in (args.rule or ["{}"])}
    print("seeds: curator's tag first / empty / ranked first at threshold 0" + ("" if sib else "; no SIB-200 file"))
    print("| config | " + " | ".join(COLUMNS) + " |\n|---|" + "---|" * len(COLUMNS))
    for name, (params, options, rule) in configs.items():
        row = {**bundled_cv(examples, params, options, rule),
               **real_and_independent(examples, sib, shared / "seeds", params, options, rule)}
        cells = [f"{row[c]:.3f}" if isinstance(row.get(c), float) else str(row.get(c, "n/a")) for c in COLUMNS]
        print(f"| {name} | " + " | ".join(cells) + " |", flush=True)


if __name__ == "__main__":
    main()
