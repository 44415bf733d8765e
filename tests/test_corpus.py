"""classifier.corpus: the blog and Movable Type readers, the generic layouts (JSON Lines, CSV,
TSV, folders), format detection, errors naming file and line, and tag aliases."""
import json

import pytest

from classifier.corpus import (CorpusError, Example, apply_aliases, detect_format, load_corpus, parse_tag_line,
                               read_blog, read_mt, tag_variants)
from tests.support.paths import FIXTURES, ROOT

SEEDS = ROOT.parent / "shared" / "seeds"
POST_TAGS = ("#NATOexpansion", "#反ロシア", "#対中露戦")

TAG_LINES = [
    ("#ウクライナ軍事支援(クレバ外相「プランBはない」)", ["#ウクライナ軍事支援"], True),
    ("#NATO「最大1000発の地対空ミサイル」", ["#NATO"], True),
    ("#反ロシア#対中露戦", ["#反ロシア", "#対中露戦"], False),
    ("#NATOexpansion", ["#NATOexpansion"], False),
    ("#日銀（植田総裁）", ["#日銀"], True),
    ("#日米 首脳会談", ["#日米"], True),
    ("#A#B(まとめ)", ["#A", "#B"], True),
    ("#", [], True),
]


@pytest.mark.parametrize("line, tags, has_summary", TAG_LINES)
def test_parse_tag_line(line, tags, has_summary):
    assert parse_tag_line(line) == (tags, has_summary)


def blocks(examples):
    return [(e.tags, e.post_tags, len(e.text.splitlines())) for e in examples]


def test_post_with_blank_lines_header_footer_and_untagged_tail():
    examples = read_blog(FIXTURES / "post_blank_lines.txt")
    assert blocks(examples) == [
        (("#ウクライナ軍事支援",), POST_TAGS, 4),
        # a tag line straight after another adds a tag to the same block
        (("#ウクライナインフラ攻撃", "#停電"), POST_TAGS, 2),
        (("#ウクライナ戦況",), POST_TAGS, 1),
        ((), POST_TAGS, 1),  # after the last block tag: post tags only
    ]
    assert examples[0].text.startswith("ノルウェー政府、ウクライナに防空システム追加供与へ https://t.co/")
    assert examples[0].source.endswith("post_blank_lines.txt:4")
    assert not any("hatena" in e.text for e in examples)
    assert {e.group for e in examples} == {"post_blank_lines.txt"}


def test_post_without_blank_lines_or_post_tags():
    examples = read_blog(FIXTURES / "post_no_blank_lines.txt")
    assert blocks(examples) == [(("#日銀",), (), 4), (("#FRB",), (), 1)]


@pytest.mark.skipif(not SEEDS.is_dir(), reason="../shared/seeds not present; fixtures cover the format")
def test_seed_000_blocks_as_a_careful_reader_sees_them():
    examples = read_blog(next(SEEDS.glob("000_*.txt")))
    assert blocks(examples) == [
        (("#ウクライナインフラ攻撃",), POST_TAGS, 9),  # two quoted tweets, five paragraphs
        (("#NATO",), POST_TAGS, 4),
        (("#ウクライナ軍事支援",), POST_TAGS, 7),
        ((), POST_TAGS, 14),  # the prisoner exchange: no block tag of its own
    ]
    assert examples[3].text.startswith("ロシアとウクライナが大規模な捕虜交換")
    assert examples[3].text.endswith("分析しています。")


@pytest.mark.skipif(not SEEDS.is_dir(), reason="../shared/seeds not present; fixtures cover the format")
def test_seed_002_blocks_as_a_careful_reader_sees_them():
    examples = read_blog(next(SEEDS.glob("002_*.txt")))
    assert [e.tags for e in examples] == [("#ウクライナ軍事支援",), ("#ウクライナ戦力",), ("#ウクライナミサイル攻撃",),
                                          ("#ウクライナミサイル攻撃",), ("#ウクライナミサイル攻撃",), ("#日波",)]
    assert all(e.post_tags == POST_TAGS for e in examples)
    assert [len(e.text.splitlines()) for e in examples] == [6, 11, 6, 4, 7, 6]
    assert not any("hatena" in e.text for e in examples)


def test_movable_type_export():
    examples = read_mt(FIXTURES / "hatena_export.txt")
    assert [(e.tags, e.post_tags) for e in examples] == [(("#ウクライナ軍事支援",), ("#NATOexpansion",)), (("#日銀",), ())]
    first = examples[0].text.splitlines()
    assert first[0].startswith("ノルウェー、防空システムを追加供与 https://t.co/")
    assert first[1] == "— ロイター (@ReutersJapan) February 12, 2024"
    assert "約30億クローネ&年内" in examples[0].text  # entities decoded
    assert "コメント" not in examples[0].text  # comments are not paragraphs
    assert examples[1].text.splitlines() == ["日銀は26日、短期金利の誘導目標を据え置いた。", "植田総裁は会見で円安の影響に言及した。"]
    assert examples[0].group != examples[1].group  # each entry is its own post


def test_jsonl_csv_tsv_and_folders():
    jsonl = load_corpus([FIXTURES / "examples.jsonl"])
    assert [(e.tags, e.post_tags) for e in jsonl] == [(("#日銀",), ()), (("#FRB", "#米経済"), ("#市場",)), ((), ())]
    assert jsonl[1].source.endswith("examples.jsonl:3")
    csv_examples = load_corpus([FIXTURES / "examples.csv"])
    assert [e.tags for e in csv_examples] == [("#日銀",), ("#FRB", "#米経済"), ()]
    assert csv_examples[1].text == "FRBは利下げを見送った。改行を\n含む"
    assert csv_examples[2].source.endswith("examples.csv:5")  # a quoted line break moves the next row
    tsv = load_corpus([FIXTURES / "examples.tsv"])
    assert [e.tags for e in tsv] == [("#日銀",), ("#FRB", "#米経済")]
    folders = load_corpus([FIXTURES / "folders"])
    assert sorted(e.tags for e in folders) == [("sport",), ("sport",), ("weather",)]


@pytest.mark.parametrize("name, expected", [
    ("post_blank_lines.txt", "blog"), ("hatena_export.txt", "mt"), ("examples.jsonl", "jsonl"),
    ("examples.csv", "csv"), ("examples.tsv", "tsv"), ("folders", "folders"),
])
def test_format_detection(name, expected):
    assert detect_format(FIXTURES / name) == expected


def test_format_can_be_forced(tmp_path):
    path = tmp_path / "export.data"
    path.write_text('{"text": "日銀が利上げ", "tags": ["#日銀"]}\n', encoding="utf-8")
    with pytest.raises(CorpusError, match="cannot tell the format"):
        load_corpus([path])
    assert load_corpus([path], format="jsonl")[0].tags == ("#日銀",)


BAD_FILES = [
    ("bad.jsonl", '{"text": "ok", "tags": []}\n{"text": "broken",\n', "bad.jsonl:2: invalid JSON"),
    ("bad.jsonl", '{"text": 5, "tags": []}\n', "bad.jsonl:1: 'text' must be a string"),
    ("bad.jsonl", '{"text": "ok", "tags": "#a"}\n{"tags": []}\n', "bad.jsonl:2: missing 'text'"),
    ("bad.jsonl", '{"text": "ok", "tags": [1]}\n', "bad.jsonl:1: 'tags' must be a list of strings"),
    ("bad.csv", "body,tags\nx,y\n", "bad.csv:1: header must name columns 'text' and 'tags'"),
    ("bad.csv", "text,tags\nok,#a\ntoo,many,fields\n", "bad.csv:3: row has 3 fields"),
    ("bad.txt", "段落です。\n#\n", "bad.txt:2: tag line has no tag name"),
    ("bad.txt", "#日銀(まとめ)\n段落\n", "bad.txt:1: tag line closes a block with no paragraphs"),
    ("bad.txt", b"\xe6\x97\xa5\xe9\x8a\x80\n\xff\xfe broken\n", "bad.txt:2: not valid UTF-8"),
    ("bad.txt", "AUTHOR: me\nTITLE: t\n-----\nBODY:\n<p>x</p>\n--------\n", "bad.txt:6: section BODY is not closed"),
]


@pytest.mark.parametrize("name, content, message", BAD_FILES)
def test_malformed_files_name_file_and_line(tmp_path, name, content, message):
    path = tmp_path / name
    path.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
    with pytest.raises(CorpusError) as error:
        load_corpus([path])
    assert message in str(error.value)
    assert str(error.value).startswith(str(path))


def test_one_bad_file_fails_the_whole_corpus(tmp_path):
    (tmp_path / "a.txt").write_text("段落です。\n#日銀(まとめ)\n", encoding="utf-8")
    (tmp_path / "b.jsonl").write_text("not json\n", encoding="utf-8")
    with pytest.raises(CorpusError, match="b.jsonl:1"):
        load_corpus([tmp_path])


def test_folder_walk_reads_data_files_and_alias_file(tmp_path):
    (tmp_path / "posts").mkdir()
    (tmp_path / "posts" / "a.txt").write_text("NATOが会合を開いた。\n#ＮＡＴＯ(会合)\n", encoding="utf-8")
    (tmp_path / "feedback.jsonl").write_text('{"text": "追加の例", "tags": ["#NATO"]}\n', encoding="utf-8")
    (tmp_path / "README.md").write_text("# not data\n", encoding="utf-8")
    (tmp_path / "tag_aliases.json").write_text('{"_comment": "x", "#ＮＡＴＯ": "#NATO"}', encoding="utf-8")
    examples = load_corpus([tmp_path])
    assert [e.tags for e in examples] == [("#NATO",), ("#NATO",)]
    assert [e.tags for e in load_corpus([tmp_path], aliases={})] == [("#NATO",), ("#ＮＡＴＯ",)]


def test_aliases_merge_duplicates_after_mapping():
    example = Example("x", ("#東京五輪", "#東京オリンピック"), ("#ＮＡＴＯ",))
    merged = apply_aliases([example], {"#東京五輪": "#東京オリンピック", "#ＮＡＴＯ": "#NATO"})[0]
    assert merged.tags == ("#東京オリンピック",) and merged.post_tags == ("#NATO",)


def test_tag_variants_groups_width_and_case():
    assert tag_variants(["#ＮＡＴＯ", "#NATO", "#nato", "#日銀"]) == [["#NATO", "#nato", "#ＮＡＴＯ"]]


def test_example_json_has_the_four_documented_keys():
    example = read_blog(FIXTURES / "post_no_blank_lines.txt")[0]
    assert set(json.loads(json.dumps(example.to_json()))) == {"text", "tags", "post_tags", "source"}
