"""classifier.evaluate: scoring a model on a corpus, the metrics against hand-computed values,
calibration, the error records and which tags are scored."""
import numpy as np
import pytest

from classifier.corpus import Example
from classifier.evaluate import calibration, error_records, evaluate, evaluation_tags, score
from classifier.report import build_report
from tests.support.evaluation import StubModel


def test_metrics_match_hand_computed_values(multilabel):
    model, examples = multilabel
    report = evaluate(model, examples)
    assert report["n_examples"] == 8 and report["n_labelled"] == 5
    assert report["k"] == 2 and report["threshold"] == "per-tag"
    # A: 2 of 2 suggestions right, 2 of 3 gold found. B: 1 of 3, 1 of 2. C: 0 of 2, 0 of 1.
    assert {tag: (s["precision"], s["recall"], s["f1"], s["support"], s["predicted"])
            for tag, s in report["per_tag"].items()} == {
        "#A": (1.0, 0.6667, 0.8, 3, 2), "#B": (0.3333, 0.5, 0.4, 2, 3), "#C": (0.0, 0.0, 0.0, 1, 2)}
    # 3 right of 7 suggested, of 6 gold: F1 = 2*3 / (7+6).
    assert report["micro"] == {"precision": 0.4286, "recall": 0.5, "f1": 0.4615}
    assert report["macro"] == {"precision": 0.4444, "recall": 0.3889, "f1": 0.4}
    # Best tag right for texts 1, 2, 3; wrong for 6 (A) and 8 (B).
    assert report["top1_accuracy"] == 0.6
    # Gold ranked in the top 2 whatever the score: 1A 2A 3B 6C yes, 2B 8A no.
    assert report["recall_at_k"] == 0.6667
    assert report["abstention"] == {"texts_without_gold": 3, "correctly_empty": 0.6667, "labelled_texts": 5,
                                    "wrongly_empty": 0.2, "block_labelled_texts": 5, "wrongly_empty_block": 0.2}
    assert report["confusions"] == [{"gold": "#A", "predicted": "#B", "count": 1}]
    # Sum of squared errors over the 24 (text, tag) pairs: 4.5529.
    assert report["calibration"]["overall"]["brier"] == 0.1897
    assert report["calibration"]["overall"]["n_positive"] == 6


def test_one_threshold_and_k_change_the_decisions(multilabel):
    model, examples = multilabel
    report = evaluate(model, examples, k=1, threshold=0.0)
    # k = 1 and no threshold: one suggestion a text, never empty; it is the best tag, so
    # micro precision is the share of the 8 best tags that are gold (texts 1, 2, 3).
    assert report["threshold"] == 0.0
    assert report["micro"]["precision"] == 0.375
    assert report["abstention"]["correctly_empty"] == 0.0 and report["abstention"]["wrongly_empty"] == 0.0
    with pytest.raises(ValueError, match="threshold must be between 0 and 1, got 1.5"):
        evaluate(model, examples, threshold=1.5)
    with pytest.raises(ValueError, match="k must be at least 1, got 0"):
        evaluate(model, examples, k=0)
    with pytest.raises(ValueError, match="zero examples"):
        evaluate(model, [])


def test_large_inputs_are_scored_in_batches_with_progress(multilabel, monkeypatch):
    import classifier.evaluate as evaluation

    model, examples = multilabel
    monkeypatch.setattr(evaluation, "BATCH_SIZE", 3)
    messages = []
    report = evaluate(model, examples, progress=messages.append)
    assert messages == ["scored 3/8 texts", "scored 6/8 texts", "scored 8/8 texts"]
    assert report["micro"]["f1"] == 0.4615  # the same numbers as in one batch


def test_calibration_by_hand():
    # Two bins: [0, .5) holds .1 and .3 (mean .2, half gold), [.5, 1] holds .8 and .9 (mean .85, all
    # gold). ECE = 2/4 * |.5 - .2| + 2/4 * |1 - .85| = .225; Brier = (.01 + .49 + .04 + .01) / 4.
    result = calibration(np.array([0.1, 0.3, 0.8, 0.9]), np.array([0, 1, 1, 1]), bins=2)
    assert result["ece"] == 0.225 and result["brier"] == 0.1375
    assert [(b["n"], b["mean_score"], b["observed"]) for b in result["curve"]] == [(2, 0.2, 0.5), (2, 0.85, 1.0)]
    # A score of exactly 1 belongs to the last bin.
    assert calibration(np.array([1.0]), np.array([1]), bins=2)["curve"][0]["low"] == 0.5


def test_errors_list_every_wrong_or_missed_suggestion_worst_first(multilabel):
    model, examples = multilabel
    errors = error_records(score(model, examples), examples)
    # cost: text 8 = .9 (B wrong) + .8 (A missed); 2 = .8; 3 = .7; 1 = .6; 5 = .6; 6 = .55.
    assert [(e["source"].rsplit(":", 1)[1], e["kind"], e["cost"]) for e in errors] == [
        ("8", "confused", 1.7), ("2", "missed", 0.8), ("3", "wrong", 0.7), ("1", "wrong", 0.6),
        ("5", "false_alarm", 0.6), ("6", "wrongly_empty", 0.55)]
    worst = errors[0]
    assert worst["gold"] == ["#A"] and worst["wrong"] == ["#B"]
    assert worst["suggested"] == [{"tag": "#B", "score": 0.9}]
    assert worst["missed"] == [{"tag": "#A", "score": 0.2}]
    assert worst["text"] == "八: 日銀の総裁"


def test_post_tags_are_not_scored_on_a_corpus_without_them(multilabel):
    model, examples = multilabel
    scopes = {"#A": "block", "#B": "block", "#C": "block", "#P": "post"}
    with_post = StubModel(model._scores, ["#A", "#B", "#C", "#P"], scopes=scopes)
    assert list(evaluation_tags(with_post, examples)) == ["#A", "#B", "#C"]
    report = build_report(with_post, examples)[0]
    assert set(report["per_tag"]) == {"#A", "#B", "#C"}
    assert "the corpus has no post tags: the model's 1 post tags are not scored" in report["notes"]
    # A corpus that has post tags judges them.
    with_post_tags = [Example(e.text, e.tags, ("#P",), e.source, e.group) for e in examples]
    assert "#P" in evaluation_tags(with_post, with_post_tags)
