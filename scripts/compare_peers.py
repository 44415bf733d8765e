"""Compare our model with the tools a user would otherwise reach for, on the same folds.

    pip install fasttext-numpy2   # fastText's Python bindings (a wheel with NumPy 2 support)
    python scripts/compare_peers.py [--data training_data] [--folds 5] [--out docs/PEERS.md]

Every model sees the same 5 folds split by post and is scored by the same ``evaluate()``:
- ours: ``HashtagModel()`` with its defaults;
- fastText: supervised, one-vs-all loss (multi-label), word bigrams, on fugashi surface tokens
  of the same normalised text, threshold 0.5;
- tuned scikit-learn: ``TfidfVectorizer`` over fugashi surfaces (unigrams and bigrams) and one
  ``LogisticRegression`` per tag, its C and class weights chosen per fold by an inner grouped grid search on
  micro-F1, threshold 0.5.
The peers learn ours' label set and scopes (tags with at least ``min_count`` training texts) and suggest,
like ours, at most ``k`` tags a text (ours' default k); ``evaluate()`` scores each model's own decisions.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from classifier.corpus import load_corpus  # noqa: E402
from classifier.evaluate import evaluate, flat_scores  # noqa: E402
from classifier.model import HashtagModel, fit_examples, group_folds  # noqa: E402
from classifier.text import Tokenizer  # noqa: E402

METRICS = ("top1_accuracy", "micro_f1", "macro_f1", "micro_precision", "micro_recall")


class Peer:
    """Just what ``evaluate()`` reads from a model: labels, scopes, thresholds, k and ``decide``.

    ``predict_proba(texts)`` gives the peer's scores in ``classes_`` order; it suggests the
    top-k tags that reach the threshold.
    """

    def __init__(self, like, predict_proba, threshold=0.5):
        self.classes_, self.scopes_, self.k = like.classes_, like.scopes_, like.k
        self.thresholds_ = np.full(len(self.classes_), threshold)
        self.predict_proba = predict_proba

    def decide(self, texts, k, threshold):
        probabilities = self.predict_proba(texts)
        kept = probabilities >= (self.thresholds_ if threshold is None else threshold)
        np.put_along_axis(kept, np.argsort(-probabilities, axis=1, kind="stable")[:, k:], False, axis=1)
        return probabilities, kept


def surfaces(text, tokenizer=Tokenizer(form="surface", pos="all")):
    return tokenizer.tokens(text)


def fasttext_peer(train, like):
    import fasttext

    classes = set(like.classes_)
    with tempfile.NamedTemporaryFile("w", suffix=".txt", encoding="utf-8", delete=False) as stream:
        for example in train:
            labels = " ".join("__label__" + tag for tag in example.labels if tag in classes) or "__label__none"
            stream.write(f"{labels} {' '.join(surfaces(example.text))}\n")
    model = fasttext.train_supervised(stream.name, loss="ova", wordNgrams=2, epoch=50, lr=0.5, dim=50,
                                      minCount=1, seed=0, thread=1, verbose=0)
    Path(stream.name).unlink()
    index = {tag: j for j, tag in enumerate(like.classes_)}

    def predict_proba(texts):
        probabilities = np.zeros((len(texts), len(index)))
        for i, text in enumerate(texts):
            labels, scores = model.predict(" ".join(surfaces(text)), k=-1, threshold=0.0)
            for label, score in zip(labels, scores):
                j = index.get(label.removeprefix("__label__"))
                if j is not None:
                    probabilities[i, j] = min(float(score), 1.0)
        return probabilities

    return Peer(like, predict_proba)


def sklearn_peer(train, like, seed):
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import GridSearchCV, GroupKFold
    from sklearn.multiclass import OneVsRestClassifier
    from sklearn.pipeline import make_pipeline

    Y = np.array([[tag in e.labels for tag in like.classes_] for e in train], dtype=int)
    pipeline = make_pipeline(TfidfVectorizer(tokenizer=surfaces, token_pattern=None, lowercase=False,
                                             ngram_range=(1, 2), sublinear_tf=True),
                             OneVsRestClassifier(LogisticRegression(solver="liblinear", random_state=seed)))
    search = GridSearchCV(pipeline, {"onevsrestclassifier__estimator__C": [1, 10, 100],
                                     "onevsrestclassifier__estimator__class_weight": [None, "balanced"]},
                          scoring="f1_micro",
                          cv=GroupKFold(n_splits=3))
    search.fit([e.text for e in train], Y, groups=[e.group for e in train])
    return Peer(like, search.predict_proba), search.best_params_


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", nargs="+", default=["training_data"])
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default="docs/PEERS.md")
    args = parser.parse_args(argv)

    examples = load_corpus(args.data)
    groups = np.array([e.group for e in examples], dtype=object)
    scores = {"ours": [], "fastText": [], "tuned scikit-learn": []}
    seconds = Counter()
    for fold, (train_rows, test_rows) in enumerate(group_folds(groups, args.folds, args.seed), 1):
        train = [examples[i] for i in train_rows]
        test = [examples[i] for i in test_rows]

        started = time.perf_counter()
        ours = fit_examples(HashtagModel(random_state=args.seed), train)
        scores["ours"].append(flat_scores(evaluate(ours, test)))
        seconds["ours"] += time.perf_counter() - started

        started = time.perf_counter()
        scores["fastText"].append(flat_scores(evaluate(fasttext_peer(train, ours), test)))
        seconds["fastText"] += time.perf_counter() - started

        started = time.perf_counter()
        peer, best = sklearn_peer(train, ours, args.seed)
        scores["tuned scikit-learn"].append(flat_scores(evaluate(peer, test)))
        seconds["tuned scikit-learn"] += time.perf_counter() - started
        print(f"fold {fold}: " + "; ".join(f"{name} micro-F1 {runs[-1]['micro_f1']:.3f}" for name, runs in scores.items())
              + f" (sklearn {best})", flush=True)

    lines = ["# Ours against the peers\n",
             f"`python scripts/compare_peers.py --data {' '.join(args.data)} --folds {args.folds}`: {len(examples)} "
             f"examples from {len(set(groups))} posts, {args.folds} folds split by post, the same folds and the same "
             f"`evaluate()` for every model (mean ± spread over folds).\n",
             "| model | " + " | ".join(METRICS) + " | seconds (all folds) |", "|---" * (len(METRICS) + 2) + "|"]
    for name, runs in scores.items():
        cells = []
        for metric in METRICS:
            values = [run[metric] for run in runs if run[metric] is not None]
            cells.append(f"{np.mean(values):.3f} ± {np.std(values):.3f}")
        lines.append(f"| {name} | " + " | ".join(cells) + f" | {seconds[name]:.0f} |")
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
