#!/usr/bin/env python3
"""Where a paragraph's time goes in ``suggest``: the CLI's chunk taken apart, stage by stage,
in one process, beside raw fugashi on the same lines.

    python bench/stages.py ARCHIVE [--model models/default] [--lines 30000] [--rounds 3]

Each chunk of ``classifier.config.BATCH_SIZE`` lines goes through the stages ``suggest_lines``
runs, each timed on its own (CPU time): reading the JSON lines, normalising, MeCab, counting the
vocabulary's words, TF-IDF weights, the decision (linear scores, sigmoids, the decision rule), and
writing the JSON lines, which is the whole chunk (``suggest_lines``, timed in a pass of its own)
less the stages before it. Raw fugashi (``bench/raw_fugashi.py``'s loop) runs over the same lines in each round,
and the whole chunk again at half and at twice the command's chunk size.

A whole ``suggest`` on N cores cannot go faster than N times its one-process speed; this
says which stages make up that speed, MeCab's share being the floor.
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

STAGES = ("read JSON lines", "normalise", "MeCab", "count words", "TF-IDF", "decide", "write JSON lines")


def _chunk_stages(model, first: int, chunk: bytes, options: dict, clock=time.process_time):
    """CPU seconds of each stage of one chunk (its lines' bytes, joined, as the command sends it)
    but the last (writing the JSON lines), and the chunk's texts and TF-IDF matrix, for the guard
    in ``measure``."""
    import numpy as np

    from classifier import features, suggest_lines, text

    parse = text.get_tagger(model.tokenizer_.arguments).parse
    t0 = clock()
    records = suggest_lines.read_records(chunk, first)
    texts = [t for _, _, t in records]
    t1 = clock()
    normalised = [text.normalize(t) for t in texts]
    t2 = clock()
    outputs = [parse(t) if t else "" for t in normalised]
    t3 = clock()
    counts = features.count_tokens(model.vocabulary_, outputs, np.float32)
    t4 = clock()
    X = features.tfidf_weights(counts, model.idf_, model.sublinear_tf)
    t5 = clock()
    model._decide(X, model.k, options.get("threshold"))
    t6 = clock()
    seconds = {name: end - start for name, start, end in zip(STAGES, (t0, t1, t2, t3, t4, t5), (t1, t2, t3, t4, t5, t6))}
    return seconds, texts, X


def _blocks(data: list[bytes], size: int) -> list[tuple[int, bytes]]:
    """(number of the first line, the bytes of its lines joined) of every ``size`` lines: the
    chunks as the command sends them to a worker."""
    return [(i + 1, b"".join(data[i:i + size])) for i in range(0, len(data), size)]


def _whole_chunks(model, blocks: list[tuple[int, bytes]], options: dict) -> float:
    """CPU seconds of ``suggest_lines`` over every chunk, one after the other."""
    from classifier.suggest_lines import suggest_lines

    start = time.process_time()
    for first, chunk in blocks:
        suggest_lines(model, first, chunk, options)
    return time.process_time() - start


def measure(archive: Path, model_dir: Path, lines: int = 30_000, rounds: int = 3) -> dict:
    import fugashi

    from classifier.config import BATCH_SIZE
    from classifier.persist import load_model

    model, _ = load_model(model_dir)
    with open(archive, "rb") as stream:
        data = [line for _, line in zip(range(lines), stream)]
    chunks = _blocks(data, BATCH_SIZE)
    # The whole chunk at half and twice the command's chunk size: what the size costs.
    other_sizes = {size: _blocks(data, size) for size in (BATCH_SIZE // 2, BATCH_SIZE * 2)}
    options = {"k": None, "threshold": None, "explain": False}
    # A guard against drift: the stages must still compute what model.transform does.
    _, texts, X = _chunk_stages(model, *chunks[0], options)
    if (X != model.transform(texts)).nnz:
        raise RuntimeError("bench/stages.py no longer computes what model.transform does: update its stages")
    raw_parse = fugashi.Tagger("-Owakati").parse
    # raw_fugashi.py reads the file as text: its lines come decoded, as here.
    text_lines = [line.decode("utf-8") for line in data]
    per_round = []
    for _ in range(rounds):
        totals = dict.fromkeys(("raw fugashi", *STAGES, "whole chunk"), 0.0)
        # Raw fugashi over every line at a stretch, as its command runs: taken chunk by chunk
        # between ours, it would find MeCab's tables pushed out of the caches by our stages and
        # look slower than it is.
        start = time.process_time()
        for line in text_lines:
            raw_parse(json.loads(line)["text"])
        totals["raw fugashi"] = time.process_time() - start
        # The stages, then the whole chunks, each pass over every chunk: run on a chunk just
        # parsed, suggest_lines would find its words in the caches, as the command never does.
        for first, chunk in chunks:
            for name, seconds in _chunk_stages(model, first, chunk, options)[0].items():
                totals[name] += seconds
        totals["whole chunk"] = _whole_chunks(model, chunks, options)
        totals["write JSON lines"] = max(0.0, totals["whole chunk"] - sum(totals[s] for s in STAGES[:-1]))
        for size, blocks in other_sizes.items():
            totals[f"whole chunk of {size}"] = _whole_chunks(model, blocks, options)
        per_round.append(totals)
    n = len(data)
    us = {name: round(statistics.median(r[name] for r in per_round) / n * 1e6, 2) for name in per_round[0]}
    ratios = [r["raw fugashi"] / r["whole chunk"] for r in per_round]
    ratio = statistics.median(ratios)
    return {"paragraphs": n, "chunk": BATCH_SIZE, "rounds": rounds, "us_per_paragraph": us,
            "ratio_to_raw": round(ratio, 3), "ratio_to_raw_rounds": [round(r, 3) for r in ratios],
            "command": f"python bench/stages.py ARCHIVE --model MODEL --lines {lines} --rounds {rounds}"}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("archive", type=Path, help="JSON Lines of {'text'} (bench/make_archive.py)")
    parser.add_argument("--model", type=Path, default=ROOT / "models" / "default")
    parser.add_argument("--lines", type=int, default=30_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    if not args.archive.is_file():
        parser.error(f"{args.archive}: no such file (write one with bench/make_archive.py)")
    print(json.dumps(measure(args.archive, args.model, args.lines, args.rounds), indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
