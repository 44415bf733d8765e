"""Command line: train, examples, corpus-stats, suggest, annotate, evaluate, serve."""
from __future__ import annotations

import argparse
import json
import os
import sys
from collections import Counter, defaultdict
from pathlib import Path

from . import config
from .batch import add_parallel_arguments
from .config import DEFAULT_MODEL, MIN_COUNT, TRAINING_DATA, model_in_use
from .corpus import FORMATS, CorpusError, load_corpus, tag_variants
from .training import stderr_progress


def _add_data_arguments(parser, default_data=True):
    parser.add_argument("--data", nargs="+", default=[str(TRAINING_DATA)] if default_data else None,
                        required=not default_data, metavar="PATH", help="corpus files or folders")
    parser.add_argument("--format", choices=FORMATS, help="force a corpus format instead of detecting it")


def add_train_arguments(parser: argparse.ArgumentParser) -> None:
    _add_data_arguments(parser)
    parser.add_argument("--out", default=str(DEFAULT_MODEL), help="model folder to write (default %(default)s)")
    parser.add_argument("--min-count", type=int, default=MIN_COUNT,
                        help="tags with fewer examples are not learned (default %(default)s)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--holdout", type=float, default=0.2,
                        help="share of posts held out for scoring; 0 trains on all (default %(default)s)")


def run_train(args) -> int:
    from .training import train

    metadata = train(args.data, args.out, format=args.format, holdout=args.holdout,
                     min_count=args.min_count, random_state=args.seed)
    scores = metadata["holdout"]["scores"]
    if scores:
        print(json.dumps({"model": args.out, "held_out": scores}, ensure_ascii=False))
    return 0


def run_examples(args) -> int:
    for example in load_corpus(args.paths, format=args.format):
        print(json.dumps(example.to_json(), ensure_ascii=False))
    return 0


def run_corpus_stats(args) -> int:
    examples = load_corpus(args.paths or [str(TRAINING_DATA)], format=args.format)
    blocks, paragraphs, posts = Counter(), Counter(), defaultdict(set)
    post_tag_posts = defaultdict(set)
    for example in examples:
        lines = sum(1 for line in example.text.splitlines() if line.strip())
        for tag in example.tags:
            blocks[tag] += 1
            paragraphs[tag] += lines
            posts[tag].add(example.group)
        for tag in example.post_tags:
            post_tag_posts[tag].add(example.group)
    untagged = [e for e in examples if not e.tags]
    print(f"{len(examples)} examples, {len({e.group for e in examples})} posts, "
          f"{len(untagged)} without a block tag\n")
    print(f"{'block tag':28} {'blocks':>7} {'paragraphs':>10} {'posts':>6}")
    for tag, n in sorted(blocks.items(), key=lambda item: (-item[1], item[0])):
        if n >= args.min_count:
            print(f"{tag:28} {n:7} {paragraphs[tag]:10} {len(posts[tag]):6}")
    rare = {tag: n for tag, n in blocks.items() if n < args.min_count}
    print(f"\n{len(rare)} rarer block tags (< {args.min_count} blocks, not learned): "
          f"{sum(rare.values())} blocks, {sum(paragraphs[t] for t in rare)} paragraphs")
    if post_tag_posts:
        print(f"\n{'post tag':28} {'posts':>7}")
        for tag, group in sorted(post_tag_posts.items(), key=lambda item: -len(item[1])):
            print(f"{tag:28} {len(group):7}")
    warnings = _tag_warnings(blocks + Counter({t: len(g) for t, g in post_tag_posts.items()}), args.min_count)
    if warnings:
        print("\nwarnings (merge variants in training_data/tag_aliases.json):")
        for warning in warnings:
            print(f"  {warning}")
    return 0


def _tag_warnings(counts: Counter, min_count: int) -> list[str]:
    warnings = [f"width/case variants of one tag: {', '.join(group)}" for group in tag_variants(counts)]
    frequent = [tag for tag, n in counts.items() if n >= min_count]
    reported = set()
    for tag, n in sorted(counts.items()):
        if n >= min_count:
            continue
        # A rare tag that shares its first two characters with another tag, or sits inside it,
        # is most likely a drifting spelling of it (#東京五輪 / #東京オリンピック, #大谷 / #大谷翔平).
        name = tag.lstrip("#")
        similar = [other for other in counts if other != tag and (
            name in other.lstrip("#") or other.lstrip("#") in name or
            (len(name) >= 3 and other.lstrip("#")[:2] == name[:2] and other not in frequent))
            and frozenset((tag, other)) not in reported]
        reported.update(frozenset((tag, other)) for other in similar)
        if similar:
            warnings.append(f"possible near-duplicates: {tag} ({n}) ~ " +
                            ", ".join(f"{o} ({counts[o]})" for o in sorted(similar)))
    singletons = sorted(tag for tag, n in counts.items() if n == 1)
    if singletons:
        warnings.append(f"{len(singletons)} tags used once: {' '.join(singletons[:20])}"
                        + (" …" if len(singletons) > 20 else ""))
    return warnings


def _read_inputs(stream):
    """Paragraphs from a stream: one a line, or JSON Lines objects with ``text``."""
    for number, line in enumerate(stream, 1):
        if not line.strip():
            continue
        if line.lstrip().startswith("{"):
            try:
                record = json.loads(line)
            except json.JSONDecodeError as error:
                raise CorpusError(stream.name, number, f"invalid JSON: {error.msg}") from None
            if not isinstance(record, dict) or not isinstance(record.get("text"), str):
                raise CorpusError(stream.name, number, "a JSON input line needs a string 'text'")
            yield number, record.get("id"), record["text"]
        else:
            yield number, None, line.rstrip("\n")


def ensure_default_model(model_dir: str) -> None:
    """On a fresh clone there is no trained model yet: train the default one from the bundled
    corpus. Other model folders are never trained implicitly."""
    from .persist import METADATA_FILE
    from .training import train

    if Path(model_dir).resolve() == DEFAULT_MODEL.resolve() and not (DEFAULT_MODEL / METADATA_FILE).exists():
        stderr_progress(f"no model in {DEFAULT_MODEL} yet: training it from {TRAINING_DATA} (once)")
        train([TRAINING_DATA], DEFAULT_MODEL)


def run_suggest(args) -> int:
    from .batch import paired, suggest_chunks
    from .persist import load_model

    args.model = args.model or str(model_in_use())
    ensure_default_model(args.model)
    model, _ = load_model(args.model)
    # Batches of texts go to the model (or, with --jobs / --dask-scheduler, to its workers) as
    # the input is read, and come back in input order.
    size = args.batch_size or config.BATCH_SIZE
    stream = sys.stdin if args.input in (None, "-") else open(args.input, encoding="utf-8")
    with stream:
        chunks, pending = paired(_read_inputs(stream), size, key=lambda item: item[2])
        for results in suggest_chunks(model, chunks, k=args.k, threshold=args.threshold, explain=args.explain,
                                      jobs=args.jobs, dask_scheduler=args.dask_scheduler, model_dir=args.model):
            _write_suggestions(pending.popleft(), results)
    return 0


def _write_suggestions(batch, results):
    for (number, identifier, _), answer in zip(batch, results):
        record = {"line": number, **answer}
        if identifier is not None:
            record = {"id": identifier, **record}
        print(json.dumps(record, ensure_ascii=False))
    sys.stdout.flush()


def run_evaluate(args) -> int:
    """Score a model (or cross-validate) on a labelled corpus; print a short table, write a report."""
    from .batch import decide, is_parallel
    from .crossval import cross_validate_report
    from .persist import load_model
    from .report import HTML_FILE, build_report, format_cv, format_summary, write_report

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
        if is_parallel(args.jobs, args.dask_scheduler):
            decisions = decide(model, [e.text for e in examples], k=args.k, threshold=args.threshold, jobs=args.jobs,
                               dask_scheduler=args.dask_scheduler, model_dir=model_dir)
        baseline = None
        if args.baseline:
            baseline_model, baseline_metadata = load_model(args.baseline)
            baseline = (baseline_model, baseline_metadata, args.baseline)
        report, errors = build_report(model, examples, k=args.k, threshold=args.threshold, metadata=metadata,
                                      model_dir=model_dir, data_paths=args.data, baseline=baseline,
                                      decisions=decisions, progress=stderr_progress)
        print(format_summary(report))
    if args.report_dir:
        paths = write_report(args.report_dir, report, errors)
        print(f"report: {paths[HTML_FILE]} (and report.json, errors.jsonl)")
    return 0


def run_annotate(args) -> int:
    """A draft post in (blog format), the post with drafted tag lines out (or, with --json, its blocks)."""
    from .annotate import annotate
    from .persist import load_model

    args.model = args.model or str(model_in_use())
    ensure_default_model(args.model)
    model, metadata = load_model(args.model)
    if args.input in (None, "-"):
        text = sys.stdin.read()
    else:
        from .corpus import read_text

        text = read_text(Path(args.input))
    draft = annotate(model, text, k=args.k)
    if args.json:
        print(json.dumps(draft.to_json(), ensure_ascii=False, indent=1))
    else:
        sys.stdout.write(draft.render())
    return 0


def run_annotate_evaluation(args) -> int:
    """``evaluate --annotate``: boundaries, block tags, post tags and summaries against the curator's."""
    from .annotate_eval import evaluate_annotate, format_annotate, posts_of
    from .persist import load_model

    model_dir = args.model or str(model_in_use())
    model, metadata = load_model(model_dir)
    held_out = metadata.get("holdout", {}).get("fraction") if args.held_out_only else None
    if args.held_out_only and not held_out:
        raise ValueError(f"{model_dir} held out no posts in training: --held-out-only has nothing to keep")
    posts = posts_of(args.data, held_out)
    if not posts:
        raise ValueError(f"no post found in {', '.join(args.data)}")
    result = evaluate_annotate(model, posts)
    print(format_annotate(", ".join(args.data), result), file=sys.stderr)
    print(json.dumps(result, ensure_ascii=False))
    return 0


def run_promote(args) -> int:
    """Switch the model in use to a new one if it is not worse; exit 1 when it is worse."""
    from .promote import promote
    from .report import format_summary

    decision = promote(args.model, pointer=args.pointer, data=args.data, format=args.format,
                       tolerance=args.tolerance, force=args.force, dry_run=args.dry_run,
                       report_dir=args.report_dir, progress=stderr_progress)
    if decision["report"] is not None:
        print(format_summary(decision["report"]))
    for warning in decision["warnings"]:
        print(f"warning: {warning}")
    if decision["promoted"]:
        print(f"promoted: {decision['pointer']} -> {decision['new']} (was {decision['previous'] or 'nothing'}); "
              f"{decision['reason']}")
        print(f"a service started with --model {decision['pointer']} serves it after POST /admin/reload")
        return 0
    hint = "" if decision["accepted"] else "; --force promotes anyway"
    print(f"not promoted: {decision['reason']}{hint}")
    return 0 if decision["accepted"] else 1


def run_serve(args) -> int:
    """Start the production server (gunicorn, threaded workers) on the given model."""
    from gunicorn.app.base import BaseApplication

    from .service import create_app

    settings = config.settings({"HOST": args.host, "PORT": args.port, "MODEL_DIR": args.model,
                                "WORKERS": args.workers, "THREADS": args.threads, "FEEDBACK_PATH": args.feedback})
    settings["MODEL_DIR"] = str(settings["MODEL_DIR"] or model_in_use())
    ensure_default_model(settings["MODEL_DIR"])

    class Production(BaseApplication):
        def load_config(self):
            options = {"bind": f"{settings['HOST']}:{settings['PORT']}", "workers": settings["WORKERS"],
                       "threads": settings["THREADS"], "worker_class": "gthread", "timeout": 60,
                       "graceful_timeout": 20, "keepalive": 5, "accesslog": "-" if args.access_log else None,
                       "errorlog": "-", "loglevel": "info"}
            # Several servers may run on one machine (tests, benchmarks): a shared control socket
            # in $HOME would collide, and nothing here uses it.
            if "control_socket_disable" in self.cfg.settings:
                options["control_socket_disable"] = True
            for key, value in options.items():
                self.cfg.set(key, value)

        def load(self):
            return create_app(settings)

    stderr_progress(f"serving {settings['MODEL_DIR']} on http://{settings['HOST']}:{settings['PORT']} "
                    f"({settings['WORKERS']} workers x {settings['THREADS']} threads, pid {os.getpid()})")
    Production().run()
    return 0


def _add_corpus_commands(commands) -> None:
    train = commands.add_parser("train", help="train a model folder from a corpus")
    add_train_arguments(train)
    train.set_defaults(run=run_train)

    examples = commands.add_parser("examples", help="print the examples the corpus readers see, as JSON Lines")
    examples.add_argument("paths", nargs="+", metavar="PATH")
    examples.add_argument("--format", choices=FORMATS)
    examples.set_defaults(run=run_examples)

    stats = commands.add_parser("corpus-stats", help="blocks, paragraphs and posts per tag; tag warnings")
    stats.add_argument("paths", nargs="*", metavar="PATH", help=f"default {TRAINING_DATA}")
    stats.add_argument("--format", choices=FORMATS)
    stats.add_argument("--min-count", type=int, default=MIN_COUNT, help="tags below it are listed as not learned")
    stats.set_defaults(run=run_corpus_stats)


def _add_suggest_command(commands) -> None:
    suggest = commands.add_parser("suggest", help="suggest hashtags for paragraphs (one a line, or JSONL)")
    suggest.add_argument("input", nargs="?", help="a file, or - for standard input (default)")
    suggest.add_argument("--model", help="model folder (default: models/current when promoted, else models/default)")
    suggest.add_argument("--k", type=int, help="at most this many tags per text")
    suggest.add_argument("--threshold", type=float, help="one threshold for all tags; 0 ranks every tag")
    suggest.add_argument("--explain", action="store_true", help="add the terms behind each tag")
    suggest.add_argument("--batch-size", type=int, help=argparse.SUPPRESS)
    add_parallel_arguments(suggest)
    suggest.set_defaults(run=run_suggest)


def _add_evaluate_command(commands) -> None:
    evaluate = commands.add_parser("evaluate", help="score a model on a labelled corpus (report), or cross-validate")
    _add_data_arguments(evaluate, default_data=False)
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
                                                                       "held out in training (its metadata's fraction)")
    add_parallel_arguments(evaluate)
    evaluate.set_defaults(run=run_evaluate)


def _add_annotate_command(commands) -> None:
    annotate = commands.add_parser("annotate", help="a draft post in (blog format), the post with drafted tag lines out")
    annotate.add_argument("input", nargs="?", help="a file, or - for standard input (default)")
    annotate.add_argument("--model", help="model folder (default: models/current when promoted, else models/default)")
    annotate.add_argument("--k", type=int, help="at most this many tags per block (default: the model's)")
    annotate.add_argument("--json", action="store_true", help="print the blocks, their ranked tags, the post tags "
                                                              "and the drafted lines as JSON")
    annotate.set_defaults(run=run_annotate)


def _add_promote_command(commands) -> None:
    from .promote import DEFAULT_TOLERANCE

    promote = commands.add_parser("promote", help="make a newly trained model the one in use if it is not worse")
    promote.add_argument("model", help="the new model folder (written by train.py --out)")
    promote.add_argument("--pointer", default=str(config.MODEL_POINTER),
                         help="the link that names the model in use (default models/current)")
    promote.add_argument("--data", nargs="+", metavar="PATH", help="labelled texts to compare on (default: the "
                                                                   "held-out posts of the new model's training data)")
    promote.add_argument("--format", choices=FORMATS, help="force the format of --data")
    promote.add_argument("--tolerance", type=float, default=DEFAULT_TOLERANCE,
                         help="a metric may drop by this much and still count as not worse (default %(default)s)")
    promote.add_argument("--force", action="store_true", help="promote even if it is worse")
    promote.add_argument("--dry-run", action="store_true", help="compare and print; change nothing")
    promote.add_argument("--report-dir", help="write the comparison report here")
    promote.set_defaults(run=run_promote)


def _add_serve_command(commands) -> None:
    """The flags default to None: ``config.settings`` fills them from the environment, then defaults."""
    setting = config.SETTING
    serve = commands.add_parser("serve", help="start the production HTTP server (gunicorn)")
    serve.add_argument("--host", help=f"{setting['HOST'].help} (default {setting['HOST'].default}; $HASHTAG_HOST)")
    serve.add_argument("--port", type=int, help=f"port (default {setting['PORT'].default}; $HASHTAG_PORT)")
    serve.add_argument("--model", help=f"{setting['MODEL_DIR'].help}; $HASHTAG_MODEL_DIR")
    serve.add_argument("--feedback", help=f"{setting['FEEDBACK_PATH'].help}; $HASHTAG_FEEDBACK_PATH")
    serve.add_argument("--workers", type=int,
                       help=f"{setting['WORKERS'].help} (default {setting['WORKERS'].default}; $HASHTAG_WORKERS)")
    serve.add_argument("--threads", type=int,
                       help=f"{setting['THREADS'].help} (default {setting['THREADS'].default}; $HASHTAG_THREADS)")
    serve.add_argument("--access-log", action="store_true", help="log every request to standard error")
    serve.set_defaults(run=run_serve)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m classifier", description="Hashtag suggestions for Japanese news.")
    commands = parser.add_subparsers(dest="command", required=True)
    for add in (_add_corpus_commands, _add_suggest_command, _add_annotate_command, _add_evaluate_command,
                _add_promote_command, _add_serve_command):
        add(commands)
    return parser


def main(argv=None) -> int:
    from .persist import ModelLoadError

    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.run(args)
    except (CorpusError, ValueError, ModelLoadError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        return 0


def main_train(argv=None) -> int:
    """``python train.py``: the same as ``python -m classifier train``."""
    parser = argparse.ArgumentParser(prog="train.py", description="Train a hashtag model from a corpus.")
    add_train_arguments(parser)
    args = parser.parse_args(argv)
    try:
        return run_train(args)
    except (CorpusError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
