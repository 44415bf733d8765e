#!/usr/bin/env python3
"""Write a large JSON Lines archive for the batch benchmark: the bundled corpus's paragraphs,
shuffled (seeded) and repeated until there are ``--lines`` of them, one ``{"id", "text"}`` a line;
with ``--drafts``, its posts instead, each without its tag lines (a draft for ``annotate --jsonl``).

    python bench/make_archive.py --lines 210000 --out /tmp/archive.jsonl
    python bench/make_archive.py --drafts --lines 2020 --out /tmp/drafts.jsonl

The output is generated data: write it outside the repository (or under a git-ignored path) and
never commit it. The same arguments always write the same file.
"""
from __future__ import annotations

import argparse
import json
import random
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def corpus_examples(data: Path) -> list:
    sys.path.insert(0, str(ROOT))
    from classifier import load_corpus

    return load_corpus([data])


def corpus_paragraphs(data: Path) -> list[str]:
    return [line for example in corpus_examples(data) for line in example.text.splitlines() if line.strip()]


def corpus_drafts(data: Path) -> list[str]:
    """Each post of the corpus as its paragraphs alone, in order: its blocks without tag lines."""
    posts: dict[str, list[str]] = {}
    for example in corpus_examples(data):
        posts.setdefault(example.group or example.source, []).append(example.text)
    return ["\n".join(blocks) + "\n" for blocks in posts.values()]


def write_archive(texts: list[str], lines: int, out: Path, seed: int = 0) -> int:
    """``lines`` records drawn from ``texts``: every text once per pass, each pass in a new
    seeded order. Returns the size of the file in bytes."""
    rng = random.Random(seed)
    with open(out, "w", encoding="utf-8") as stream:
        number = 0
        while number < lines:
            order = texts[:]
            rng.shuffle(order)
            for text in order[:lines - number]:
                stream.write(json.dumps({"id": f"p{number}", "text": text}, ensure_ascii=False) + "\n")
                number += 1
    return out.stat().st_size


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=210_000, help="records to write (default %(default)s)")
    parser.add_argument("--drafts", action="store_true", help="records are the corpus's posts without tag lines")
    parser.add_argument("--out", required=True, help="the JSON Lines file to write (not in git)")
    parser.add_argument("--data", default=str(ROOT / "training_data"), help="the corpus (default the bundled one)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    texts = corpus_drafts(Path(args.data)) if args.drafts else corpus_paragraphs(Path(args.data))
    size = write_archive(texts, args.lines, Path(args.out), args.seed)
    print(f"{args.out}: {args.lines} {'drafts' if args.drafts else 'paragraphs'}, {size / 1e6:.1f} MB", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
