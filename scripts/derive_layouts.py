"""Derive two other labelled layouts from a blog corpus, to measure the engine beyond blocks.

    python scripts/derive_layouts.py training_data OUT

- OUT/long_articles/<tag>/<post>.txt: single-label long articles, a folder per label (each
  post's blocks with one block tag joined into one text);
- OUT/paragraphs.jsonl: one paragraph a line with its block's tags and the post's tags, and the
  post as "post" so that cross-validation keeps a post's paragraphs on one side (tweet
  attribution lines are left out; they are not paragraphs of their own).

Same sentences, other shapes: it tests layouts and text lengths, not independent data.
"""
import json
import re
import sys
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from classifier.corpus import load_corpus  # noqa: E402

ATTRIBUTION = re.compile(r"^—\s.*\(@\w+\)")


def main(source: str, out: str, min_articles: int = 10) -> int:
    examples = load_corpus([source])
    out = Path(out)
    articles = defaultdict(list)
    for example in examples:
        if len(example.tags) == 1:
            articles[(example.tags[0], example.group)].append(example.text)
    per_tag = defaultdict(int)
    for tag, _ in articles:
        per_tag[tag] += 1
    written = 0
    for (tag, post), texts in sorted(articles.items()):
        if per_tag[tag] < min_articles:
            continue  # a label needs enough articles to be learned and scored
        folder = out / "long_articles" / tag.lstrip("#")
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{Path(post).stem}.txt").write_text("\n".join(texts) + "\n", encoding="utf-8")
        written += 1
    paragraphs = 0
    with open(out / "paragraphs.jsonl", "w", encoding="utf-8") as stream:
        for example in examples:
            for line in example.text.splitlines():
                if not ATTRIBUTION.match(line):
                    record = {"text": line, "tags": list(example.tags), "post_tags": list(example.post_tags),
                              "post": example.group}
                    stream.write(json.dumps(record, ensure_ascii=False) + "\n")
                    paragraphs += 1
    print(f"{written} long articles in {sum(n >= min_articles for n in per_tag.values())} labels, "
          f"{paragraphs} paragraphs, under {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:3]))
