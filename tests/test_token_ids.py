"""TokenIds: exact token ids for a batch of space-separated token strings, without Python strings.

Every lookup is checked against the plain implementation: split on spaces, then a dict.
"""
import pickle

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from classifier.token_ids import TokenIds

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
def test_lookup_equals_split_and_dict(token_strings):
    check(TokenIds(KNOWN), KNOWN, token_strings)


def test_no_known_tokens():
    check(TokenIds([]), [], ["日 銀", ""])


@pytest.mark.parametrize("tokens", [["日", ""], ["日 銀"], ["日\n"], ["a\tb"], ["a\x00"], ["\ud800"], ["日", "日"], [1]])
def test_bad_known_tokens_are_refused(tokens):
    with pytest.raises(ValueError, match="token"):
        TokenIds(tokens)


def test_line_breaks_in_token_strings_are_refused():
    with pytest.raises(ValueError, match="line breaks"):
        TokenIds(KNOWN).lookup(["日\n日銀"])
    with pytest.raises(ValueError, match="line breaks"):
        TokenIds(KNOWN).lookup(["\ud800 日\n日銀"])


def test_lone_surrogates_are_not_read_as_a_pair():
    # "\ud842\udfb7" as two lone surrogates is not "𠮷" (U+20BB7), though UTF-16 writes both alike.
    check(TokenIds(KNOWN), KNOWN, ["\ud842\udfb7 𠮷 \ud842"])


def test_many_tokens_share_slots():
    # A thousand tokens: most slots of the table are probed past at least once.
    known = [f"t{i}" for i in range(1000)] + [f"長い単語{i}番目" for i in range(200)]
    check(TokenIds(known), known, [" ".join(known[::-1]), " ".join(f"t{i}" for i in range(900, 1300))])


def test_pickles_as_its_tokens():
    table = TokenIds(KNOWN)
    copy = pickle.loads(pickle.dumps(table))
    assert table.__getstate__() == {"tokens": KNOWN}
    check(copy, KNOWN, ["日銀 ウクライナ軍 abcdefghi 😀😀"])


TOKEN = st.text(st.sampled_from("日銀ウクライナ軍abc😀𠮷1。"), min_size=1, max_size=11)


@settings(max_examples=300, deadline=None)
@given(known=st.lists(TOKEN, unique=True, max_size=40),
       texts=st.lists(st.lists(TOKEN, max_size=12), max_size=6), spaces=st.sampled_from([" ", "  "]))
def test_any_tokens(known, texts, spaces):
    check(TokenIds(known), known, [spaces.join(tokens) for tokens in texts])
