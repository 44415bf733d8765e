"""What the commands share: progress lines, the data arguments, input files, the default model."""
from __future__ import annotations

import sys
from pathlib import Path

from ..config import DEFAULT_MODEL, TRAINING_DATA
from ..corpus import FORMATS, CorpusError



def stderr_progress(message: str) -> None:
    """``training.stderr_progress``, imported when first used: importing ``training`` at start-up
    would cost every command scikit-learn's import before it can do anything (``suggest`` starts
    its workers first)."""
    from ..training import stderr_progress as say

    say(message)


def add_data_arguments(parser, default_data=True):
    parser.add_argument("--data", nargs="+", default=[str(TRAINING_DATA)] if default_data else None,
                        required=not default_data, metavar="PATH", help="corpus files or folders")
    parser.add_argument("--format", choices=FORMATS, help="force a corpus format instead of detecting it")


def ensure_default_model(model_dir: str) -> None:
    """On a fresh clone there is no trained model yet, and after an update of this code the
    default one may be of an older format: (re)train it from the bundled corpus, which is what
    it is made of. Other model folders are never trained implicitly."""
    from ..metadata import METADATA_FILE, ModelLoadError, read_metadata
    from ..persist import MODEL_FORMAT

    if Path(model_dir).resolve() != DEFAULT_MODEL.resolve():
        return
    if not (DEFAULT_MODEL / METADATA_FILE).exists():
        why = "no model in {} yet"
    else:
        try:
            found = read_metadata(DEFAULT_MODEL).get("model_format")
        except (ModelLoadError, OSError):
            return  # damaged: loading it says so, with the remedy
        if found == MODEL_FORMAT:
            return
        why = f"the model in {{}} has format {found}, this code reads format {MODEL_FORMAT}"
    from ..training import train  # fitting needs scikit-learn; scoring does not

    stderr_progress(f"{why.format(DEFAULT_MODEL)}: training it from {TRAINING_DATA}")
    train([TRAINING_DATA], DEFAULT_MODEL)


def open_input(path: str | None, binary: bool = False):
    """A text stream for a command's input (``binary``: a stream of bytes): standard input for
    None or '-', else the file. A missing file, a folder or an unreadable file is a CorpusError
    naming it (exit code 2)."""
    if path in (None, "-"):
        return sys.stdin.buffer if binary else sys.stdin
    file = Path(path)
    if file.is_dir():
        raise CorpusError(file, None, "is a folder, not a file")
    if not file.exists():
        raise CorpusError(file, None, "no such file")
    try:
        return open(file, "rb") if binary else open(file, encoding="utf-8")
    except OSError as error:
        raise CorpusError(file, None, f"cannot be read: {error.strerror or error}") from None


def describe_undecodable(data: bytes, start: int) -> str:
    """Why bytes are not UTF-8, with a hint when they are Shift_JIS (what Japanese Excel writes)."""
    from ..corpus import undecodable_message

    return undecodable_message(data, start)
