"""The estimator: TF-IDF over MeCab tokens and one calibrated linear model per tag.

``HashtagModel`` owns its tokenizer settings, so training and serving cannot tokenize
differently. Scoring is one sparse-by-dense matrix product followed by a per-tag sigmoid
(learned on out-of-fold scores), so scores are probabilities that compare across tags.
"""
from __future__ import annotations

import time
from collections import Counter
from typing import Callable, Iterable, Sequence

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.feature_extraction.text import CountVectorizer, TfidfTransformer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GroupKFold
from sklearn.pipeline import Pipeline
from sklearn.svm import LinearSVC

from . import calibration
from .config import MIN_COUNT
from .metrics import label_scores
from .scorer import Scoring, _checked_texts
from .text import Tokenizer
from .text import normalize as normalize_text


# Rows of a training matrix from which its per-tag fits go to a process per core. Processes, not
# threads: liblinear keeps its random state in a C global that threads would share, and a fit's
# result must not depend on what runs beside it. Below this, starting the workers (scikit-learn's
# import in each) costs more than the fits.
PARALLEL_FIT_MIN_ROWS = 10_000


class HashtagModel(Scoring, BaseEstimator):
    """Multi-label hashtag suggester: TF-IDF over MeCab tokens and one linear model per tag.

    Parameters
    ----------
    form, pos, ngram_range : tokenizer settings (see ``classifier.text.Tokenizer``).
    min_df, max_df, sublinear_tf, max_features : TF-IDF settings.
    loss : "logistic" (logistic regression) or "hinge" (linear SVM); both are calibrated.
    C : inverse regularisation strength of the linear models.
    class_weight : None or "balanced", passed to the linear models.
    min_count : tags with fewer examples leave the label set (their texts stay as negatives).
    tags : the tags to learn, whatever their counts; None learns every tag with ``min_count``
        examples (a model scored on part of a corpus learns the tags of the whole corpus).
    cv : folds (grouped by post) for calibration and per-tag thresholds.
    k : default number of suggestions per text.
    threshold : the global threshold; None learns it by cross-validation.
    per_tag_thresholds : learn a threshold per tag (tags with fewer than ``min_threshold_support``
        examples keep the global one).
    paragraphs : also learn from each paragraph of a multi-paragraph text, with the text's
        learned tags: users send paragraphs, and a block's words are spread over its paragraphs.
    top_threshold, topic_gate, topic_floor : when to suggest (``calibration.block_decisions``):
        the best block tag is given at ``top_threshold``, or when a second model of the same kind
        ("is this text on any learned block tag?", trained on tagged texts) scores at least
        ``topic_gate`` and the best tag at least ``topic_floor``. ``top_threshold`` None: every
        tag by its own threshold; ``topic_gate`` None: no topic model.
    random_state : seed for everything random.
    """

    def __init__(self, form="surface", pos="all", ngram_range=(1, 1), min_df=1, max_df=1.0,
                 sublinear_tf=True, max_features=None, loss="hinge", C=0.05, class_weight="balanced",
                 min_count=MIN_COUNT, tags=None, cv=5, k=5, threshold=None, per_tag_thresholds=True,
                 min_threshold_support=10, paragraphs=True, top_threshold=0.7, topic_gate=0.995, topic_floor=0.03,
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
        self.tags = tags
        self.cv = cv
        self.k = k
        self.threshold = threshold
        self.per_tag_thresholds = per_tag_thresholds
        self.min_threshold_support = min_threshold_support
        self.paragraphs = paragraphs
        self.top_threshold = top_threshold
        self.topic_gate = topic_gate
        self.topic_floor = topic_floor
        self.random_state = random_state

    def build_tokenizer(self) -> Tokenizer:
        return Tokenizer(form=self.form, pos=self.pos, ngram_range=tuple(self.ngram_range))

    def build_features(self) -> Pipeline:
        counts = CountVectorizer(analyzer=self.build_tokenizer(), min_df=self.min_df, max_df=self.max_df,
                                 max_features=self.max_features, dtype=np.float32)
        return Pipeline([("counts", counts), ("tfidf", TfidfTransformer(sublinear_tf=self.sublinear_tf))])

    def build_linear_model(self):
        if self.loss == "logistic":
            # The dual problem has one variable per text rather than per feature: with far more
            # n-gram features than texts it reaches the same optimum several times faster.
            return LogisticRegression(C=self.C, solver="liblinear", dual=True, class_weight=self.class_weight,
                                      random_state=self.random_state)
        if self.loss == "hinge":
            return LinearSVC(C=self.C, class_weight=self.class_weight, random_state=self.random_state)
        raise ValueError(f"loss must be 'logistic' or 'hinge', got {self.loss!r}")

    # ----------------------------------------------------------------------------------------
    # fitting

    def fit(self, texts: Sequence[str], y: Sequence[Iterable[str]], groups: Sequence[str] | None = None,
            scopes: dict[str, str] | None = None, progress: Callable[[str], None] | None = None):
        """Learn from texts and their label sets.

        groups : the post each text comes from; calibration folds never split a post.
        scopes : tag -> "block" or "post", kept for the answers; tags not named are "block".
        """
        say = progress or (lambda message: None)
        started = time.perf_counter()
        texts, label_sets = _checked_input(texts, y)
        scopes = scopes or {}
        Y = self._fit_labels(label_sets, scopes)
        groups = np.asarray(groups if groups is not None else np.arange(len(texts)), dtype=object)
        # Texts with a block tag, learned or not, teach the topic model; post-tag-only stretches do not.
        tagged = np.array([any(scopes.get(t, "block") == "block" for t in labels) for labels in label_sets])
        given = np.ones(len(texts), dtype=bool)  # the texts as given, not paragraphs taken from them
        if self.paragraphs:
            texts, Y, groups, tagged = _with_paragraphs(texts, Y, groups, tagged)
            given = np.arange(len(texts)) < len(given)
        say(f"tokenizing {len(texts)} texts")
        self.features_ = self.build_features()
        X = self.features_.fit_transform(texts)
        self.feature_names_ = self.features_["counts"].get_feature_names_out()
        # What scoring reads (``Scoring.transform``); the pipeline itself is not needed to score.
        self.tokenizer_ = self.features_["counts"].analyzer
        self.vocabulary_, self.idf_ = self.features_["counts"].vocabulary_, self.features_["tfidf"].idf_
        say(f"calibrating {len(self.linear_columns_)} tags on {self.cv}-fold out-of-fold scores")
        self._fit_scores(X, Y, groups, tagged, given)
        say(f"fitting {len(self.linear_columns_)} tags on all {len(texts)} texts")
        coef, intercept = self._fit_linear(X, Y[:, self.linear_columns_])
        # Fortran order makes ``coef_.T`` contiguous, which is the layout the product X @ coef_.T
        # wants: no copy of the weights on every call.
        self.coef_ = np.asfortranarray(coef, dtype=np.float32)
        self.intercept_ = intercept.astype(np.float32)
        if self.topic_gate is not None:
            on_topic = Y[:, self.linear_columns_].any(axis=1, keepdims=True).astype(np.int8)
            coef, intercept = self._fit_linear(X[tagged], on_topic[tagged])
            self.topic_coef_, self.topic_intercept_ = coef[0].astype(np.float32), float(intercept[0])
        self.n_features_ = X.shape[1]
        self.fit_seconds_ = round(time.perf_counter() - started, 3)
        return self

    def _fit_labels(self, label_sets: list[list[str]], scopes: dict[str, str]) -> np.ndarray:
        """Choose the tags to learn and their scopes; return the 0/1 label matrix."""
        counts = Counter(tag for labels in label_sets for tag in labels)
        self.tag_counts_ = dict(sorted(counts.items()))
        learned = set(self.tags) if self.tags is not None else {t for t, n in counts.items() if n >= self.min_count}
        self.classes_ = np.array(sorted(learned), dtype=object)
        if len(self.classes_) < 1:
            frequent = ", ".join(f"{tag} ({n})" for tag, n in counts.most_common(3)) or "none"
            raise ValueError(f"no tag has at least {self.min_count} examples, the least a tag needs to be learned "
                             f"(min_count, --min-count in train.py); the most frequent: {frequent}")
        index = {tag: j for j, tag in enumerate(self.classes_)}
        Y = np.zeros((len(label_sets), len(self.classes_)), dtype=np.int8)
        for i, labels in enumerate(label_sets):
            Y[i, [index[tag] for tag in labels if tag in index]] = 1
        self.scopes_ = {tag: scopes.get(tag, "block") for tag in self.classes_}
        is_post = np.array([self.scopes_[tag] == "post" for tag in self.classes_])
        if is_post.all() or not is_post.any():
            is_post[:] = False  # nothing to compose: every tag gets its own linear model
        self.linear_columns_, self.post_columns_ = np.flatnonzero(~is_post), np.flatnonzero(is_post)
        if len(self.post_columns_):
            # A block under a tag the model does not learn (sport in a post about Ukraine) carries
            # the post's tags only by the format's convention: it says nothing about those themes,
            # so it teaches them as a negative, and an off-topic paragraph gets no post tag.
            learned_block = set(self.classes_[self.linear_columns_])
            for i, labels in enumerate(label_sets):
                block_tags = [t for t in labels if scopes.get(t, "block") == "block"]
                if block_tags and not learned_block.intersection(block_tags):
                    Y[i, self.post_columns_] = 0
        self.post_given_block_ = calibration.conditional_frequencies(Y[:, self.linear_columns_],
                                                                     Y[:, self.post_columns_])
        return Y

    def _fit_scores(self, X, Y: np.ndarray, groups, tagged: np.ndarray, given: np.ndarray) -> None:
        """Sigmoids, thresholds and the topic model's sigmoid, all from out-of-fold decision values.

        Thresholds are learned on the texts as given: they decide the further tags of a text,
        which paragraphs taken from a block would set too low (a block's paragraphs share its tags
        but few of its words). The best tag of a paragraph has its own rule.
        """
        linear_Y = Y[:, self.linear_columns_]
        decision = self._out_of_fold_decision(X, linear_Y, groups)
        self.calibration_ = calibration.platt_columns(decision, linear_Y)
        linear_probabilities = calibration.apply_sigmoids(decision, self.calibration_)
        self.thresholds_ = np.zeros(len(self.classes_))
        self.threshold_, self.thresholds_[self.linear_columns_] = calibration.learn_thresholds(
            linear_probabilities[given], linear_Y[given], self.threshold, self.per_tag_thresholds,
            self.min_threshold_support)
        topic = None
        if self.topic_gate is not None:
            on_topic = linear_Y.any(axis=1, keepdims=True).astype(np.int8)
            topic_decision = self._out_of_fold_decision(X, on_topic, groups, fit_rows=tagged)
            self.topic_calibration_ = calibration.platt_columns(topic_decision[tagged], on_topic[tagged])
            topic = calibration.apply_sigmoids(topic_decision, self.topic_calibration_)[:, 0]
        block_kept = self._block_decisions(linear_probabilities, topic)
        # The derived post-tag scores get their own sigmoid, on the same out-of-fold scores.
        derived = calibration.logit(self._derived_post_scores(linear_probabilities))
        self.post_calibration_ = calibration.platt_columns(derived, Y[:, self.post_columns_])
        probabilities = self._compose(linear_probabilities, block_kept)
        if len(self.post_columns_):
            _, self.thresholds_[self.post_columns_] = calibration.learn_thresholds(
                probabilities[given][:, self.post_columns_], Y[given][:, self.post_columns_], self.threshold_,
                self.per_tag_thresholds, self.min_threshold_support)
        self.cv_scores_ = label_scores(self._kept(probabilities, block_kept, None)[given], Y[given])

    def _out_of_fold_decision(self, X, Y: np.ndarray, groups: np.ndarray, fit_rows=None) -> np.ndarray:
        """Decision values of every row from models fitted on the other folds (on their
        ``fit_rows`` only, when given); folds never split a post."""
        n_folds = min(self.cv, len(set(groups)))
        if n_folds < 2:
            raise ValueError(f"calibration needs texts from at least 2 posts, got {len(set(groups))}")
        decision = np.zeros(Y.shape, dtype=np.float64)
        for train, test in group_folds(groups, n_folds, self.random_state):
            if fit_rows is not None:
                train = train[fit_rows[train]]
            coef, intercept = self._fit_linear(X[train], Y[train])
            decision[test] = X[test] @ coef.T + intercept
        return decision

    def _fit_linear(self, X, Y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """One binary model per column of Y, stacked into a (n_tags, n_features) matrix.

        One-vs-rest by hand rather than ``OneVsRestClassifier``: a fold may hold no positive of a
        rare tag, which must score as a confident "no" (not its constant predictor's 0), and
        the weights are wanted as one matrix for a single product at prediction time.
        """
        coef = np.zeros((Y.shape[1], X.shape[1]), dtype=np.float64)
        intercept = np.full(Y.shape[1], -10.0)
        # liblinear wants float64 CSR with sorted indices; given anything else, scikit-learn
        # converts and sorts a copy for every tag.
        X = X.astype(np.float64)
        X.sort_indices()
        constant = Y.min(axis=0) == Y.max(axis=0)
        intercept[constant] = np.where(Y[0, constant] > 0, 10.0, -10.0)
        columns = np.flatnonzero(~constant)
        tasks = [(self.build_linear_model(), X, Y[:, j]) for j in columns]
        if X.shape[0] >= PARALLEL_FIT_MIN_ROWS and len(tasks) > 1:
            from joblib import Parallel, delayed

            fits = Parallel(n_jobs=-1)(delayed(_fit_one)(*task) for task in tasks)
        else:
            fits = [_fit_one(*task) for task in tasks]
        for j, (weights, bias) in zip(columns, fits):
            coef[j], intercept[j] = weights, bias
        return coef, intercept


def _fit_one(estimator, X, y) -> tuple[np.ndarray, float]:
    estimator.fit(X, y)
    return estimator.coef_[0], estimator.intercept_[0]


def _checked_input(texts, y) -> tuple[list[str], list[list[str]]]:
    texts = _checked_texts(texts)
    label_sets = [list(dict.fromkeys(labels)) for labels in y]
    if len(texts) != len(label_sets):
        raise ValueError(f"got {len(texts)} texts but {len(label_sets)} label sets")
    return texts, label_sets


def _with_paragraphs(texts: list[str], Y: np.ndarray, groups: np.ndarray, tagged: np.ndarray):
    """The texts, then each paragraph (line) of every multi-line text as a text of its own,
    with that text's labels, post and taggedness. Lines with no text left once normalised (a
    tweet's attribution line) are left out."""
    lines, owners = [], []
    for i, text in enumerate(texts):
        if "\n" in text:
            kept = [line for line in text.split("\n") if normalize_text(line)]
            if len(kept) > 1:
                lines += kept
                owners += [i] * len(kept)
    rows = np.concatenate([np.arange(len(texts)), np.asarray(owners, dtype=np.intp)])
    return texts + lines, Y[rows], groups[rows], tagged[rows]


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


def group_folds(groups: np.ndarray, n_folds: int, seed: int):
    """GroupKFold over a seeded shuffle of the groups, so fold membership follows the seed."""
    unique = np.array(sorted(set(groups)), dtype=object)
    rng = np.random.RandomState(seed)
    shuffled = {g: i for i, g in enumerate(unique[rng.permutation(len(unique))])}
    codes = np.array([shuffled[g] for g in groups])
    return GroupKFold(n_splits=n_folds).split(np.zeros(len(groups)), groups=codes)
