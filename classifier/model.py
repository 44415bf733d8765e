"""Features and a linear model: fit, suggest, explain, save, load.

``HashtagModel`` owns its tokenizer settings, so training and serving cannot tokenize
differently. Scoring is one sparse-by-dense matrix product followed by a per-tag sigmoid
(Platt scaling learned on out-of-fold scores), so scores are calibrated probabilities that
compare across tags and a single threshold means the same for every tag.
"""
from __future__ import annotations

import hashlib
import io
import json
import os
import platform
import re
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Callable, Iterable, Sequence

import numpy as np
from scipy import sparse
from scipy.special import expit
from sklearn.base import BaseEstimator
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GroupKFold
from sklearn.preprocessing import normalize
from sklearn.svm import LinearSVC

from .text import Tokenizer, dictionary_version
from .token_ids import TokenIds, count_unigrams, ids_by_dict

try:  # the routine sklearn.preprocessing.normalize runs on CSR rows, without its input checks
    from sklearn.utils.sparsefuncs_fast import inplace_csr_row_normalize_l2 as _inplace_csr_row_normalize_l2
except ImportError:  # pragma: no cover - moved in some future scikit-learn: normalize() is equal
    _inplace_csr_row_normalize_l2 = None

_INT32_MAX = np.iinfo(np.int32).max
# Bump when the pickled HashtagModel's attributes change: older folders are refused with a
# message to retrain instead of failing on first use.
MODEL_FORMAT = 2
ARTIFACT_PREFIX = "model-"
_ARTIFACT_NAME = re.compile(r"^model-[0-9a-f]{16}\.joblib$")
METADATA_FILE = "metadata.json"
_THRESHOLD_GRID = np.round(np.arange(0.05, 0.951, 0.025), 3)


class ModelLoadError(RuntimeError):
    """A model folder that cannot be served; the message says why and how to recover."""


class HashtagModel(BaseEstimator):
    """Multi-label hashtag suggester: TF-IDF over MeCab tokens and one linear model per tag.

    Parameters
    ----------
    form, pos, ngram_range : tokenizer settings (see ``classifier.text.Tokenizer``).
    min_df, max_df, sublinear_tf, max_features : TF-IDF settings.
    loss : "logistic" (logistic regression) or "hinge" (linear SVM); both are calibrated.
    C : inverse regularisation strength of the linear models.
    class_weight : None or "balanced", passed to the linear models.
    min_count : tags with fewer examples leave the label set (their texts stay as negatives).
    cv : folds (grouped by post) for calibration and per-tag thresholds.
    k : default number of suggestions per text.
    threshold : the global threshold; None learns it by cross-validation.
    per_tag_thresholds : learn a threshold per tag (tags with fewer than ``min_threshold_support``
        examples keep the global one).
    random_state : seed for everything random.
    """

    def __init__(self, form="surface", pos="all", ngram_range=(1, 1), min_df=1, max_df=1.0,
                 sublinear_tf=True, max_features=None, loss="hinge", C=1.0, class_weight="balanced",
                 min_count=10, cv=5, k=5, threshold=None, per_tag_thresholds=True, min_threshold_support=10,
                 random_state=0):
        self.form = form
        self.pos = pos
        self.ngram_range = ngram_range
        self.min_df = min_df
        self.max_df = max_df
        self.sublinear_tf = sublinear_tf
        self.max_features = max_features
        self.loss = loss
        self.C = C
        self.class_weight = class_weight
        self.min_count = min_count
        self.cv = cv
        self.k = k
        self.threshold = threshold
        self.per_tag_thresholds = per_tag_thresholds
        self.min_threshold_support = min_threshold_support
        self.random_state = random_state

    # ----------------------------------------------------------------------------------------
    # fitting

    def build_tokenizer(self) -> Tokenizer:
        return Tokenizer(form=self.form, pos=self.pos, ngram_range=tuple(self.ngram_range))

    def _linear_model(self):
        if self.loss == "logistic":
            # The dual problem has one variable per text rather than per feature: with far more
            # n-gram features than texts it reaches the same optimum several times faster.
            return LogisticRegression(C=self.C, solver="liblinear", dual=True, class_weight=self.class_weight,
                                      random_state=self.random_state)
        if self.loss == "hinge":
            return LinearSVC(C=self.C, class_weight=self.class_weight, random_state=self.random_state)
        raise ValueError(f"loss must be 'logistic' or 'hinge', got {self.loss!r}")

    def _fit_linear(self, X, Y) -> tuple[np.ndarray, np.ndarray]:
        """One binary model per column of Y, stacked into a (n_tags, n_features) matrix."""
        coef = np.zeros((Y.shape[1], X.shape[1]), dtype=np.float64)
        intercept = np.full(Y.shape[1], -10.0)
        # liblinear wants float64 CSR with sorted indices; given anything else, scikit-learn
        # converts and sorts a copy for every tag (a third of training time at 16x the corpus).
        X = X.astype(np.float64)
        X.sort_indices()
        for j in range(Y.shape[1]):
            column = Y[:, j]
            if column.min() == column.max():
                # No positive (or no negative) example in this fold: a constant score.
                intercept[j] = 10.0 if column[0] else -10.0
                continue
            estimator = self._linear_model().fit(X, column)
            coef[j], intercept[j] = estimator.coef_[0], estimator.intercept_[0]
        return coef, intercept

    def fit(self, texts: Sequence[str], y: Sequence[Iterable[str]], groups: Sequence[str] | None = None,
            scopes: dict[str, str] | None = None, progress: Callable[[str], None] | None = None):
        """Learn from texts and their label sets.

        groups : the post each text comes from; calibration folds never split a post.
        scopes : tag -> "block" or "post", kept for the answers; tags not named are "block".
        """
        say = progress or (lambda message: None)
        texts = list(texts)
        label_sets = [list(dict.fromkeys(labels)) for labels in y]
        if len(texts) != len(label_sets):
            raise ValueError(f"got {len(texts)} texts but {len(label_sets)} label sets")
        for i, text in enumerate(texts):
            if not isinstance(text, str):
                raise ValueError(f"text {i} must be a string, got {type(text).__name__}")
        counts = Counter(tag for labels in label_sets for tag in labels)
        self.tag_counts_ = dict(sorted(counts.items()))
        self.classes_ = np.array(sorted(tag for tag, n in counts.items() if n >= self.min_count), dtype=object)
        if len(self.classes_) < 1:
            raise ValueError(f"no tag has at least min_count={self.min_count} examples "
                             f"(most frequent: {counts.most_common(3)})")
        index = {tag: j for j, tag in enumerate(self.classes_)}
        Y = np.zeros((len(texts), len(self.classes_)), dtype=np.int8)
        for i, labels in enumerate(label_sets):
            for tag in labels:
                if tag in index:
                    Y[i, index[tag]] = 1
        self.scopes_ = {tag: (scopes or {}).get(tag, "block") for tag in self.classes_}
        is_post = np.array([self.scopes_[tag] == "post" for tag in self.classes_])
        if is_post.all() or not is_post.any():
            is_post[:] = False  # nothing to compose: every tag gets its own linear model
        self.linear_columns_ = np.flatnonzero(~is_post)
        self.post_columns_ = np.flatnonzero(is_post)
        if len(self.post_columns_):
            # A block under a tag the model does not learn (sport in a post about Ukraine) carries
            # the post's tags only by the format's convention: it says nothing about those themes,
            # so it teaches them as a negative, and an off-topic paragraph gets no post tag.
            all_scopes = scopes or {}
            learned_block = set(self.classes_[self.linear_columns_])
            for i, labels in enumerate(label_sets):
                block_tags = [t for t in labels if all_scopes.get(t, "block") == "block"]
                if block_tags and not learned_block.intersection(block_tags):
                    Y[i, self.post_columns_] = 0
        self.post_given_block_ = _conditional_frequencies(Y[:, self.linear_columns_], Y[:, self.post_columns_])

        started = time.perf_counter()
        say(f"tokenizing {len(texts)} texts")
        self.vectorizer_ = TfidfVectorizer(analyzer=self.build_tokenizer(), min_df=self.min_df, max_df=self.max_df,
                                           sublinear_tf=self.sublinear_tf, max_features=self.max_features,
                                           dtype=np.float32)
        X = self.vectorizer_.fit_transform(texts)
        self.feature_names_ = self.vectorizer_.get_feature_names_out()

        linear_Y = Y[:, self.linear_columns_]
        say(f"calibrating {len(self.linear_columns_)} tags on {self.cv}-fold out-of-fold scores")
        decision = self._out_of_fold_decision(X, linear_Y, groups)
        self.calibration_ = np.array([_platt(decision[:, j], linear_Y[:, j]) for j in range(linear_Y.shape[1])])
        linear_probabilities = self._calibrate(decision)
        self.thresholds_ = np.zeros(len(self.classes_))
        self.threshold_, self.thresholds_[self.linear_columns_] = self._learn_thresholds(linear_probabilities, linear_Y)
        # The derived post-tag scores get their own sigmoid, on the same out-of-fold scores.
        derived = _logit(self._derived_post_scores(linear_probabilities))
        self.post_calibration_ = np.array([_platt(derived[:, p], Y[:, column])
                                           for p, column in enumerate(self.post_columns_)]).reshape(-1, 2)
        probabilities = self._compose(linear_probabilities)
        if len(self.post_columns_):
            _, self.thresholds_[self.post_columns_] = self._learn_thresholds(
                probabilities[:, self.post_columns_], Y[:, self.post_columns_], self.threshold_)
        self.cv_scores_ = _label_scores(probabilities, Y, self.thresholds_)

        say(f"fitting {len(self.linear_columns_)} tags on all {len(texts)} texts")
        coef, intercept = self._fit_linear(X, linear_Y)
        self.coef_ = coef.astype(np.float32)
        self.intercept_ = intercept.astype(np.float32)
        self._coef_t = np.ascontiguousarray(self.coef_.T)
        self.n_features_ = X.shape[1]
        self.fit_seconds_ = round(time.perf_counter() - started, 3)
        return self

    def _compose(self, linear_probabilities: np.ndarray) -> np.ndarray:
        """All tags' scores from the linear tags' probabilities.

        A post tag is a theme of a whole post, not something a paragraph says, so its score is
        derived: the strongest block tag's probability times how often posts with that block
        tag carry the post tag, calibrated. A text that clears no block tag's threshold is on
        none of the post's topics, so its post tags score 0: they come only with a block tag.
        """
        full = np.empty((linear_probabilities.shape[0], len(self.classes_)), dtype=np.float64)
        full[:, self.linear_columns_] = linear_probabilities
        if len(self.post_columns_):
            derived = _logit(self._derived_post_scores(linear_probabilities))
            calibrated = expit(derived * self.post_calibration_[:, 0] + self.post_calibration_[:, 1])
            on_topic = (linear_probabilities >= self.thresholds_[self.linear_columns_]).any(axis=1)
            full[:, self.post_columns_] = calibrated * on_topic[:, None]
        return full

    def _derived_post_scores(self, linear_probabilities: np.ndarray) -> np.ndarray:
        # Laid out (text, post tag, block tag), the max runs along contiguous memory: five times
        # faster than along the middle axis of (text, block tag, post tag), with the same values.
        # (The transposed weights are copied: a transposed view would make NumPy lay the product
        # out in the old order.)
        weights = np.ascontiguousarray(self.post_given_block_.T)
        return (linear_probabilities[:, None, :] * weights[None]).max(axis=2)

    def _out_of_fold_decision(self, X, Y, groups) -> np.ndarray:
        groups = np.asarray(groups if groups is not None else np.arange(X.shape[0]), dtype=object)
        n_folds = min(self.cv, len(set(groups)))
        if n_folds < 2:
            raise ValueError(f"calibration needs texts from at least 2 posts, got {len(set(groups))}")
        decision = np.zeros(Y.shape, dtype=np.float64)
        for train, test in group_folds(groups, n_folds, self.random_state):
            coef, intercept = self._fit_linear(X[train], Y[train])
            decision[test] = X[test] @ coef.T + intercept
        return decision

    def _calibrate(self, decision: np.ndarray) -> np.ndarray:
        scaled = decision * self.calibration_[:, 0]  # float64, as the calibration
        scaled += self.calibration_[:, 1]
        return expit(scaled, out=scaled)

    def _learn_thresholds(self, probabilities: np.ndarray, Y: np.ndarray, global_threshold: float | None = None):
        """(global threshold, per-tag thresholds) for these columns, from out-of-fold scores."""
        if global_threshold is None:
            if self.threshold is not None:
                global_threshold = float(self.threshold)
            else:
                # The global threshold that maximises micro-F1 of the out-of-fold scores.
                curve = [_micro_f1(probabilities >= t, Y) for t in _THRESHOLD_GRID]
                global_threshold = _best_threshold(curve, 0.5)
        thresholds = np.full(Y.shape[1], global_threshold)
        if self.per_tag_thresholds:
            for j in range(Y.shape[1]):
                if Y[:, j].sum() >= self.min_threshold_support:
                    curve = [_f1(probabilities[:, j] >= t, Y[:, j]) for t in _THRESHOLD_GRID]
                    thresholds[j] = _best_threshold(curve, global_threshold)
        return global_threshold, thresholds

    # ----------------------------------------------------------------------------------------
    # prediction

    def transform(self, texts: Sequence[str]):
        """TF-IDF rows of ``texts``: the same matrix as ``vectorizer_.transform``, built faster.

        scikit-learn joins every n-gram into a string and counts features in a Python loop, one
        dictionary update per feature. Here each token is looked up once (``map`` over a dict:
        the loop runs in C), n-grams are found among token ids with NumPy (``FeatureIndex``),
        counts come from one ``np.unique`` over the batch, and the TF-IDF weighting is the
        vectorizer's own, so the matrix is identical.
        """
        if isinstance(texts, str):
            raise ValueError("expected a list of texts, got a single string")
        texts = texts if isinstance(texts, list) else list(texts)
        tokenizer = self.vectorizer_.analyzer
        if not isinstance(tokenizer, Tokenizer) or not all(type(text) is str for text in texts):
            return self.vectorizer_.transform(texts)  # bytes and the like: the vectorizer decodes them
        index = self.__dict__.get("_feature_index")
        if index is None:
            index = self._feature_index = FeatureIndex(self.vectorizer_.vocabulary_, tokenizer.ngram_range)
        counts = index.counts_of_strings(tokenizer.token_strings(texts), dtype=self.vectorizer_.dtype)
        return _tfidf_weights(self.vectorizer_, counts)

    def predict_proba(self, texts: Sequence[str], X=None) -> np.ndarray:
        """Calibrated probability of every tag (columns in ``classes_`` order) for each text."""
        if X is None:
            X = self.transform(texts)
        coef_t = self.__dict__.get("_coef_t")
        if coef_t is None:
            coef_t = self._coef_t = np.ascontiguousarray(self.coef_.T)
        decision = np.asarray(X @ coef_t) + self.intercept_
        return self._compose(self._calibrate(decision))

    def suggest(self, texts: Sequence[str], k: int | None = None, threshold: float | None = None,
                explain: bool | int = False) -> list[list[dict]]:
        """Ranked suggestions per text: ``{"tag", "score", "scope"}`` (and ``"terms"``).

        threshold None uses the learned per-tag thresholds; a number applies to every tag
        (0 ranks every tag, no abstention). k None uses the model's default.
        """
        k = self.k if k is None else int(k)
        if k < 1:
            raise ValueError(f"k must be at least 1, got {k}")
        if threshold is not None and not (0.0 <= float(threshold) <= 1.0):
            raise ValueError(f"threshold must be between 0 and 1, got {threshold}")
        X = self.transform(texts)
        probabilities = self.predict_proba(texts, X)
        cutoffs = self.thresholds_ if threshold is None else np.full(len(self.classes_), float(threshold))
        # Rank and cut the whole batch at once; only the kept suggestions become Python objects.
        ranked = _top_columns(probabilities, k)
        scores = np.take_along_axis(probabilities, ranked, axis=1)
        kept = scores >= cutoffs[ranked]
        # Only the kept suggestions become Python objects, row by row and in rank order within a
        # row, made in one comprehension and sliced into rows.
        rows, places = np.nonzero(kept)
        columns = ranked[rows, places].tolist()
        names = self.classes_.tolist()
        scopes = [self.scopes_[tag] for tag in names]
        items = [{"tag": names[j], "score": score, "scope": scopes[j]}
                 for j, score in zip(columns, np.round(scores[rows, places], 4).tolist())]
        if explain:
            n_terms = 5 if explain is True else int(explain)
            for i, j, item in zip(rows.tolist(), columns, items):
                item["terms"] = self._terms(X[i], j, n_terms)
        ends = np.cumsum(np.bincount(rows, minlength=len(probabilities))).tolist()
        return [items[start:end] for start, end in zip([0] + ends[:-1], ends)]

    def _terms(self, x, j: int, n: int) -> list[dict]:
        """The features of one text that pushed tag j up most: tf-idf value times weight.

        A post tag has no weights of its own: its terms are those of the block tag it came from.
        """
        if j in self.post_columns_:
            linear = self._calibrate(np.asarray(x @ self.coef_.T) + self.intercept_)[0]
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

    def __getstate__(self):
        state = self.__dict__.copy()
        state.pop("_coef_t", None)  # derived; rebuilt on first use
        state.pop("_feature_index", None)
        return state


class FeatureIndex:
    """A fitted vocabulary keyed by token ids, to count n-gram features with NumPy.

    Features are n-grams of tokens joined with a space, and tokens never contain one, so a
    feature is a tuple of tokens. Each token of the vocabulary gets an id; the m-token prefixes
    of features get codes level by level: the code of a prefix of m tokens is its position in
    the sorted keys ``code(first m-1 tokens) * n_tokens + id(last token)``. Looking up every
    n-gram of a batch is then a few vectorised ``searchsorted`` calls, whatever n is.
    """

    def __init__(self, vocabulary: dict[str, int], ngram_range: tuple[int, int]):
        self.low, self.high = ngram_range
        self.n_features = len(vocabulary)
        # In column order, so that for a vocabulary of single tokens a token's id is its column.
        grams = [(feature.split(" "), column) for feature, column in sorted(vocabulary.items(), key=lambda f: f[1])]
        self.token_ids: dict[str, int] = {}
        for parts, _ in grams:
            for part in parts:
                self.token_ids.setdefault(part, len(self.token_ids))
        n_tokens = self.n_tokens = max(len(self.token_ids), 1)
        # level 1: a prefix of one token is the token; its code is its id
        codes = {}
        # keys[m]: sorted codes of the m-token prefixes; columns[m]: the column of each (-1: the
        # prefix is not itself a feature), with one more -1 at the end for lookups of code -1.
        self.keys, self.columns = [None, np.arange(n_tokens)], [None, np.full(n_tokens + 1, -1, dtype=np.int64)]
        for parts, column in grams:
            if len(parts) == 1:
                self.columns[1][self.token_ids[parts[0]]] = column
        for m in range(2, self.high + 1):
            previous = codes
            codes = {}
            for parts, column in grams:
                if len(parts) >= m:
                    head = tuple(parts[:m - 1])
                    code = previous[head] if m > 2 else self.token_ids[parts[0]]
                    codes[tuple(parts[:m])] = code * n_tokens + self.token_ids[parts[m - 1]]
            keys = np.array(sorted(set(codes.values())), dtype=np.int64)
            position = {key: i for i, key in enumerate(keys.tolist())}
            codes = {prefix: position[key] for prefix, key in codes.items()}
            columns = np.full(len(keys) + 1, -1, dtype=np.int64)
            for parts, column in grams:
                if len(parts) == m:
                    columns[codes[tuple(parts)]] = column
            self.keys.append(keys)
            self.columns.append(columns)

    def counts(self, token_lists: list[list[str]], dtype=np.float64):
        """A CSR matrix of feature counts (rows: texts), canonical like scikit-learn's."""
        ids, text_of = ids_by_dict(self.token_ids, token_lists)
        return self._counts(ids, text_of, len(token_lists), dtype)

    def counts_of_strings(self, token_strings: list[str], dtype=np.float64):
        """``counts`` for texts given as space-separated tokens (``Tokenizer.token_strings``).

        The same matrix, found without a Python string per token (``TokenIds``).
        """
        table = self.__dict__.get("_token_table")
        if table is None:
            table = self._token_table = TokenIds(sorted(self.token_ids, key=self.token_ids.get))
        ids, text_of = table.lookup(token_strings)
        if self.high == 1 and len(ids) < _INT32_MAX and self.n_features < _INT32_MAX:
            compiled = count_unigrams(ids, text_of, len(token_strings), self.n_features)  # ids are columns
            if compiled is not None:
                indptr, indices, counts = compiled
                matrix = sparse.csr_matrix((counts.astype(dtype), indices, indptr),
                                           shape=(len(token_strings), self.n_features))
                matrix.has_sorted_indices = True
                return matrix
        return self._counts(ids, text_of, len(token_strings), dtype)

    def _counts(self, ids: np.ndarray, text_of: np.ndarray, n_texts: int, dtype):
        """The count matrix from each token's id (-1: in no feature) and text, in text order."""
        found = []  # text << 32 | column, for every occurrence of a feature
        code = ids  # code of the m-gram that starts at each position; -1: no feature starts so
        for m in range(1, self.high + 1):
            keys = self.keys[m]
            if m > 1:
                if not len(keys):
                    break  # no feature has m tokens, so none has more
                code, last = code[:-1], ids[m - 1:]
                key = code * self.n_tokens + last
                valid = (code >= 0) & (last >= 0)
                if n_texts > 1:
                    valid &= text_of[:len(last)] == text_of[m - 1:]
                place = np.minimum(np.searchsorted(keys, key), len(keys) - 1)
                code = np.where(valid & (keys[place] == key), place, -1)
            if m >= self.low:
                column = np.take(self.columns[m], code)  # the last entry is -1, for code -1
                hit = column >= 0
                found.append((text_of[:len(code)][hit] << 32) | column[hit])
        found = np.sort(np.concatenate(found) if len(found) > 1 else found[0]) if found else np.zeros(0, np.int64)
        # Sorted (text, column) keys: their runs are the CSR entries and counts, in canonical
        # order; the column is the key's low half, and a row starts at the first key >= row << 32.
        new_run = np.ones(len(found), dtype=bool)
        np.not_equal(found[1:], found[:-1], out=new_run[1:])
        starts = np.flatnonzero(new_run)
        counts = np.diff(starts, append=len(found)).astype(dtype)
        unique = found[starts]
        index = np.int32 if len(found) < _INT32_MAX and self.n_features < _INT32_MAX else np.int64
        columns = (unique & 0xFFFFFFFF).astype(index)
        indptr = np.searchsorted(unique, np.arange(n_texts + 1, dtype=np.int64) << 32).astype(index)
        matrix = sparse.csr_matrix((counts, columns, indptr), shape=(n_texts, self.n_features))
        matrix.has_sorted_indices = True
        return matrix


def _tfidf_weights(vectorizer: TfidfVectorizer, counts):
    """The vectorizer's TF-IDF weighting of a canonical CSR count matrix, in place.

    These are the steps of ``TfidfTransformer.transform`` with the same NumPy operations and the
    same row normalisation routine, so the result is identical; what is left out is its input
    validation, which costs about 0.3 ms a call: most of the time of a one-paragraph request.
    """
    if vectorizer.sublinear_tf:
        np.log(counts.data, counts.data)
        counts.data += 1.0
    if vectorizer.use_idf:
        counts.data *= vectorizer.idf_[counts.indices]
    if vectorizer.norm == "l2" and _inplace_csr_row_normalize_l2 is not None:
        _inplace_csr_row_normalize_l2(counts)
    elif vectorizer.norm is not None:
        counts = normalize(counts, norm=vectorizer.norm, copy=False)
    return counts


def fit_examples(model: HashtagModel, examples: Sequence, progress=None) -> HashtagModel:
    """Fit on corpus examples: labels are block and post tags, groups are posts."""
    scope_votes: dict[str, Counter] = {}
    for example in examples:
        for tag in example.tags:
            scope_votes.setdefault(tag, Counter())["block"] += 1
        for tag in example.post_tags:
            scope_votes.setdefault(tag, Counter())["post"] += 1
    scopes = {tag: votes.most_common(1)[0][0] for tag, votes in scope_votes.items()}
    return model.fit([e.text for e in examples], [e.labels for e in examples],
                     groups=[e.group or e.source for e in examples], scopes=scopes, progress=progress)


def _top_columns(scores: np.ndarray, k: int) -> np.ndarray:
    """The columns of the k highest scores of each row, highest first; ties in column order.

    That is ``np.argsort(-scores, kind="stable")[:, :k]``. For a few columns of many rows, k
    rounds of ``argmax`` (which takes the first of equal maxima) are cheaper than sorting every
    row; for a few rows, the one sort call is.
    """
    k = min(k, scores.shape[1])
    if k > 8 or len(scores) < 32:
        return np.argsort(-scores, axis=1, kind="stable")[:, :k]
    remaining = scores.copy()
    rows = np.arange(len(scores))
    top = np.empty((len(scores), k), dtype=np.intp)
    for place in range(k):
        top[:, place] = column = np.argmax(remaining, axis=1)
        remaining[rows, column] = -np.inf
    return top


def _logit(probabilities: np.ndarray) -> np.ndarray:
    clipped = np.clip(probabilities, 1e-6, 1 - 1e-6)
    return np.log(clipped / (1 - clipped))


def _conditional_frequencies(block: np.ndarray, post: np.ndarray) -> np.ndarray:
    """P(post tag | block tag) from co-occurrence: shape (n_block_tags, n_post_tags)."""
    counts = block.T.astype(np.float64) @ post.astype(np.float64)
    totals = block.sum(axis=0).astype(np.float64)[:, None]
    return np.divide(counts, totals, out=np.zeros_like(counts), where=totals > 0)


def group_folds(groups: np.ndarray, n_folds: int, seed: int):
    """GroupKFold over a seeded shuffle of the groups, so fold membership follows the seed."""
    unique = np.array(sorted(set(groups)), dtype=object)
    rng = np.random.RandomState(seed)
    shuffled = {g: i for i, g in enumerate(unique[rng.permutation(len(unique))])}
    codes = np.array([shuffled[g] for g in groups])
    return GroupKFold(n_splits=n_folds).split(np.zeros(len(groups)), groups=codes)


def _platt(decision: np.ndarray, positive: np.ndarray) -> tuple[float, float]:
    """Sigmoid parameters (a, b) with P = sigmoid(a * decision + b), fitted on out-of-fold scores."""
    if positive.min() == positive.max():
        return (0.0, 10.0 if positive[0] else -10.0)
    fitted = LogisticRegression(C=1e4, solver="lbfgs").fit(decision.reshape(-1, 1), positive)
    return (float(fitted.coef_[0, 0]), float(fitted.intercept_[0]))


def _best_threshold(f1_curve: Sequence[float], prior: float) -> float:
    """The grid threshold with the best F1, read off a smoothed curve.

    With a few dozen positives the raw F1 curve is flat and jagged, and its first maximum sits at
    the low edge of a plateau. A moving average over five grid steps removes the jags, and among
    equal values the threshold nearest ``prior`` (the global one) wins.
    """
    curve = np.asarray(f1_curve, dtype=np.float64)
    smoothed = np.convolve(np.pad(curve, 2, mode="edge"), np.ones(5) / 5, mode="valid")
    best = np.flatnonzero(smoothed >= smoothed.max() - 1e-9)
    return float(_THRESHOLD_GRID[best[np.argmin(np.abs(_THRESHOLD_GRID[best] - prior))]])


def _f1(predicted: np.ndarray, gold: np.ndarray) -> float:
    tp = int(np.sum(predicted & (gold == 1)))
    denominator = int(predicted.sum()) + int(gold.sum())
    return 2 * tp / denominator if denominator else 0.0


def _micro_f1(predicted: np.ndarray, gold: np.ndarray) -> float:
    return _f1(predicted.ravel(), gold.ravel())


def _label_scores(probabilities: np.ndarray, Y: np.ndarray, thresholds: np.ndarray) -> dict:
    predicted = probabilities >= thresholds
    per_tag = [_f1(predicted[:, j], Y[:, j]) for j in range(Y.shape[1])]
    return {"micro_f1": round(_micro_f1(predicted, Y), 4), "macro_f1": round(float(np.mean(per_tag)), 4)}


# --------------------------------------------------------------------------------------------
# persistence

def library_versions() -> dict[str, str]:
    import fugashi  # noqa: F401 (its version is what matters)
    import importlib.metadata as md
    import joblib
    import scipy
    import sklearn

    return {"python": platform.python_version(), "scikit-learn": sklearn.__version__, "numpy": np.__version__,
            "scipy": scipy.__version__, "joblib": joblib.__version__, "fugashi": md.version("fugashi"),
            "dictionary": dictionary_version()}


# The libraries whose pickles must match exactly; a different patch of Python is harmless.
_STRICT_VERSIONS = ("scikit-learn", "numpy", "scipy", "fugashi", "dictionary")


def save_model(model: HashtagModel, directory: str | os.PathLike, metadata: dict) -> Path:
    """Write the model and its metadata so that a crash at any moment leaves the folder loadable.

    The artifact goes to a new content-named file; ``metadata.json`` names it and is replaced
    last, atomically, so readers see either the old pair or the new one. Old artifacts go after.
    """
    import joblib

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    for stale in directory.glob(".*.tmp"):  # left by a save that was killed
        stale.unlink(missing_ok=True)
    handle, temporary = tempfile.mkstemp(dir=directory, prefix=".artifact-", suffix=".tmp")
    os.close(handle)
    os.chmod(temporary, 0o644)  # mkstemp's 0600 would hide the model from a service run as another user
    try:
        joblib.dump(model, temporary, compress=3)
        digest = _sha256(temporary)
        artifact = directory / f"{ARTIFACT_PREFIX}{digest[:16]}.joblib"
        _fsync_path(temporary)
        os.replace(temporary, artifact)
    finally:
        if os.path.exists(temporary):
            os.unlink(temporary)
    full = {**metadata, "artifact": artifact.name, "artifact_sha256": digest, "model_format": MODEL_FORMAT,
            "versions": library_versions()}
    write_json_atomic(directory / METADATA_FILE, full)
    for old in directory.glob(f"{ARTIFACT_PREFIX}*.joblib"):
        if old.name != artifact.name:
            old.unlink()
    return artifact


def write_json_atomic(path: Path, data) -> None:
    path = Path(path)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}-", suffix=".tmp")
    try:
        os.fchmod(handle, 0o644)
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            json.dump(data, stream, ensure_ascii=False, indent=2, default=_json_default)
            stream.write("\n")
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, path)
        _fsync_path(path.parent)
    finally:
        if os.path.exists(temporary):
            os.unlink(temporary)


def read_metadata(directory: str | os.PathLike) -> dict:
    path = Path(directory) / METADATA_FILE
    if not path.is_file():
        raise ModelLoadError(f"no trained model in {directory} ({METADATA_FILE} missing): run `python train.py`")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ModelLoadError(f"{path} is not valid JSON ({error}): retrain with `python train.py`") from None


def load_model(directory: str | os.PathLike) -> tuple[HashtagModel, dict]:
    """Load a model folder after checking its versions and its artifact's hash."""
    import joblib

    metadata = read_metadata(directory)
    versions, current = metadata.get("versions", {}), library_versions()
    drift = [f"{name} {versions.get(name)} (running {current[name]})" for name in _STRICT_VERSIONS
             if versions.get(name) != current[name]]
    if drift:
        raise ModelLoadError(f"model in {directory} was written by other library versions: {', '.join(drift)}; "
                             f"retrain with `python train.py`")
    if metadata.get("model_format") != MODEL_FORMAT:
        raise ModelLoadError(f"model in {directory} has format {metadata.get('model_format')}, this code reads "
                             f"format {MODEL_FORMAT}: retrain with `python train.py`")
    name = str(metadata.get("artifact", ""))
    if not _ARTIFACT_NAME.match(name):
        # Only a content-named file inside the folder is ever unpickled, never a path from metadata.
        raise ModelLoadError(f"metadata in {directory} names an artifact {name!r} that is not a model file "
                             f"of this folder: retrain with `python train.py`")
    artifact = Path(directory) / name
    try:
        data = artifact.read_bytes()  # hash and unpickle the same bytes: no swap in between
    except OSError:
        raise ModelLoadError(f"model artifact {name} is missing: retrain with `python train.py`") from None
    if hashlib.sha256(data).hexdigest() != metadata.get("artifact_sha256"):
        raise ModelLoadError(f"model artifact {name} does not match the hash in its metadata "
                             f"(truncated or replaced): retrain with `python train.py`")
    model = joblib.load(io.BytesIO(data))
    if not isinstance(model, HashtagModel):
        raise ModelLoadError(f"{name} holds a {type(model).__name__}, not a HashtagModel: "
                             f"retrain with `python train.py`")
    return model, metadata


def _sha256(path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        for chunk in iter(lambda: stream.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _fsync_path(path) -> None:
    try:
        descriptor = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(descriptor)
    except OSError:
        pass
    finally:
        os.close(descriptor)


def _json_default(value):
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating,)):
        return float(value)
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"cannot write {type(value).__name__} to JSON")

