"""Command line: train, examples, corpus-stats, suggest, annotate, evaluate, serve."""
from __future__ import annotations

import argparse
import json
import os
import sys
from collections import Counter, defaultdict, deque
from pathlib import Path

from . import config
from .batch import add_parallel_arguments, add_progress_argument
from .config import DEFAULT_MODEL, MIN_COUNT, TRAINING_DATA, model_in_use
from .corpus import FORMATS, CorpusError, load_corpus, tag_variants


def stderr_progress(message: str) -> None:
    """``training.stderr_progress``, imported when first used: importing ``training`` at start-up
    would cost every command scikit-learn's import before it can do anything (``suggest`` starts
    its workers first)."""
    from .training import stderr_progress as say

    say(message)


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
    examples = load_corpus(args.paths, format=args.format)
    if not examples:
        raise ValueError(f"no corpus texts found in {', '.join(args.paths)}")
    for example in examples:
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


def ensure_default_model(model_dir: str) -> None:
    """On a fresh clone there is no trained model yet: train the default one from the bundled
    corpus. Other model folders are never trained implicitly."""
    from .persist import METADATA_FILE
    from .training import train

    if Path(model_dir).resolve() == DEFAULT_MODEL.resolve() and not (DEFAULT_MODEL / METADATA_FILE).exists():
        stderr_progress(f"no model in {DEFAULT_MODEL} yet: training it from {TRAINING_DATA} (once)")
        train([TRAINING_DATA], DEFAULT_MODEL)


def run_suggest(args) -> int:
    """Paragraphs in (a line each, or JSON Lines with ``text``), JSON Lines out, in input order.

    Chunks of lines are scored in this process, and in worker processes when the input is large
    (``batch.auto_start``) or ``--jobs`` asks: each chunk's lines are parsed, scored and written
    out as JSON by whoever scores it, so this process reads lines and writes text.
    """
    from .batch import auto_start, map_ordered, start_workers, suggest_lines
    from .progress import Progress, file_size_and_position

    args.model = args.model or str(model_in_use())
    with open_input(args.input) as stream:
        total, position = file_size_and_position(stream)
        start = auto_start(args.jobs, args.dask_scheduler, total)
        if start == 0 and not args.dask_scheduler:
            # Workers import scikit-learn and load the model on the other cores while this
            # process does the same, rather than after it (a second saved on 2 cores).
            start_workers(args.jobs, args.model)
        from .persist import load_model

        ensure_default_model(args.model)
        model, _ = load_model(args.model)
        model.suggest(["確認"], k=args.k, threshold=args.threshold)  # a bad --k or --threshold: exit 2 now
        options = {"k": args.k, "threshold": args.threshold, "explain": args.explain}
        size = args.batch_size or config.BATCH_SIZE
        progress = Progress("paragraphs", total, enabled=args.progress)
        read_up_to = deque()  # the input's position after each chunk in flight, for the progress
        for text, count, error in map_ordered(suggest_lines, _line_chunks(stream, size, options, position, read_up_to),
                                              model, jobs=args.jobs, dask_scheduler=args.dask_scheduler,
                                              model_dir=args.model, start_after=start, keep_workers=False):
            if error:
                raise CorpusError(stream.name, *error)
            _write_suggestions(text)
            progress.update(count, read_up_to.popleft())
        progress.close()
    return 0


def _line_chunks(stream, size: int, options: dict, position, read_up_to):
    """(number of the first line, lines, options) for every ``size`` lines of ``stream``; the
    position in the file after each is appended to ``read_up_to`` (None for a pipe)."""
    from itertools import islice

    first = 1
    while lines := list(islice(stream, size)):
        read_up_to.append(position() if position else None)
        yield first, lines, options
        first += len(lines)


def _write_suggestions(text: str) -> None:
    """A chunk's JSON Lines, flushed: a reader downstream gets each chunk as it is done."""
    sys.stdout.write(text)
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
        texts = [e.text for e in examples]
        # every core for a large corpus (batch.PARALLEL_MIN_TEXTS) unless --jobs says otherwise
        if is_parallel(args.jobs, args.dask_scheduler, len(texts)):
            from .progress import Progress

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
    from .overlap import describe_overlap, overlap_with_training

    overlap = overlap_with_training(model_dir, metadata, [e.text for e in examples])
    report["overlap_with_training"] = overlap
    warning = describe_overlap(overlap)
    if warning:
        print(f"warning: {warning}", file=sys.stderr)
        report["notes"].insert(0, warning)


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
    changes = decision.get("tag_changes") or {}
    for key in ("lost", "gained"):
        if changes.get(key):
            print(f"tags {key} ({len(changes[key])}): {' '.join(changes[key])}")
    for warning in decision["warnings"]:
        print(f"warning: {warning}")
    if decision["promoted"]:
        print(f"promoted: {decision['pointer']} -> {decision['new']} (was {decision['previous'] or 'nothing'}); "
              f"{decision['reason']}")
        return _reload_after_promotion(args, decision)
    hint = "" if decision["accepted"] else "; --force promotes anyway"
    print(f"not promoted: {decision['reason']}{hint}")
    return 0 if decision["accepted"] else 1


def _reload_after_promotion(args, decision) -> int:
    """Ask the running service to reload when one is configured; else say how."""
    from .promote import reload_service

    settings = config.settings({"RELOAD_URL": args.reload_url})
    url, token = settings["RELOAD_URL"], settings["ADMIN_TOKEN"]
    if url and token:
        try:
            answer = reload_service(url, token)
        except ValueError as error:
            print(f"warning: the service still serves the previous model: the reload failed ({error}); "
                  f"restart it, or POST /admin/reload again", file=sys.stderr)
            return 0
        print(f"reloaded: {url} now serves {answer.get('model')} (was {answer.get('previous')})")
        return 0
    missing = "HASHTAG_ADMIN_TOKEN is not set" if url else "no service named (--reload-url or HASHTAG_RELOAD_URL)"
    print(f"a running service keeps serving the previous model until it reloads ({missing}): POST /admin/reload "
          f"with the admin token (curl -X POST -H \"Authorization: Bearer $HASHTAG_ADMIN_TOKEN\" "
          f"http://HOST:PORT/admin/reload), or restart it; --reload-url URL does it after a promotion. A service "
          f"started without --model (or with --model {decision['pointer']}) then serves the new model; one started "
          f"on another folder does not")
    return 0


def run_feedback(args) -> int:
    """The review queue: only accepted records are exported for training."""
    from .service.feedback_store import FeedbackUnavailable, open_feedback_store

    try:
        store = open_feedback_store(config.settings({"FEEDBACK_PATH": args.db}))
        if args.action == "list":
            records = store.list(None if args.status == "all" else args.status, args.limit, args.after)
            for record in records:
                if args.json:
                    print(json.dumps(record, ensure_ascii=False))
                else:
                    text = " ".join(record["text"].split())
                    new = f" new: {' '.join(record['new_tags'])}" if record["new_tags"] else ""
                    print(f"{record['id']:>6} {record['status']:8} {record['received']} "
                          f"{' '.join(record['tags'] + record['post_tags']) or '(no tag)'}{new} | "
                          f"{text[:60]}{'…' if len(text) > 60 else ''}")
            counts = store.counts()
            print(", ".join(f"{n} {status}" for status, n in counts.items()), file=sys.stderr)
        elif args.action == "show":
            record = store.get(args.id)
            if record is None:
                raise ValueError(f"no feedback record {args.id}")
            print(json.dumps(record, ensure_ascii=False, indent=1))
        elif args.action in ("accept", "reject"):
            try:
                records = store.review(args.ids, {"accept": "accepted", "reject": "rejected"}[args.action])
            except KeyError as error:
                raise ValueError(f"{error.args[0]}; nothing changed") from None
            for record in records:
                new = f" (new tags accepted: {' '.join(record['new_tags'])})" if record["new_tags"] and \
                    record["status"] == "accepted" else ""
                print(f"{record['id']} {record['status']}{new}")
            if args.action == "accept":
                print("`python -m classifier feedback export` writes the accepted records for train.py", file=sys.stderr)
        else:
            count = store.export_accepted(args.out)
            print(f"{count} accepted records written to {args.out} (train.py reads it with training_data/)")
    except FeedbackUnavailable as error:
        raise ValueError(f"the feedback database {args.db or config.settings()['FEEDBACK_PATH']} cannot be used: "
                         f"{error}") from None
    return 0


def run_serve(args) -> int:
    """Start the production server (gunicorn, threaded workers) on the given model."""
    from gunicorn.app.base import BaseApplication

    from .service import create_app
    from .service.feedback_store import open_feedback_store
    from .service.model_holder import share_reloads_between_processes

    settings = config.settings({"HOST": args.host, "PORT": args.port, "MODEL_DIR": args.model,
                                "WORKERS": args.workers, "THREADS": args.threads, "FEEDBACK_PATH": args.feedback})
    # Without --model the workers load the model in use at every (re)load: a promotion made
    # while the server runs is served after POST /admin/reload.
    serving = settings["MODEL_DIR"] or f"{model_in_use()} (the model in use)"
    ensure_default_model(str(settings["MODEL_DIR"] or model_in_use()))
    # Once, before the workers fork: the database is created, the old JSON Lines file imported.
    open_feedback_store(settings).close()
    share_reloads_between_processes()

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

    stderr_progress(f"serving {serving} on http://{settings['HOST']}:{settings['PORT']} "
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
    add_progress_argument(suggest)
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
    add_progress_argument(evaluate)
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
    # promote.DEFAULT_TOLERANCE (a test holds them equal): importing promote to build the parser
    # would cost every command, `suggest` on ten lines included, scikit-learn's import.
    DEFAULT_TOLERANCE = 0.005

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
    promote.add_argument("--reload-url", metavar="URL",
                         help="after promoting, POST URL/admin/reload with $HASHTAG_ADMIN_TOKEN (default "
                              "$HASHTAG_RELOAD_URL; e.g. http://127.0.0.1:8000)")
    promote.set_defaults(run=run_promote)


def _add_feedback_command(commands) -> None:
    feedback = commands.add_parser("feedback", help="review the feedback queue: list, show, accept, reject, export")
    feedback.add_argument("--db", help=f"the feedback database (default {config.SETTING['FEEDBACK_PATH'].default}; "
                                       f"$HASHTAG_FEEDBACK_PATH)")
    actions = feedback.add_subparsers(dest="action", required=True)
    listing = actions.add_parser("list", help="records, oldest first (default: the pending ones)")
    listing.add_argument("--status", choices=("pending", "accepted", "rejected", "all"), default="pending")
    listing.add_argument("--limit", type=int, default=100)
    listing.add_argument("--after", type=int, default=0, help="only records with a larger id")
    listing.add_argument("--json", action="store_true", help="one JSON object a line")
    show = actions.add_parser("show", help="one record, as JSON")
    show.add_argument("id", type=int)
    for name, what in (("accept", "accept records (and their new tags): exported for training"),
                       ("reject", "reject records: they never reach training")):
        action = actions.add_parser(name, help=what)
        action.add_argument("ids", nargs="+", type=int, metavar="ID")
    export = actions.add_parser("export", help="write the accepted records as JSON Lines that train.py reads")
    export.add_argument("--out", default=str(config.ACCEPTED_FEEDBACK), help="default %(default)s")
    feedback.set_defaults(run=run_feedback)


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
                _add_promote_command, _add_feedback_command, _add_serve_command):
        add(commands)
    return parser


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    return _run_reporting_errors(args.run, args)


def _run_reporting_errors(run, args) -> int:
    """Bad input (a missing, unreadable or undecodable file, a bad line, a model that cannot be
    loaded) is one line on stderr naming it, and exit code 2; never a traceback."""
    from .persist import ModelLoadError

    try:
        return run(args)
    except BrokenPipeError:
        return 0
    except UnicodeDecodeError as error:  # a stream decoded as it is read (before ValueError: a subclass)
        print(f"error: {_input_name(args)}: {describe_undecodable(error.object, error.start)}", file=sys.stderr)
        return 2
    except (CorpusError, ValueError, ModelLoadError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except OSError as error:
        name = error.filename if error.filename is not None else _input_name(args)
        print(f"error: {name}: cannot be read: {error.strerror or error}", file=sys.stderr)
        return 2


def _input_name(args) -> str:
    name = getattr(args, "input", None)
    return "standard input" if name in (None, "-") else str(name)


def describe_undecodable(data: bytes, start: int) -> str:
    """Why bytes are not UTF-8, with a hint when they are Shift_JIS (what Japanese Excel writes)."""
    from .corpus import undecodable_message

    return undecodable_message(data, start)


def open_input(path: str | None):
    """A text stream for a command's input: standard input for None or '-', else the file. A
    missing file, a folder or an unreadable file is a CorpusError naming it (exit code 2)."""
    if path in (None, "-"):
        return sys.stdin
    file = Path(path)
    if file.is_dir():
        raise CorpusError(file, None, "is a folder, not a file")
    if not file.exists():
        raise CorpusError(file, None, "no such file")
    try:
        return open(file, encoding="utf-8")
    except OSError as error:
        raise CorpusError(file, None, f"cannot be read: {error.strerror or error}") from None


def main_train(argv=None) -> int:
    """``python train.py``: the same as ``python -m classifier train``."""
    parser = argparse.ArgumentParser(prog="train.py", description="Train a hashtag model from a corpus.")
    add_train_arguments(parser)
    args = parser.parse_args(argv)
    return _run_reporting_errors(run_train, args)
