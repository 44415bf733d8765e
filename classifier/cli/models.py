"""Commands on models in use: promote, feedback review, serve."""
from __future__ import annotations

import json
import os
import sys

from .. import config
from ..config import model_in_use
from ..corpus import FORMATS
from .common import ensure_default_model, stderr_progress



def run_promote(args) -> int:
    """Switch the model in use to a new one if it is not worse; exit 1 when it is worse."""
    from ..promote import promote
    from ..report import format_summary

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
    from ..promote import reload_service

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
    from ..service.feedback_store import FeedbackUnavailable, open_feedback_store

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

    from ..service import create_app
    from ..service.feedback_store import open_feedback_store
    from ..service.model_holder import share_reloads_between_processes

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


def add_promote_command(commands) -> None:
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


def add_feedback_command(commands) -> None:
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


def add_serve_command(commands) -> None:
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
