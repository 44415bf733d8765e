"""How well ``annotate`` redoes the curator's work on posts whose tag lines are stripped.

For each post: strip every tag line, annotate, and compare with what the curator wrote:

- block boundaries: the paragraphs where a block starts (the first one aside), precision/recall;
- block tags: for each curator block under a tag the model knows, whether the drafted block that
  holds most of its paragraphs got that tag (``block_tag_accuracy``); and the same with the
  curator's own blocks given (``block_tag_accuracy_given_blocks``: tagging alone);
- post tags: micro precision/recall/F1 over posts, with the post tags taken from the blocks' best
  scores and from the whole post as one text;
- summaries: the share of the curator's 「…」 fragments found in the drafted tag line (after NFKC,
  without spaces), on the drafted blocks and on the curator's blocks.
"""
from __future__ import annotations

import re
import unicodedata
from collections import Counter
from pathlib import Path

from .annotate import annotate, post_tags, strip_tag_lines
from .corpus import find_alias_files, iter_corpus_files, load_aliases, parse_tag_line, read_text
from .corpus.blog import _BLOG_ADDRESS_LINE
from .summary import SUMMARY_CAP, draft_summary

_FRAGMENT = re.compile("「([^「」]+)」")


def reference_post(text: str, aliases: dict[str, str]) -> dict:
    """The curator's blocks of a post: [(first paragraph index, tags, summary)], paragraphs, post tags."""
    lines = [line.strip() for line in text.splitlines()]
    lines = [line for line in lines if line and not _BLOG_ADDRESS_LINE.match(line)]
    end = len(lines)
    while end and lines[end - 1].startswith("#") and not parse_tag_line(lines[end - 1])[1]:
        end -= 1
    canon = lambda tags: [aliases.get(tag, tag) for tag in tags]  # noqa: E731
    blocks, paragraphs, start = [], [], 0
    for line in lines[:end]:
        if not line.startswith("#"):
            paragraphs.append(line)
            continue
        tags, _ = parse_tag_line(line)
        summary = line[len("".join(tags)):]
        if len(paragraphs) > start:
            blocks.append({"start": start, "stop": len(paragraphs), "tags": canon(tags), "summary": summary})
            start = len(paragraphs)
        elif blocks:
            blocks[-1]["tags"] += canon(tags)
    if len(paragraphs) > start:
        blocks.append({"start": start, "stop": len(paragraphs), "tags": [], "summary": ""})
    post = [tag for line in lines[end:] for tag in canon(parse_tag_line(line)[0])]
    return {"blocks": blocks, "paragraphs": paragraphs, "post_tags": list(dict.fromkeys(post))}


def posts_of(paths, held_out: float | None = None) -> list[tuple[str, str, dict]]:
    """(name, text, aliases) of every blog post under ``paths`` (only the held-out ones if asked)."""
    from .training import is_held_out

    paths = [Path(p) for p in paths]
    aliases: dict[str, str] = {}
    for alias_file in find_alias_files(paths):
        aliases.update(load_aliases(alias_file))
    posts = []
    for path in paths:
        for file, file_format in iter_corpus_files(path):
            if file_format != "blog":
                raise ValueError(f"{file}: --annotate evaluates posts in the blog format (.txt), got {file_format}")
            if held_out is None or is_held_out(file.name, held_out):
                posts.append((file.name, read_text(file), aliases))
    return posts


def _fragments(summary: str) -> list[str]:
    return [_plain(fragment) for fragment in _FRAGMENT.findall(summary.replace("『", "「").replace("』", "」"))]


def _plain(text: str) -> str:
    return "".join(unicodedata.normalize("NFKC", text).split())


def _boundaries(blocks) -> set[int]:
    return {block["start"] for block in blocks[1:]}


def _owner(drafted: list[dict], block: dict) -> dict:
    """The drafted block that holds most of a curator block's paragraphs."""
    return max(drafted, key=lambda d: min(d["stop"], block["stop"]) - max(d["start"], block["start"]))


def score_post(model, text: str, aliases: dict[str, str], counts: Counter, **options) -> dict:
    """Annotate one stripped post and add its comparison with the curator's to ``counts``."""
    reference = reference_post(text, aliases)
    draft = annotate(model, strip_tag_lines(text), **options)
    drafted, start = [], 0
    for block in draft.blocks:
        drafted.append({"start": start, "stop": start + len(block.paragraphs), "block": block})
        start += len(block.paragraphs)
    assert start == len(reference["paragraphs"]), "the draft and the curator's post differ in paragraphs"
    predicted, expected = {d["start"] for d in drafted[1:]}, _boundaries(reference["blocks"])
    counts.update(boundaries_predicted=len(predicted), boundaries_expected=len(expected),
                  boundaries_found=len(predicted & expected), posts=1)
    known = set(model.classes_)
    given = [b for b in reference["blocks"] if set(b["tags"]) & known]
    oracle = model.suggest(["\n".join(reference["paragraphs"][b["start"]:b["stop"]]) for b in given]) if given else []
    for block, answer in zip(given, oracle):
        mine = _owner(drafted, block)["block"]
        best = [item["tag"] for item in answer["tags"]][:1]
        counts.update(known_blocks=1, block_tag_right=bool(mine.tags) and mine.tags[0]["tag"] in block["tags"],
                      block_tag_right_given_blocks=bool(best) and best[0] in block["tags"])
    _score_summaries(reference, drafted, counts, options.get("cap", SUMMARY_CAP))
    _score_post_tags(model, draft, reference["post_tags"], counts)
    return {"blocks": len(draft.blocks), "reference_blocks": len(reference["blocks"])}


def _score_summaries(reference: dict, drafted: list[dict], counts: Counter, cap: int) -> None:
    for block in reference["blocks"]:
        fragments = _fragments(block["summary"])
        if not fragments:
            continue
        line = _plain(_owner(drafted, block)["block"].line or "")
        own = _plain(draft_summary(reference["paragraphs"][block["start"]:block["stop"]], cap))
        counts.update(fragments=len(fragments), fragments_found=sum(f in line for f in fragments),
                      fragments_found_given_blocks=sum(f in own for f in fragments))
        counts["summary_chars"] += len(_owner(drafted, block)["block"].summary or "")
        counts["summaries"] += 1


def _score_post_tags(model, draft, expected: list[str], counts: Counter) -> None:
    texts = [block.text for block in draft.blocks]
    passing = model.suggest(texts + ["\n".join(texts)])
    for source in ("blocks", "post"):
        found = {item["tag"] for item in post_tags(passing, source)}
        counts[f"post_tags_{source}_predicted"] += len(found)
        counts[f"post_tags_{source}_right"] += len(found & set(expected))
    counts["post_tags_expected"] += len(expected)


def _ratio(a, b):
    return round(a / b, 4) if b else None


def _f1(p, r):
    return round(2 * p * r / (p + r), 4) if p and r else 0.0


def evaluate_annotate(model, posts, **options) -> dict:
    """The figures over ``posts`` ((name, text, aliases) triples)."""
    counts: Counter = Counter()
    for _, text, aliases in posts:
        score_post(model, text, aliases, counts, **options)
    precision = _ratio(counts["boundaries_found"], counts["boundaries_predicted"])
    recall = _ratio(counts["boundaries_found"], counts["boundaries_expected"])
    result = {
        "posts": counts["posts"],
        "boundary_precision": precision, "boundary_recall": recall, "boundary_f1": _f1(precision, recall),
        "boundaries": {k: counts[f"boundaries_{k}"] for k in ("expected", "predicted", "found")},
        "known_blocks": counts["known_blocks"],
        "block_tag_accuracy": _ratio(counts["block_tag_right"], counts["known_blocks"]),
        "block_tag_accuracy_given_blocks": _ratio(counts["block_tag_right_given_blocks"], counts["known_blocks"]),
        "fragments": counts["fragments"],
        "fragment_recovery": _ratio(counts["fragments_found"], counts["fragments"]),
        "fragment_recovery_given_blocks": _ratio(counts["fragments_found_given_blocks"], counts["fragments"]),
    }
    for source in ("blocks", "post"):
        p = _ratio(counts[f"post_tags_{source}_right"], counts[f"post_tags_{source}_predicted"])
        r = _ratio(counts[f"post_tags_{source}_right"], counts["post_tags_expected"])
        result[f"post_tags_from_{source}"] = {"precision": p, "recall": r, "f1": _f1(p, r)}
    return result


def format_annotate(name: str, result: dict) -> str:
    post = result["post_tags_from_blocks"]
    return (f"{name}: {result['posts']} posts; boundaries P {result['boundary_precision']} R "
            f"{result['boundary_recall']} ({result['boundaries']['found']}/{result['boundaries']['predicted']} "
            f"predicted, {result['boundaries']['expected']} expected); block tag accuracy "
            f"{result['block_tag_accuracy']} ({result['block_tag_accuracy_given_blocks']} on the curator's blocks, "
            f"{result['known_blocks']} blocks); post tags F1 {post['f1']} (whole post: "
            f"{result['post_tags_from_post']['f1']}); summary fragments found {result['fragment_recovery']} "
            f"({result['fragment_recovery_given_blocks']} on the curator's blocks, {result['fragments']} fragments)")
