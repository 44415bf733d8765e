"""classifier.annotate: a draft post in, the post with drafted tag lines out (issue 15): how a
draft is cut into blocks, and the tag lines drafted for them."""
import pytest

from classifier.annotate import annotate, read_draft
from tests.support.drafts import COOKING, NATO, SWAP, make_draft


# --------------------------------------------------------------------------------------------
# blocks


def test_a_tweet_after_paragraphs_starts_a_block():
    draft = read_draft(make_draft(SWAP, NATO))
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
    text = make_draft("\n".join(paragraphs_only), written, NATO.split("\n", 2)[2])
    draft = read_draft(text)
    assert len(draft.blocks) == 2
    assert draft.blocks[0].written == [written] and not draft.blocks[1].written


def test_blank_lines_or_none_give_the_same_blocks():
    tight, loose = read_draft(make_draft(SWAP, NATO, COOKING)), read_draft("\n\n".join(
        line for block in (SWAP, NATO, COOKING) for line in block.split("\n")) + "\n")
    assert [b.paragraphs for b in tight.blocks] == [b.paragraphs for b in loose.blocks]
    assert not tight.blank_lines and loose.blank_lines


def test_post_tags_and_address_lines_are_kept_apart():
    text = "https://example.hatenadiary.com\n" + make_draft(SWAP, NATO) + "#反ロシア#対中露戦\nexample.hatenadiary.jp\n"
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


# --------------------------------------------------------------------------------------------
# tags and lines


def test_each_on_topic_block_gets_a_tag_line_and_an_off_topic_one_none(bundled_model):
    draft = annotate(bundled_model, make_draft(SWAP, NATO, COOKING))
    lines = [b.line for b in draft.blocks]
    assert lines[0].startswith("#捕虜交換(") and lines[1].startswith("#NATO(")
    assert lines[2] is None and draft.blocks[2].tags == []
    assert draft.blocks[2].alternatives, "the ranked alternatives are there even when no tag fits"
    assert draft.post_tags and {item["tag"] for item in draft.post_tags} <= {"#NATOexpansion", "#反ロシア", "#対中露戦"}


def test_a_written_line_is_kept_and_others_are_drafted(bundled_model):
    written = "#捕虜交換「捕虜の最後の一人が家に帰るまで交渉の席を立たない」"
    draft = annotate(bundled_model, make_draft(SWAP, written, NATO))
    assert draft.blocks[0].line == written and draft.blocks[0].written == [written]
    assert draft.blocks[1].line.startswith("#NATO(")
