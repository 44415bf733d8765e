"""Token ids for a whole batch of MeCab output, with no Python object per token.

MeCab writes a text's tokens separated by spaces. Splitting that string makes one Python string
per token, and finding each in a dict is one probe per token: together about 0.15 µs a token, a
sixth of what MeCab itself spends on one. Here a batch of outputs is joined, encoded once as
UTF-16, and every step is a NumPy pass over the whole batch:

1. tokens run between separators (spaces, and the line breaks that join the texts);
2. a token of up to eight UTF-16 code units *is* its key: two 64-bit words read straight from
   the encoded bytes, holding its code units, padded with zeros (no token holds a NUL, so the
   words also fix its length);
3. the keys are looked up in an open-addressing table of the known tokens' keys.

The keys are exact, so the ids are those a dict lookup gives. Longer tokens (a few in ten
thousand in news text) are looked up in a dict.

When the C extension ``classifier._token_ids`` is built (``pip install`` does, given a C
compiler), one loop in C does these steps over the same tables, and counts unigrams too; the
NumPy code is the fallback and the reference the tests compare it with. Without it, batches of
a few paragraphs go to the dict: NumPy's fixed cost (about 40 calls) is larger there.
"""
from __future__ import annotations

import itertools
from typing import Sequence

import numpy as np

try:
    from . import _token_ids as _compiled
except ImportError:  # not built (no C compiler when installed): NumPy does the same work
    _compiled = None

TEXT_END = "\n"  # between the texts of a batch: no token holds whitespace
_SPACE, _LINE_BREAK = 32, 10
# Below this many code units a batch is cheaper split and looked up in a dict than with NumPy.
_NUMPY_FROM_UNITS = 3000
_UNITS_PER_WORD = 4  # UTF-16 code units in a 64-bit word
_KEY_UNITS = 2 * _UNITS_PER_WORD
# _LOW_UNITS[n]: a mask that keeps the first n code units of a word (little-endian)
_LOW_UNITS = np.array([(1 << (16 * n)) - 1 for n in range(_UNITS_PER_WORD + 1)], dtype=np.uint64)
# multiply-shift hashing of a key's words into a slot: odd constants, top bits of the product
_MIX = (np.uint64(0x9E3779B97F4A7C15), np.uint64(0xC2B2AE3D27D4EB4F))


class TokenIds:
    """Ids of known tokens, looked up for a batch of space-separated token strings at once.

    tokens : the known tokens, in id order (``tokens[i]`` has id ``i``); none may be empty or
        hold whitespace, a NUL or a lone surrogate.
    """

    def __init__(self, tokens: Sequence[str]):
        tokens = list(tokens)
        for i, token in enumerate(tokens):
            if not isinstance(token, str) or not token or token.split() != [token] or "\x00" in token \
                    or not _encodable(token):
                raise ValueError(f"token {i} must be a non-empty string without whitespace, NUL or lone "
                                 f"surrogates, got {token!r}")
        self._dict = {token: i for i, token in enumerate(tokens)}
        if len(self._dict) != len(tokens):
            raise ValueError("tokens must be distinct")
        self.n_tokens = len(tokens)
        known = _Tokens(TEXT_END.join(tokens))
        first, second = known.words()
        # Tokens of one word (up to four code units: 98% of news text's tokens) and of two have
        # tables of their own, so that the table nearly every token visits holds one word a key.
        one = known.lengths <= _UNITS_PER_WORD
        two = ~one & (known.lengths <= _KEY_UNITS)
        self._one_word = _KeyTable((first[one],), np.flatnonzero(one))
        self._two_words = _KeyTable((first[two], second[two]), np.flatnonzero(two))

    def lookup(self, token_strings: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """(ids, text of each token) for texts given as tokens separated by spaces (U+0020).

        ids : int64, one per token in text order; -1 for a token that is not known.
        text_of : int64, the index of the text each token belongs to (non-decreasing).
        """
        n_texts = len(token_strings)
        joined = TEXT_END.join(token_strings)
        if joined.count(TEXT_END) != max(n_texts - 1, 0):
            raise ValueError("token strings must not contain line breaks")
        if _compiled is None and len(joined) < _NUMPY_FROM_UNITS:
            return self._lookup_by_dict(token_strings)
        try:
            if _compiled is not None:
                return self._lookup_compiled(joined.encode("utf-16-le"))
            batch = _Tokens(joined)
        except UnicodeEncodeError:
            # A lone surrogate (which normalisation removes): two of them would read as the code
            # units of one character, so the dict decides.
            return self._lookup_by_dict(token_strings)
        if not len(batch.starts) or not self.n_tokens:
            return np.full(len(batch.starts), -1, dtype=np.int64), batch.text_of
        first, second = batch.words()
        # Every token is looked up by its first word; a longer token's first word is the key of
        # a shorter one, so longer tokens are then looked up again by both words or in the dict.
        ids = self._one_word.find((first,))
        longer = np.flatnonzero(batch.lengths > _UNITS_PER_WORD)
        if len(longer):
            ids[longer] = self._two_words.find((np.take(first, longer), np.take(second, longer)))
            for t in longer[np.take(batch.lengths, longer) > _KEY_UNITS].tolist():
                ids[t] = self._dict.get(batch.token(t), -1)
        return ids, batch.text_of

    def _lookup_compiled(self, encoded: bytes) -> tuple[np.ndarray, np.ndarray]:
        capacity = len(encoded) // 4 + 1
        ids, text_of = np.empty(capacity, dtype=np.int64), np.empty(capacity, dtype=np.int64)
        one, two = self._one_word, self._two_words
        n, longer = _compiled.lookup(encoded, one.slots, one.bits, two.slots, two.bits, ids, text_of)
        ids, text_of = ids[:n], text_of[:n]
        for t, start, units in longer:
            ids[t] = self._dict.get(encoded[2 * start:2 * (start + units)].decode("utf-16-le"), -1)
        return ids, text_of

    def _lookup_by_dict(self, token_strings: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        return ids_by_dict(self._dict, [list(filter(None, tokens.split(" "))) for tokens in token_strings])

    def __getstate__(self):
        # The table is rebuilt from the tokens, which pickle smaller than its arrays.
        return {"tokens": sorted(self._dict, key=self._dict.get)}

    def __setstate__(self, state):
        self.__init__(state["tokens"])


def ids_by_dict(index: dict[str, int], token_lists: Sequence[Sequence[str]]) -> tuple[np.ndarray, np.ndarray]:
    """(ids, text of each token) of token lists, from a dict (-1 for a token it lacks)."""
    lengths = np.fromiter(map(len, token_lists), dtype=np.int64, count=len(token_lists))
    ids = np.fromiter(map(index.get, itertools.chain.from_iterable(token_lists), itertools.repeat(-1)),
                      dtype=np.int64, count=int(lengths.sum()))
    return ids, np.repeat(np.arange(len(token_lists), dtype=np.int64), lengths)


def count_unigrams(ids: np.ndarray, text_of: np.ndarray, n_texts: int, n_columns: int):
    """(indptr, indices, counts) of the canonical CSR count matrix (int32, columns sorted in each
    row) of tokens whose ids are their columns (-1: none), ``text_of`` their texts
    (non-decreasing); None when the C extension is not built."""
    if _compiled is None:
        return None
    indptr = np.empty(n_texts + 1, dtype=np.int32)
    indices, counts = np.empty(len(ids), dtype=np.int32), np.empty(len(ids), dtype=np.int32)
    entries = _compiled.count(np.ascontiguousarray(ids, dtype=np.int64), np.ascontiguousarray(text_of, dtype=np.int64),
                              n_columns, n_texts, indptr, indices, counts)
    return indptr, indices[:entries], counts[:entries]


class _KeyTable:
    """Open addressing from keys (one or two uint64 words, never all zero) to ids.

    The table is at most a quarter full: a key's slot (the top bits of a multiply-shift hash) is taken
    by another key about one time in eight, and then the key moves on to the next slot. It is kept
    in two layouts: a contiguous array a word and one of int32 ids for NumPy's gathers (views of the
    interleaved one made them twice as slow), and ``slots``, each key's words and id side by side,
    for the C extension (one cache line a probe).
    """

    def __init__(self, words: tuple[np.ndarray, ...], ids: np.ndarray):
        self.bits = max(4, (4 * len(ids) - 1).bit_length())  # the least 2**bits >= 4 * len(ids)
        size = 1 << self.bits
        self.words = tuple(np.zeros(size, dtype=np.uint64) for _ in words)
        self.ids = np.full(size, -1, dtype=np.int32)
        for i, slot in enumerate(self._slots(words).tolist()):
            while self.ids[slot] >= 0:
                slot = (slot + 1) & (size - 1)
            self.ids[slot] = ids[i]
            for table, column in zip(self.words, words):
                table[slot] = column[i]
        # The same slots for the C extension, each key's words and id side by side: one cache
        # line a probe instead of one an array (an empty slot's id -1 reads as all ones).
        self.slots = np.empty((size, len(words) + 1), dtype=np.uint64)
        for k, table in enumerate(self.words):
            self.slots[:, k] = table
        self.slots[:, -1] = self.ids.astype(np.int64).view(np.uint64)

    def _slots(self, words: tuple[np.ndarray, ...]) -> np.ndarray:
        mixed = words[0] * _MIX[0]  # uint64 arithmetic wraps mod 2**64
        for word, factor in zip(words[1:], _MIX[1:]):
            mixed += word * factor
        return (mixed >> np.uint64(64 - self.bits)).astype(np.intp)

    def find(self, words: tuple[np.ndarray, ...]) -> np.ndarray:
        """The id of each key (int64), -1 for a key not in the table."""
        slots = self._slots(words)
        # (np.take: the same gathers as indexing, about twice as fast on one-dimensional arrays)
        found = np.take(self.ids, slots)
        other = np.take(self.words[0], slots) != words[0]
        for table, word in zip(self.words[1:], words[1:]):
            other |= np.take(table, slots) != word
        # Probe on from the slots held by another key until each key meets itself or an empty slot.
        probing = np.flatnonzero(other & (found >= 0))
        mask = len(self.ids) - 1
        while len(probing):
            moved = (np.take(slots, probing) + 1) & mask
            slots[probing] = moved
            found[probing] = candidates = np.take(self.ids, moved)
            other = np.take(self.words[0], moved) != np.take(words[0], probing)
            for table, word in zip(self.words[1:], words[1:]):
                other |= np.take(table, moved) != np.take(word, probing)
            probing = probing[other & (candidates >= 0)]
        return found.astype(np.int64)


def _encodable(text: str) -> bool:
    """False when ``text`` holds a lone surrogate (a str can; UTF-16 cannot)."""
    try:
        text.encode("utf-16-le")
    except UnicodeEncodeError:
        return False
    return True


class _Tokens:
    """The tokens of a joined string, found in its UTF-16 encoding.

    starts, lengths : each token's place, in code units; text_of : the line of each token.
    """

    __slots__ = ("encoded", "starts", "lengths", "text_of", "_words")

    def __init__(self, joined: str):
        # Eight bytes of padding, so that a word read at the last code unit stays in the buffer.
        self.encoded = joined.encode("utf-16-le") + bytes(8)
        n = len(self.encoded) // 2 - 4
        units = np.frombuffer(self.encoded, dtype=np.uint16, count=n)
        line_break = units == _LINE_BREAK
        separators = np.flatnonzero(line_break | (units == _SPACE))
        # A token runs from just after one separator to just before the next.
        bounds = np.concatenate(([-1], separators, [n]))
        starts, lengths = bounds[:-1] + 1, np.diff(bounds) - 1
        keep = lengths > 0
        self.starts, self.lengths = starts[keep], lengths[keep]
        # the line of a token: the line breaks among the separators before it
        breaks = np.cumsum(np.take(line_break, separators), dtype=np.int64)
        self.text_of = np.concatenate(([0], breaks))[keep]
        # Every 8-byte window of the encoding, one per code unit: a token's first word is the
        # window at its start. Windows start at even, not 8-byte-aligned, addresses.
        self._words = np.ndarray(shape=(n,), dtype="<u8", buffer=self.encoded, strides=(2,))

    def words(self) -> tuple[np.ndarray, np.ndarray]:
        """Each token's two key words: its first four code units and the next four, zero-padded.

        The second word is only read for tokens longer than four code units; it is 0 for the others.
        """
        first = np.take(self._words, self.starts)
        first &= np.take(_LOW_UNITS, np.minimum(self.lengths, _UNITS_PER_WORD))
        second = np.zeros(len(self.starts), dtype=np.uint64)
        longer = np.flatnonzero(self.lengths > _UNITS_PER_WORD)
        if len(longer):
            rest = np.minimum(np.take(self.lengths, longer) - _UNITS_PER_WORD, _UNITS_PER_WORD)
            second[longer] = np.take(self._words, np.take(self.starts, longer) + _UNITS_PER_WORD)
            second[longer] &= np.take(_LOW_UNITS, rest)
        return first, second

    def token(self, t: int) -> str:
        start = 2 * int(self.starts[t])
        return self.encoded[start:start + 2 * int(self.lengths[t])].decode("utf-16-le")
