"""Model folders on disk: save, load with every check, and the one atomic-write helper.

A model folder holds a content-named artifact (``model-<sha256[:16]>.npz``: the scoring arrays
of ``classifier.scorer``, no pickle) and ``metadata.json`` naming it with its hash, the library
versions that wrote it and its scores. Loading gives a ``Scorer``, without scikit-learn.
Every file the project writes goes through ``write_atomic``: a reader sees the old file or the
new one, never a half-written one, and every file gets the same mode.
"""
from __future__ import annotations

import hashlib
import json
import os
import platform
import re
import tempfile
from pathlib import Path

import numpy as np

from .metadata import METADATA_FILE, RETRAIN, ModelLoadError, read_metadata
from .scorer import Scorer, scorer_bytes, scorer_from_bytes
from .text import dictionary_version

# Bump when the artifact's arrays change: older folders are refused with a
# message to retrain instead of failing on first use.
MODEL_FORMAT = 4
ARTIFACT_PREFIX = "model-"
_ARTIFACT_NAME = re.compile(r"^model-[0-9a-f]{16}\.npz$")
# Files are written for a service that may run as another user: readable by all, like a plain
# `open(..., "w")` under the usual umask (mkstemp alone would give 0600).
FILE_MODE = 0o644
# The libraries that must match exactly: the artifact is plain arrays, read the same by any
# NumPy, but the features are words as this MeCab and dictionary split them.
STRICT_VERSIONS = ("fugashi", "dictionary")
PROBE_TEXT = "準備確認"  # scored once before a model is served


# --------------------------------------------------------------------------------------------
# writing files

def write_atomic(path: str | os.PathLike, content: str | bytes) -> Path:
    """Write ``content`` to ``path`` through a temporary file renamed over it, fsynced."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}-", suffix=".tmp")
    try:
        os.fchmod(handle, FILE_MODE)
        with os.fdopen(handle, "wb") as stream:
            stream.write(content.encode("utf-8") if isinstance(content, str) else content)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, path)
        fsync_directory(path.parent)
    finally:
        if os.path.exists(temporary):
            os.unlink(temporary)
    return path


def write_json(path: str | os.PathLike, data) -> Path:
    return write_atomic(path, json.dumps(data, ensure_ascii=False, indent=2, default=_json_default) + "\n")


def fsync_directory(path: str | os.PathLike) -> None:
    """Make a rename in ``path`` durable; a file system that cannot fsync a folder is left be."""
    try:
        descriptor = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(descriptor)
    except OSError:
        pass
    finally:
        os.close(descriptor)


def _json_default(value):
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"cannot write {type(value).__name__} to JSON")


# --------------------------------------------------------------------------------------------
# saving

def library_versions() -> dict[str, str]:
    import importlib.metadata as metadata

    return {"python": platform.python_version(), "scikit-learn": metadata.version("scikit-learn"),
            "numpy": np.__version__, "scipy": metadata.version("scipy"), "joblib": metadata.version("joblib"),
            "fugashi": metadata.version("fugashi"),
            "dictionary": dictionary_version()}


def save_model(model, directory: str | os.PathLike, metadata: dict) -> Path:
    """Write the model and its metadata so that a crash at any moment leaves the folder loadable.

    The artifact goes to a new content-named file; ``metadata.json`` names it and is replaced
    last, so readers see either the old pair or the new one. Old artifacts go after.
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    for stale in directory.glob(".*.tmp"):  # left by a save that was killed
        stale.unlink(missing_ok=True)
    data = scorer_bytes(model)
    digest = hashlib.sha256(data).hexdigest()
    artifact = write_atomic(directory / f"{ARTIFACT_PREFIX}{digest[:16]}.npz", data)
    write_json(directory / METADATA_FILE, {**metadata, "artifact": artifact.name, "artifact_sha256": digest,
                                           "model_format": MODEL_FORMAT, "versions": library_versions()})
    for old in directory.glob(f"{ARTIFACT_PREFIX}*.*"):
        if old.name != artifact.name:
            old.unlink()
    return artifact


# --------------------------------------------------------------------------------------------
# loading

def model_version(metadata: dict) -> str:
    """A short name of a trained model: when it was made and the start of its artifact's hash."""
    return f"{metadata.get('created', 'unknown')}/{str(metadata.get('artifact_sha256', ''))[:12]}"


def load_model(directory: str | os.PathLike) -> tuple[Scorer, dict]:
    """Load a model folder (or the pointer to one) after every check, for the CLI and the service.

    The pointer is followed once, so metadata and artifact come from one folder even if a
    promotion swaps the link meanwhile. Only a content-named file inside the folder whose bytes
    match the recorded hash is ever unpickled, and the model must score a text before it is
    returned: a pickle of an older version of this code can load and still fail on use.
    """
    directory = os.path.realpath(directory)
    metadata = read_metadata(directory)
    _check_versions(directory, metadata)
    data = _artifact_bytes(directory, metadata)
    try:
        model = scorer_from_bytes(data)
    except Exception as error:  # a damaged or foreign file can fail in many ways
        raise ModelLoadError(f"the model in {directory} could not be read ({type(error).__name__}): "
                             f"{RETRAIN}") from None
    check_scores(model)
    return model, metadata


def check_scores(model) -> None:
    """Score one text; a model that cannot is refused with a message to retrain."""
    try:
        model.suggest([PROBE_TEXT], threshold=0, k=1)
    except Exception as error:
        raise ModelLoadError(f"the model loads but fails to score text ({type(error).__name__}): it was probably "
                             f"written by another version of this code; {RETRAIN}") from None


def _check_versions(directory: str, metadata: dict) -> None:
    versions, current = metadata.get("versions") or {}, library_versions()
    drift = [f"{name} {versions.get(name)} (running {current[name]})" for name in STRICT_VERSIONS
             if versions.get(name) != current[name]]
    if drift:
        raise ModelLoadError(f"model in {directory} was written by other library versions: {', '.join(drift)}; "
                             f"{RETRAIN}")
    if metadata.get("model_format") != MODEL_FORMAT:
        raise ModelLoadError(f"model in {directory} has format {metadata.get('model_format')}, this code reads "
                             f"format {MODEL_FORMAT}: {RETRAIN}")


def _artifact_bytes(directory: str, metadata: dict) -> bytes:
    """The artifact's bytes, read once: hashed and read from the same bytes."""
    name = str(metadata.get("artifact", ""))
    artifact = Path(directory) / name
    # A name such as ../x.npz, or a link leading out of the folder, would read a file
    # from elsewhere: only a plain content-named file of this folder is read.
    if not _ARTIFACT_NAME.match(name) or artifact.resolve().parent != Path(directory).resolve():
        raise ModelLoadError(f"metadata in {directory} names an artifact that is not a model file of this "
                             f"folder; refusing to load it: {RETRAIN}")
    try:
        data = artifact.read_bytes()
    except OSError:
        raise ModelLoadError(f"model artifact {name} is missing: {RETRAIN}") from None
    if hashlib.sha256(data).hexdigest() != metadata.get("artifact_sha256"):
        raise ModelLoadError(f"model artifact {name} does not match the hash in its metadata "
                             f"(truncated or replaced): {RETRAIN}")
    return data
