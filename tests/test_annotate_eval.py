"""classifier.annotate_eval: annotate scored against the curator's own tag lines (block
boundaries, block tags, post tags), on a fixture and on the real posts when they are here.

The real posts are read from /work/shared/seeds when that folder exists; that check skips
without it.
"""
import json
from pathlib import Path

import pytest

from classifier.annotate import annotate, strip_tag_lines
from classifier.annotate_eval import evaluate_annotate, posts_of, reference_post
from classifier.cli import main
from classifier.summary import SUMMARY_CAP
from tests.support.drafts import NATO, SWAP, TAGGED_POST, make_draft, summary_pieces

SEEDS = Path("/work/shared/seeds")


def test_reference_post_reads_the_curators_blocks():
    reference = reference_post(TAGGED_POST, {})
    assert [b["start"] for b in reference["blocks"]] == [0, 5, 10]
    assert reference["blocks"][1]["tags"] == ["#NATO"] and reference["post_tags"] == ["#反ロシア", "#対中露戦"]
    assert "#" not in strip_tag_lines(TAGGED_POST)


def test_evaluation_figures_on_a_small_fixture(bundled_model, bundled_model_dir, tmp_path, capsys):
    (tmp_path / "posts").mkdir()
    (tmp_path / "posts" / "one.txt").write_text(TAGGED_POST, encoding="utf-8")
    (tmp_path / "posts" / "two.txt").write_text(make_draft(NATO, "#NATO(500発)", SWAP, "#捕虜交換(75人)", "#対中露戦"),
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
                assert all(piece in block.text for piece in summary_pieces(block.summary)), block.summary
        assert [e.text for e in load_corpus_text(draft.render())] != []
    result = evaluate_annotate(bundled_model, posts)
    assert result["posts"] == len(posts) and result["boundary_recall"] is not None
    assert result["post_tags_from_post"]["f1"] >= 0.5


def load_corpus_text(text: str):
    from classifier.corpus import read_blog_lines

    return read_blog_lines(enumerate(text.splitlines(), 1), "<annotated>", "annotated")
