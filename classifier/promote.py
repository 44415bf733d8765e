"""Promote a newly trained model to be the one in use, only when it is not worse.

The model in use is named by a pointer: a symbolic link such as ``models/current -> 2026-11-22``;
before the first promotion it is ``models/default`` (what ``serve`` loads). A new model whose tag
set differs from the one in use is refused unless forced. Promotion scores the new model and the
one in use on the same labelled texts, which neither was trained on: by default the held-out posts of the new model's corpus, with both configurations
refitted on its other posts (a served model is fitted on every post); with ``--data``, the
given texts and the models as they are. It prints the comparison, and replaces the
link only when no metric that matters got worse beyond a tolerance, or when forced. The link is
replaced atomically (a new link is made beside it and renamed over it), so a reader - the
service's reload, a command - sees the old model or the new one, never a half state.
"""
from __future__ import annotations

import fcntl
import os
import uuid
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Sequence

from .config import DEFAULT_MODEL, HOLDOUT, MODEL_POINTER
from .corpus import load_corpus
from .evaluate import LOWER_IS_BETTER, flat_scores
from .scorer import Scoring
from .persist import METADATA_FILE, ModelLoadError, load_model, write_json
from .report import build_report, write_report
from .training import refitted, split_holdout

POINTER = MODEL_POINTER
# The metrics a promotion must not make worse: what a curator sees (F1 over all decisions and per
# tag, the best tag being right) and how often a labelled text is wrongly left without a suggestion.
PROMOTION_METRICS = ("micro_f1", "macro_f1", "top1_accuracy", "wrongly_empty")
DEFAULT_TOLERANCE = 0.005
RECORD_FILE = "promotion.json"


def current_target(pointer: str | os.PathLike = POINTER) -> Path | None:
    """The folder the pointer names, or None when there is no pointer yet."""
    pointer = Path(pointer)
    if pointer.is_symlink():
        return Path(os.path.realpath(pointer))
    if pointer.exists():
        raise ValueError(f"{pointer} is a folder, not a pointer to one: move it aside (e.g. to "
                         f"{pointer.parent / 'previous'}) and promote it, or pass another --pointer")
    return None


def point_to(pointer: str | os.PathLike, target: str | os.PathLike) -> None:
    """Make ``pointer`` a link to ``target``, replacing the old link in one rename."""
    pointer, target = Path(pointer), Path(target)
    pointer.parent.mkdir(parents=True, exist_ok=True)
    # A relative link keeps working when the models folder is moved or mounted elsewhere.
    relative = os.path.relpath(target.resolve(), pointer.parent.resolve())
    temporary = pointer.parent / f".{pointer.name}-{uuid.uuid4().hex[:12]}.tmp"
    os.symlink(relative, temporary, target_is_directory=True)
    try:
        os.replace(temporary, pointer)
    except OSError:
        temporary.unlink(missing_ok=True)
        raise
    descriptor = os.open(pointer.parent, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


@contextmanager
def _promotion_lock(pointer: Path):
    """One promotion at a time per pointer: compare and swap must not interleave with another."""
    pointer.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(pointer.parent / f".{pointer.name}.lock", os.O_WRONLY | os.O_CREAT, 0o644)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX)
        yield
    finally:
        os.close(descriptor)


def comparison_examples(metadata: dict, data: Sequence[str] | None = None, format: str | None = None):
    """The labelled texts to compare on, the texts to refit on (None: score the models as they
    are) and a description.

    With ``data``, both models are scored as they are on those texts. Without, the comparison
    uses the new model's own corpus: its held-out posts (chosen by name, as training chooses
    them) are the texts, and both models' configurations are refitted on the rest, since a
    served model is fitted on every post and has seen them.
    """
    if data:
        return load_corpus(data, format=format), None, f"{', '.join(map(str, data))}"
    info = metadata.get("data") or {}
    fraction = (metadata.get("holdout") or {}).get("fraction") or HOLDOUT
    if not info.get("paths"):
        raise ValueError("the new model's metadata names no training data: pass --data with labelled texts")
    examples = load_corpus(info["paths"], format=info.get("format"))
    train, held = split_holdout(examples, fraction)
    if not held or not train:
        raise ValueError(f"no post of {', '.join(info['paths'])} is held out: pass --data")
    return held, train, (f"held-out posts ({fraction:.0%}) of {', '.join(info['paths'])}, both configurations "
                         f"refitted on the other posts")


def regressions(delta: dict, tolerance: float) -> list[str]:
    """The promotion metrics that got worse by more than ``tolerance``."""
    worse = []
    for key in PROMOTION_METRICS:
        change = delta.get(key)
        if change is None:
            continue
        loss = change if key in LOWER_IS_BETTER else -change
        if loss > tolerance:
            worse.append(f"{key} {change:+.3f}")
    return worse


def in_use_fallback(pointer: str | os.PathLike) -> Path:
    """The model served while ``pointer`` does not exist yet: the ``default`` folder beside it, as
    ``config.model_in_use()`` chooses ``models/default`` while there is no ``models/current``."""
    pointer = Path(pointer)
    return DEFAULT_MODEL if pointer == POINTER else pointer.parent / DEFAULT_MODEL.name


def model_in_use(pointer: str | os.PathLike = POINTER, fallback: str | os.PathLike | None = None) -> Path | None:
    """The folder a service started on the pointer (or, before any promotion, on the models
    folder's default) serves: the pointer's target, else ``fallback`` when it holds a model."""
    target = current_target(pointer)
    if target is not None:
        return target
    fallback = Path(fallback) if fallback is not None else in_use_fallback(pointer)
    return fallback.resolve() if (fallback / METADATA_FILE).is_file() else None


def tag_changes(new_model: Scoring, old_model: Scoring) -> dict:
    """The tags the new model no longer learns (``lost``) and the ones it adds (``gained``)."""
    new, old = set(new_model.classes_), set(old_model.classes_)
    return {"lost": sorted(old - new), "gained": sorted(new - old)}


def describe_tag_changes(changes: dict, limit: int = 12) -> str:
    parts = []
    for key in ("lost", "gained"):
        tags = changes[key]
        if tags:
            shown = " ".join(tags[:limit]) + (f" … ({len(tags) - limit} more)" if len(tags) > limit else "")
            parts.append(f"{len(tags)} tags {key}: {shown}")
    return "; ".join(parts)


def promote(new_dir: str | os.PathLike, pointer: str | os.PathLike = POINTER, data: Sequence[str] | None = None,
            format: str | None = None, tolerance: float = DEFAULT_TOLERANCE, force: bool = False,
            dry_run: bool = False, report_dir: str | os.PathLike | None = None,
            progress: Callable[[str], None] | None = None, fallback: str | os.PathLike | None = None) -> dict:
    """Compare ``new_dir`` with the model in use and move the pointer if it is not worse.

    The model in use is the pointer's target or, before the first promotion, ``fallback`` (the
    ``default`` folder beside the pointer): what ``serve`` loads. A model whose tag set differs
    from it (tags lost or gained) is refused unless forced, whatever its scores: it was trained
    for another task or on another corpus, and its scores are not comparable.

    Returns the decision: ``promoted``, ``reason``, ``previous``, ``new``, ``tag_changes`` and the
    comparison ``report`` (None when there was nothing to compare with). The decision is also
    written to ``promotion.json`` in the new model's folder.
    """
    say = progress or (lambda message: None)
    if tolerance < 0:
        raise ValueError(f"tolerance must be 0 or more, got {tolerance}")
    new_dir, pointer = Path(new_dir), Path(pointer)
    new_model, new_metadata = load_model(new_dir)
    with _promotion_lock(pointer):
        previous = model_in_use(pointer, fallback)
        has_pointer = current_target(pointer) is not None
        if previous is not None and previous == new_dir.resolve() and has_pointer:
            return {"promoted": False, "accepted": True, "forced": False, "reason": f"{new_dir} is already the model in use",
                    "new": str(new_dir), "previous": str(previous), "pointer": str(pointer), "report": None,
                    "warnings": [], "tag_changes": None}
        if previous is not None and previous == new_dir.resolve():
            accept, reason, report, errors, warnings, changes = (
                True, f"{new_dir} is already served (no pointer yet): the pointer now names it", None, [], [], None)
        else:
            accept, reason, report, errors, warnings, changes = _compare(
                new_model, new_metadata, new_dir, previous, data, format, tolerance, say)
        promoted = (accept or force) and not dry_run
        if force and not accept:
            reason = f"forced: {reason}"
        if dry_run:
            reason = f"dry run, nothing changed: {reason}"
        if promoted:
            point_to(pointer, new_dir)
    decision = {
        "promoted": promoted, "accepted": accept, "forced": bool(force and not accept), "reason": reason,
        "decided": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "new": str(new_dir), "previous": str(previous) if previous else None, "pointer": str(pointer),
        "warnings": warnings, "tag_changes": changes,
        "scores": flat_scores(report) if report else None, "baseline_scores": report["baseline"]["scores"] if report else None,
        "delta": report["baseline"]["delta"] if report else None,
    }
    write_json(new_dir / RECORD_FILE, decision)
    if report_dir is not None and report is not None:
        write_report(report_dir, report, errors)
    return {**decision, "report": report}


def _compare(new_model, new_metadata: dict, new_dir: Path, previous: Path | None, data, format, tolerance: float,
             say) -> tuple[bool, str, dict | None, list, list[str], dict | None]:
    """Whether the new model may replace the one in use:
    (accept, reason, report, errors, warnings, tag changes)."""
    if previous is None:
        return True, "no model in use yet", None, [], [], None
    try:
        old_model, old_metadata = load_model(previous)
    except ModelLoadError as error:
        return True, f"the model in use cannot be loaded ({error})", None, [], [], None
    changes = tag_changes(new_model, old_model)
    changed = describe_tag_changes(changes)
    warnings = [f"the tag set changes: {changed}"] if changed else []
    examples, refit_on, described = comparison_examples(new_metadata, data, format)
    say(f"comparing {new_dir} with {previous} on {len(examples)} texts: {described}")
    try:
        if refit_on is not None:
            new_model, old_model = refitted(new_model, refit_on), refitted(old_model, refit_on)
        report, errors = build_report(new_model, examples, metadata=new_metadata, model_dir=new_dir,
                                      data_paths=data or (new_metadata.get("data") or {}).get("paths"),
                                      baseline=(old_model, old_metadata, previous), progress=say)
    except ValueError as error:
        if not changed:
            raise
        # Another task altogether (the old tags absent from the new corpus): nothing to compare.
        return False, f"the tag set changes ({changed}); the models cannot be compared ({error})", None, [], \
            warnings, changes
    report["promotion"] = {"compared_on": described, "metrics": list(PROMOTION_METRICS), "tolerance": tolerance,
                           "tag_changes": changes}
    if changed:
        return False, f"the tag set changes ({changed})", report, errors, warnings, changes
    worse = regressions(report["baseline"]["delta"], tolerance)
    if worse:
        return False, f"worse than {previous.name}: {', '.join(worse)}", report, errors, warnings, changes
    reason = f"not worse than {previous.name} on {', '.join(PROMOTION_METRICS)} (tolerance {tolerance:g})"
    return True, reason, report, errors, warnings, changes


def reload_service(url: str, token: str, timeout: float = 60) -> dict:
    """POST ``url``/admin/reload with the admin token; the service's answer, or a ValueError saying why not."""
    import json
    import urllib.error
    import urllib.request

    endpoint = url.rstrip("/")
    if not endpoint.endswith("/admin/reload"):
        endpoint += "/admin/reload"
    request = urllib.request.Request(endpoint, data=b"", method="POST",
                                     headers={"Authorization": f"Bearer {token}"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as error:
        with error:
            try:
                message = json.loads(error.read() or b"{}").get("error", {}).get("message", error.reason)
            except ValueError:
                message = error.reason
        raise ValueError(f"{endpoint} answered {error.code}: {message}") from None
    except (OSError, ValueError) as error:
        raise ValueError(f"{endpoint} could not be reached: {getattr(error, 'reason', None) or error}") from None
