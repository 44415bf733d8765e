"""A stub model with fixed scores, and the evaluation fixture corpora (tests/fixtures)."""
import json

import numpy as np

from classifier import load_corpus
from tests.support.paths import FIXTURES

MULTILABEL = FIXTURES / "eval_multilabel.jsonl"
CORPUS = FIXTURES / "eval_corpus.jsonl"


class StubModel:
    """The parts of HashtagModel that evaluation reads, with fixed scores per text."""

    def __init__(self, scores: dict, classes, threshold=0.5, k=2, scopes=None):
        self.classes_ = np.array(classes, dtype=object)
        self.thresholds_ = np.full(len(classes), threshold)
        self.scopes_ = scopes or {tag: "block" for tag in classes}
        self.k = k
        self.tag_counts_ = {tag: 1 for tag in classes}
        self._scores = scores

    def predict_proba(self, texts):
        return np.array([[self._scores[text].get(tag, 0.0) for tag in self.classes_] for text in texts])

    def decide(self, texts, k=None, threshold=None):
        """Each tag by the threshold, at most k a text: the plain rule, without a topic model."""
        probabilities = self.predict_proba(texts)
        kept = probabilities >= (self.thresholds_ if threshold is None else threshold)
        beyond_k = np.argsort(-probabilities, axis=1, kind="stable")[:, (self.k if k is None else k):]
        np.put_along_axis(kept, beyond_k, False, axis=1)
        return probabilities, kept

    def get_params(self):
        return {"k": self.k}


def multilabel_case():
    """Eight texts, tags #A #B #C at threshold 0.5, k = 2 (see the table in the fixture file):

    text  gold   scores A/B/C      suggested   outcome
    1     A      .9  .6  .1        A B         B wrong
    2     A B    .7  .2  .4        A           B missed
    3     B      .3  .8  .7        B C         C wrong
    4     -      .1  .2  .3        -           correctly empty
    5     -      .2  .1  .6        C           false alarm
    6     C      .48 .1  .45       -           wrongly empty (best tag A is wrong too)
    7     #D     .1  .1  .1        -           #D is unknown to the model: no gold, correctly empty
    8     A      .2  .9  .3        B           A missed, B in its place
    """
    examples = load_corpus([MULTILABEL])
    records = [json.loads(line) for line in MULTILABEL.read_text(encoding="utf-8").splitlines()]
    model = StubModel({r["text"]: r["scores"] for r in records}, ["#A", "#B", "#C"])
    return model, examples
