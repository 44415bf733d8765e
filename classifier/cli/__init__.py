"""Command line: ``python -m classifier COMMAND`` (and ``python train.py``).

Each command module adds its subcommands to the parser; ``main`` runs the chosen one and turns
bad input into one line on stderr and exit code 2.
"""
from __future__ import annotations

import argparse
import gc
import os
import sys

from ..corpus import CorpusError
from . import corpus, evaluation, models, scoring
from .common import describe_undecodable
from .corpus import add_train_arguments, run_train



def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m classifier", description="Hashtag suggestions for Japanese news.")
    commands = parser.add_subparsers(dest="command", required=True)
    for add in (corpus.add_corpus_commands, scoring.add_suggest_command, scoring.add_annotate_command,
                evaluation.add_evaluate_command, models.add_promote_command, models.add_feedback_command,
                models.add_serve_command):
        add(commands)
    return parser


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    return _run_reporting_errors(args.run, args)


def command_line() -> None:
    """``python -m classifier`` and the ``hashtag-classifier`` script: ``main``, then exit.

    Before exiting, every object is frozen out of the garbage collector's reach: the interpreter's
    shutdown then skips its collections over everything the command imported and loaded (all of
    NumPy, SciPy and the model), a few hundredths of a second of every command. Nothing is lost:
    the atexit handlers and the flushing of the standard streams still run, and the system frees
    the memory.

    NumPy's BLAS is kept to one thread (unless the environment says otherwise). At import it
    starts a thread per core, which spins a while waiting for work, taking CPU from the workers
    of a large run. No command needs it: scoring multiplies sparse matrices, and training's
    solvers run their own loops (one thread trained as fast)."""
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    status = main()
    gc.freeze()
    sys.exit(status)


def _run_reporting_errors(run, args) -> int:
    """Bad input (a missing, unreadable or undecodable file, a bad line, a model that cannot be
    loaded) is one line on stderr naming it, and exit code 2; never a traceback."""
    try:
        return run(args)
    except BrokenPipeError:
        return 0
    except KeyboardInterrupt:  # Ctrl-C: the workers stop with this process; no traceback
        print("interrupted", file=sys.stderr)
        return 130
    except UnicodeDecodeError as error:  # a stream decoded as it is read (before ValueError: a subclass)
        print(f"error: {_input_name(args)}: {describe_undecodable(error.object, error.start)}", file=sys.stderr)
        return 2
    except (CorpusError, ValueError, _model_load_error()) as error:  # evaluated only once an error is raised
        print(f"error: {error}", file=sys.stderr)
        return 2
    except OSError as error:
        name = error.filename if error.filename is not None else _input_name(args)
        print(f"error: {name}: cannot be read: {error.strerror or error}", file=sys.stderr)
        return 2


def _model_load_error() -> type:
    """``persist.ModelLoadError``, imported only when an error is being reported: importing
    ``persist`` before running would cost every command scikit-learn's import (about a second),
    and scoring never needs it."""
    from ..persist import ModelLoadError

    return ModelLoadError


def _input_name(args) -> str:
    name = getattr(args, "input", None)
    return "standard input" if name in (None, "-") else str(name)


def main_train(argv=None) -> int:
    """``python train.py``: the same as ``python -m classifier train``."""
    parser = argparse.ArgumentParser(prog="train.py", description="Train a hashtag model from a corpus.")
    add_train_arguments(parser)
    args = parser.parse_args(argv)
    return _run_reporting_errors(run_train, args)
