"""What every corpus reader shares: the example record, the error, and careful decoding."""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path


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


def read_text(path: Path) -> str:
    try:
        data = path.read_bytes()
    except OSError as error:
        raise CorpusError(path, None, f"cannot be read: {error.strerror or error}") from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise CorpusError(path, line, undecodable_message(data, error.start)) from None
    if "\x00" in text:
        raise CorpusError(path, text[: text.index("\x00")].count("\n") + 1, "contains a NUL byte: not a text file")
    return text


SHIFT_JIS_HINT = "looks like Shift_JIS (cp932, as Excel writes it): save it as UTF-8"


def undecodable_message(data: bytes, start: int) -> str:
    """Why ``data`` is not UTF-8, naming the first bad byte; with a hint when the bytes read as
    Shift_JIS (cp932), which Japanese Excel writes for "CSV"."""
    message = f"not valid UTF-8 (byte {data[start]:#04x} at offset {start})"
    try:
        decoded = data.decode("cp932")
    except UnicodeDecodeError:
        return message
    # Bytes that decode as cp932 and hold Japanese (not just Latin-1 noise that happens to decode).
    if any("\u3040" <= c <= "\u30ff" or "\u4e00" <= c <= "\u9fff" for c in decoded):
        return f"{message}; it {SHIFT_JIS_HINT}"
    return message


def parse_json(text: str):
    """``json.loads`` whose every failure is a ValueError with a message a person can act on.

    Besides JSONDecodeError, the decoder raises a plain ValueError for an integer of more than
    4300 digits and RecursionError for arrays nested a few thousand deep.
    """
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        where = f"line {error.lineno} column {error.colno}" if error.lineno > 1 else f"column {error.colno}"
        raise ValueError(f"{error.msg} at {where}") from None
    except ValueError:
        raise ValueError("a number too long to read") from None
    except RecursionError:
        raise ValueError("arrays or objects nested too deeply") from None


def json_value(text: str, path, number, what: str):
    try:
        return parse_json(text)
    except ValueError as error:
        raise CorpusError(path, number, f"{what}: {error}") from None


_SURROGATE = re.compile("[\ud800-\udfff]")


def has_lone_surrogate(value: str) -> bool:
    """A JSON "\\ud800" escape decodes to a lone surrogate: not text, and it cannot be written
    back as UTF-8 or tokenised."""
    return _SURROGATE.search(value) is not None


def no_surrogates(value: str, path, number, column) -> str:
    if has_lone_surrogate(value):
        raise CorpusError(path, number, f"'{column}' holds a lone surrogate (an unpaired \\ud800-\\udfff escape)")
    return value
