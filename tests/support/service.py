"""Helpers for the service tests: the admin token, clean JSON errors, broken model folders."""
import hashlib
import json
import os
import shutil
from pathlib import Path

import numpy as np

from classifier.persist import METADATA_FILE
from tests.support.paths import ROOT

TOKEN = "s3cret-token"


def assert_clean_error(response, *paths):
    """A JSON error with a code and a message, and neither a traceback nor a server path in it."""
    assert response.is_json, response.get_data(as_text=True)[:200]
    error = response.get_json()["error"]
    assert error["code"] and error["message"]
    text = response.get_data(as_text=True)
    assert "Traceback" not in text and 'File "' not in text
    for path in (ROOT, *paths):
        assert str(path) not in text


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def break_model(directory: Path, how: str, outside: Path):
    """Break the model folder ``directory`` the way ``how`` names (see BROKEN); ``outside`` is a
    folder outside it, for artifacts that point elsewhere."""
    metadata = json.loads((directory / METADATA_FILE).read_text(encoding="utf-8"))
    artifact = directory / metadata["artifact"]

    def write_metadata(**changes):
        (directory / METADATA_FILE).write_text(json.dumps({**metadata, **changes}), encoding="utf-8")

    if how == "folder missing":
        shutil.rmtree(directory)
    elif how == "metadata missing":
        (directory / METADATA_FILE).unlink()
    elif how == "metadata truncated":
        data = (directory / METADATA_FILE).read_bytes()
        (directory / METADATA_FILE).write_bytes(data[: len(data) // 2])
    elif how == "metadata not an object":
        (directory / METADATA_FILE).write_text("[]", encoding="utf-8")
    elif how == "artifact missing":
        artifact.unlink()
    elif how == "artifact truncated":
        data = artifact.read_bytes()
        artifact.write_bytes(data[: len(data) // 2])
    elif how == "artifact replaced, hash not updated":
        np.savez(artifact, x=np.zeros(3))
    elif how == "other library versions":
        write_metadata(versions={**metadata["versions"], "fugashi": "0.0.1", "dictionary": "other"})
    elif how == "garbage with a matching hash":
        artifact.write_bytes(b"\x80\x04garbage, not a pickle")
        write_metadata(artifact_sha256=_sha256(artifact))
    elif how == "other arrays with a matching hash":
        np.savez(artifact, x=np.zeros(3))
        write_metadata(artifact_sha256=_sha256(artifact))
    elif how == "a pickle inside, with a matching hash":
        np.savez(artifact, header=np.array([{"not": "arrays"}], dtype=object))
        write_metadata(artifact_sha256=_sha256(artifact))
    elif how == "written by an older version of this code":
        with np.load(artifact) as stored:
            arrays = {name: stored[name] for name in stored.files if name != "idf_"}  # as if renamed since
        with open(artifact, "wb") as stream:
            np.savez(stream, **arrays)
        write_metadata(artifact_sha256=_sha256(artifact))
    elif how in ("artifact outside the folder", "absolute artifact path", "artifact links outside"):
        target = outside / "model-elsewhere.npz"
        shutil.copy(artifact, target)
        if how == "artifact outside the folder":
            write_metadata(artifact=os.path.relpath(target, directory))
        elif how == "absolute artifact path":
            write_metadata(artifact=str(target))
        else:
            artifact.unlink()
            artifact.symlink_to(target)
    else:
        raise AssertionError(how)


# How a model folder can break, and what the service says about it.
BROKEN = [
    ("folder missing", "python train.py"),
    ("metadata missing", "metadata.json missing"),
    ("metadata truncated", "not valid JSON"),
    ("metadata not an object", "does not hold a JSON object"),
    ("artifact missing", "is missing"),
    ("artifact truncated", "does not match the hash"),
    ("artifact replaced, hash not updated", "does not match the hash"),
    ("other library versions", "other library versions: fugashi 0.0.1"),
    ("garbage with a matching hash", "could not be read"),
    ("other arrays with a matching hash", "could not be read (KeyError)"),
    ("a pickle inside, with a matching hash", "could not be read (ValueError)"),
    ("written by an older version of this code", "loads but fails to score text (AttributeError)"),
    ("artifact outside the folder", "not a model file of this folder"),
    ("absolute artifact path", "not a model file of this folder"),
    ("artifact links outside", "not a model file of this folder"),
]
