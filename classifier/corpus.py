"""Read labelled corpora into examples.

Formats: the blog's own post files, Hatena's Movable Type export, JSON Lines, CSV/TSV and a
folder per label. Every reader either returns complete examples or raises ``CorpusError`` naming
the file and line, so a half-read corpus is never trained on.

This module knows formats, not language: it keeps each line as written (tweet links and
attribution lines included) and leaves noise removal to ``classifier.text``.
"""
from __future__ import annotations

import csv
import io
import json
import os
import re
import unicodedata
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Iterable, Iterator

FORMATS = ("blog", "mt", "jsonl", "csv", "tsv", "folders")
EXTENSION_FORMATS = {".txt": "blog", ".jsonl": "jsonl", ".ndjson": "jsonl", ".csv": "csv", ".tsv": "tsv"}
ALIAS_FILE_NAME = "tag_aliases.json"


class CorpusError(ValueError):
    """A corpus file that cannot be read; the message starts with ``file:line``."""

    def __init__(self, path, line: int | None, message: str):
        self.path, self.line = str(path), line
        where = f"{path}:{line}" if line else str(path)
        super().__init__(f"{where}: {message}")


@dataclass(frozen=True)
class Example:
    text: str
    tags: tuple[str, ...]
    post_tags: tuple[str, ...] = ()
    source: str = ""
    # Examples of one post share a group: splits keep a post on one side only.
    group: str = field(default="", compare=False)

    @property
    def labels(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(self.tags + self.post_tags))

    def to_json(self) -> dict:
        return {"text": self.text, "tags": list(self.tags), "post_tags": list(self.post_tags),
                "source": self.source}


# ---------------------------------------------------------------------------------------------
# The blog format (see DESIGN.md): paragraphs, tag lines with a summary closing a block, bare
# tag lines at the end of a post as post tags.

# A tag name runs from '#' to '(', '（', '「', whitespace or the next '#'.
_TAG_NAME = re.compile(r"#([^#(（「\s]+)")
# Header and footer chrome of the blog: its own address alone on a line.
_BLOG_ADDRESS_LINE = re.compile(r"^(?:https?://)?[\w-]+\.hatena(?:diary|blog)\.(?:com|jp)/?$")


def parse_tag_line(line: str) -> tuple[list[str], bool]:
    """Split a line starting with '#' into its tag names and whether a summary follows them."""
    tags, position = [], 0
    while position < len(line) and line[position] == "#":
        match = _TAG_NAME.match(line, position)
        if not match:
            break
        tags.append("#" + match.group(1))
        position = match.end()
    has_summary = bool(line[position:].strip())
    return tags, has_summary


def read_blog_lines(lines: Iterable[tuple[int, str]], path, group: str) -> list[Example]:
    """Turn the numbered lines of one post into examples: one per block, plus untagged tails."""
    items = []  # ("para", no, text) | ("tags", no, tags, has_summary)
    for number, raw in lines:
        line = raw.strip()
        if not line or _BLOG_ADDRESS_LINE.match(line):
            continue
        if line.startswith("#"):
            tags, has_summary = parse_tag_line(line)
            if not tags:
                raise CorpusError(path, number, f"tag line has no tag name after '#': {line[:40]!r}")
            items.append(("tags", number, tags, has_summary))
        else:
            items.append(("para", number, line))

    # Bare tag lines after the last paragraph are the post tags.
    post_tags: list[str] = []
    end = len(items)
    while end and items[end - 1][0] == "tags" and not items[end - 1][3]:
        end -= 1
        post_tags[:0] = items[end][2]
    post_tags = list(dict.fromkeys(post_tags))

    examples: list[Example] = []
    paragraphs: list[tuple[int, str]] = []
    for item in items[:end]:
        if item[0] == "para":
            paragraphs.append(item[1:])
            continue
        _, number, tags, _ = item
        if paragraphs:
            examples.append(_block(paragraphs, tags, post_tags, path, group))
            paragraphs = []
        elif examples:
            # A tag line straight after another one names a further tag of the same block.
            previous = examples[-1]
            merged = tuple(dict.fromkeys(previous.tags + tuple(tags)))
            examples[-1] = Example(previous.text, merged, previous.post_tags, previous.source, group)
        else:
            raise CorpusError(path, number, "tag line closes a block with no paragraphs before it")
    if paragraphs:
        # Paragraphs after the last block tag belong to no block: they carry post tags only.
        examples.append(_block(paragraphs, [], post_tags, path, group))
    return examples


def _block(paragraphs, tags, post_tags, path, group) -> Example:
    text = "\n".join(text for _, text in paragraphs)
    return Example(text, tuple(dict.fromkeys(tags)), tuple(post_tags), f"{path}:{paragraphs[0][0]}", group)


def _read_text(path: Path) -> str:
    try:
        data = path.read_bytes()
    except OSError as error:
        raise CorpusError(path, None, f"cannot be read: {error.strerror or error}") from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise CorpusError(path, line, f"not valid UTF-8 (byte {data[error.start]:#04x} at offset {error.start})") from None
    if "\x00" in text:
        raise CorpusError(path, text[: text.index("\x00")].count("\n") + 1, "contains a NUL byte: not a text file")
    return text


def read_blog(path: Path) -> list[Example]:
    text = _read_text(path)
    return read_blog_lines(enumerate(text.splitlines(), 1), path, group=path.name)


# ---------------------------------------------------------------------------------------------
# Hatena's Movable Type export: entries end with a line of 8 '-', sections with a line of 5 '-'.

_MT_KEY = re.compile(r"^([A-Z][A-Z ]*[A-Z]):(?: (.*))?$")
_MT_SECTIONS = {"BODY", "EXTENDED BODY", "EXCERPT", "KEYWORDS", "COMMENT", "PING"}
_BLOCK_ELEMENTS = {"p", "div", "br", "li", "ul", "ol", "blockquote", "h1", "h2", "h3", "h4", "h5", "h6",
                   "tr", "table", "section", "article", "figure", "figcaption", "pre", "hr", "dd", "dt"}


class _HtmlLines(HTMLParser):
    """Collect the text of an HTML body, breaking lines at block elements, skipping scripts."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style"):
            self._skip += 1
        elif tag in _BLOCK_ELEMENTS:
            self.parts.append("\n")

    def handle_endtag(self, tag):
        if tag in ("script", "style"):
            self._skip = max(0, self._skip - 1)
        elif tag in _BLOCK_ELEMENTS:
            self.parts.append("\n")

    def handle_data(self, data):
        if not self._skip:
            self.parts.append(data.replace("\n", " "))


def html_to_lines(markup: str) -> list[str]:
    parser = _HtmlLines()
    parser.feed(markup)
    parser.close()
    return [" ".join(line.split()) for line in "".join(parser.parts).split("\n")]


def read_mt(path: Path) -> list[Example]:
    text = _read_text(path)
    examples: list[Example] = []
    entry_start, section, body, body_start, entry_index, seen_key = 1, None, [], 0, 0, False
    convert_breaks = False
    for number, line in enumerate(text.splitlines() + ["--------"], 1):
        stripped = line.rstrip()
        if stripped == "--------":
            if seen_key or body:
                if section is not None:
                    raise CorpusError(path, number, f"section {section} is not closed by a line of 5 '-'")
                examples.extend(_mt_entry(body, body_start, path, f"{path.name}#{entry_index}", convert_breaks))
                entry_index += 1
            entry_start, section, body, seen_key, convert_breaks = number + 1, None, [], False, False
        elif stripped == "-----":
            section = None
        elif section == "BODY":
            body.append(line)
        elif section is not None:
            continue  # comments, excerpts and pings are not the curator's paragraphs
        elif (match := _MT_KEY.match(stripped)):
            seen_key = True
            key = match.group(1)
            if key == "CONVERT BREAKS":
                convert_breaks = (match.group(2) or "").strip() not in ("", "0")
            if key in _MT_SECTIONS and not (match.group(2) or "").strip():
                section = key
                if key == "BODY":
                    body, body_start = [], number + 1
        elif stripped:
            raise CorpusError(path, number, f"expected 'KEY: value' metadata in the entry starting at line "
                                            f"{entry_start}, got {stripped[:40]!r}")
    if not examples and not text.strip():
        return []
    return examples


def _mt_entry(body: list[str], body_start: int, path: Path, group: str, convert_breaks: bool) -> list[Example]:
    lines = html_to_lines(("<br>" if convert_breaks else "\n").join(body))
    # HTML line breaks no longer match file lines; the entry's BODY line is the honest location.
    return read_blog_lines(((body_start, line) for line in lines), path, group)


def _looks_like_mt(path: Path) -> bool:
    try:
        with open(path, "rb") as handle:
            head = handle.read(2048).decode("utf-8", "ignore").lstrip("\ufeff")
    except OSError as error:
        raise CorpusError(path, None, f"cannot be read: {error.strerror or error}") from None
    first = head.lstrip().split("\n", 1)[0]
    return bool(re.match(r"^(AUTHOR|TITLE|BASENAME|STATUS|DATE|CATEGORY): ", first))


# ---------------------------------------------------------------------------------------------
# Generic layouts: JSON Lines, CSV/TSV, a folder per label.

def _json_value(text: str, path, number, what: str):
    """``json.loads`` whose every failure is a CorpusError at ``path:number``.

    Besides JSONDecodeError, the decoder raises a plain ValueError for an integer of more than
    4300 digits and RecursionError for arrays nested a few thousand deep.
    """
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise CorpusError(path, number, f"{what}: {error.msg} (column {error.colno})") from None
    except ValueError:
        raise CorpusError(path, number, f"{what}: a number too long to read") from None
    except RecursionError:
        raise CorpusError(path, number, f"{what}: arrays or objects nested too deeply") from None


_SURROGATE = re.compile("[\ud800-\udfff]")


def _no_surrogates(value: str, path, number, column) -> str:
    # A JSON "\ud800" escape decodes to a lone surrogate: not text, and it cannot be written
    # back as UTF-8 or tokenised.
    if _SURROGATE.search(value):
        raise CorpusError(path, number, f"'{column}' holds a lone surrogate (an unpaired \\ud800-\\udfff escape)")
    return value


def _as_tags(value, path, number, column) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        value = value.strip()
        if value.startswith("["):
            value = _json_value(value, path, number, f"'{column}' looks like a JSON list but is not")
        else:
            value = [part for part in value.split("|")] if value else []
    if not isinstance(value, list) or not all(isinstance(tag, str) for tag in value):
        raise CorpusError(path, number, f"'{column}' must be a list of strings or a '|'-separated string, "
                                        f"got {type(value).__name__}")
    return tuple(dict.fromkeys(_no_surrogates(tag.strip(), path, number, column) for tag in value if tag.strip()))


def _checked_text(value, path, number) -> str:
    if not isinstance(value, str):
        raise CorpusError(path, number, f"'text' must be a string, got {type(value).__name__}")
    if not value.strip():
        raise CorpusError(path, number, "'text' is empty")
    return _no_surrogates(value, path, number, "text")


def read_jsonl(path: Path) -> list[Example]:
    examples = []
    # Lines end at "\n" only (JSON Lines; a "\r" before it is JSON whitespace): str.splitlines()
    # would also break at U+0085, U+2028 and U+2029, which JSON strings may hold unescaped.
    for number, line in enumerate(_read_text(path).split("\n"), 1):
        if not line.strip():
            continue
        record = _json_value(line, path, number, "invalid JSON")
        if not isinstance(record, dict):
            raise CorpusError(path, number, f"expected a JSON object with 'text' and 'tags', got {type(record).__name__}")
        if "text" not in record:
            raise CorpusError(path, number, "missing 'text'")
        text = _checked_text(record["text"], path, number)
        group = record.get("post", record.get("group"))
        if isinstance(group, str):
            _no_surrogates(group, path, number, "post")
        examples.append(Example(text, _as_tags(record.get("tags"), path, number, "tags"),
                                _as_tags(record.get("post_tags"), path, number, "post_tags"),
                                f"{path}:{number}", f"{path.name}#{group if group is not None else number}"))
    return examples


def read_delimited(path: Path, delimiter: str) -> list[Example]:
    text = _read_text(path)
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
                text = _read_text(file)
                if text.strip():
                    examples.append(Example(text.strip(), (label_dir.name,), (), f"{file}:1",
                                            f"{label_dir.name}/{file.name}"))
    if not examples:
        raise CorpusError(root, None, "no <label>/<file> texts found for the folder-per-label layout")
    return examples


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
    if suffix == ".txt" and _looks_like_mt(path):
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
    text = _read_text(path)
    try:
        aliases = json.loads(text)
    except json.JSONDecodeError as error:
        raise CorpusError(path, error.lineno, f"invalid JSON: {error.msg}") from None
    except (ValueError, RecursionError):
        aliases = _json_value(text, path, 1, "invalid JSON")
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

