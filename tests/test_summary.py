"""classifier.summary: the summary drafted into a tag line is extractive and under the cap."""
import pytest

from classifier.summary import SUMMARY_CAP, draft_summary
from tests.support.drafts import COOKING, NATO, SWAP, summary_pieces


@pytest.mark.parametrize("block", [SWAP, NATO, COOKING])
def test_summary_is_extractive_and_under_the_cap(block):
    summary = draft_summary(block.split("\n"))
    assert summary and len(summary) <= SUMMARY_CAP
    for piece in summary_pieces(summary):
        assert piece in block, piece


def test_summary_names_the_speaker_and_falls_back_to_figures():
    assert draft_summary(SWAP.split("\n")) == "コワレンコ氏「捕虜の最後の一人が家に帰るまで交渉の席を立たない」"
    figures = draft_summary(["政府によると、死者は少なくとも12人、負傷者は40人にのぼった。", "復旧には3週間かかる見通しだ。"])
    assert figures == "死者は少なくとも12人・負傷者は40人にのぼった・復旧には3週間かかる見通しだ"


def test_summary_keeps_to_the_cap_with_long_statements():
    long = "".join(f"外相は{i}日、「{'援助なしでは冬を越せない。' * 4}」と述べた。" for i in range(1, 4))
    summary = draft_summary([long], cap=40)
    assert 0 < len(summary) <= 40 and all(piece in long for piece in summary_pieces(summary))
