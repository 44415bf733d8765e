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
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

TEXT_END = "\n"  # between the texts of a batch: no token holds whitespace
_SPACE, _LINE_BREAK = 32, 10
_UNITS_PER_WORD = 4  # UTF-16 code units in a 64-bit word
_KEY_UNITS = 2 * _UNITS_PER_WORD
# _LOW_UNITS[n]: a mask that keeps the first n code units of a word (little-endian)
_LOW_UNITS = np.array([(1 << (16 * n)) - 1 for n in range(_UNITS_PER_WORD + 1)], dtype=np.uint64)
# multiply-shift hashing of the two words into a slot: odd constants, top bits of the product
_MIX_FIRST, _MIX_SECOND = np.uint64(0x9E3779B97F4A7C15), np.uint64(0xC2B2AE3D27D4EB4F)


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
        short = np.flatnonzero(known.lengths <= _KEY_UNITS)
        first, second = known.words(short)
        # A table at most a quarter full: a key's slot is taken by another key about one time in
        # eight, and then it moves on to the next slot.
        self._bits = max(4, (4 * len(short)).bit_length())
        size = 1 << self._bits
        self._first = np.zeros(size, dtype=np.uint64)
        self._second = np.zeros(size, dtype=np.uint64)
        self._ids = np.full(size, -1, dtype=np.int64)
        for token_id, slot, a, b in zip(short.tolist(), self._slots(first, second).tolist(), first, second):
            while self._ids[slot] >= 0:
                slot = (slot + 1) & (size - 1)
            self._first[slot], self._second[slot], self._ids[slot] = a, b, token_id

    def _slots(self, first: np.ndarray, second: np.ndarray) -> np.ndarray:
        mixed = first * _MIX_FIRST + second * _MIX_SECOND  # uint64 arithmetic wraps mod 2**64
        return (mixed >> np.uint64(64 - self._bits)).astype(np.int64)

    def lookup(self, token_strings: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """(ids, text of each token) for texts given as tokens separated by spaces (U+0020).

        ids : int64, one per token in text order; -1 for a token that is not known.
        text_of : int64, the index of the text each token belongs to (non-decreasing).
        """
        n_texts = len(token_strings)
        try:
            batch = _Tokens(TEXT_END.join(token_strings))
        except UnicodeEncodeError:
            # A lone surrogate (which normalisation removes): two of them would read as the code
            # units of one character, so the dict decides.
            return self._lookup_by_dict(token_strings)
        if batch.line_breaks != max(n_texts - 1, 0):
            raise ValueError("token strings must not contain line breaks")
        ids = np.full(len(batch.starts), -1, dtype=np.int64)
        if not len(ids) or not self.n_tokens:
            return ids, batch.text_of
        short = np.flatnonzero(batch.lengths <= _KEY_UNITS)
        if len(short) == len(ids):
            short = slice(None)  # every token: plain slices instead of index arrays
        first, second = batch.words(short)
        slots = self._slots(first, second)
        # (np.take: the same gathers as indexing, about twice as fast on one-dimensional arrays)
        found = np.take(self._ids, slots)
        # Probe on from the slots held by another key until each key meets itself or an empty slot.
        other = (np.take(self._first, slots) != first) | (np.take(self._second, slots) != second)
        probing = np.flatnonzero(other & (found >= 0))
        mask = len(self._ids) - 1
        while len(probing):
            moved = (np.take(slots, probing) + 1) & mask
            slots[probing] = moved
            found[probing] = candidates = np.take(self._ids, moved)
            other = (np.take(self._first, moved) != np.take(first, probing)) | \
                    (np.take(self._second, moved) != np.take(second, probing))
            probing = probing[other & (candidates >= 0)]
        ids[short] = found
        for t in np.flatnonzero(batch.lengths > _KEY_UNITS).tolist():
            ids[t] = self._dict.get(batch.token(t), -1)
        return ids, batch.text_of

    def _lookup_by_dict(self, token_strings: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        token_lists = [tokens.split(" ") for tokens in token_strings]
        for tokens in token_lists:
            if any(TEXT_END in token for token in tokens):
                raise ValueError("token strings must not contain line breaks")
        token_lists = [[token for token in tokens if token] for tokens in token_lists]
        ids = [self._dict.get(token, -1) for tokens in token_lists for token in tokens]
        text_of = [i for i, tokens in enumerate(token_lists) for _ in tokens]
        return np.array(ids, dtype=np.int64), np.array(text_of, dtype=np.int64)

    def __getstate__(self):
        # The table is rebuilt from the tokens, which pickle smaller than its arrays.
        return {"tokens": sorted(self._dict, key=self._dict.get)}

    def __setstate__(self, state):
        self.__init__(state["tokens"])


def _encodable(text: str) -> bool:
    """False when ``text`` holds a lone surrogate (a str can; UTF-16 cannot)."""
    try:
        text.encode("utf-16-le")
    except UnicodeEncodeError:
        return False
    return True


class _Tokens:
    """The tokens of a joined string, found in its UTF-16 encoding.

    starts, lengths : each token's place, in code units; text_of : the line of each token;
    line_breaks : how many line breaks the string holds.
    """

    __slots__ = ("encoded", "starts", "lengths", "text_of", "line_breaks", "_words")

    def __init__(self, joined: str):
        # Seven bytes of padding, so that a word read at the last code unit stays in the buffer.
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
        self.line_breaks = int(breaks[-1]) if len(breaks) else 0
        self.text_of = np.concatenate(([0], breaks))[keep]
        # Every 8-byte window of the encoding, one per code unit: a token's first word is the
        # window at its start. Windows start at even, not 8-byte-aligned, addresses.
        self._words = np.ndarray(shape=(n,), dtype="<u8", buffer=self.encoded, strides=(2,))

    def words(self, which) -> tuple[np.ndarray, np.ndarray]:
        """The two key words of the tokens ``which`` (an index array or slice), zero-padded."""
        starts, lengths = self.starts[which], self.lengths[which]
        first = np.take(self._words, starts) & np.take(_LOW_UNITS, np.minimum(lengths, _UNITS_PER_WORD))
        second = np.zeros(len(starts), dtype=np.uint64)
        longer = np.flatnonzero(lengths > _UNITS_PER_WORD)
        if len(longer):
            rest = np.minimum(np.take(lengths, longer) - _UNITS_PER_WORD, _UNITS_PER_WORD)
            second[longer] = np.take(self._words, np.take(starts, longer) + _UNITS_PER_WORD) & np.take(_LOW_UNITS, rest)
        return first, second

    def token(self, t: int) -> str:
        start = 2 * int(self.starts[t])
        return self.encoded[start:start + 2 * int(self.lengths[t])].decode("utf-16-le")
