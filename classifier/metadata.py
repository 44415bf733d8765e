"""A model folder's ``metadata.json``, read without NumPy: ``persist`` loads the model with it,
and the head start (``classifier.head_start``) reads the model's tokenizer from it before NumPy
is imported."""
from __future__ import annotations

import json
import os
from pathlib import Path

METADATA_FILE = "metadata.json"
RETRAIN = "retrain with `python train.py`"


class ModelLoadError(RuntimeError):
    """A model folder that cannot be served; the message says why and how to recover."""


def read_metadata(directory: str | os.PathLike) -> dict:
    path = Path(directory) / METADATA_FILE
    if not path.is_file():
        raise ModelLoadError(f"no trained model in {directory} ({METADATA_FILE} missing): run `python train.py`")
    try:
        metadata = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ModelLoadError(f"{path} is not valid JSON ({error}): {RETRAIN}") from None
    if not isinstance(metadata, dict):
        raise ModelLoadError(f"{path} does not hold a JSON object: {RETRAIN}")
    return metadata
