"""evaluate: a model scored on a labelled corpus, cross-validation, and annotate's evaluation."""
from __future__ import annotations

import json
import sys

from .. import config
from ..batch import add_parallel_arguments, add_progress_argument
from ..config import MIN_COUNT, model_in_use
from ..corpus import load_corpus
from .common import add_data_arguments, stderr_progress



def run_evaluate(args) -> int:
    """Score a model (or cross-validate) on a labelled corpus; print a short table, write a report."""
    from ..batch import decide, is_parallel
    from ..crossval import cross_validate_report
    from ..persist import load_model
    from ..report import HTML_FILE, build_report, format_cv, format_summary, write_report

    if args.annotate:
        return run_annotate_evaluation(args)
    if args.cv and args.baseline:
        raise ValueError("--baseline compares two trained models on one corpus; it cannot be combined with --cv")
    stderr_progress(f"reading {', '.join(args.data)}")
    examples = load_corpus(args.data, format=args.format)
    if not examples:
        raise ValueError(f"no labelled examples found in {', '.join(args.data)}")
    if args.cv:
        params = load_model(args.model)[0].get_params() if args.model else {"min_count": args.min_count}
        report, errors = cross_validate_report(examples, params, folds=args.cv, seed=args.seed,
                                               progress=stderr_progress, k=args.k, threshold=args.threshold)
        print(format_cv(report))
    else:
        # The model in use: the promoted one when there is a pointer, else the default folder.
        model_dir = args.model or str(model_in_use())
        model, metadata = load_model(model_dir)
        decisions = None
        texts = [e.text for e in examples]
        # every core for a large corpus (batch.PARALLEL_MIN_TEXTS) unless --jobs says otherwise
        if is_parallel(args.jobs, args.dask_scheduler, len(texts)):
            from ..progress import Progress

            progress = Progress("texts scored", enabled=args.progress)
            decisions = decide(model, texts, k=args.k, threshold=args.threshold, jobs=args.jobs,
                               dask_scheduler=args.dask_scheduler, model_dir=model_dir, progress=progress.update)
            progress.close()
        baseline = None
        if args.baseline:
            baseline_model, baseline_metadata = load_model(args.baseline)
            baseline = (baseline_model, baseline_metadata, args.baseline)
        report, errors = build_report(model, examples, k=args.k, threshold=args.threshold, metadata=metadata,
                                      model_dir=model_dir, data_paths=args.data, baseline=baseline,
                                      decisions=decisions, progress=stderr_progress)
        _mark_training_overlap(report, model_dir, metadata, examples)
        print(format_summary(report))
    if args.report_dir:
        paths = write_report(args.report_dir, report, errors)
        print(f"report: {paths[HTML_FILE]} (and report.json, errors.jsonl)")
    return 0


def _mark_training_overlap(report: dict, model_dir, metadata: dict, examples) -> None:
    """Say on stderr, and in the report, how many evaluation texts the model was trained on."""
    from ..overlap import describe_overlap, overlap_with_training

    overlap = overlap_with_training(model_dir, metadata, [e.text for e in examples])
    report["overlap_with_training"] = overlap
    warning = describe_overlap(overlap)
    if warning:
        print(f"warning: {warning}", file=sys.stderr)
        report["notes"].insert(0, warning)


def run_annotate_evaluation(args) -> int:
    """``evaluate --annotate``: boundaries, block tags, post tags and summaries against the curator's."""
    from ..annotate_eval import evaluate_annotate, format_annotate, posts_of
    from ..persist import load_model

    model_dir = args.model or str(model_in_use())
    model, metadata = load_model(model_dir)
    held_out = metadata.get("holdout", {}).get("fraction") if args.held_out_only else None
    if args.held_out_only and not held_out:
        raise ValueError(f"{model_dir} held out no posts in training: --held-out-only has nothing to keep")
    posts = posts_of(args.data, held_out)
    if not posts:
        raise ValueError(f"no post found in {', '.join(args.data)}")
    if held_out:
        model = _refitted_without_held_out(model, metadata, held_out)
    result = evaluate_annotate(model, posts)
    print(format_annotate(", ".join(args.data), result), file=sys.stderr)
    print(json.dumps(result, ensure_ascii=False))
    return 0


def _refitted_without_held_out(model, metadata: dict, fraction: float):
    """The model's configuration fitted on its corpus without the held-out posts: a served model
    is fitted on every post, so it has seen the posts ``--held-out-only`` keeps."""
    from ..training import refitted, split_holdout

    info = metadata.get("data") or {}
    if not info.get("paths"):
        raise ValueError("the model's metadata names no training data: --held-out-only cannot refit it")
    stderr_progress(f"refitting the model's configuration without its held-out posts ({fraction:.0%})")
    train, _ = split_holdout(load_corpus(info["paths"], format=info.get("format")), fraction)
    return refitted(model, train)


def add_evaluate_command(commands) -> None:
    evaluate = commands.add_parser("evaluate", help="score a model on a labelled corpus (report), or cross-validate")
    add_data_arguments(evaluate, default_data=False)
    evaluate.add_argument("--model", help="model folder (default models/current if promoted, else "
                                          "models/default); with --cv, the settings to cross-validate")
    evaluate.add_argument("--report-dir", help="write report.json, report.html and errors.jsonl here")
    evaluate.add_argument("--k", type=int, help="at most this many suggestions a text (default: the model's)")
    evaluate.add_argument("--threshold", type=float, help="one threshold for all tags (default: per-tag thresholds)")
    evaluate.add_argument("--cv", type=int, metavar="K", help="K-fold cross-validation by post instead: mean and spread")
    evaluate.add_argument("--baseline", metavar="DIR", help="a second model scored on the same data: deltas per "
                                                            "metric and per tag")
    evaluate.add_argument("--min-count", type=int, default=MIN_COUNT, help="with --cv and no --model: tags below it "
                                                                           "are not learned (default %(default)s)")
    evaluate.add_argument("--seed", type=int, default=config.SEED, help="with --cv: fold assignment and model seed")
    evaluate.add_argument("--annotate", action="store_true", help="score `annotate` instead: strip the tag lines "
                                                                  "of the posts in --data, annotate, compare")
    evaluate.add_argument("--held-out-only", action="store_true", help="with --annotate: only the posts the model "
                                                                       "held out in training (its metadata's fraction), "
                                                                       "scored by its configuration refitted without them")
    add_parallel_arguments(evaluate)
    add_progress_argument(evaluate)
    evaluate.set_defaults(run=run_evaluate)
