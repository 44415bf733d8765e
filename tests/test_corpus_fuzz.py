"""Bad input, tried systematically: property-based tests of the corpus readers (hypothesis).

The contract under test: a reader either returns complete examples or raises ``CorpusError``
naming the file and the line; no other exception escapes, whatever the bytes in the file.
(Normalisation and tokenisation of any ``str`` are fuzzed in test_text.py.)

Each test is bounded (``max_examples``) so the module runs in seconds; RELIABILITY.md lists what
was tried and what came out.
"""
import csv
import io
import json
import tempfile
from contextlib import contextmanager
from pathlib import Path

import pytest
from hypothesis import assume, example, given
from hypothesis import strategies as st

from classifier.corpus import READERS, CorpusError, Example, load_corpus
from tests.support.fuzz import ANY_CHARACTER, FUZZ

# Text that can be written to a UTF-8 file (no lone surrogates), of every other category.
FILE_CHARACTER = st.characters(exclude_categories=["Cs"])
# Characters that str.splitlines() (and so the blog reader) treats as line breaks.
LINE_BREAKS = "\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"

FILE_NAMES = {"blog": "post.txt", "mt": "export.txt", "jsonl": "data.jsonl", "csv": "data.csv", "tsv": "data.tsv"}


@contextmanager
def corpus_file(data: bytes, format: str):
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / FILE_NAMES[format]
        path.write_bytes(data)
        yield path


def read_or_refuse(data: bytes, format: str):
    """Read ``data`` as a file of ``format``; check the reader's contract either way."""
    with corpus_file(data, format) as path:
        try:
            examples = READERS[format](path)
        except CorpusError as error:
            assert error.path == str(path)
            assert str(error).startswith(f"{path}:")
            lines = max(data.count(b"\n") + data.count(b"\r"), len(data.decode("utf-8", "replace").splitlines())) + 2
            assert error.line is not None and 1 <= error.line <= lines, str(error)
            return None
    for item in examples:
        check_example(item)
    return examples


def check_example(item: Example):
    assert isinstance(item, Example)
    assert isinstance(item.text, str) and item.text.strip()
    for tag in item.tags + item.post_tags:
        assert isinstance(tag, str) and tag.strip()
    # Whatever a reader accepts can be written as UTF-8 (metadata, reports) and tokenised.
    for value in (item.text, *item.tags, *item.post_tags):
        value.encode("utf-8")


# --------------------------------------------------------------------------------------------
# arbitrary bytes and arbitrary text, in every format


@FUZZ
@given(data=st.binary(max_size=400), format=st.sampled_from(sorted(FILE_NAMES)))
@example(data=b"", format="blog")
@example(data=b"\xef\xbb\xbf", format="jsonl")  # a byte-order mark alone
@example(data=b"\xed\xa0\x80", format="blog")  # an encoded lone surrogate: not UTF-8
@example(data=b"text,tags\n\"\xff\",#a\n", format="csv")
@example(data=b"AUTHOR: x\n-----\nBODY:\n\x00\n", format="mt")
def test_readers_take_any_bytes(data, format):
    read_or_refuse(data, format)


@FUZZ
@given(text=st.text(FILE_CHARACTER, max_size=300), format=st.sampled_from(sorted(FILE_NAMES)))
@example(text="#\n", format="blog")
@example(text="#a\n#b\n#c\n", format="blog")  # only tag lines
@example(text="text,tags\n", format="csv")  # only a header
@example(text="text\ttags\n\"unterminated\t#a\n", format="tsv")
@example(text="[" * 5000, format="jsonl")  # deeper than the JSON decoder's recursion limit
@example(text='{"text": "a", "tags": ' + "9" * 5000 + "}", format="jsonl")  # an int over 4300 digits
@example(text='text,tags\na,"' + "[" * 5000 + '"\n', format="csv")
@example(text='text,tags\na,"[' + "9" * 5000 + ']"\n', format="csv")
def test_readers_take_any_text(text, format):
    read_or_refuse(text.encode("utf-8"), format)


HTML_PIECES = st.sampled_from([
    "<p>", "</p>", "<br>", "<br/>", "<div>", "</div>", "<script>", "</script>", "<style>x{}</style>",
    "<blockquote class=\"twitter-tweet\">", "</blockquote>", "<a href=\"https://t.co/x\">", "</a>", "&mdash;",
    "&amp;", "&#0;", "&#xD800;", "&#x110000;", "&#12354;", "&bogus;", "<!--", "-->", "<![CDATA[", "]]>", "<", ">",
    "<p", "\n", "#タグ(まとめ)\n", "#後タグ\n", "日銀は利上げを決めた。", "— NHK (@nhk_news) January 3, 2024",
])


@FUZZ
@given(pieces=st.lists(st.one_of(HTML_PIECES, st.text(FILE_CHARACTER, max_size=20)), max_size=40),
       convert_breaks=st.booleans())
def test_movable_type_export_takes_any_html_body(pieces, convert_breaks):
    body = "".join(pieces)
    export = (f"AUTHOR: d1021\nTITLE: t\nCONVERT BREAKS: {int(convert_breaks)}\n-----\nBODY:\n{body}\n-----\n"
              "--------\n")
    read_or_refuse(export.encode("utf-8"), "mt")


# --------------------------------------------------------------------------------------------
# JSON Lines: arbitrary JSON values, lone surrogates, and a round trip of any text


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(ANY_CHARACTER, max_size=10),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.sampled_from(
        ["text", "tags", "post_tags", "post", "group", "x"]), children, max_size=4),
    max_leaves=8)


@FUZZ
@given(records=st.lists(JSON_VALUES, min_size=1, max_size=5), ensure_ascii=st.booleans())
@example(records=[{"text": "本文\ud800", "tags": ["#a"]}], ensure_ascii=True)  # "\ud800" escape in the file
@example(records=[{"text": "本文", "tags": ["#\udc80"]}], ensure_ascii=True)
def test_jsonl_reader_takes_any_json_values(records, ensure_ascii):
    data = "\n".join(json.dumps(record, ensure_ascii=ensure_ascii) for record in records)
    read_or_refuse(data.encode("utf-8", "surrogatepass"), "jsonl")


# What a file can hold as text, NUL aside (a NUL makes it "not a text file").
CELL_CHARACTER = st.characters(exclude_categories=["Cs"], exclude_characters="\x00")
LABEL = st.text(CELL_CHARACTER, min_size=1, max_size=12).filter(lambda tag: tag.strip() and "|" not in tag)
RECORD = st.fixed_dictionaries({
    "text": st.text(CELL_CHARACTER, min_size=1, max_size=60).filter(str.strip),
    "tags": st.lists(LABEL, max_size=3, unique_by=str.strip),
    "post_tags": st.lists(LABEL, max_size=2, unique_by=str.strip),
})


@FUZZ
@given(records=st.lists(RECORD, min_size=1, max_size=5), line_end=st.sampled_from(["\n", "\r\n"]))
@example(records=[{"text": "一行目\u2028二行目", "tags": ["#a"], "post_tags": []}], line_end="\n")
@example(records=[{"text": "NEL\x85の後", "tags": [], "post_tags": []}], line_end="\n")
def test_jsonl_written_by_json_dumps_reads_back_the_same(records, line_end):
    """Regression: the reader split lines with str.splitlines(), which also breaks at U+2028,
    U+2029 and U+0085; json.dumps(ensure_ascii=False) leaves those raw inside strings, so a valid
    JSON Lines file (the service's own feedback file among them) failed to load."""
    data = line_end.join(json.dumps(record, ensure_ascii=False) for record in records) + line_end
    examples = read_or_refuse(data.encode("utf-8"), "jsonl")
    assert examples is not None
    assert [(e.text, e.tags, e.post_tags) for e in examples] == [
        (r["text"], tuple(dict.fromkeys(t.strip() for t in r["tags"])),
         tuple(dict.fromkeys(t.strip() for t in r["post_tags"]))) for r in records]


# --------------------------------------------------------------------------------------------
# CSV and TSV: a round trip through the csv module


@FUZZ
@given(records=st.lists(RECORD, min_size=1, max_size=5), delimiter=st.sampled_from([",", "\t"]))
@example(records=[{"text": "一行目\u2028二行目", "tags": ["#a"], "post_tags": []}], delimiter=",")
@example(records=[{"text": "x\x1cy", "tags": ["#a"], "post_tags": []}], delimiter="\t")
def test_delimited_written_by_csv_writer_reads_back_the_same(records, delimiter):
    """Regression: rows were split with str.splitlines(), so an unquoted cell holding U+2028 or
    another Unicode line break (csv.writer does not quote those) broke its row in two."""
    assume(not any("|".join(record[field]).strip().startswith("[") for record in records
                   for field in ("tags", "post_tags")))  # a cell starting with '[' is read as a JSON list
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, delimiter=delimiter)
    writer.writerow(["text", "tags", "post_tags"])
    for record in records:
        writer.writerow([record["text"], "|".join(record["tags"]), "|".join(record["post_tags"])])
    format = "csv" if delimiter == "," else "tsv"
    examples = read_or_refuse(buffer.getvalue().encode("utf-8"), format)
    assert examples is not None
    assert [(e.text, e.tags, e.post_tags) for e in examples] == [
        (r["text"], tuple(dict.fromkeys(t.strip() for t in r["tags"])),
         tuple(dict.fromkeys(t.strip() for t in r["post_tags"]))) for r in records]


# --------------------------------------------------------------------------------------------
# The blog format: generated posts read back as the blocks they were written as


PARAGRAPH = st.text(st.characters(exclude_categories=["Cs"], exclude_characters=LINE_BREAKS + "\x00\ufeff"),
                    min_size=1, max_size=40).filter(lambda line: line.strip() and not line.strip().startswith("#"))
TAG_NAME = st.text(st.characters(exclude_categories=["Cs", "Zs", "Zl", "Zp", "Cc"],
                                 exclude_characters="#(（「" + LINE_BREAKS), min_size=1, max_size=8)
SUMMARY = st.text(st.characters(exclude_categories=["Cs"], exclude_characters=LINE_BREAKS + "\x00"), max_size=20).map(
    lambda s: "(" + s + ")")


@FUZZ
@given(blocks=st.lists(st.tuples(st.lists(PARAGRAPH, min_size=1, max_size=3), TAG_NAME, SUMMARY), max_size=4),
       tail=st.lists(PARAGRAPH, max_size=2), post_tags=st.lists(TAG_NAME, max_size=3, unique=True),
       blank=st.sampled_from(["", "\n", "\n\n　\n"]), line_end=st.sampled_from(["\n", "\r\n"]))
def test_blog_posts_read_back_as_written(blocks, tail, post_tags, blank, line_end):
    assume(blocks or tail)
    from classifier.corpus.blog import _BLOG_ADDRESS_LINE

    assume(not any(_BLOG_ADDRESS_LINE.match(p.strip()) for ps, _, _ in blocks for p in ps))
    assume(not any(_BLOG_ADDRESS_LINE.match(p.strip()) for p in tail))
    lines = []
    for paragraphs, tag, summary in blocks:
        lines += paragraphs + [f"#{tag}{summary}", blank]
    lines += tail + [f"#{tag}" for tag in post_tags]
    text = line_end.join(lines) + line_end
    examples = read_or_refuse(text.encode("utf-8"), "blog")
    assert examples is not None
    post = tuple(f"#{tag}" for tag in post_tags)
    expected = [("\n".join(p.strip() for p in paragraphs), (f"#{tag}",), post) for paragraphs, tag, _ in blocks]
    if tail:
        expected.append(("\n".join(p.strip() for p in tail), (), post))
    assert [(e.text, e.tags, e.post_tags) for e in examples] == expected


# --------------------------------------------------------------------------------------------
# Large and degenerate files, named


@pytest.mark.parametrize("format, content", [
    ("blog", "日銀" * 600_000 + "\n#日銀(長い段落)\n"),  # one 1.2-million-character line
    ("jsonl", json.dumps({"text": "長" * 1_000_000, "tags": ["#a"]}) + "\n"),
    ("csv", "text,tags\n\"" + "長" * 200_000 + "\",#a\n"),  # over csv's 131072-character field limit
    ("blog", ""), ("jsonl", ""), ("csv", ""), ("tsv", ""), ("mt", ""),
    ("blog", "\n\n  \n　\n"),
    ("blog", "#a\n#b(まとめ)\n"),  # a block tag with nothing before it
    ("blog", "#日銀\n#FRB\n#NATO\n"),  # only post tag lines: no text, nothing to learn
    ("mt", "AUTHOR: a\n-----\nBODY:\n<p>本文</p>\n"),  # a section never closed
])
def test_huge_and_degenerate_files(format, content):
    read_or_refuse(content.encode("utf-8"), format)


@pytest.mark.parametrize("format, content, line", [
    ("csv", 'text,tags\na,#b\n"never closed\nmore\n', 3),  # regression: was reported without a line
    ("tsv", '"header never closed', 1),
    ("jsonl", '{"text": "a", "tags": []}\n' + "[" * 5000 + "\n", 2),  # regression: RecursionError escaped
    ("jsonl", '{"text": "a", "tags": []}\n{"text": "b", "tags": [' + "1" * 5000 + "]}\n", 2),  # ValueError
    ("jsonl", '{"text": "a", "tags": []}\n\n{"text": "b\\udc00", "tags": []}\n', 3),  # lone surrogate
    ("jsonl", '{"text": "a", "tags": ["#\\ud800"]}\n', 1),
    ("jsonl", '{"text": "a", "tags": [], "post": "\\ud800"}\n', 1),
    ("csv", 'text,tags\na,"[[[' + "[" * 5000 + '"\n', 2),
])
def test_errors_name_the_line(tmp_path, format, content, line):
    path = tmp_path / FILE_NAMES[format]
    path.write_text(content, encoding="utf-8")
    with pytest.raises(CorpusError) as raised:
        load_corpus([path])
    assert (raised.value.path, raised.value.line) == (str(path), line), str(raised.value)


def test_unreadable_file_in_a_corpus_folder_is_a_corpus_error_naming_it(tmp_path):
    """Regression: a corpus file that cannot be opened (here a dangling link met while walking a
    corpus folder) escaped as a bare FileNotFoundError instead of CorpusError."""
    (tmp_path / "post.txt").write_text("本文\n#タグ(まとめ)\n", encoding="utf-8")
    for name in ("gone.txt", "gone.jsonl"):
        link = tmp_path / name
        link.symlink_to(tmp_path / "missing-target")
        with pytest.raises(CorpusError) as raised:
            load_corpus([tmp_path])
        assert raised.value.path == str(link) and "cannot be read" in str(raised.value)
        link.unlink()
    assert len(load_corpus([tmp_path])) == 1
