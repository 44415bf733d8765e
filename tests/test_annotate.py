"""``annotate``: a draft post in, the post with drafted tag lines out (issue 15).

Every draft here is invented text. The real posts are read from /work/shared/seeds when that
folder exists; those checks skip without it.
"""
import json
import re
from pathlib import Path

import pytest

from classifier.annotate import annotate, read_draft, strip_tag_lines
from classifier.annotate_eval import evaluate_annotate, posts_of, reference_post
from classifier.cli import main
from classifier.corpus import load_corpus, parse_tag_line
from classifier.summary import SUMMARY_CAP, draft_summary

SEEDS = Path("/work/shared/seeds")

SWAP = """ロシアとウクライナが捕虜を交換 双方で計150人が帰還 https://t.co/AbCdEf1234
— 架空通信 (@kakuu_news) March 2, 2031
ウクライナ大統領府は2日、ロシアとの捕虜交換で兵士75人が帰還したと発表した。仲介は中東の国が担った。
ロシア国防省も自国の兵士75人が戻ったと明らかにした。捕虜の交換は三か月ぶりとなる。
人権担当のコワレンコ氏は「捕虜の最後の一人が家に帰るまで交渉の席を立たない」と述べた。"""

NATO = """NATO、防空ミサイル500発を共同調達へ https://t.co/ZyXwVu9876
— 架空通信 (@kakuu_news) March 2, 2031
北大西洋条約機構(NATO)は2日、加盟国のために地対空ミサイル500発を共同で調達すると発表した。
加盟国の国防相会合では、防衛費を国内総生産の2%以上とする目標の前倒しも話し合われた。
NATOの事務総長は「同盟の防空をこれまでになく強くする」と語った。"""

COOKING = """秋の味覚 栗ご飯の炊き方 https://t.co/QwErTy5678
— 架空料理 (@kakuu_cook) March 2, 2031
栗は熱湯に10分ほどつけてから鬼皮をむくと、渋皮まできれいにむける。
米2合に対して栗を15個ほど入れ、塩と酒で味を調えて普通に炊く。"""


def _draft(*blocks, blank=False):
    return ("\n\n" if blank else "\n").join(blocks) + "\n"


# ---------------------------------------------------------------------------------------------
# blocks

def test_a_tweet_after_paragraphs_starts_a_block():
    draft = read_draft(_draft(SWAP, NATO))
    assert [b.paragraphs for b in draft.blocks] == [SWAP.split("\n"), NATO.split("\n")]
    assert draft.blocks[1].line_numbers[0] == len(SWAP.split("\n")) + 1


def test_tweets_in_a_row_stay_in_one_block():
    second_tweet = ["捕虜交換 兵士ら75人が帰還https://t.co/Zz9Yy8Xx7W #nhk_news",
                    "— NHKニュース (@nhk_news) March 2, 2031"]
    head = SWAP.split("\n")
    assert len(read_draft("\n".join(head[:2] + second_tweet + head[2:])).blocks) == 1


def test_a_written_tag_line_closes_a_block_and_is_kept_as_written():
    written = "#捕虜交換(コワレンコ氏「最後の一人が家に帰るまで」)"
    paragraphs_only = [line for line in SWAP.split("\n") if "t.co" not in line and "@" not in line]
    text = _draft("\n".join(paragraphs_only), written, NATO.split("\n", 2)[2])
    draft = read_draft(text)
    assert len(draft.blocks) == 2
    assert draft.blocks[0].written == [written] and not draft.blocks[1].written


def test_blank_lines_or_none_give_the_same_blocks():
    tight, loose = read_draft(_draft(SWAP, NATO, COOKING)), read_draft("\n\n".join(
        line for block in (SWAP, NATO, COOKING) for line in block.split("\n")) + "\n")
    assert [b.paragraphs for b in tight.blocks] == [b.paragraphs for b in loose.blocks]
    assert not tight.blank_lines and loose.blank_lines


def test_post_tags_and_address_lines_are_kept_apart():
    text = "https://example.hatenadiary.com\n" + _draft(SWAP, NATO) + "#反ロシア#対中露戦\nexample.hatenadiary.jp\n"
    draft = read_draft(text)
    assert draft.header == ["https://example.hatenadiary.com"] and draft.footer == ["example.hatenadiary.jp"]
    assert draft.post_tag_lines == ["#反ロシア#対中露戦"] and len(draft.blocks) == 2


def test_a_tag_line_before_any_paragraph_is_an_error():
    with pytest.raises(ValueError, match="line 1"):
        read_draft("#NATO(要約)\n" + NATO)


def test_topic_cue_splits_neighbouring_topics_without_tweets(bundled_model):
    no_tweets = [line for block in (SWAP, NATO) for line in block.split("\n") if "t.co" not in line and "@" not in line]
    draft = annotate(bundled_model, "\n".join(no_tweets))
    assert [b.paragraphs[0] for b in draft.blocks] == [no_tweets[0], no_tweets[3]]
    assert annotate(bundled_model, "\n".join(no_tweets), topic_cue=False).blocks[0].paragraphs == no_tweets


# ---------------------------------------------------------------------------------------------
# tags and lines

def test_each_on_topic_block_gets_a_tag_line_and_an_off_topic_one_none(bundled_model):
    draft = annotate(bundled_model, _draft(SWAP, NATO, COOKING))
    lines = [b.line for b in draft.blocks]
    assert lines[0].startswith("#捕虜交換(") and lines[1].startswith("#NATO(")
    assert lines[2] is None and draft.blocks[2].tags == []
    assert draft.blocks[2].alternatives, "the ranked alternatives are there even when no tag fits"
    assert draft.post_tags and all(item["scope"] == "post" for item in draft.post_tags)


def test_a_written_line_is_kept_and_others_are_drafted(bundled_model):
    written = "#捕虜交換「捕虜の最後の一人が家に帰るまで交渉の席を立たない」"
    draft = annotate(bundled_model, _draft(SWAP, written, NATO))
    assert draft.blocks[0].line == written and draft.blocks[0].written == [written]
    assert draft.blocks[1].line.startswith("#NATO(")


def _pieces(summary: str) -> list[str]:
    return [piece for piece in re.split("[「」・]", summary) if piece]


@pytest.mark.parametrize("block", [SWAP, NATO, COOKING])
def test_summary_is_extractive_and_under_the_cap(block):
    summary = draft_summary(block.split("\n"))
    assert summary and len(summary) <= SUMMARY_CAP
    for piece in _pieces(summary):
        assert piece in block, piece


def test_summary_names_the_speaker_and_falls_back_to_figures():
    assert draft_summary(SWAP.split("\n")) == "コワレンコ氏「捕虜の最後の一人が家に帰るまで交渉の席を立たない」"
    figures = draft_summary(["政府によると、死者は少なくとも12人、負傷者は40人にのぼった。", "復旧には3週間かかる見通しだ。"])
    assert figures == "死者は少なくとも12人・負傷者は40人にのぼった・復旧には3週間かかる見通しだ"


def test_summary_keeps_to_the_cap_with_long_statements():
    long = "".join(f"外相は{i}日、「{'援助なしでは冬を越せない。' * 4}」と述べた。" for i in range(1, 4))
    summary = draft_summary([long], cap=40)
    assert 0 < len(summary) <= 40 and all(piece in long for piece in _pieces(summary))


# ---------------------------------------------------------------------------------------------
# the command and the service

def test_cli_output_reads_back_through_the_corpus_reader(bundled_model_dir, tmp_path, capsys):
    draft_file = tmp_path / "draft.txt"
    draft_file.write_text(_draft(SWAP, NATO, blank=True), encoding="utf-8")
    assert main(["annotate", "--model", str(bundled_model_dir), str(draft_file)]) == 0
    post = tmp_path / "post.txt"
    post.write_text(capsys.readouterr().out, encoding="utf-8")
    assert main(["annotate", "--model", str(bundled_model_dir), "--json", str(draft_file)]) == 0
    answer = json.loads(capsys.readouterr().out)
    examples = load_corpus([post])
    assert [e.text.split("\n") for e in examples] == [b["paragraphs"] for b in answer["blocks"]]
    assert [list(e.tags) for e in examples] == [parse_tag_line(b["line"])[0] for b in answer["blocks"]]
    assert list(examples[0].post_tags) == [item["tag"] for item in answer["post_tags"]]
    assert answer["post"] == post.read_text(encoding="utf-8") and answer["blank_lines"] is True
    assert main(["examples", str(post)]) == 0 and len(capsys.readouterr().out.splitlines()) == 2


def test_cli_reads_standard_input_and_refuses_a_bad_draft(bundled_model_dir, monkeypatch, capsys):
    import io

    monkeypatch.setattr("sys.stdin", io.StringIO("#NATO(要約)\n" + NATO))
    assert main(["annotate", "--model", str(bundled_model_dir), "-"]) == 2
    assert "line 1" in capsys.readouterr().err


@pytest.fixture
def client(bundled_model_dir, tmp_path):
    from classifier.service import create_app

    app = create_app({"MODEL_DIR": str(bundled_model_dir), "FEEDBACK_PATH": str(tmp_path / "feedback.jsonl")})
    return app.test_client()


def test_post_annotate_answers_blocks_tags_and_lines(client):
    response = client.post("/annotate", json={"text": _draft(SWAP, NATO, COOKING), "k": 3})
    assert response.status_code == 200
    body = response.get_json()
    assert set(body) == {"model", "blocks", "post_tags", "post_tag_lines", "post_tags_drafted", "header", "footer",
                         "blank_lines", "post"}
    block = body["blocks"][0]
    assert set(block) == {"line_number", "paragraphs", "tags", "alternatives", "line", "drafted", "summary", "written"}
    assert block["tags"][0] == {"tag": "#捕虜交換", "score": block["tags"][0]["score"], "scope": "block"}
    assert len(block["tags"]) <= 3 and block["drafted"] is True and block["line"].startswith("#捕虜交換(")
    assert body["blocks"][2]["line"] is None and body["post_tag_lines"] and body["post"].count("\n#") >= 2


@pytest.mark.parametrize("body, status, code", [
    ({"text": "#NATO(要約)\n本文"}, 400, "invalid_draft"),
    ({"text": "   "}, 400, "empty_text"),
    ({"text": NATO, "k": 0}, 400, "invalid_k"),
    ({"text": NATO, "explain": True}, 400, "invalid_request"),
    ({"texts": [NATO]}, 400, "invalid_request"),
])
def test_post_annotate_refuses_bad_input_with_a_json_error(client, body, status, code):
    response = client.post("/annotate", json=body)
    assert response.status_code == status and response.get_json()["error"]["code"] == code


def test_post_annotate_limits_the_size_and_wants_json(client, bundled_model_dir, tmp_path):
    from classifier.service import create_app

    assert client.post("/annotate", data="text", content_type="text/plain").status_code == 415
    small = create_app({"MODEL_DIR": str(bundled_model_dir), "FEEDBACK_PATH": str(tmp_path / "f.jsonl"),
                        "MAX_TEXT_CHARS": 100}).test_client()
    response = small.post("/annotate", json={"text": _draft(SWAP, NATO)})
    assert response.status_code == 400 and response.get_json()["error"]["code"] == "text_too_long"


def test_openapi_documents_annotate(client):
    document = client.get("/openapi.json").get_json()
    assert "/annotate" in document["paths"] and "AnnotateResponse" in document["components"]["schemas"]


# ---------------------------------------------------------------------------------------------
# the evaluation

TAGGED_POST = _draft(SWAP, "#捕虜交換(コワレンコ氏「捕虜の最後の一人が家に帰るまで交渉の席を立たない」・兵士75人)",
                     NATO, "#NATO(事務総長「同盟の防空をこれまでになく強くする」・500発)", COOKING,
                     "#栗ご飯(10分ほどつける)", "#反ロシア#対中露戦")


def test_reference_post_reads_the_curators_blocks():
    reference = reference_post(TAGGED_POST, {})
    assert [b["start"] for b in reference["blocks"]] == [0, 5, 10]
    assert reference["blocks"][1]["tags"] == ["#NATO"] and reference["post_tags"] == ["#反ロシア", "#対中露戦"]
    assert "#" not in strip_tag_lines(TAGGED_POST)


def test_evaluation_figures_on_a_small_fixture(bundled_model, bundled_model_dir, tmp_path, capsys):
    (tmp_path / "posts").mkdir()
    (tmp_path / "posts" / "one.txt").write_text(TAGGED_POST, encoding="utf-8")
    (tmp_path / "posts" / "two.txt").write_text(_draft(NATO, "#NATO(500発)", SWAP, "#捕虜交換(75人)", "#対中露戦"),
                                                encoding="utf-8")
    result = evaluate_annotate(bundled_model, posts_of([tmp_path / "posts"]))
    assert result["posts"] == 2 and result["boundaries"]["expected"] == 3
    assert result["boundary_precision"] == 1.0 and result["boundary_recall"] == 1.0
    assert result["known_blocks"] == 4 and result["block_tag_accuracy"] == 1.0
    assert result["fragments"] == 2 and result["fragment_recovery"] == 1.0
    assert 0 < result["post_tags_from_post"]["f1"] <= 1 and 0 < result["post_tags_from_blocks"]["f1"] <= 1
    assert main(["evaluate", "--annotate", "--data", str(tmp_path / "posts"), "--model", str(bundled_model_dir)]) == 0
    assert json.loads(capsys.readouterr().out) == result


@pytest.mark.skipif(not SEEDS.is_dir(), reason="the real posts are not on this machine")
def test_the_real_posts_annotate_and_score(bundled_model):
    posts = posts_of([SEEDS])
    assert posts
    for name, text, _ in posts:
        draft = annotate(bundled_model, strip_tag_lines(text))
        assert len(draft.blocks) >= 2, name
        for block in draft.blocks:
            if block.summary:
                assert len(block.summary) <= SUMMARY_CAP
                assert all(piece in block.text for piece in _pieces(block.summary)), block.summary
        assert [e.text for e in load_corpus_text(draft.render())] != []
    result = evaluate_annotate(bundled_model, posts)
    assert result["posts"] == len(posts) and result["boundary_recall"] is not None
    assert result["post_tags_from_post"]["f1"] >= 0.5


def load_corpus_text(text: str):
    from classifier.corpus import read_blog_lines

    return read_blog_lines(enumerate(text.splitlines(), 1), "<annotated>", "annotated")
