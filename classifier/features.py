"""TF-IDF rows of a batch of texts, the same as the fitted pipeline's ``transform``, faster.

The pipeline (``CountVectorizer`` with our tokenizer, then ``TfidfTransformer``) calls the
tokenizer once per text and counts in a Python loop; here a batch is tokenized in one pass,
counted with one dict lookup per feature, and weighted without the transformer's per-call input
checks. Tests pin the result equal to the pipeline's, to the bit.
"""
from __future__ import annotations

from itertools import chain, repeat

import numpy as np
from scipy import sparse


def transform(tokenizer, vocabulary: dict[str, int], idf: np.ndarray, sublinear_tf: bool, token_strings: list[str]):
    """The TF-IDF rows of texts, given as their tokens (``tokenizer.token_strings``), from the
    fitted pipeline's state: its tokenizer (analyzer), vocabulary and idf
    (``HashtagModel.build_features``: float32 counts, l2 rows)."""
    if tuple(tokenizer.ngram_range) == (1, 1):
        counts = count_tokens(vocabulary, token_strings, np.float32)
    else:
        counts = count_features(vocabulary, tokenizer.features_of(token_strings), np.float32)
    return tfidf_weights(counts, idf, sublinear_tf)


def count_features(vocabulary: dict[str, int], feature_lists: list[list[str]], dtype=np.float64):
    """The CSR count matrix ``CountVectorizer.transform`` makes, from each text's features.

    One dict lookup per feature for the whole batch (``map`` runs the loop in C); SciPy sums the
    duplicates and sorts the indices, which gives the canonical matrix scikit-learn builds.
    """
    return _count_matrix(vocabulary, list(chain.from_iterable(feature_lists)),
                         [len(features) for features in feature_lists], dtype)


def count_tokens(vocabulary: dict[str, int], token_strings: list[str], dtype=np.float64):
    """``count_features`` of each text's tokens given as one string, separated by single spaces
    (``Tokenizer.token_strings``), without a list per text: the batch's strings are joined and
    split once. A text with s spaces gives s + 1 pieces, in order; an empty text gives one empty
    piece, which no vocabulary holds; no texts give no pieces."""
    flat = " ".join(token_strings).split(" ") if token_strings else []
    return _count_matrix(vocabulary, flat, [tokens.count(" ") + 1 for tokens in token_strings], dtype)


def _count_matrix(vocabulary: dict[str, int], flat: list[str], lengths: list[int], dtype):
    """The count matrix of the features ``flat``, the first ``lengths[0]`` of them the first row's."""
    columns = np.fromiter(map(vocabulary.get, flat, repeat(-1)), dtype=np.int32, count=len(flat))
    rows = np.repeat(np.arange(len(lengths), dtype=np.int32), lengths)
    known = columns >= 0
    indptr = np.zeros(len(lengths) + 1, dtype=np.int32)
    np.cumsum(np.bincount(rows[known], minlength=len(lengths)), out=indptr[1:])
    matrix = sparse.csr_matrix((np.ones(int(known.sum()), dtype=dtype), columns[known], indptr),
                               shape=(len(lengths), len(vocabulary)))
    matrix.sum_duplicates()
    return matrix


def tfidf_weights(counts, idf: np.ndarray, sublinear_tf: bool):
    """``TfidfTransformer(sublinear_tf=...).transform(counts)`` with the fitted ``idf``, in
    place, without its per-call input checks.

    The checks cost more than all the arithmetic of a one-paragraph request. The steps are the
    transformer's own, in the same precision (float32 squares summed in float64, row by row, as
    scikit-learn's l2 normalisation does), so the result is the same to the bit (a test pins it).
    """
    data = counts.data
    if sublinear_tf:
        np.log(data, out=data)
        data += 1.0
    data *= idf[counts.indices]
    rows = np.repeat(np.arange(counts.shape[0]), np.diff(counts.indptr))
    norms = np.sqrt(np.bincount(rows, weights=(data * data).astype(np.float64), minlength=counts.shape[0]))
    np.divide(data, np.where(norms == 0.0, 1.0, norms)[rows], out=data, casting="unsafe")
    return counts
