"""From out-of-fold decision values to calibrated scores and per-tag thresholds.

scikit-learn's ``CalibratedClassifierCV`` fits the same sigmoid, but it keeps the out-of-fold
scores to itself, and the thresholds and post-tag scores below are learned from exactly those
scores; so the sigmoid is fitted here, with scikit-learn's ``LogisticRegression``.
"""
from __future__ import annotations

import numpy as np

from .metrics import LEARNING_GRID, f1_by_threshold, micro_f1_by_threshold


def platt(decision: np.ndarray, positive: np.ndarray) -> tuple[float, float]:
    """Sigmoid parameters (a, b) with P = sigmoid(a * decision + b), fitted on out-of-fold scores."""
    if positive.min() == positive.max():
        return (0.0, 10.0 if positive[0] else -10.0)
    from sklearn.linear_model import LogisticRegression  # fitting only: scoring never imports scikit-learn

    # Newton steps on two parameters converge in a few iterations, where lbfgs takes dozens.
    fitted = LogisticRegression(C=1e4, solver="newton-cholesky").fit(decision.reshape(-1, 1), positive)
    return (float(fitted.coef_[0, 0]), float(fitted.intercept_[0]))


def platt_columns(decision: np.ndarray, Y: np.ndarray) -> np.ndarray:
    """One sigmoid per column: shape (n_columns, 2)."""
    return np.array([platt(decision[:, j], Y[:, j]) for j in range(Y.shape[1])]).reshape(-1, 2)


def apply_sigmoids(decision: np.ndarray, sigmoids: np.ndarray) -> np.ndarray:
    scaled = decision * sigmoids[:, 0]  # float64, as the sigmoids
    scaled += sigmoids[:, 1]
    # 1 / (1 + exp(-x)) in NumPy, in place. SciPy's expit computes the same (within a unit in
    # the last place), but importing scipy.special takes a sixth of a second, a third of what a
    # scoring command needs before it can start.
    np.negative(scaled, out=scaled)
    with np.errstate(over="ignore"):  # exp(800) is inf, and 1 / inf is the 0 wanted
        np.exp(scaled, out=scaled)
    scaled += 1.0
    return np.reciprocal(scaled, out=scaled)


def logit(probabilities: np.ndarray) -> np.ndarray:
    clipped = np.clip(probabilities, 1e-6, 1 - 1e-6)
    return np.log(clipped / (1 - clipped))


def best_threshold(f1_curve: np.ndarray, prior: float, grid: np.ndarray = LEARNING_GRID) -> float:
    """The grid threshold with the best F1, read off a smoothed curve.

    With a few dozen positives the raw F1 curve is flat and jagged, and its first maximum sits at
    the low edge of a plateau. A moving average over five grid steps removes the jags, and among
    equal values the threshold nearest ``prior`` (the global one) wins.
    """
    curve = np.asarray(f1_curve, dtype=np.float64)
    smoothed = np.convolve(np.pad(curve, 2, mode="edge"), np.ones(5) / 5, mode="valid")
    best = np.flatnonzero(smoothed >= smoothed.max() - 1e-9)
    return float(grid[best[np.argmin(np.abs(grid[best] - prior))]])


def learn_thresholds(probabilities: np.ndarray, Y: np.ndarray, global_threshold: float | None,
                     per_tag: bool, min_support: int) -> tuple[float, np.ndarray]:
    """(global threshold, per-tag thresholds) for these columns, from out-of-fold scores.

    ``global_threshold`` None learns it: the one that maximises micro-F1. A tag with at least
    ``min_support`` positives gets its own threshold when ``per_tag`` is set.
    """
    if global_threshold is None:
        global_threshold = best_threshold(micro_f1_by_threshold(probabilities, Y), 0.5)
    thresholds = np.full(Y.shape[1], global_threshold)
    if per_tag:
        curves = f1_by_threshold(probabilities, Y)
        for j in np.flatnonzero(Y.sum(axis=0) >= min_support):
            thresholds[j] = best_threshold(curves[:, j], global_threshold)
    return global_threshold, thresholds


def conditional_frequencies(block: np.ndarray, post: np.ndarray) -> np.ndarray:
    """P(post tag | block tag) from co-occurrence: shape (n_block_tags, n_post_tags)."""
    counts = block.T.astype(np.float64) @ post.astype(np.float64)
    totals = block.sum(axis=0).astype(np.float64)[:, None]
    return np.divide(counts, totals, out=np.zeros_like(counts), where=totals > 0)


def block_decisions(probabilities: np.ndarray, thresholds: np.ndarray, topic: np.ndarray | None,
                    top_threshold: float | None, topic_gate: float | None, topic_floor: float) -> np.ndarray:
    """Which block tags a text gets at the model's own operating point: a bool matrix.

    Without ``top_threshold`` a tag is given when it clears its own threshold. With it, the best
    tag is given when it scores ``top_threshold`` or more, or when the text is on the model's
    topics (``topic`` at least ``topic_gate``) and the best tag scores ``topic_floor`` or more:
    a real paragraph on a known topic often has weak words, and its best tag is then right but
    low. Further tags still need their own thresholds, and come only with the best one.
    """
    kept = probabilities >= thresholds
    if top_threshold is None or not len(probabilities):
        return kept
    rows, best = np.arange(len(probabilities)), probabilities.argmax(axis=1)
    first = probabilities[rows, best]
    given = first >= top_threshold
    if topic is not None:
        given |= (topic >= topic_gate) & (first >= topic_floor)
    kept &= given[:, None]
    kept[rows, best] = given
    return kept
