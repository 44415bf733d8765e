"""Generic labelled-text layouts: JSON Lines, CSV/TSV, and a folder per label."""
from __future__ import annotations

import csv
import io
from pathlib import Path

from .base import CorpusError, Example, json_value, no_surrogates, read_text

def _as_tags(value, path, number, column) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        value = value.strip()
        if value.startswith("["):
            value = json_value(value, path, number, f"'{column}' looks like a JSON list but is not")
        else:
            value = [part for part in value.split("|")] if value else []
    if not isinstance(value, list) or not all(isinstance(tag, str) for tag in value):
        raise CorpusError(path, number, f"'{column}' must be a list of strings or a '|'-separated string, "
                                        f"got {type(value).__name__}")
    return tuple(dict.fromkeys(no_surrogates(tag.strip(), path, number, column) for tag in value if tag.strip()))


def _checked_text(value, path, number) -> str:
    if not isinstance(value, str):
        raise CorpusError(path, number, f"'text' must be a string, got {type(value).__name__}")
    if not value.strip():
        raise CorpusError(path, number, "'text' is empty")
    return no_surrogates(value, path, number, "text")


def read_jsonl(path: Path) -> list[Example]:
    examples = []
    # Lines end at "\n" only (JSON Lines; a "\r" before it is JSON whitespace): str.splitlines()
    # would also break at U+0085, U+2028 and U+2029, which JSON strings may hold unescaped.
    for number, line in enumerate(read_text(path).split("\n"), 1):
        if not line.strip():
            continue
        record = json_value(line, path, number, "invalid JSON")
        if not isinstance(record, dict):
            raise CorpusError(path, number, f"expected a JSON object with 'text' and 'tags', got {type(record).__name__}")
        if "text" not in record:
            raise CorpusError(path, number, "missing 'text'")
        text = _checked_text(record["text"], path, number)
        group = record.get("post", record.get("group"))
        if isinstance(group, str):
            no_surrogates(group, path, number, "post")
        examples.append(Example(text, _as_tags(record.get("tags"), path, number, "tags"),
                                _as_tags(record.get("post_tags"), path, number, "post_tags"),
                                f"{path}:{number}", f"{path.name}#{group if group is not None else number}"))
    return examples


def read_delimited(path: Path, delimiter: str) -> list[Example]:
    text = read_text(path)
    # newline="": rows end at "\n", "\r" or "\r\n" only, as the csv module expects; splitlines()
    # would also break a cell at U+2028 and the like, which csv.writer leaves unquoted.
    reader = csv.DictReader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    start = 1  # the line the record being read starts on
    try:
        header = reader.fieldnames or []
        missing = [column for column in ("text", "tags") if column not in header]
        if missing:
            raise CorpusError(path, 1, f"header must name columns 'text' and 'tags'; missing {missing}, got {header}")
        examples = []
        start = reader.line_num + 1
        for row in reader:
            number = start
            start = reader.line_num + 1
            if None in row or any(value is None for value in row.values()):
                raise CorpusError(path, number, f"row has {len(row) + len(row.get(None, [])) - 1} fields, "
                                                f"header has {len(header)}")
            if not any((value or "").strip() for value in row.values()):
                continue
            body = _checked_text(row["text"], path, number)
            group = row.get("post") or row.get("group") or number
            examples.append(Example(body, _as_tags(row["tags"], path, number, "tags"),
                                    _as_tags(row.get("post_tags"), path, number, "post_tags"),
                                    f"{path}:{number}", f"{path.name}#{group}"))
    except csv.Error as error:
        # At the end of the file (a quote never closed) line_num stops short of the record's start.
        raise CorpusError(path, max(start, reader.line_num),
                          f"malformed {'TSV' if delimiter == chr(9) else 'CSV'}: {error}") from None
    return examples


def read_folders(root: Path) -> list[Example]:
    """``ROOT/<label>/*.txt``: one example a file, labelled with its folder's name."""
    examples = []
    for label_dir in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")):
        for file in sorted(label_dir.iterdir()):
            if file.is_file() and not file.name.startswith("."):
                text = read_text(file)
                if text.strip():
                    examples.append(Example(text.strip(), (label_dir.name,), (), f"{file}:1",
                                            f"{label_dir.name}/{file.name}"))
    if not examples:
        raise CorpusError(root, None, "no <label>/<file> texts found for the folder-per-label layout")
    return examples
