"""Retraining: read a corpus, hold out posts, fit, score, and save a model folder."""
from __future__ import annotations

import hashlib
import json
import sys
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Sequence

from .corpus import Example, load_corpus
from .evaluate import evaluate, flat_scores
from .config import DEFAULT_MODEL, HOLDOUT, TRAINING_DATA
from .model import HashtagModel, fit_examples
from .persist import read_metadata, save_model
from .report import build_report, remove_report, write_report



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

    The saved model is fitted on the training posts only, so the held-out scores in its metadata
    are the scores of the very model that is served; ``holdout=0`` fits on every post instead.
    """
    if not 0 <= holdout < 1:
        raise ValueError(f"holdout must be in [0, 1), got {holdout}")
    started = time.perf_counter()
    progress(f"reading {', '.join(map(str, data))}")
    examples = load_corpus(data, format=format)
    if not examples:
        raise ValueError(f"no labelled examples found in {', '.join(map(str, data))}")
    train_examples, held_examples = split_holdout(examples, holdout)
    if holdout and not held_examples:
        progress("held-out split is empty (too few posts); scoring by cross-validation only")
    progress(f"{len(examples)} examples from {len({e.group for e in examples})} posts; "
             f"training on {len(train_examples)}, holding out {len(held_examples)}")
    model = fit_examples(HashtagModel(**params), train_examples, progress=progress)
    report = probabilities = None
    if held_examples:
        progress(f"scoring on {len(held_examples)} held-out examples")
        # Scored once: the metadata's numbers and the full report below read the same scores.
        probabilities = model.predict_proba([e.text for e in held_examples])
        report = evaluate(model, held_examples, probabilities=probabilities)
    metadata = {
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "data": {"paths": [str(p) for p in data], "format": format, "n_examples": len(examples),
                 "n_posts": len({e.group for e in examples}), "sha256": corpus_digest(examples)},
        "params": model.get_params(),
        "holdout": {"fraction": holdout, "n_train": len(train_examples), "n_held_out": len(held_examples),
                    "scores": flat_scores(report) if report else None},
        "calibration_cv": model.cv_scores_,
        "global_threshold": model.threshold_,
        "tags": {tag: {"count": model.tag_counts_[tag], "scope": model.scopes_[tag],
                       "threshold": round(float(model.thresholds_[j]), 3),
                       "held_out_f1": report["per_tag"][tag]["f1"] if report else None}
                 for j, tag in enumerate(model.classes_)},
        "dropped_tags": {tag: n for tag, n in model.tag_counts_.items() if tag not in model.scopes_},
        "fit_seconds": model.fit_seconds_,
    }
    out = Path(out)
    progress(f"saving to {out}")
    save_model(model, out, metadata)
    if report:
        # The full report of the saved model on the held-out posts (report.json, report.html,
        # errors.jsonl), with the metadata as saved: artifact hash and library versions included.
        progress("writing the held-out evaluation report")
        full_report, errors = build_report(model, held_examples, metadata=read_metadata(out), model_dir=out,
                                           data_paths=data, probabilities=probabilities)
        write_report(out, full_report, errors)
    else:
        remove_report(out)  # a report left by an earlier model in this folder would describe another model
    progress(f"done in {time.perf_counter() - started:.1f} s")
    return metadata
