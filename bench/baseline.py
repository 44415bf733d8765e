"""The peer to beat: the textbook implementation a user would otherwise write.

``TfidfVectorizer`` with a Python callable that returns fugashi surfaces, a ``LogisticRegression``
over the block tags (tags with at least ``classifier.config.MIN_COUNT`` examples, plus "no tag"),
trained on the same posts, served by Flask's development server with threads. Nothing here is
tuned: it is what the tutorials show.

It answers with the block tags ranked above "no tag" and knows no post tags. The multi-label
textbook version (``OneVsRestClassifier`` of one ``LogisticRegression`` per tag) would answer
both, but scikit-learn validates its input once per tag: 6.5 ms a paragraph on this machine
against 0.3 ms for one multinomial model, so it would be a much weaker peer. The single model is
also what the reference figures in the issue (p50 about 2.1 ms) correspond to.

One liberty, for correctness only: MeCab's tagger is not thread-safe and the threaded server
calls it from many threads, so the tokenizer holds a lock.

    python bench/baseline.py train --data training_data --out /tmp/baseline.joblib
    python bench/baseline.py serve --model /tmp/baseline.joblib --port 8001
    python bench/baseline.py suggest --model /tmp/baseline.joblib archive.jsonl > out.jsonl
"""
from __future__ import annotations

import argparse
import sys
import threading
import time
from pathlib import Path

_tagger = None
_lock = threading.Lock()


def tokenize(text: str) -> list[str]:
    global _tagger
    import fugashi

    with _lock:
        if _tagger is None:
            _tagger = fugashi.Tagger()
        return [word.surface for word in _tagger(text)]


NO_TAG = "(none)"


def train(texts: list[str], block_tags: list[str | None], min_count: int) -> dict:
    """block_tags: each text's block tag, or None."""
    from collections import Counter

    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    counts = Counter(block_tags)
    labels = [tag if tag is not None and counts[tag] >= min_count else NO_TAG for tag in block_tags]
    pipeline = make_pipeline(TfidfVectorizer(tokenizer=tokenize, token_pattern=None), LogisticRegression(max_iter=1000))
    pipeline.fit(texts, labels)
    return {"pipeline": pipeline, "tags": [str(c) for c in pipeline.classes_]}


def suggest(model: dict, texts: list[str], k: int = 3) -> list[list[dict]]:
    """The k most probable tags of each text that rank above "no tag"."""
    probabilities = model["pipeline"].predict_proba(texts)
    tags = model["tags"]
    none = tags.index(NO_TAG) if NO_TAG in tags else None
    results = []
    for row in probabilities:
        ranked = []
        for j in row.argsort()[::-1][:k]:
            if j == none:
                break
            ranked.append({"tag": tags[j], "score": round(float(row[j]), 4)})
        results.append(ranked)
    return results


def create_app(model: dict):
    from flask import Flask, jsonify, request

    app = Flask(__name__)

    @app.post("/suggest")
    def suggest_view():
        body = request.get_json()
        texts = body["texts"] if "texts" in body else [body["text"]]
        return jsonify({"results": [{"suggestions": s} for s in suggest(model, texts)]})

    @app.get("/readyz")
    def ready():
        return jsonify({"ready": True})

    return app


def main(argv=None) -> int:
    import joblib

    from classifier.config import HOLDOUT, MIN_COUNT

    parser = argparse.ArgumentParser(prog="bench/baseline.py", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    train_parser = commands.add_parser("train")
    train_parser.add_argument("--data", nargs="+", required=True)
    train_parser.add_argument("--out", required=True)
    train_parser.add_argument("--holdout", type=float, default=HOLDOUT, help="the same held-out posts as train.py")
    suggest_parser = commands.add_parser("suggest", help="JSON Lines with 'text' in, suggestions out, one process")
    suggest_parser.add_argument("--model", required=True)
    suggest_parser.add_argument("input")
    serve_parser = commands.add_parser("serve")
    serve_parser.add_argument("--model", required=True)
    serve_parser.add_argument("--host", default="127.0.0.1")
    serve_parser.add_argument("--port", type=int, default=8001)
    args = parser.parse_args(argv)

    if args.command == "train":
        from classifier import load_corpus
        from classifier.training import split_holdout

        started = time.perf_counter()
        examples, _ = split_holdout(load_corpus(args.data), args.holdout)
        model = train([e.text for e in examples], [e.tags[0] if e.tags else None for e in examples],
                      MIN_COUNT)
        fit_seconds = time.perf_counter() - started
        joblib.dump(model, args.out, compress=3)
        print(f'{{"fit_seconds": {fit_seconds:.3f}, "n_examples": {len(examples)}, "n_tags": {len(model["tags"]) - 1}}}')
        return 0
    model = joblib.load(args.model)
    if args.command == "suggest":
        # the textbook batch loop: read the file, score it in batches, print a JSON object a line
        import json

        with open(args.input, encoding="utf-8") as stream:
            lines = [json.loads(line) for line in stream if line.strip()]
        for start in range(0, len(lines), 1024):
            batch = lines[start:start + 1024]
            for number, (record, suggestions) in enumerate(zip(batch, suggest(model, [r["text"] for r in batch])),
                                                           start + 1):
                print(json.dumps({"id": record.get("id"), "line": number, "suggestions": suggestions},
                                 ensure_ascii=False))
        return 0
    create_app(model).run(host=args.host, port=args.port, threaded=True)
    return 0


if __name__ == "__main__":
    # Run as a script, this file is __main__; import it as ``baseline`` so that the pickled
    # tokenizer is ``baseline.tokenize`` wherever the model is loaded (here or in bench/run.py).
    sys.path[:0] = [str(Path(__file__).resolve().parent), str(Path(__file__).resolve().parents[1])]
    import baseline

    sys.exit(baseline.main())
