"""Model settings judged on three kinds of text side by side, one Markdown row per setting.

    python scripts/quality_table.py                         # the defaults and the settings of CONFIGS
    python scripts/quality_table.py --params '{"C": 0.3}'   # the defaults changed by these parameters
    python scripts/quality_table.py --only default old      # some of CONFIGS

(a) The bundled corpus, 5-fold cross-validation by post (``classifier.crossval``, as
    ``evaluate --cv``): top-1, macro- and micro-F1; the article paragraphs of the held-out blocks
    sent one by one (the curator's tag first / left empty); the held-out blocks under tags outside
    the taxonomy, and their paragraphs, left empty.
(b) The curator's real posts (``--seeds``), scored by a model fitted on every bundled post:
    tagged blocks and their article paragraphs, curator's tag first / left empty / ranked first
    at threshold 0.
(c) Text nobody here wrote (``--sib``, SIB-200's Japanese part): 5-fold cross-validation by its
    ``post`` field, top-1 at the operating point (no suggestion counts as wrong) and the share left
    empty; and the bundled model on its sentences of topics outside the taxonomy, share left empty.

Article paragraphs leave out tweet headlines (a t.co link) and attribution lines. (b) and (c) are
skipped, with a note, when their files are not there (neither is part of the repository).
"""
from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from classifier import HashtagModel, load_corpus  # noqa: E402
from classifier.corpus import Example, read_blog  # noqa: E402
from classifier.crossval import cross_validate  # noqa: E402
from classifier.model import fit_examples, group_folds  # noqa: E402

SHARED = ROOT.parent / "shared"
ATTRIBUTION = re.compile(r"^\s*[—―-]\s*.{0,80}\(@\w{1,30}\)\s+[A-Za-z]+\s+\d{1,2},\s*\d{4}\s*$")
SIB_OUTSIDE = {"sports", "entertainment", "travel", "health", "science/technology", "geography"}
OLD_DEFAULTS = {"C": 1.0, "paragraphs": False, "top_threshold": None, "topic_gate": None}
CONFIGS = {
    "old defaults (unigrams, C=1, per-tag thresholds)": OLD_DEFAULTS,
    "old defaults, word 1-2-grams, min_df=2": {**OLD_DEFAULTS, "ngram_range": (1, 2), "min_df": 2},
    "old defaults, C=0.05": {**OLD_DEFAULTS, "C": 0.05},
    "C=0.05, paragraphs, per-tag thresholds": {"top_threshold": None, "topic_gate": None},
    "defaults without paragraphs": {"paragraphs": False},
    "defaults without the topic model (best tag at 0.7)": {"topic_gate": None},
    "defaults, topic gate 0.99": {"topic_gate": 0.99},
    "defaults, C=0.1": {"C": 0.1},
    "defaults": {},
}


def article_paragraphs(example: Example) -> list[Example]:
    lines = [line for line in example.text.split("\n")
             if line.strip() and "https://t.co/" not in line and not ATTRIBUTION.match(line)]
    return [Example(line, example.tags, example.post_tags, example.source, example.group) for line in lines]


def first_and_empty(model: HashtagModel, examples: list[Example]) -> tuple[int, int, int]:
    """How many get a gold tag first, how many get nothing, how many rank a gold tag first."""
    if not examples:
        return 0, 0, 0
    probabilities, kept = model.decide([e.text for e in examples])
    names = list(model.classes_)
    block = np.array([model.scopes_[tag] == "block" for tag in names])
    first = empty = ranked = 0
    for example, p, k in zip(examples, probabilities, kept):
        order = [j for j in np.argsort(-p, kind="stable") if block[j]]
        given = [j for j in order if k[j]]
        first += bool(given) and names[given[0]] in example.tags
        empty += not k.any()
        ranked += names[order[0]] in example.tags
    return first, empty, ranked


def bundled(examples: list[Example], params: dict) -> dict:
    summary = cross_validate(examples, params, folds=5)["scores"]
    row = {"top1": summary["top1_accuracy"]["mean"], "macro-F1": _spread(summary["macro_f1"]),
           "micro-F1": summary["micro_f1"]["mean"]}
    n = dict.fromkeys(["paragraphs", "first", "empty", "outside", "outside empty", "outside paragraphs",
                       "outside paragraphs empty"], 0)
    groups = np.array([e.group for e in examples], dtype=object)
    for train, test in group_folds(groups, 5, 0):
        model = fit_examples(HashtagModel(**params), [examples[i] for i in train])
        known = set(model.classes_)
        inside = [examples[i] for i in test if known & set(examples[i].tags)]
        outside = [examples[i] for i in test if examples[i].tags and not known & set(examples[i].tags)]
        paragraphs = [p for e in inside for p in article_paragraphs(e)]
        outside_paragraphs = [p for e in outside for p in article_paragraphs(e)]
        first, empty, _ = first_and_empty(model, paragraphs)
        n["paragraphs"] += len(paragraphs)
        n["first"] += first
        n["empty"] += empty
        n["outside"] += len(outside)
        n["outside empty"] += first_and_empty(model, outside)[1]
        n["outside paragraphs"] += len(outside_paragraphs)
        n["outside paragraphs empty"] += first_and_empty(model, outside_paragraphs)[1]
    row["paragraphs first / empty"] = f"{n['first'] / n['paragraphs']:.3f} / {n['empty'] / n['paragraphs']:.3f}"
    row["outside blocks / paragraphs empty"] = (f"{n['outside empty'] / n['outside']:.3f} / "
                                                f"{n['outside paragraphs empty'] / n['outside paragraphs']:.3f}")
    return row


def real_posts(model: HashtagModel, seeds: Path) -> dict:
    if not seeds.is_dir():
        return {"real blocks": "no seeds", "real paragraphs": "no seeds"}
    known = set(model.classes_)
    blocks = [e for path in sorted(seeds.glob("*.txt")) for e in read_blog(path) if known & set(e.tags)]
    paragraphs = [p for e in blocks for p in article_paragraphs(e)]
    return {"real blocks": "{}/{}/{} of {}".format(*first_and_empty(model, blocks), len(blocks)),
            "real paragraphs": "{}/{}/{} of {}".format(*first_and_empty(model, paragraphs), len(paragraphs))}


def independent(model: HashtagModel, params: dict, path: Path) -> dict:
    if not path.is_file():
        return {"SIB top1 / empty": "no corpus", "SIB outside empty": "no corpus"}
    sib = load_corpus([path])
    outside = [e for e in sib if SIB_OUTSIDE & set(e.tags)]
    right = empty = 0
    for train, test in group_folds(np.array([e.group for e in sib], dtype=object), 5, 0):
        fold_model = fit_examples(HashtagModel(**params), [sib[i] for i in train])
        first, nothing, _ = first_and_empty(fold_model, [sib[i] for i in test])
        right, empty = right + first, empty + nothing
    return {"SIB top1 / empty": f"{right / len(sib):.3f} / {empty / len(sib):.3f}",
            "SIB outside empty": f"{first_and_empty(model, outside)[1] / len(outside):.3f}"}


def _spread(value: dict) -> str:
    return f"{value['mean']:.3f} ± {value['std']:.3f}"


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--params", help="one setting: the defaults changed by these parameters (JSON)")
    parser.add_argument("--only", nargs="+", metavar="NAME", help="the settings of CONFIGS whose names start so")
    parser.add_argument("--data", default=str(ROOT / "training_data"))
    parser.add_argument("--seeds", type=Path, default=SHARED / "seeds", help="a folder of the curator's real posts")
    parser.add_argument("--sib", type=Path, default=SHARED / "corpora" / "sib200_ja.jsonl",
                        help="SIB-200's Japanese sentences as JSON Lines (text, tags, post)")
    args = parser.parse_args(argv)
    configs = {args.params: json.loads(args.params)} if args.params else {
        name: params for name, params in CONFIGS.items() if not args.only or any(name.startswith(o) for o in args.only)}
    examples = load_corpus([args.data])
    header = None
    for name, params in configs.items():
        model = fit_examples(HashtagModel(**params), examples)
        row = {**bundled(examples, params), **real_posts(model, args.seeds), **independent(model, params, args.sib)}
        if header is None:
            header = list(row)
            print("| setting | " + " | ".join(header) + " |\n|---|" + "---|" * len(header))
        cells = [f"{row[c]:.3f}" if isinstance(row[c], float) else str(row[c]) for c in header]
        print(f"| {name} | " + " | ".join(cells) + " |", flush=True)


if __name__ == "__main__":
    main()
