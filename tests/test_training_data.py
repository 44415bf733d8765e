"""The bundled corpus meets its brief: size, per-tag minimums, format, and no copied runs."""
import re
from collections import Counter, defaultdict

import pytest

from classifier.corpus import load_corpus, read_blog
from tests.support.paths import ROOT

POSTS = sorted((ROOT / "training_data" / "posts").glob("*.txt"))
TAXONOMY = ["#ウクライナ軍事支援", "#ウクライナミサイル攻撃", "#ウクライナインフラ攻撃", "#ウクライナ戦況", "#ウクライナ戦力",
            "#ウクライナ和平", "#捕虜交換", "#ロシア国内", "#対ロシア制裁", "#ウクライナ復興", "#ウクライナEU加盟", "#NATO",
            "#日波", "#日ウクライナ", "#ガザ情勢", "#台湾情勢", "#北朝鮮ミサイル", "#米大統領選", "#日米", "#米中", "#中露",
            "#日銀", "#FRB"]
POST_TAGS = {"#NATOexpansion", "#反ロシア", "#対中露戦"}
ATTRIBUTION = re.compile(r"^—\s.*\(@\w+\)\s+[A-Za-z]+ \d{1,2}, \d{4}$")
RUN = 30


def is_article_paragraph(line: str) -> bool:
    """Tweet headlines (with their t.co link) and attribution lines are quoted, not written prose."""
    return "https://t.co/" not in line and not ATTRIBUTION.match(line)


@pytest.fixture(scope="module")
def examples():
    return load_corpus([ROOT / "training_data"])


def test_size_and_block_counts_per_post():
    assert len(POSTS) >= 160
    for post in POSTS:
        blocks = [e for e in read_blog(post) if e.tags]
        assert 3 <= len(blocks) <= 8, f"{post.name} has {len(blocks)} blocks"


def test_every_taxonomy_tag_meets_its_minimums(examples):
    blocks, paragraphs, posts = Counter(), Counter(), defaultdict(set)
    for example in examples:
        for tag in example.tags:
            blocks[tag] += 1
            paragraphs[tag] += sum(is_article_paragraph(line) for line in example.text.splitlines())
            posts[tag].add(example.group)
    for tag in TAXONOMY:
        assert blocks[tag] >= 35, f"{tag}: {blocks[tag]} blocks"
        assert paragraphs[tag] >= 90, f"{tag}: {paragraphs[tag]} paragraphs"
        assert len(posts[tag]) >= 10, f"{tag}: only {len(posts[tag])} posts"


def test_outside_blocks_untagged_paragraphs_and_post_tags(examples):
    outside = [e for e in examples if e.tags and not set(e.tags) & set(TAXONOMY)]
    assert len(outside) >= 80
    assert sum(1 for e in examples if not e.tags) >= 20  # paragraphs that belong to no block
    assert {tag for e in examples for tag in e.post_tags} >= POST_TAGS
    assert not {tag for e in examples for tag in e.tags} & POST_TAGS


def test_blocks_often_open_with_a_quoted_tweet_from_varied_sources(examples):
    tweets = [e for e in examples if "https://t.co/" in e.text.splitlines()[0]]
    assert len(tweets) >= 0.3 * len(examples)
    handles = {m for e in examples for m in re.findall(r"\(@(\w+)\)", e.text)}
    assert len(handles) >= 10


def test_no_two_paragraphs_share_a_run_of_30_characters():
    owners = {}
    clashes = []
    for post in POSTS:
        for number, line in enumerate(post.read_text(encoding="utf-8").splitlines(), 1):
            line = line.strip()
            if not line or line.startswith("#") or not is_article_paragraph(line):
                continue
            place = f"{post.name}:{number}"
            for start in range(0, len(line) - RUN + 1):
                window = line[start:start + RUN]
                first = owners.setdefault(window, place)
                if first != place:
                    clashes.append(f"{first} & {place}: {window}")
                    break
    assert clashes == []
