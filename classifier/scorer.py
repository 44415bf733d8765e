"""Scoring text with a fitted model, from plain arrays: what ``suggest``, the service and
evaluation run, without scikit-learn.

``Scoring`` holds the prediction code; ``HashtagModel`` (the estimator, ``classifier.model``)
gets it by inheritance once fitted, and ``Scorer`` is the same state read back from a model
folder. A model folder stores the arrays in an ``.npz`` file (no pickle: loading a folder runs
no code from it), so a command that only scores imports NumPy, SciPy's sparse matrices and
fugashi, not scikit-learn, whose import alone takes about a second.
"""
from __future__ import annotations

import io
import json
from typing import Sequence

import numpy as np

from . import calibration, features
from .text import Tokenizer

# The arrays a Scorer needs, by attribute; the scalars and tables go in the JSON header.
ARRAYS = ("coef_", "intercept_", "calibration_", "thresholds_", "linear_columns_", "post_columns_",
          "post_given_block_", "post_calibration_", "idf_", "feature_names_", "classes_")
TOPIC_ARRAYS = ("topic_coef_", "topic_calibration_")
HEADER = ("form", "pos", "ngram_range", "sublinear_tf", "k", "top_threshold", "topic_gate", "topic_floor",
          "threshold_", "topic_intercept_", "scopes_", "tag_counts_", "cv_scores_", "fit_seconds_", "n_features_")


class Scoring:
    """Prediction from the fitted state: tokenizer settings, vocabulary and idf, the weights of
    each block tag, the sigmoids, thresholds and the decision rule's settings."""

    def transform(self, texts: Sequence[str]):
        """TF-IDF rows of ``texts`` (``features.transform``: the fitted pipeline's transform, faster)."""
        return self.transform_tokens(self.tokenizer_.token_strings(_checked_texts(texts)))

    def transform_tokens(self, token_strings: Sequence[str]):
        """``transform`` of texts already tokenized by ``tokenizer_.token_strings``."""
        return features.transform(self.tokenizer_, self.vocabulary_, self.idf_, self.sublinear_tf, token_strings)

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        """Calibrated probability of every tag (columns in ``classes_`` order) for each text."""
        return self._decide(self.transform(texts), None, None)[0]

    def decide(self, texts: Sequence[str], k: int | None = None, threshold: float | None = None):
        """(probabilities, kept): every tag's score, and which tags ``suggest`` gives each text.

        threshold None is the model's own operating point (``calibration.block_decisions`` for
        block tags, learned thresholds for post tags); a number applies to every tag instead
        (0 ranks every tag). At most the k best-scored block tags are kept, and k post tags.
        """
        k, threshold = check_options(self.k if k is None else k, threshold)
        return self._decide(self.transform(texts), k, threshold)

    def decide_tokens(self, token_strings: Sequence[str], k: int | None = None, threshold: float | None = None):
        """``decide`` of texts already tokenized by ``tokenizer_.token_strings``."""
        k, threshold = check_options(self.k if k is None else k, threshold)
        return self._decide(self.transform_tokens(token_strings), k, threshold)

    def _decide(self, X, k: int | None, threshold: float | None):
        decision = np.asarray(X @ self.coef_.T) + self.intercept_
        linear_probabilities = calibration.apply_sigmoids(decision, self.calibration_)
        topic = None
        if self.topic_gate is not None:
            topic_decision = np.asarray(X @ self.topic_coef_).reshape(-1, 1) + self.topic_intercept_
            topic = calibration.apply_sigmoids(topic_decision, self.topic_calibration_)[:, 0]
        block_kept = self._block_decisions(linear_probabilities, topic)
        probabilities = self._compose(linear_probabilities, block_kept)
        if k is None:
            return probabilities, None
        kept = self._kept(probabilities, block_kept, threshold)
        for columns in (self.linear_columns_, self.post_columns_):
            _keep_top_k(probabilities, kept, columns, k)
        return probabilities, kept

    def _block_decisions(self, linear_probabilities: np.ndarray, topic: np.ndarray | None) -> np.ndarray:
        return calibration.block_decisions(linear_probabilities, self.thresholds_[self.linear_columns_], topic,
                                           self.top_threshold, self.topic_gate, self.topic_floor)

    def _kept(self, probabilities: np.ndarray, block_kept: np.ndarray, threshold: float | None) -> np.ndarray:
        if threshold is not None:
            return probabilities >= threshold
        kept = np.zeros(probabilities.shape, dtype=bool)
        kept[:, self.linear_columns_] = block_kept
        kept[:, self.post_columns_] = probabilities[:, self.post_columns_] >= self.thresholds_[self.post_columns_]
        return kept

    def _compose(self, linear_probabilities: np.ndarray, block_kept: np.ndarray) -> np.ndarray:
        """All tags' scores from the linear tags' probabilities.

        A post tag is a theme of a whole post, not something a paragraph says, so its score is
        derived: the strongest block tag's probability times how often posts with that block
        tag carry the post tag, calibrated. A text given no block tag is on none of the post's
        topics, so its post tags score 0: they come only with a block tag.
        """
        full = np.empty((linear_probabilities.shape[0], len(self.classes_)), dtype=np.float64)
        full[:, self.linear_columns_] = linear_probabilities
        if len(self.post_columns_):
            derived = calibration.logit(self._derived_post_scores(linear_probabilities))
            scores = calibration.apply_sigmoids(derived, self.post_calibration_)
            full[:, self.post_columns_] = scores * block_kept.any(axis=1)[:, None]
        return full

    def _derived_post_scores(self, linear_probabilities: np.ndarray) -> np.ndarray:
        """For each post tag, the best block tag's probability times P(post tag | block tag)."""
        # A running maximum over the block tags: the same products and maximum as one
        # (texts x block tags x post tags) array, without building it.
        given = self.post_given_block_
        best = linear_probabilities[:, :1] * given[0]
        for column in range(1, given.shape[0]):
            np.maximum(best, linear_probabilities[:, column:column + 1] * given[column], out=best)
        return best

    def suggest(self, texts: Sequence[str], k: int | None = None, threshold: float | None = None,
                explain: bool | int = False) -> list[dict]:
        """For each text ``{"tags": [...], "post_tags": [...]}``: its block tags ranked on their
        own, and apart from them the post tags (themes of the whole post it belongs in); each item
        ``{"tag", "score"}`` (and ``"terms"`` with ``explain``).

        threshold None is the model's own operating point; a number applies to every tag (0
        ranks every tag, no abstention). k None uses the model's default; it bounds each list.
        """
        k, threshold = check_options(self.k if k is None else k, threshold)
        X = self.transform(texts)
        probabilities, kept = self._decide(X, k, threshold)
        n_terms = 0 if not explain else 5 if explain is True else int(explain)
        classes = self.classes_.tolist()
        lists = []
        for columns in (self.linear_columns_, self.post_columns_):
            tags, scores, bounds = ranked_kept(probabilities, kept, columns)
            items = [{"tag": classes[j], "score": score} for j, score in zip(tags, scores)]
            for i, (start, end) in enumerate(bounds if n_terms else ()):
                for item, j in zip(items[start:end], tags[start:end]):
                    item["terms"] = self._terms(X[i], j, n_terms)
            lists.append([items[start:end] for start, end in bounds])
        return [{"tags": block, "post_tags": post} for block, post in zip(*lists)]

    def _terms(self, x, j: int, n: int) -> list[dict]:
        """The features of one text that pushed tag j up most: tf-idf value times weight.

        A post tag has no weights of its own: its terms are those of the block tag it came from.
        """
        if j in self.post_columns_:
            linear = calibration.apply_sigmoids(np.asarray(x @ self.coef_.T) + self.intercept_, self.calibration_)[0]
            post = list(self.post_columns_).index(j)
            row = int(np.argmax(linear * self.post_given_block_[:, post]))
        else:
            row = list(self.linear_columns_).index(j)
        contributions = x.data * self.coef_[row, x.indices]
        order = np.argsort(-contributions, kind="stable")[:n]
        return [{"term": str(self.feature_names_[x.indices[o]]), "weight": round(float(contributions[o]), 4)}
                for o in order if contributions[o] > 0]

    def explain(self, text: str, tag: str, n: int = 10) -> list[dict]:
        if tag not in self.scopes_:
            raise ValueError(f"unknown tag {tag!r}; the model knows {len(self.classes_)} tags")
        return self._terms(self.transform([text]), list(self.classes_).index(tag), n)


class Scorer(Scoring):
    """A fitted model's scoring state, read from a model folder (``from_bytes``); ``get_params``
    gives the estimator parameters it was trained with, so that it can be refitted."""

    def __init__(self, state: dict, params: dict):
        self.__dict__.update(state)
        self._params = {**params, "ngram_range": tuple(params.get("ngram_range", (1, 1)))}  # JSON made it a list
        self.coef_ = np.asfortranarray(self.coef_)  # the layout X @ coef_.T wants (see HashtagModel.fit)
        self.classes_ = self.classes_.astype(object)
        self.feature_names_ = self.feature_names_.astype(object)
        self.vocabulary_ = {name: j for j, name in enumerate(self.feature_names_.tolist())}
        self.ngram_range = tuple(self.ngram_range)
        self.tokenizer_ = Tokenizer(form=self.form, pos=self.pos, ngram_range=self.ngram_range)

    def get_params(self, deep: bool = True) -> dict:
        return dict(self._params)

    def __repr__(self):
        return f"Scorer({len(self.classes_)} tags, {len(self.feature_names_)} features)"


def scorer_bytes(model) -> bytes:
    """A fitted model's scoring state as the bytes of an ``.npz`` file (``Scorer.from_bytes``)."""
    arrays = {name: np.asarray(getattr(model, name)) for name in ARRAYS}
    arrays["classes_"] = arrays["classes_"].astype(str)
    arrays["feature_names_"] = arrays["feature_names_"].astype(str)
    if model.topic_gate is not None:
        arrays.update({name: np.asarray(getattr(model, name)) for name in TOPIC_ARRAYS})
    header = {name: getattr(model, name, None) for name in HEADER}
    header["params"] = model.get_params()
    arrays["header"] = np.array(json.dumps(header, ensure_ascii=False, default=_plain))
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **arrays)
    return buffer.getvalue()


def scorer_from_bytes(data: bytes) -> Scorer:
    """The Scorer saved by ``scorer_bytes``; arrays only, never a pickle."""
    with np.load(io.BytesIO(data), allow_pickle=False) as stored:
        state = {name: stored[name] for name in stored.files if name != "header"}
        header = json.loads(str(stored["header"]))
    params = header.pop("params")
    return Scorer({**state, **header}, params)


def _plain(value):
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"cannot write {type(value).__name__} to JSON")


def ranked_kept(probabilities: np.ndarray, kept: np.ndarray, columns) -> tuple[list[int], list[float], list[tuple]]:
    """The kept tags among ``columns`` of every row, best first (ties in column order), for the
    whole batch at once: their columns and their scores rounded to 4 places, as flat lists, and
    each row's (start, end) in them. Per row, numpy's fixed cost per call would outweigh the work.

    Only the kept tags are sorted (a few a row, where a row has every tag), by row, then score,
    then place in ``columns``: the order a stable sort of each row's scores gives them.
    """
    columns = np.asarray(columns, dtype=np.intp)
    n = len(probabilities)
    if not len(columns) or not n:
        return [], [], [(0, 0)] * n
    rows, places = np.nonzero(kept[:, columns])
    best = probabilities[rows, columns[places]]
    order = np.lexsort((places, -best, rows))
    rows, tags = rows[order], columns[places[order]]
    scores = np.round(best[order], 4).tolist()
    ends = np.cumsum(np.bincount(rows, minlength=n)).tolist()
    return tags.tolist(), scores, list(zip([0, *ends[:-1]], ends))


def _keep_top_k(probabilities: np.ndarray, kept: np.ndarray, columns: np.ndarray, k: int) -> None:
    """Unkeep, in place, each row's kept tags among ``columns`` that are not among its k
    best-scored of them (ties in column order: a stable sort's).

    Only a row with more than k of the columns scoring at least its lowest kept tag can hold
    one, so only those rows are sorted: a few, where sorting every row of a batch cost more than
    the rest of the decision rule.
    """
    if len(columns) <= k:
        return
    scores = probabilities[:, columns]
    lowest_kept = np.where(kept[:, columns], scores, np.inf).min(axis=1)
    rows = np.flatnonzero((scores >= lowest_kept[:, None]).sum(axis=1) > k)
    if len(rows):
        beyond_k = columns[np.argsort(-scores[rows], axis=1, kind="stable")[:, k:]]
        kept[rows[:, None], beyond_k] = False


def check_options(k, threshold) -> tuple[int, float | None]:
    """The one check of a request's k and threshold, for the library, the CLI and the service."""
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)):
        raise ValueError(f"k must be a whole number, got {k!r}")
    if k < 1:
        raise ValueError(f"k must be at least 1, got {k!r}")
    if threshold is not None:
        if isinstance(threshold, bool) or not isinstance(threshold, (int, float)) or not 0.0 <= threshold <= 1.0:
            raise ValueError(f"threshold must be between 0 and 1, got {threshold!r}")
        threshold = float(threshold)
    return int(k), threshold


def _checked_texts(texts) -> list[str]:
    if isinstance(texts, str):
        raise ValueError("expected a list of texts, got a single string")
    texts = texts if isinstance(texts, list) else list(texts)
    for i, text in enumerate(texts):
        if type(text) is not str:
            raise ValueError(f"text {i} must be a string, got {type(text).__name__}")
    return texts
