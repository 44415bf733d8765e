"""Retraining: read a corpus, fit on every post, score the configuration on held-out posts, save."""
from __future__ import annotations

import hashlib
import json
import sys
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Sequence

from .corpus import Example, load_corpus
from .evaluate import flat_scores
from .config import DEFAULT_MODEL, HOLDOUT, TRAINING_DATA
from .model import HashtagModel, fit_examples
from .overlap import write_digests
from .persist import read_metadata, save_model
from .report import build_report, model_summary, remove_report, write_report



def is_held_out(group: str, fraction: float) -> bool:
    """Whether a post is in the held-out split. It depends on the post's name alone, so a post
    stays on the same side as the corpus grows and every retrain is scored on the same posts."""
    if fraction <= 0:
        return False
    bucket = int.from_bytes(hashlib.sha256(group.encode("utf-8")).digest()[:8], "big") % 10_000
    return bucket < fraction * 10_000


def split_holdout(examples: Sequence[Example], fraction: float) -> tuple[list[Example], list[Example]]:
    train, held = [], []
    for example in examples:
        (held if is_held_out(example.group or example.source, fraction) else train).append(example)
    return train, held


def corpus_digest(examples: Sequence[Example]) -> str:
    digest = hashlib.sha256()
    for example in examples:
        digest.update(json.dumps([example.text, example.labels], ensure_ascii=False).encode("utf-8"))
        digest.update(b"\n")
    return digest.hexdigest()


def stderr_progress(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def train(data: Sequence[str | Path] = (TRAINING_DATA,), out: str | Path = DEFAULT_MODEL, format: str | None = None,
          holdout: float = HOLDOUT, progress: Callable[[str], None] = stderr_progress, **params) -> dict:
    """Train on ``data`` and write the model folder ``out``; returns the metadata written.

    The model written is fitted on every post: none of the curator's archive is thrown away. Its
    scores are those of the same configuration fitted without a share ``holdout`` of the posts
    (chosen by name, so the same posts as the corpus grows) and scored on them; the report in
    the folder is that evaluation. ``holdout=0`` skips it.
    """
    if not 0 <= holdout < 1:
        raise ValueError(f"holdout must be in [0, 1), got {holdout}")
    started = time.perf_counter()
    examples = read_examples(data, format, progress)
    progress(f"fitting on all {len(examples)} examples from {len({e.group for e in examples})} posts")
    model = fit_examples(HashtagModel(**params), examples, progress=progress)
    report_dropped_tags(model, progress)
    report, errors = score_configuration(model, examples, holdout, data, progress)
    metadata = model_metadata(model, examples, data, format, holdout, report)
    out = Path(out)
    progress(f"saving to {out}")
    # Before the metadata that names it by hash: a digest left by an earlier model is never taken for this one's.
    metadata["training_texts"] = write_digests(out, (e.text for e in examples))
    save_model(model, out, metadata)
    if report:
        # The report names the model of this folder, whose configuration it scored.
        report["model"] = model_summary(model, read_metadata(out), out)
        write_report(out, report, errors)
    else:
        remove_report(out)  # a report left by an earlier model in this folder would describe another model
    progress(f"done in {time.perf_counter() - started:.1f} s")
    return metadata


def read_examples(data: Sequence[str | Path], format: str | None, progress) -> list[Example]:
    progress(f"reading {', '.join(map(str, data))}")
    examples = load_corpus(data, format=format)
    if not examples:
        raise ValueError(f"no labelled examples found in {', '.join(map(str, data))}")
    return examples


def report_dropped_tags(model: HashtagModel, progress) -> None:
    """Say which tags were too rare to learn, counted on the whole corpus, and the flag."""
    dropped = sorted(((n, tag) for tag, n in model.tag_counts_.items() if tag not in model.scopes_), reverse=True)
    if dropped:
        shown = ", ".join(f"{tag} ({n} examples)" for n, tag in dropped[:8]) + (" …" if len(dropped) > 8 else "")
        progress(f"warning: {len(dropped)} tags have fewer than {model.min_count} examples (counted on every post) "
                 f"and are not learned: {shown}; --min-count N changes the limit (python -m classifier "
                 f"corpus-stats lists every tag)")


def score_configuration(model: HashtagModel, examples: list[Example], holdout: float, data, progress):
    """The report of ``model``'s configuration fitted without the held-out posts, scored on them.

    The fit learns the served model's tags, so the scores describe the same task even when a
    rare tag falls below ``min_count`` without the held-out posts. (None, []) when nothing is
    held out.
    """
    train_examples, held_examples = split_holdout(examples, holdout)
    if not held_examples or not train_examples:
        if holdout:
            progress("no post falls in the held-out share (too few posts): no held-out scores")
        return None, []
    progress(f"scoring the configuration: fitting on {len(train_examples)} examples, "
             f"scoring {len(held_examples)} held-out ones")
    evaluated = refitted(model, train_examples)
    report, errors = build_report(evaluated, held_examples, model_dir=None, data_paths=data)
    report["notes"].insert(0, f"scores of this configuration fitted without the held-out posts "
                              f"({holdout:.0%} of the posts, by name) and scored on them; the model "
                              f"in this folder is fitted on every post")
    return report, errors


def refitted(model, examples) -> HashtagModel:
    """``model``'s configuration and tags (a fitted HashtagModel, or a Scorer read from a
    folder), fitted on ``examples``."""
    return fit_examples(HashtagModel(**{**model.get_params(), "tags": list(model.classes_)}), examples)


def model_metadata(model: HashtagModel, examples, data, format, holdout: float, report: dict | None) -> dict:
    per_tag = report["per_tag"] if report else {}
    return {
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "data": {"paths": [str(p) for p in data], "format": format, "n_examples": len(examples),
                 "n_posts": len({e.group for e in examples}), "sha256": corpus_digest(examples)},
        "params": model.get_params(),
        "trained_on": "every post",
        "holdout": {"fraction": holdout, "n_held_out": report["n_examples"] if report else 0,
                    "scores": flat_scores(report) if report else None},
        "calibration_cv": model.cv_scores_,
        "global_threshold": model.threshold_,
        "tags": {tag: {"count": model.tag_counts_[tag], "scope": model.scopes_[tag],
                       "threshold": round(float(model.thresholds_[j]), 3),
                       "held_out_f1": (per_tag.get(tag) or {}).get("f1")}
                 for j, tag in enumerate(model.classes_)},
        "dropped_tags": {tag: n for tag, n in model.tag_counts_.items() if tag not in model.scopes_},
        "fit_seconds": model.fit_seconds_,
    }
