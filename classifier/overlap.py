"""Which evaluation texts a model was trained on: a digest of its training texts.

A model folder holds ``training_texts.sha256``: one line per training text and per paragraph
(line) of it, the first 16 hex digits of the SHA-256 of the text with its whitespace collapsed,
sorted. ``metadata.json`` names the file with its own hash (``training_texts``), so a file left
by an earlier model is never mistaken for this one's. Evaluating on texts the model was trained
on scores memory, not skill: ``evaluate`` says how much of its data overlaps, on stderr and in
the report (``overlap_with_training``).
"""
from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Iterable, Sequence

from .persist import write_atomic

DIGEST_FILE = "training_texts.sha256"
PREFIX_CHARS = 16  # 64 bits: a false match among a million texts has odds of about 1 in 10^7


def normalised(text: str) -> str:
    return " ".join(text.split())


def text_digest(text: str) -> str:
    return hashlib.sha256(normalised(text).encode("utf-8")).hexdigest()[:PREFIX_CHARS]


def training_digests(texts: Iterable[str]) -> list[str]:
    """The digests of every text and of each of its non-empty lines, sorted, without repeats."""
    digests = set()
    for text in texts:
        digests.add(text_digest(text))
        digests.update(text_digest(line) for line in text.splitlines() if line.strip())
    return sorted(digests)


def write_digests(directory: str | Path, texts: Iterable[str]) -> dict:
    """Write the digest file into ``directory``; the entry for the model's metadata."""
    content = "".join(f"{digest}\n" for digest in training_digests(texts))
    write_atomic(Path(directory) / DIGEST_FILE, content)
    return {"file": DIGEST_FILE, "sha256": hashlib.sha256(content.encode("ascii")).hexdigest(),
            "n_digests": content.count("\n")}


def read_digests(directory: str | Path, metadata: dict) -> set[str] | None:
    """The digests of the model's training texts, or None when the folder has none that match
    its metadata (a model written before this existed)."""
    entry = metadata.get("training_texts") or {}
    path = Path(directory) / DIGEST_FILE
    try:
        data = path.read_bytes()
    except OSError:
        return None
    if hashlib.sha256(data).hexdigest() != entry.get("sha256"):
        return None
    return set(data.decode("ascii").split())


def overlap_with_training(directory: str | Path, metadata: dict, texts: Sequence[str]) -> dict | None:
    """How many of ``texts`` the model was trained on: ``share``, ``n_overlapping``, ``n_texts``;
    None when the model folder holds no digest of its training texts."""
    digests = read_digests(directory, metadata)
    if digests is None:
        return None
    overlapping = sum(1 for text in texts if text_digest(text) in digests)
    return {"share": round(overlapping / len(texts), 4) if texts else 0.0, "n_overlapping": overlapping,
            "n_texts": len(texts)}


def describe_overlap(overlap: dict | None) -> str | None:
    """The warning to print, or None when nothing overlaps."""
    if not overlap or not overlap["n_overlapping"]:
        return None
    return (f"{overlap['share']:.0%} of the evaluation texts ({overlap['n_overlapping']} of {overlap['n_texts']}) "
            f"are texts the model was trained on: its scores on them measure memory, not how it does on new "
            f"text; evaluate on texts it has not seen (train.py's own report scores held-out posts)")
