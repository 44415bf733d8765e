"""Read labelled corpora into examples.

Formats: the blog's own post files, Hatena's Movable Type export, JSON Lines, CSV/TSV and a
folder per label. Every reader either returns complete examples or raises ``CorpusError`` naming
the file and line, so a half-read corpus is never trained on.

This module knows formats, not language: it keeps each line as written (tweet links and
attribution lines included) and leaves noise removal to ``classifier.text``.
"""
from __future__ import annotations

import os
import unicodedata
from pathlib import Path
from typing import Iterable, Iterator

from .base import CorpusError, Example, has_lone_surrogate, json_value, parse_json, read_text, undecodable_message
from .blog import looks_like_mt, parse_tag_line, read_blog, read_blog_lines, read_mt
from .layouts import read_delimited, read_folders, read_jsonl

__all__ = ["CorpusError", "Example", "FORMATS", "load_corpus", "detect_format", "iter_corpus_files", "parse_json",
           "has_lone_surrogate", "parse_tag_line", "read_blog", "read_blog_lines", "read_mt", "read_jsonl",
           "read_delimited", "read_folders", "apply_aliases", "load_aliases", "tag_variants", "undecodable_message"]

FORMATS = ("blog", "mt", "jsonl", "csv", "tsv", "folders")
EXTENSION_FORMATS = {".txt": "blog", ".jsonl": "jsonl", ".ndjson": "jsonl", ".csv": "csv", ".tsv": "tsv"}
ALIAS_FILE_NAME = "tag_aliases.json"


READERS = {
    "blog": read_blog,
    "mt": read_mt,
    "jsonl": read_jsonl,
    "csv": lambda path: read_delimited(path, ","),
    "tsv": lambda path: read_delimited(path, "\t"),
    "folders": read_folders,
}


# ---------------------------------------------------------------------------------------------
# Detection and loading

def _is_folder_per_label(root: Path) -> bool:
    """A folder whose only content is sub-folders of plain files, at least two of them."""
    entries = [p for p in root.iterdir() if not p.name.startswith(".")]
    subdirs = [p for p in entries if p.is_dir()]
    return len(subdirs) >= 2 and len(subdirs) == len(entries) and all(
        all(f.is_file() for f in d.iterdir() if not f.name.startswith(".")) for d in subdirs)


def detect_format(path: Path) -> str:
    if path.is_dir():
        return "folders" if _is_folder_per_label(path) else "dir"
    suffix = path.suffix.lower()
    if suffix not in EXTENSION_FORMATS:
        raise CorpusError(path, None, f"cannot tell the format from the name (known endings: "
                                      f"{', '.join(EXTENSION_FORMATS)}); pass --format one of {', '.join(FORMATS)}")
    if suffix == ".txt" and looks_like_mt(path):
        return "mt"
    return EXTENSION_FORMATS[suffix]


def iter_corpus_files(path: Path, format: str | None = None) -> Iterator[tuple[Path, str]]:
    """Yield (file or folder, format) pairs under ``path``; folders are walked in sorted order."""
    if not path.exists():
        raise CorpusError(path, None, "no such file or folder")
    if format is not None and format not in FORMATS:
        raise CorpusError(path, None, f"unknown format {format!r}; expected one of {', '.join(FORMATS)}")
    if format == "folders" or (format is None and path.is_dir() and _is_folder_per_label(path)):
        yield path, "folders"
        return
    if path.is_dir():
        for dirpath, dirnames, filenames in os.walk(path):
            dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
            for name in sorted(filenames):
                file = Path(dirpath) / name
                if not name.startswith(".") and file.suffix.lower() in EXTENSION_FORMATS:
                    yield file, format or detect_format(file)
        return
    yield path, format or detect_format(path)


def load_aliases(path: Path) -> dict[str, str]:
    aliases = json_value(read_text(path), path, None, "invalid JSON")
    if not isinstance(aliases, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in aliases.items()):
        raise CorpusError(path, 1, 'expected a JSON object of "variant": "canonical tag" strings')
    return {k: v for k, v in aliases.items() if not k.startswith("_")}


def find_alias_files(paths: Iterable[Path]) -> list[Path]:
    """Alias files that sit at the top of the given corpus folders."""
    return [p / ALIAS_FILE_NAME for p in paths if p.is_dir() and (p / ALIAS_FILE_NAME).is_file()]


def apply_aliases(examples: list[Example], aliases: dict[str, str]) -> list[Example]:
    if not aliases:
        return examples

    def canon(tags):
        return tuple(dict.fromkeys(aliases.get(tag, tag) for tag in tags))

    return [Example(e.text, canon(e.tags), canon(e.post_tags), e.source, e.group) for e in examples]


def load_corpus(paths: Iterable[str | os.PathLike], format: str | None = None,
                aliases: dict[str, str] | None = None) -> list[Example]:
    """Read every corpus under ``paths``; aliases default to the alias files found beside them."""
    paths = [Path(p) for p in paths]
    if aliases is None:
        aliases = {}
        for alias_file in find_alias_files(paths):
            aliases.update(load_aliases(alias_file))
    examples: list[Example] = []
    for path in paths:
        for file, file_format in iter_corpus_files(path, format):
            examples.extend(READERS[file_format](file))
    return apply_aliases(examples, aliases)


def tag_variants(tags: Iterable[str]) -> list[list[str]]:
    """Groups of distinct tags that are the same after NFKC and case folding (``#ＮＡＴＯ``/``#NATO``)."""
    by_key: dict[str, list[str]] = {}
    for tag in sorted(set(tags)):
        by_key.setdefault(unicodedata.normalize("NFKC", tag).casefold(), []).append(tag)
    return [group for group in by_key.values() if len(group) > 1]
