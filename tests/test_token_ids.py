"""TokenIds: exact token ids for a batch of space-separated token strings, without Python strings.

Every lookup is checked against the plain implementation (split on spaces, then a dict), along
each of the three paths: the C extension, NumPy (its fallback), and the dict (small batches
without the extension).
"""
import os
import pickle

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from classifier import token_ids
from classifier.token_ids import TokenIds, count_unigrams


def require_extension():
    if token_ids._compiled is None:
        message = "the C extension classifier._token_ids is not built (pip install needs a C compiler)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)


@pytest.fixture(params=["compiled", "numpy", "dict"])
def path(request, monkeypatch):
    """Which implementation TokenIds.lookup takes."""
    if request.param == "compiled":
        require_extension()
    else:
        monkeypatch.setattr(token_ids, "_compiled", None)
        monkeypatch.setattr(token_ids, "_NUMPY_FROM_UNITS", 0 if request.param == "numpy" else 10 ** 9)
    return request.param

# Tokens of every length around the two key words (4 and 8 UTF-16 code units), characters
# outside the BMP (two code units each), and tokens that are prefixes of one another.
KNOWN = ["日", "日銀", "日銀総裁", "ウクライナ", "ウクライナ軍", "ゼレンスキー大統領", "北大西洋条約機構加盟国",
         "a", "ab", "abcd", "abcde", "abcdefgh", "abcdefghi", "𠮷", "𠮷野家", "😀😀", "😀😀😀😀", "1000", "。"]


def by_dict(known, token_strings):
    index = {token: i for i, token in enumerate(known)}
    lists = [[token for token in text.split(" ") if token] for text in token_strings]
    ids = [index.get(token, -1) for tokens in lists for token in tokens]
    text_of = [i for i, tokens in enumerate(lists) for _ in tokens]
    return ids, text_of


def check(table, known, token_strings):
    ids, text_of = table.lookup(token_strings)
    assert ids.dtype == np.int64 and text_of.dtype == np.int64
    assert (ids.tolist(), text_of.tolist()) == by_dict(known, token_strings)


@pytest.mark.parametrize("token_strings", [
    ["日銀 総裁 日銀総裁 は 日"],
    ["ウクライナ ウクライナ軍 ウクライナ軍 ウクライナ軍隊 ウクライ"],  # known, unknown longer and shorter
    ["abcd abcde abcdef abcdefgh abcdefghi abcdefghij"],  # across the 4- and 8-unit key words
    ["ゼレンスキー大統領 北大西洋条約機構加盟国 北大西洋条約機構"],  # longer than both key words
    ["𠮷 𠮷野家 😀😀 😀😀😀😀 😀 😀😀😀"],  # surrogate pairs
    ["", "日", "", "", "日銀 。"],  # empty texts, at the ends and between
    ["  日   日銀  ", " ", "a  ab"],  # runs of spaces, spaces at the ends
    [],
    ["x y z"],  # nothing known
])
def test_lookup_equals_split_and_dict(path, token_strings):
    check(TokenIds(KNOWN), KNOWN, token_strings)


def test_no_known_tokens(path):
    check(TokenIds([]), [], ["日 銀", ""])


@pytest.mark.parametrize("tokens", [["日", ""], ["日 銀"], ["日\n"], ["a\tb"], ["a\x00"], ["\ud800"], ["日", "日"], [1]])
def test_bad_known_tokens_are_refused(tokens):
    with pytest.raises(ValueError, match="token"):
        TokenIds(tokens)


def test_line_breaks_in_token_strings_are_refused(path):
    with pytest.raises(ValueError, match="line breaks"):
        TokenIds(KNOWN).lookup(["日\n日銀"])
    with pytest.raises(ValueError, match="line breaks"):
        TokenIds(KNOWN).lookup(["\ud800 日\n日銀"])


def test_lone_surrogates_are_not_read_as_a_pair(path):
    # "\ud842\udfb7" as two lone surrogates is not "𠮷" (U+20BB7), though UTF-16 writes both alike.
    check(TokenIds(KNOWN), KNOWN, ["\ud842\udfb7 𠮷 \ud842"])


def test_many_tokens_share_slots(path):
    # A thousand tokens: most slots of the table are probed past at least once.
    known = [f"t{i}" for i in range(1000)] + [f"長い単語{i}番目" for i in range(200)]
    check(TokenIds(known), known, [" ".join(known[::-1]), " ".join(f"t{i}" for i in range(900, 1300))])


def test_pickles_as_its_tokens(path):
    table = TokenIds(KNOWN)
    copy = pickle.loads(pickle.dumps(table))
    assert table.__getstate__() == {"tokens": KNOWN}
    check(copy, KNOWN, ["日銀 ウクライナ軍 abcdefghi 😀😀"])


TOKEN = st.text(st.sampled_from("日銀ウクライナ軍abc😀𠮷1。"), min_size=1, max_size=11)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(known=st.lists(TOKEN, unique=True, max_size=40),
       texts=st.lists(st.lists(TOKEN, max_size=12), max_size=6), spaces=st.sampled_from([" ", "  "]))
def test_any_tokens(path, known, texts, spaces):
    check(TokenIds(known), known, [spaces.join(tokens) for tokens in texts])


# --------------------------------------------------------------------------------------------
# unigram counts in C

def counts_by_numpy(ids, text_of, n_texts):
    keys = np.unique(text_of[ids >= 0] * 10 ** 6 + ids[ids >= 0], return_counts=True)
    rows, columns = np.divmod(keys[0], 10 ** 6)
    return np.searchsorted(rows, np.arange(n_texts + 1)), columns, keys[1]


@settings(max_examples=200, deadline=None)
@given(data=st.data(), n_texts=st.integers(1, 40), n_columns=st.sampled_from([1, 7, 300, 5000]))
def test_count_unigrams_equals_sorting_the_pairs(data, n_texts, n_columns):
    require_extension()
    lengths = data.draw(st.lists(st.integers(0, 120), min_size=n_texts, max_size=n_texts))
    text_of = np.repeat(np.arange(n_texts), lengths).astype(np.int64)
    ids = np.array(data.draw(st.lists(st.integers(-1, n_columns - 1), min_size=len(text_of), max_size=len(text_of))),
                   dtype=np.int64)
    indptr, indices, counts = count_unigrams(ids, text_of, n_texts, n_columns)
    expected = counts_by_numpy(ids, text_of, n_texts)
    assert indptr.tolist() == expected[0].tolist()
    assert indices.tolist() == expected[1].tolist() and counts.tolist() == expected[2].tolist()


@pytest.mark.parametrize("ids, text_of, n_texts, message", [
    ([0, 5], [0, 0], 1, "not below n_columns"),
    ([0, 1], [1, 0], 2, "non-decreasing"),
    ([0, 1], [0, 2], 2, "non-decreasing and below n_texts"),
])
def test_count_unigrams_refuses_inconsistent_input(ids, text_of, n_texts, message):
    require_extension()
    with pytest.raises(ValueError, match=message):
        count_unigrams(np.array(ids), np.array(text_of), n_texts, 5)


def test_compiled_lookup_refuses_tables_of_the_wrong_size():
    require_extension()
    ids = np.empty(4, dtype=np.int64)
    with pytest.raises(ValueError, match="2\\*\\*5 slots"):
        token_ids._compiled.lookup("ab".encode("utf-16-le"), np.zeros((16, 2), np.uint64), 5,
                                   np.zeros((16, 3), np.uint64), 4, ids, ids.copy())
    with pytest.raises(ValueError, match="room"):
        token_ids._compiled.lookup("a b c d e f".encode("utf-16-le"), np.zeros((16, 2), np.uint64), 4,
                                   np.zeros((16, 3), np.uint64), 4, ids[:1], ids[:1].copy())
