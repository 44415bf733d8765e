"""The suggest command's chunk: lines of input in (paragraphs, or JSON objects with ``text``),
lines of JSON out, one per paragraph. A chunk is what one process (this one or a worker) does.

A chunk may come as one block of the file's bytes (``chunk_lines``): it is decoded and split
here, in the process that scores it, so the process that reads the input does no per-line work
but cut it into chunks, and a chunk crosses to a worker as one object rather than a list of lines.
A worker forked from the process that reads a file shares its descriptor of it: there a chunk
comes as where its lines lie in the file (``FileRange``), and the worker reads them itself, so
the block never crosses a pipe. It may also come read and tokenized already (``Tokenized``, from
``classifier.head_start``).
"""
from __future__ import annotations

import json
import json.scanner
import os
from typing import NamedTuple, Sequence

from .corpus.base import parse_json, undecodable_message


# json.dumps(value, ensure_ascii=False) builds a new encoder on every call (a non-default option),
# which costs more than encoding a short id: one encoder, made once, writes the same text.
_to_json = json.JSONEncoder(ensure_ascii=False).encode


class FileRange(NamedTuple):
    """A chunk's lines as where they lie in the input file: ``length`` bytes from ``offset`` of
    the file open as ``descriptor`` in this process."""

    descriptor: int
    offset: int
    length: int

    def read(self) -> bytes:
        data = os.pread(self.descriptor, self.length, self.offset)
        if len(data) != self.length:
            raise OSError(f"the input file was cut short while it was read (at byte {self.offset + len(data)})")
        return data


class Tokenized(NamedTuple):
    """A chunk read (``read_records``) and tokenized (``Tokenizer.token_strings`` of its texts).
    Its records are (number, id, None): the texts travel as their tokens alone."""

    records: list[tuple[int, object, None]]
    token_strings: list[str]


class BadLine(ValueError):
    """An input line that is not UTF-8, a paragraph or a JSON object with a string ``text``;
    ``number``: the line's number, once known."""

    number: int | None = None


def chunk_lines(chunk: bytes | FileRange | Sequence[bytes | str]) -> Sequence[bytes | str]:
    """The lines of a chunk. A block of bytes (whole lines of the input, as the command reads
    them, or a ``FileRange`` of them) is decoded at once and split where the file's lines end (at
    each newline); a block that is not UTF-8 is split into lines of bytes, so that
    ``read_records`` names the first bad one. A list of lines is returned as it is."""
    if isinstance(chunk, FileRange):
        chunk = chunk.read()
    if not isinstance(chunk, bytes):
        return chunk
    try:
        return chunk.decode("utf-8").split("\n")
    except UnicodeDecodeError:
        return chunk.split(b"\n")


def decoded(line: bytes | str) -> str:
    """An input line as text: bytes are decoded from UTF-8."""
    if isinstance(line, str):
        return line
    try:
        return line.decode("utf-8")
    except UnicodeDecodeError as error:
        raise BadLine(undecodable_message(line, error.start)) from None


# The C scanner that json.loads ends in, called on a line directly: for a short record, the
# Python layers of json.loads (loads, decode, raw_decode, two whitespace matches) cost as much as
# the parse itself. The decoder's defaults are json.loads's, so a value it reads is the same.
_scan_json = json.scanner.make_scanner(json.JSONDecoder())
_JSON_WHITESPACE = " \t\n\r"


def read_records(lines: bytes | Sequence[bytes | str], first: int) -> list[tuple[int, object, str]]:
    """(number, id, text) of every non-blank line of a chunk (``chunk_lines``), numbered from
    ``first``; a bad line raises ``BadLine`` with its ``number``.

    A line that opens a JSON object is read by the scanner alone when it holds nothing else and
    its ``text`` is a string (almost every line of an archive); any other line, and any line the
    scanner refuses, takes ``parse_line``, which reads it or says what is wrong with it.
    """
    records = []
    for number, line in enumerate(chunk_lines(lines), first):
        try:
            line = decoded(line)
            if line[:1] == "{":
                try:
                    record, end = _scan_json(line, 0)
                except (StopIteration, ValueError, RecursionError):
                    record, end = None, 0
                if type(record) is dict and type(record.get("text")) is str \
                        and not line[end:].strip(_JSON_WHITESPACE):
                    records.append((number, record.get("id"), record["text"]))
                    continue
            if line.strip():
                records.append((number, *parse_line(line)))
        except BadLine as error:
            error.number = number
            raise
    return records


def parse_line(line: str) -> tuple[object, str]:
    """(id, text) of one non-blank input line: a paragraph, or a JSON object."""
    if line.lstrip().startswith("{"):
        return parse_record(line)
    return None, line.rstrip("\n")


def parse_record(line: str) -> tuple[object, str]:
    """(id, text) of a JSON input line, ``{"id"?, "text"}``."""
    try:
        record = parse_json(line)
    except ValueError as error:
        raise BadLine(f"invalid JSON: {error}") from None
    if not isinstance(record, dict) or not isinstance(record.get("text"), str):
        raise BadLine("a JSON input line needs a string 'text'")
    return record.get("id"), record["text"]


def format_records(records: Sequence[tuple[int, object, str]], results: Sequence[dict]) -> str:
    """One JSON object a line: ``{"id"?, "line", **answer}`` for each record (number, id, text) and
    its answer (``model.suggest``'s, or an annotated draft's)."""
    out = []
    for (number, identifier, _), answer in zip(records, results):
        record = {"line": number, **answer}
        if identifier is not None:
            record = {"id": identifier, **record}
        out.append(_to_json(record))
    out.append("")
    return "\n".join(out)


def suggest_lines(model, first: int, lines: bytes | Sequence[bytes | str] | Tokenized,
                  options: dict) -> tuple[bytes, int, tuple | None]:
    """What ``python -m classifier suggest`` prints for a chunk's ``lines`` (``chunk_lines``, or
    a ``Tokenized`` chunk; the first line numbered ``first``): (the output, UTF-8, the number of
    records, None), or (b"", 0, (number, message)) when a line is bad: nothing of a chunk with a
    bad line is printed, in one process or many.

    The output is encoded here, in the process that scores the chunk: the process that writes it
    then passes the bytes on, where text would be decoded from the worker's pipe and encoded
    again for stdout."""
    token_strings = None
    if isinstance(lines, Tokenized):
        records, token_strings = lines
    else:
        try:
            records = read_records(lines, first)
        except BadLine as error:
            return b"", 0, (error.number, str(error))
    if not records:
        return b"", 0, None
    texts = [text for _, _, text in records]
    if options.get("explain"):
        if token_strings is not None:
            raise ValueError("a Tokenized chunk has no texts to explain: pass its lines")
        text = format_records(records, model.suggest(texts, **options))
    else:
        text = suggestions_json(model, records, texts, options.get("k"), options.get("threshold"), token_strings)
    return text.encode("utf-8"), len(records), None


def suggestions_json(model, records: Sequence[tuple[int, object, str]], texts: list[str], k, threshold,
                     token_strings: list[str] | None = None) -> str:
    """``format_records(records, model.suggest(texts, k, threshold))``, the same text, made
    from ``model.decide`` for the whole chunk at once: each list ranked and rounded as ``suggest``
    does it, but on the chunk's arrays rather than text by text, and each line joined from pieces
    written once per tag, where ``suggest`` builds a dict per tag and ``json.dumps`` walks it
    again. A test holds the two equal on the corpus for several k and thresholds.
    ``token_strings``: the texts' tokens, when they were tokenized already."""
    from .scorer import ranked_kept

    if token_strings is None:
        probabilities, kept = model.decide(texts, k, threshold)
    else:
        probabilities, kept = model.decide_tokens(token_strings, k, threshold)
    pieces = _tag_pieces(model)
    lists = []
    for columns in (model.linear_columns_, model.post_columns_):
        tags, scores, bounds = ranked_kept(probabilities, kept, columns)
        items = [pieces[j] + _SCORE_TEXT[score] + "}" for j, score in zip(tags, scores)]
        lists.append([", ".join(items[start:end]) for start, end in bounds])
    out = []
    for (number, identifier, _), block, post in zip(records, *lists):
        head = "{" if identifier is None else '{"id": ' + _to_json(identifier) + ", "
        out.append(f'{head}"line": {number}, "tags": [{block}], "post_tags": [{post}]}}')
    out.append("")
    return "\n".join(out)


class _ScoreText(dict):
    """A score's JSON text, made once per score: ``float.__repr__``, what json.dumps writes for a
    finite float, costs twice a dict lookup. Scores are rounded to 4 places between 0 and 1, so
    there are at most 10,001 of them."""

    def __missing__(self, score: float) -> str:
        self[score] = text = repr(score)
        return text


_SCORE_TEXT = _ScoreText()


def _tag_pieces(model) -> list[str]:
    """Each tag's JSON object up to its score."""
    return [f'{{"tag": {json.dumps(tag, ensure_ascii=False)}, "score": ' for tag in model.classes_.tolist()]
