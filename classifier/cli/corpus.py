"""Commands on corpora: train, examples, corpus-stats."""
from __future__ import annotations

import argparse
import json
from collections import Counter, defaultdict

from ..config import DEFAULT_MODEL, MIN_COUNT, TRAINING_DATA
from ..corpus import FORMATS, load_corpus, tag_variants
from .common import add_data_arguments



def add_train_arguments(parser: argparse.ArgumentParser) -> None:
    add_data_arguments(parser)
    parser.add_argument("--out", default=str(DEFAULT_MODEL), help="model folder to write (default %(default)s)")
    parser.add_argument("--min-count", type=int, default=MIN_COUNT,
                        help="tags with fewer examples are not learned (default %(default)s)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--holdout", type=float, default=0.2,
                        help="share of posts held out for scoring; 0 trains on all (default %(default)s)")


def run_train(args) -> int:
    from ..training import train

    metadata = train(args.data, args.out, format=args.format, holdout=args.holdout,
                     min_count=args.min_count, random_state=args.seed)
    scores = metadata["holdout"]["scores"]
    if scores:
        print(json.dumps({"model": args.out, "held_out": scores}, ensure_ascii=False))
    return 0


def run_examples(args) -> int:
    examples = load_corpus(args.paths, format=args.format)
    if not examples:
        raise ValueError(f"no corpus texts found in {', '.join(args.paths)}")
    for example in examples:
        print(json.dumps(example.to_json(), ensure_ascii=False))
    return 0


def run_corpus_stats(args) -> int:
    examples = load_corpus(args.paths or [str(TRAINING_DATA)], format=args.format)
    blocks, paragraphs, posts = Counter(), Counter(), defaultdict(set)
    post_tag_posts = defaultdict(set)
    for example in examples:
        lines = sum(1 for line in example.text.splitlines() if line.strip())
        for tag in example.tags:
            blocks[tag] += 1
            paragraphs[tag] += lines
            posts[tag].add(example.group)
        for tag in example.post_tags:
            post_tag_posts[tag].add(example.group)
    untagged = [e for e in examples if not e.tags]
    print(f"{len(examples)} examples, {len({e.group for e in examples})} posts, "
          f"{len(untagged)} without a block tag\n")
    print(f"{'block tag':28} {'blocks':>7} {'paragraphs':>10} {'posts':>6}")
    for tag, n in sorted(blocks.items(), key=lambda item: (-item[1], item[0])):
        if n >= args.min_count:
            print(f"{tag:28} {n:7} {paragraphs[tag]:10} {len(posts[tag]):6}")
    rare = {tag: n for tag, n in blocks.items() if n < args.min_count}
    print(f"\n{len(rare)} rarer block tags (< {args.min_count} blocks, not learned): "
          f"{sum(rare.values())} blocks, {sum(paragraphs[t] for t in rare)} paragraphs")
    if post_tag_posts:
        print(f"\n{'post tag':28} {'posts':>7}")
        for tag, group in sorted(post_tag_posts.items(), key=lambda item: -len(item[1])):
            print(f"{tag:28} {len(group):7}")
    warnings = _tag_warnings(blocks + Counter({t: len(g) for t, g in post_tag_posts.items()}), args.min_count)
    if warnings:
        print("\nwarnings (merge variants in training_data/tag_aliases.json):")
        for warning in warnings:
            print(f"  {warning}")
    return 0


def _tag_warnings(counts: Counter, min_count: int) -> list[str]:
    warnings = [f"width/case variants of one tag: {', '.join(group)}" for group in tag_variants(counts)]
    frequent = [tag for tag, n in counts.items() if n >= min_count]
    reported = set()
    for tag, n in sorted(counts.items()):
        if n >= min_count:
            continue
        # A rare tag that shares its first two characters with another tag, or sits inside it,
        # is most likely a drifting spelling of it (#東京五輪 / #東京オリンピック, #大谷 / #大谷翔平).
        name = tag.lstrip("#")
        similar = [other for other in counts if other != tag and (
            name in other.lstrip("#") or other.lstrip("#") in name or
            (len(name) >= 3 and other.lstrip("#")[:2] == name[:2] and other not in frequent))
            and frozenset((tag, other)) not in reported]
        reported.update(frozenset((tag, other)) for other in similar)
        if similar:
            warnings.append(f"possible near-duplicates: {tag} ({n}) ~ " +
                            ", ".join(f"{o} ({counts[o]})" for o in sorted(similar)))
    singletons = sorted(tag for tag, n in counts.items() if n == 1)
    if singletons:
        warnings.append(f"{len(singletons)} tags used once: {' '.join(singletons[:20])}"
                        + (" …" if len(singletons) > 20 else ""))
    return warnings


def add_corpus_commands(commands) -> None:
    train = commands.add_parser("train", help="train a model folder from a corpus")
    add_train_arguments(train)
    train.set_defaults(run=run_train)

    examples = commands.add_parser("examples", help="print the examples the corpus readers see, as JSON Lines")
    examples.add_argument("paths", nargs="+", metavar="PATH")
    examples.add_argument("--format", choices=FORMATS)
    examples.set_defaults(run=run_examples)

    stats = commands.add_parser("corpus-stats", help="blocks, paragraphs and posts per tag; tag warnings")
    stats.add_argument("paths", nargs="*", metavar="PATH", help=f"default {TRAINING_DATA}")
    stats.add_argument("--format", choices=FORMATS)
    stats.add_argument("--min-count", type=int, default=MIN_COUNT, help="tags below it are listed as not learned")
    stats.set_defaults(run=run_corpus_stats)
