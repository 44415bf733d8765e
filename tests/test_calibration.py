"""When to suggest: the decision rule on hand-made scores (``calibration.block_decisions``)."""
import numpy as np
import pytest

from classifier.calibration import best_threshold, block_decisions, learn_thresholds

THRESHOLDS = np.array([0.5, 0.5, 0.5])
RULE = {"top_threshold": 0.7, "topic_gate": 0.995, "topic_floor": 0.03}

# (scores of three block tags, the topic model's score, the tags given)
CASES = [
    ([0.90, 0.10, 0.05], 0.50, [0]),         # a confident best tag needs no topic model
    ([0.09, 0.04, 0.01], 0.999, [0]),        # on-topic with weak words: the best tag all the same
    ([0.09, 0.04, 0.01], 0.90, []),          # weak words and not surely on-topic: nothing
    ([0.02, 0.01, 0.01], 0.999, []),         # on-topic, but the best tag is below the floor
    ([0.60, 0.55, 0.10], 0.50, []),          # above the per-tag thresholds, but neither confident nor on-topic
    ([0.80, 0.60, 0.40], 0.50, [0, 1]),      # a further tag by its own threshold, with the best one
    ([0.10, 0.60, 0.05], 0.999, [1]),        # the best tag is whichever scores highest
]


@pytest.mark.parametrize("scores, topic, given", CASES)
def test_block_decisions(scores, topic, given):
    kept = block_decisions(np.array([scores]), THRESHOLDS, np.array([topic]), **RULE)
    assert np.flatnonzero(kept[0]).tolist() == given


def test_without_a_top_threshold_every_tag_is_judged_by_its_own_threshold():
    scores = np.array([[0.60, 0.55, 0.10], [0.09, 0.04, 0.01]])
    kept = block_decisions(scores, THRESHOLDS, np.array([0.5, 0.999]), None, 0.995, 0.03)
    assert kept.tolist() == [[True, True, False], [False, False, False]]


def test_without_a_topic_model_only_confident_best_tags_are_given():
    scores = np.array([[0.09, 0.04, 0.01], [0.75, 0.1, 0.1]])
    kept = block_decisions(scores, THRESHOLDS, None, 0.7, None, 0.03)
    assert kept.tolist() == [[False, False, False], [True, False, False]]


def test_thresholds_are_learned_per_tag_from_out_of_fold_scores():
    rng = np.random.default_rng(0)
    gold = (rng.random((400, 2)) < 0.3).astype(np.int8)
    # Tag 0 separates its positives (about 0.85) from negatives at about 0.55; tag 1 its
    # positives (about 0.35) from negatives at about 0.1: each needs a threshold of its own.
    scores = np.where(gold == 1, [0.85, 0.35], [0.55, 0.1]) + rng.normal(0, 0.02, gold.shape)
    global_threshold, thresholds = learn_thresholds(scores, gold, None, per_tag=True, min_support=10)
    assert 0.1 < thresholds[1] < 0.35 and 0.55 < thresholds[0] < 0.85
    assert 0.05 <= global_threshold <= 0.95


def test_best_threshold_prefers_the_prior_among_equal_values():
    flat = np.ones(37)
    assert best_threshold(flat, prior=0.5) == 0.5
