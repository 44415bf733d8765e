"""Batch tagging in parallel (joblib processes, a Dask cluster) and the fast prediction path.

Parallel runs must give exactly the single-process output; the fast tokenizer output and the
fast TF-IDF rows must be exactly what the straightforward implementations give.
"""
import json
import re
import subprocess
import sys

import numpy as np
import pytest
from sklearn.feature_extraction.text import TfidfVectorizer

from classifier import batch, token_ids
from classifier.corpus import load_corpus
from classifier.model import FeatureIndex, _tfidf_weights
from classifier.text import POS_FILTERS, Tokenizer, get_tagger, integer_range_regex, normalize
from tests.conftest import ROOT


# Texts that exercise the tokenizer's edges: unknown words (``iris-t``), symbols, pipes and
# digits inside words, Latin and full-width text, tweet noise, several lines, nothing at all.
EDGE_TEXTS = [
    "ドイツは地対空ミサイルシステム「IRIS-T」をウクライナに供与する",
    "a|b 5146|x ４７９３|ｙ", "第3回NATO首脳会議で1000億円", "ロシア軍はウクライナの発電所を攻撃した https://t.co/abc #nhk_news",
    "— NHKニュース (@nhk_news) January 3, 2024\n本文です。\n二行目", "😀𠮷①Ⅷ㍻ｶﾞ ΑΒΓ абв 한국어", "", "   ", "。",
    # whitespace that survives normalisation and that MeCab keeps inside tokens
    "イ•\u1680𠮷", "◆~\xad\u200b◆\x1f😀", "⁂\u1680😀*\u200d¥®",
]


@pytest.fixture(scope="module")
def paragraphs():
    examples = load_corpus([ROOT / "training_data"])
    lines = [line for example in examples for line in example.text.splitlines() if line.strip()]
    return lines[:600] + EDGE_TEXTS


# --------------------------------------------------------------------------------------------
# the fast path gives exactly what the straightforward implementation gives

def reference_tokens(tokenizer: Tokenizer, text: str) -> list[str]:
    """Tokens as MeCab names them: ``POS1-POS2|form`` for every word and one regex (the
    implementation before context ids were used)."""
    import unidic_lite

    form = {"surface": "%m", "lemma": "%f[7]", "base": "%f[10]"}[tokenizer.form]
    arguments = (f'-r /dev/null -d "{unidic_lite.DICDIR}" -O "" -F "%f[0]-%f[1]|{form} " '
                 f'-U "%f[0]-%f[1]|%m " -E "\\n"')
    pattern = re.compile(rf"(?<!\S){POS_FILTERS[tokenizer.pos]}\|(\S+)")
    return pattern.findall(get_tagger(arguments).parse(normalize(text)))


@pytest.mark.parametrize("form", ["surface", "lemma", "base"])
@pytest.mark.parametrize("pos", ["all", "content", "nouns"])
def test_tokens_by_context_id_equal_tokens_by_part_of_speech(paragraphs, form, pos):
    tokenizer = Tokenizer(form=form, pos=pos)
    texts = paragraphs[::3] + EDGE_TEXTS
    assert [tokenizer.tokens(t) for t in texts] == [reference_tokens(tokenizer, t) for t in texts]


def test_ngrams_are_made_of_tokens_only():
    # Regression: trigrams were built over the list that already held the bigrams.
    features = Tokenizer(ngram_range=(1, 3))("ロシア軍が町を奪った")
    assert features == ["ロシア", "軍", "町", "奪っ", "ロシア 軍", "軍 町", "町 奪っ", "ロシア 軍 町", "軍 町 奪っ"]


@pytest.mark.parametrize("low, high", [(0, 0), (1, 3), (7, 7), (8, 12), (95, 1_234), (891, 1_771), (5_129, 5_223),
                                       (999, 1_000), (0, 99_999), (12_345, 67_890)])
def test_integer_range_regex_matches_exactly_the_range(low, high):
    pattern = re.compile("(?:" + "|".join(integer_range_regex(low, high)) + ")")
    candidates = set(range(0, 2_000)) | set(range(low - 50, low + 50)) | set(range(high - 50, high + 50)) | {10 ** 5}
    for number in sorted(n for n in candidates if n >= 0):
        assert bool(pattern.fullmatch(str(number))) == (low <= number <= high), number


@pytest.mark.parametrize("settings", [
    {"ngram_range": (1, 1)}, {"ngram_range": (1, 2)}, {"ngram_range": (1, 3), "min_df": 2},
    {"ngram_range": (2, 3)}, {"ngram_range": (1, 2), "max_df": 0.3, "max_features": 500},
    {"ngram_range": (1, 2), "sublinear_tf": False, "norm": None}, {"ngram_range": (1, 2), "use_idf": False, "norm": "l1"},
])
@pytest.mark.parametrize("compiled", [True, False], ids=["with C", "NumPy only"])
def test_feature_index_counts_and_weights_equal_the_vectorizer(paragraphs, settings, compiled, monkeypatch):
    if not compiled:
        monkeypatch.setattr(token_ids, "_compiled", None)
    settings = dict(settings)
    tokenizer = Tokenizer(ngram_range=settings.pop("ngram_range"))
    vectorizer = TfidfVectorizer(analyzer=tokenizer, dtype=np.float32, **{"sublinear_tf": True, **settings})
    vectorizer.fit(paragraphs[:300])
    index = FeatureIndex(vectorizer.vocabulary_, tokenizer.ngram_range)
    for texts in (paragraphs[300:], paragraphs[:1], EDGE_TEXTS, ["", ""]):
        expected = vectorizer.transform(texts)
        from_lists = index.counts([tokenizer.tokens(t) for t in texts], dtype=np.float32)
        from_strings = index.counts_of_strings(tokenizer.token_strings(texts), dtype=np.float32)
        for counts in (from_lists, from_strings):
            got = _tfidf_weights(vectorizer, counts)
            assert got.shape == expected.shape and got.dtype == expected.dtype
            assert np.array_equal(got.indptr, expected.indptr) and np.array_equal(got.indices, expected.indices)
            assert np.array_equal(got.data, expected.data)  # bit for bit


@pytest.mark.parametrize("compiled", [True, False], ids=["with C", "NumPy only"])
def test_model_transform_equals_the_vectorizer_and_survives_pickling(bundled_model, paragraphs, compiled,
                                                                      monkeypatch):
    import pickle

    if not compiled:
        monkeypatch.setattr(token_ids, "_compiled", None)

    expected = bundled_model.vectorizer_.transform(paragraphs)
    for model in (bundled_model, pickle.loads(pickle.dumps(bundled_model))):
        got = model.transform(paragraphs)
        assert type(got) is type(expected) and (got != expected).nnz == 0
        assert np.array_equal(got.data, expected.data)
    assert "_feature_index" not in pickle.loads(pickle.dumps(bundled_model)).__dict__


# --------------------------------------------------------------------------------------------
# parallel batch tagging equals single-process tagging

def test_parallel_suggest_and_predict_equal_single_process(bundled_model, bundled_model_dir, paragraphs):
    texts = paragraphs[:150] + EDGE_TEXTS
    expected = bundled_model.suggest(texts, threshold=0.2, k=4, explain=True)
    for source in ({"model_dir": bundled_model_dir}, {}):  # loaded from its folder, or sent in memory
        got = list(batch.suggest(bundled_model, texts, chunk_size=37, jobs=2, threshold=0.2, k=4,
                                 explain=True, **source))
        assert got == expected
    probabilities = batch.predict_proba(bundled_model, paragraphs, jobs=2, chunk_size=200, model_dir=bundled_model_dir)
    assert np.array_equal(probabilities, bundled_model.predict_proba(paragraphs))


def test_parallel_options_are_checked_before_work_is_sent(bundled_model, monkeypatch):
    monkeypatch.setattr(batch, "DASK_CONNECT_TIMEOUT", "1s")
    with pytest.raises(ValueError, match="k must be at least 1"):
        next(batch.suggest(bundled_model, ["日銀"], jobs=2, k=0))
    with pytest.raises(ValueError, match="--jobs"):
        list(batch.suggest(bundled_model, ["日銀"], jobs=0))
    with pytest.raises(ValueError, match="cannot reach the Dask scheduler"):
        list(batch.suggest(bundled_model, ["日銀"], dask_scheduler="tcp://127.0.0.1:9"))


def cli_lines(model, records, **options) -> str:
    """What ``python -m classifier suggest`` prints for JSON Lines input, computed in this process."""
    results = model.suggest([r["text"] for r in records], **options)
    return "".join(json.dumps({"id": r["id"], "line": n, "suggestions": s}, ensure_ascii=False) + "\n"
                   for n, (r, s) in enumerate(zip(records, results), 1))


def write_records(path, texts):
    records = [{"id": f"p{i}", "text": text} for i, text in enumerate(texts) if text.strip()]
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
    return records


def test_dask_cluster_output_equals_single_process_output(bundled_model, bundled_model_dir, paragraphs, tmp_path):
    from distributed import LocalCluster

    records = write_records(tmp_path / "archive.jsonl", paragraphs)
    command = [sys.executable, "-m", "classifier", "suggest", "--model", str(bundled_model_dir),
               str(tmp_path / "archive.jsonl"), "--batch-size", "128"]
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        address = cluster.scheduler_address
        texts = paragraphs[:300]
        got = list(batch.suggest(bundled_model, texts, chunk_size=50, dask_scheduler=address, threshold=0))
        assert got == bundled_model.suggest(texts, threshold=0)
        probabilities = batch.predict_proba(bundled_model, texts, chunk_size=64, dask_scheduler=address)
        assert np.array_equal(probabilities, bundled_model.predict_proba(texts))
        on_cluster = subprocess.run(command + ["--dask-scheduler", address], capture_output=True, text=True,
                                    cwd=ROOT, timeout=300)
    assert on_cluster.returncode == 0, on_cluster.stderr
    assert on_cluster.stdout == cli_lines(bundled_model, records)


def test_cli_jobs_output_equals_single_process_output(bundled_model, bundled_model_dir, paragraphs, tmp_path):
    records = write_records(tmp_path / "in.jsonl", paragraphs[:200])
    result = subprocess.run([sys.executable, "-m", "classifier", "suggest", "--model", str(bundled_model_dir),
                             str(tmp_path / "in.jsonl"), "--k", "2", "--jobs", "2", "--batch-size", "16"],
                            capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert result.returncode == 0, result.stderr
    assert result.stdout == cli_lines(bundled_model, records, k=2)


def test_cli_names_a_bad_input_line_in_parallel_runs(bundled_model_dir, tmp_path):
    inputs = tmp_path / "bad.jsonl"
    inputs.write_text('{"text": "日銀"}\n{oops}\n', encoding="utf-8")
    result = subprocess.run([sys.executable, "-m", "classifier", "suggest", "--model", str(bundled_model_dir),
                             str(inputs), "--jobs", "2"], capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert result.returncode == 2
    assert f"{inputs}:2: invalid JSON" in result.stderr
    assert "Traceback" not in result.stderr

