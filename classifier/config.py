"""One place for configuration: paths from one root, the settings table, and shared defaults.

Paths are resolved once, from the project root (the folder that holds ``classifier/``, or
``$HASHTAG_HOME`` when set), so a command gives the same answer from any working directory.
The service and the CLI read the same ``SETTINGS``: defaults, then environment variables, then
flags (or a test's configuration), each later source winning.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

ROOT = Path(os.environ.get("HASHTAG_HOME") or Path(__file__).resolve().parents[1])
TRAINING_DATA = ROOT / "training_data"
MODELS = ROOT / "models"
DEFAULT_MODEL = MODELS / "default"
# The link that names the promoted model (``python -m classifier promote``).
MODEL_POINTER = MODELS / "current"
# Files the service writes at run time (the feedback database): ignored by git, never read by train.py.
VAR = ROOT / "var"
# Where reviewed feedback is exported for training (``python -m classifier feedback export``).
ACCEPTED_FEEDBACK = TRAINING_DATA / "feedback" / "accepted.jsonl"

# Tags with fewer examples than this are not learned (their texts stay as negatives).
MIN_COUNT = 10
# Texts per model call: large enough that the fixed cost of a call is small next to its work,
# small enough that the first results come quickly and memory in flight stays small. The CLI,
# evaluation and parallel workers all use it. Between 1024 and 2048 a paragraph's CPU time still
# fell by a few percent (the CLI's chunk, one process; bench/RESULTS.md), beyond 2048 it did not.
BATCH_SIZE = 2048
# Drafts per chunk for ``annotate --jsonl``: a draft post is some twenty paragraphs, each scored
# about three times (as a unit of the topic cue, in its block, in the whole post).
ANNOTATE_BATCH_SIZE = 16
# Share of posts that training holds out to score the model it writes.
HOLDOUT = 0.2
SEED = 0


@dataclass(frozen=True)
class Setting:
    key: str  # the Flask config key, also the CLI's name for it
    env: str | None  # the environment variable that sets it, if any
    default: Any
    help: str

    def parse(self, raw: str):
        if isinstance(self.default, int) and not isinstance(self.default, bool):
            try:
                return int(raw)
            except ValueError:
                raise ValueError(f"{self.env} must be a whole number, got {raw!r}") from None
        return raw


SETTINGS = (
    Setting("HOST", "HASHTAG_HOST", "127.0.0.1", "address to listen on"),
    Setting("PORT", "HASHTAG_PORT", 8000, "port"),
    Setting("MODEL_DIR", "HASHTAG_MODEL_DIR", None,
            "model folder, or the pointer to one (default: models/current if promoted, else models/default)"),
    Setting("WORKERS", "HASHTAG_WORKERS", 2, "gunicorn worker processes (one per core here)"),
    # MeCab holds the GIL while it parses: more threads add memory, not throughput.
    Setting("THREADS", "HASHTAG_THREADS", 1, "threads per worker"),
    Setting("FEEDBACK_PATH", "HASHTAG_FEEDBACK_PATH", str(VAR / "feedback.sqlite3"),
            "the feedback database (SQLite) where POST /feedback stores records for review"),
    Setting("FEEDBACK_IMPORT_PATH", "HASHTAG_FEEDBACK_IMPORT", str(TRAINING_DATA / "feedback.jsonl"),
            "the old JSON Lines feedback file: imported once as pending records, then renamed aside"),
    Setting("ADMIN_TOKEN", "HASHTAG_ADMIN_TOKEN", None,
            "bearer token for /admin/reload and the feedback review (/admin/feedback); unset: off"),
    Setting("RELOAD_URL", "HASHTAG_RELOAD_URL", None,
            "the running service that `promote` asks to reload (with HASHTAG_ADMIN_TOKEN), e.g. http://127.0.0.1:8000"),
    Setting("MAX_TEXTS", "HASHTAG_MAX_TEXTS", 256, "texts per /suggest request"),
    Setting("MAX_TEXT_CHARS", "HASHTAG_MAX_TEXT_CHARS", 20_000, "characters per text"),
    Setting("MAX_CONTENT_LENGTH", "HASHTAG_MAX_BODY_BYTES", 2 * 1024 * 1024, "request body limit in bytes"),
    Setting("MAX_K", None, 50, "the most suggestions a request may ask for"),
    Setting("MAX_TAGS_PER_FEEDBACK", None, 20, "tags one feedback record may carry"),
)
SETTING = {setting.key: setting for setting in SETTINGS}


def defaults() -> dict:
    return {setting.key: setting.default for setting in SETTINGS}


def from_environment(environ: Mapping[str, str] = os.environ) -> dict:
    """The settings that environment variables give, parsed."""
    return {s.key: s.parse(environ[s.env]) for s in SETTINGS if s.env and environ.get(s.env)}


def settings(overrides: Mapping[str, Any] | None = None, environ: Mapping[str, str] = os.environ) -> dict:
    """Defaults, then the environment, then ``overrides`` whose value is not None."""
    merged = {**defaults(), **from_environment(environ)}
    merged.update({key: value for key, value in (overrides or {}).items() if value is not None})
    return merged


def model_in_use() -> Path:
    """The model commands use when none is named: the promoted one (``models/current``) when
    there is one, else ``models/default``. The pointer itself is returned, not its target, so
    that the service's reload follows a later promotion."""
    return MODEL_POINTER if MODEL_POINTER.is_symlink() else DEFAULT_MODEL
