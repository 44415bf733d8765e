"""Counting metrics shared by training (threshold choice) and evaluation (reports).

Written with NumPy rather than ``sklearn.metrics.f1_score`` because training scores every tag
at every threshold of a grid: one vectorised count replaces about a thousand validated calls.
An undefined precision, recall or F1 counts as 0, as with scikit-learn's ``zero_division=0``.
"""
from __future__ import annotations

import math

import numpy as np

# Thresholds tried when one is learned for a tag, and the points of a report's threshold curve.
LEARNING_GRID = np.round(np.arange(0.05, 0.951, 0.025), 3)
REPORT_GRID = tuple(round(t, 2) for t in np.arange(0.05, 0.951, 0.05))


def prf(tp: int, n_predicted: int, n_gold: int) -> dict:
    """Precision, recall and F1 from counts, rounded for reports."""
    precision = tp / n_predicted if n_predicted else 0.0
    recall = tp / n_gold if n_gold else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": round(precision, 4), "recall": round(recall, 4), "f1": round(f1, 4)}


def f1(predicted: np.ndarray, gold: np.ndarray, axis=None):
    """F1 of boolean decisions against 0/1 gold labels, over everything or along ``axis``."""
    predicted = predicted.astype(bool)
    tp = np.sum(predicted & (gold == 1), axis=axis)
    denominator = np.sum(predicted, axis=axis) + np.sum(gold, axis=axis)
    return np.divide(2.0 * tp, denominator, out=np.zeros(np.shape(tp)), where=denominator > 0)


def f1_by_threshold(probabilities: np.ndarray, gold: np.ndarray, grid: np.ndarray = LEARNING_GRID) -> np.ndarray:
    """Per-tag F1 at every threshold of ``grid``: shape (len(grid), n_tags)."""
    return np.array([f1(probabilities >= t, gold, axis=0) for t in grid])


def micro_f1_by_threshold(probabilities: np.ndarray, gold: np.ndarray,
                          grid: np.ndarray = LEARNING_GRID) -> np.ndarray:
    """F1 over all (text, tag) decisions at every threshold of ``grid``."""
    return np.array([float(f1(probabilities >= t, gold)) for t in grid])


def label_scores(predicted: np.ndarray, gold: np.ndarray) -> dict:
    """Micro- and macro-F1 of decisions, as training records them."""
    return {"micro_f1": round(float(f1(predicted, gold)), 4),
            "macro_f1": round(float(np.mean(f1(predicted, gold, axis=0))), 4)}


# How numbers are shown to people, in terminal tables and report pages.

def fmt(value, digits: int = 3) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    if isinstance(value, dict) and "mean" in value:
        return f"{value['mean']:.{digits}f} ± {value['std']:.{digits}f}"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def signed(value) -> str:
    return "n/a" if value is None else f"{value:+.3f}"
