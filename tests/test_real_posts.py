"""The default model on paragraphs as users send them: weak words on a known topic, text on
none of the topics, and the curator's real posts (when ../shared/seeds is there)."""
import re

import pytest

from classifier.corpus import read_blog
from tests.support.paths import ROOT

SEEDS = ROOT.parent / "shared" / "seeds"
ATTRIBUTION = re.compile(r"^\s*[—―-]\s*.{0,80}\(@\w{1,30}\)\s+[A-Za-z]+\s+\d{1,2},\s*\d{4}\s*$")

# Written for this test: a quoted statement with none of the usual words of its topic, and
# text on none of the blog's topics.
WEAK_ON_TOPIC = [("「市場との対話を丁寧に重ねながら、適切に判断していく」と総裁は記者団に述べた。", "#日銀"),
                 ("前線の町では激しい砲撃が続き、守備隊は東側の陣地から後退したと伝えられた。", "#ウクライナ戦況")]
OFF_TOPIC = ["大谷翔平選手が今季第30号のホームランを放ち、球場は大きな歓声に包まれた。",
             "気象庁によると、週末にかけて西日本を中心に大雨となるおそれがある。",
             "人気アニメの劇場版が公開初日に興行収入10億円を突破した。",
             "警視庁は、高齢者から現金をだまし取った疑いで20代の男を逮捕した。"]


def block_tags(answer):
    return [item["tag"] for item in answer["tags"]]


@pytest.mark.parametrize("text, tag", WEAK_ON_TOPIC)
def test_an_on_topic_paragraph_with_weak_words_is_tagged(bundled_model, text, tag):
    assert block_tags(bundled_model.suggest([text])[0])[:1] == [tag]


def test_the_weak_paragraph_would_get_nothing_from_per_tag_thresholds_alone(bundled_model):
    # Regression: real paragraphs came back empty because their best tag scored below its threshold.
    import copy

    plain = copy.deepcopy(bundled_model)
    plain.top_threshold = None  # a prediction-time setting
    assert plain.suggest([WEAK_ON_TOPIC[0][0]]) == [{"tags": [], "post_tags": []}]


@pytest.mark.parametrize("text", OFF_TOPIC)
def test_a_paragraph_on_none_of_the_topics_gets_nothing(bundled_model, text):
    assert bundled_model.suggest([text]) == [{"tags": [], "post_tags": []}]


def article_paragraphs(text: str) -> list[str]:
    return [line for line in text.split("\n")
            if line.strip() and "https://t.co/" not in line and not ATTRIBUTION.match(line)]


@pytest.mark.skipif(not SEEDS.is_dir(), reason="the real posts (../shared/seeds) are not here")
def test_the_curators_real_posts(bundled_model):
    known = set(bundled_model.classes_)
    blocks = [e for path in sorted(SEEDS.glob("*.txt")) for e in read_blog(path) if known & set(e.tags)]
    paragraphs = [(line, e.tags) for e in blocks for line in article_paragraphs(e.text)]
    first_blocks = sum(block_tags(s)[:1] and block_tags(s)[0] in e.tags
                       for s, e in zip(bundled_model.suggest([e.text for e in blocks]), blocks))
    answers = bundled_model.suggest([text for text, _ in paragraphs])
    first = sum(bool(block_tags(s)) and block_tags(s)[0] in tags for s, (_, tags) in zip(answers, paragraphs))
    empty = sum(not s["tags"] for s in answers)
    assert len(blocks) == 9 and first_blocks >= 8
    assert first >= 0.6 * len(paragraphs) and empty <= 0.25 * len(paragraphs)
