"""The blog's own format, and Hatena's Movable Type export of it.

A post is paragraphs (non-empty lines); a tag line with a summary closes a block; bare tag lines
at the end are post tags (docs/FORMAT.md). Lines are kept as written: noise removal (tweet
links, attribution lines) is ``classifier.text``'s job.
"""
from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Iterable

from .base import CorpusError, Example, read_text

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


def read_blog(path: Path) -> list[Example]:
    text = read_text(path)
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
    text = read_text(path)
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


def looks_like_mt(path: Path) -> bool:
    try:
        with open(path, "rb") as handle:
            head = handle.read(2048).decode("utf-8", "ignore").lstrip("\ufeff")
    except OSError as error:
        raise CorpusError(path, None, f"cannot be read: {error.strerror or error}") from None
    first = head.lstrip().split("\n", 1)[0]
    return bool(re.match(r"^(AUTHOR|TITLE|BASENAME|STATUS|DATE|CATEGORY): ", first))
