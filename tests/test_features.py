"""The batch transform gives exactly the fitted pipeline's own transform."""
import pickle

import numpy as np
import pytest

from classifier.features import count_features, count_tokens, tfidf_weights
from classifier.model import HashtagModel
from tests.support.texts import EDGE_TEXTS, corpus_paragraphs



@pytest.mark.parametrize("settings", [
    {"ngram_range": (1, 1)}, {"ngram_range": (1, 2)}, {"ngram_range": (1, 3), "min_df": 2},
    {"ngram_range": (2, 3)}, {"ngram_range": (1, 2), "max_df": 0.3, "max_features": 500},
    {"ngram_range": (1, 2), "sublinear_tf": False}, {"ngram_range": (1, 1), "pos": "content", "form": "lemma"},
])
def test_count_features_and_tfidf_weights_equal_the_pipeline(settings):
    paragraphs = corpus_paragraphs()
    features = HashtagModel(**settings).build_features().fit(paragraphs[:300])
    counter = features["counts"]
    for texts in (paragraphs[300:], paragraphs[:1], EDGE_TEXTS, ["", ""]):
        expected = features.transform(texts)
        counts = count_features(counter.vocabulary_, counter.analyzer.feature_lists(texts), counter.dtype)
        got = tfidf_weights(counts, features["tfidf"].idf_, features["tfidf"].sublinear_tf)
        assert got.shape == expected.shape and got.dtype == expected.dtype
        assert np.array_equal(got.indptr, expected.indptr) and np.array_equal(got.indices, expected.indices)
        assert np.array_equal(got.data, expected.data)  # bit for bit


def test_model_transform_equals_the_pipeline_after_saving_and_pickling(tiny_model, tmp_path):
    from classifier.persist import load_model, save_model

    save_model(tiny_model, tmp_path, {})
    scorer = load_model(tmp_path)[0]  # the arrays of a model folder, without the pipeline
    paragraphs = corpus_paragraphs()
    expected = tiny_model.features_.transform(paragraphs)
    for model in (tiny_model, pickle.loads(pickle.dumps(tiny_model)), scorer, pickle.loads(pickle.dumps(scorer))):
        got = model.transform(paragraphs)
        assert type(got) is type(expected) and (got != expected).nnz == 0
        assert np.array_equal(got.data, expected.data)


def test_no_texts_give_an_empty_matrix_and_no_decisions(tiny_model):
    counts = count_tokens(tiny_model.vocabulary_, [], np.float32)
    assert counts.shape == (0, len(tiny_model.vocabulary_)) and counts.nnz == 0
    probabilities, kept = tiny_model.decide([])
    assert probabilities.shape == kept.shape == (0, len(tiny_model.classes_))
    assert tiny_model.suggest([]) == []
