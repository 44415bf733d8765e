"""Choose the model's defaults by cross-validation and write the evidence to docs/DEFAULTS.md.

    python scripts/choose_defaults.py [--data training_data] [--folds 5] [--out docs/DEFAULTS.md]

Coordinate search: each step varies one group of settings from the best so far and keeps the
winner by mean macro-F1 over folds split by post (options within 0.002 of the best count as
tied, and the earlier, simpler one is kept).
Every score here is out-of-fold: a post's texts are never on both sides of a split.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from classifier.corpus import load_corpus  # noqa: E402
from classifier.evaluate import cross_validate  # noqa: E402

STEPS = [
    ("word form", "form", [{"form": "surface"}, {"form": "lemma"}, {"form": "base"}]),
    ("word classes", "pos", [{"pos": "content"}, {"pos": "nouns"}, {"pos": "all"}]),
    ("n-grams", "ngram_range", [{"ngram_range": (1, 1)}, {"ngram_range": (1, 2)}, {"ngram_range": (1, 3)}]),
    ("document frequency and tf", "min_df/sublinear_tf",
     [{"min_df": 1, "sublinear_tf": True}, {"min_df": 2, "sublinear_tf": True}, {"min_df": 1, "sublinear_tf": False}]),
    ("linear model", "loss/C", [{"loss": "logistic", "C": c} for c in (10.0, 3.0, 30.0, 1.0)]
     + [{"loss": "hinge", "C": c} for c in (0.1, 0.3, 1.0)]),
    ("class weights", "class_weight", [{"class_weight": "balanced"}, {"class_weight": None}]),
    ("thresholds", "per_tag_thresholds", [{"per_tag_thresholds": True}, {"per_tag_thresholds": False}]),
]
METRICS = ("macro_f1", "micro_f1", "top1_accuracy")
TIE_MARGIN = 0.002


def score(examples, params, folds, seed):
    started = time.perf_counter()
    result = cross_validate(examples, params, folds=folds, seed=seed)
    scores = result["scores"]
    return {m: scores[m] for m in METRICS}, time.perf_counter() - started


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", nargs="+", default=["training_data"])
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default="docs/DEFAULTS.md")
    parser.add_argument("--start", default="{}", help="JSON of parameters to start from")
    args = parser.parse_args(argv)

    examples = load_corpus(args.data)
    best = json.loads(args.start)
    lines = [f"# How the defaults were chosen\n",
             f"`python scripts/choose_defaults.py --data {' '.join(args.data)} --folds {args.folds}` on "
             f"{len(examples)} examples from {len({e.group for e in examples})} posts. Each row is the mean ± "
             f"spread over {args.folds} folds split by post; each step keeps the best macro-F1 and the next "
             f"step starts from it.\n"]
    for title, _, options in STEPS:
        lines.append(f"\n## {title}\n\n| setting | macro-F1 | micro-F1 | top-1 accuracy | seconds |\n|---|---|---|---|---|")
        results = []
        for option in options:
            params = {**best, **option}
            scores, seconds = score(examples, params, args.folds, args.seed)
            results.append((option, scores))
            cells = " | ".join(f"{scores[m]['mean']:.3f} ± {scores[m]['std']:.3f}" for m in METRICS)
            lines.append(f"| `{json.dumps(option, ensure_ascii=False)}` | {cells} | {seconds:.0f} |")
            print(lines[-1], flush=True)
        # Differences inside the margin are noise: keep the earliest (simplest) option within it.
        top = max(scores["macro_f1"]["mean"] for _, scores in results)
        winner = next(option for option, scores in results if scores["macro_f1"]["mean"] >= top - TIE_MARGIN)
        best.update(winner)
        lines.append(f"\nkept: `{json.dumps(winner, ensure_ascii=False)}`")
    lines.append(f"\n## Result\n\n`{json.dumps(best, ensure_ascii=False)}`\n")
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(json.dumps(best, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
