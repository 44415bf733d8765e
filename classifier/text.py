"""Normalise and tokenise Japanese text: NFKC, noise removal, fugashi with unidic-lite.

With every word kept by its surface (the default), MeCab's own word splitting is the whole
tokenizer and its output is split on spaces. With a word-class filter or another form, MeCab writes
a compact ``word-class id|form`` line and one regular expression picks the kept tokens. Either way
the per-token work stays in C: there is no Python loop over MeCab nodes.
"""
from __future__ import annotations

import functools
import os
import re
import threading
import unicodedata
from typing import Iterable

# Lines that are not text: the attribution line under a quoted tweet
# (``— NHKニュース (@nhk_news) January 3, 2024``) and blog addresses standing alone.
_ATTRIBUTION_LINE = re.compile(r"^\s*[—―-]\s*.{0,80}\(@\w{1,30}\)\s+[A-Za-z]+\s+\d{1,2},\s*\d{4}\s*$", re.M)
_ADDRESS_LINE = re.compile(r"^\s*(?:https?://)?[\w.-]+\.(?:com|jp|net|org)/?\s*$", re.M)
# Links inside a line (``…攻撃https://t.co/xyz``): NFKC has made them ASCII, and Japanese text
# after a link is not ASCII, so the link ends where the ASCII run does.
_LINK = re.compile(r"https?://[!-~]+")
# A hashtag inside a line names the source (``#nhk_news``); the curator's tags are whole lines
# and never reach this module.
_SOURCE_HASHTAG = re.compile(r"#[A-Za-z0-9_]+")


# Whitespace, and what MeCab cannot take: it reads a UTF-8 C string, so a NUL ends the text
# early and a lone surrogate (what a JSON "\ud800" escape decodes to) cannot be encoded at all.
# MeCab skips spaces between words, so line breaks need not survive; every other whitespace
# character becomes a space too, so that no token can hold one.
_SPACE_OR_NOT_TEXT = re.compile("[\\s\\x00\\ud800-\\udfff]+")


# Full-width ASCII (``（``, ``％``, ``０``) and the ideographic space: most of what makes Japanese
# news text not NFKC. Each is swapped for its NFKD (the ASCII character) before NFKC, which
# cannot change NFKC's result (NFKD decomposes character by character, then reorders combining
# marks stably), and usually leaves a text that passes NFKC's quick check: CPython's full
# normalisation costs about 12 µs for a paragraph, the swap about 1 µs.
_FULL_WIDTH = re.compile("[\uff01-\uff5e\u3000]")
_NARROW = {chr(code): unicodedata.normalize("NFKD", chr(code)) for code in [*range(0xFF01, 0xFF5F), 0x3000]}


def _narrow(match: re.Match) -> str:
    return _NARROW[match.group()]


def normalize(text: str) -> str:
    """NFKC, lower case, noise lines and links removed, every whitespace character made a space."""
    if not unicodedata.is_normalized("NFKC", text):
        text = unicodedata.normalize("NFKC", _FULL_WIDTH.sub(_narrow, text))
    # Each pattern needs something that most paragraphs lack: test for it before scanning.
    if "@" in text:
        text = _ATTRIBUTION_LINE.sub("", text)
    if "." in text and (".com" in text or ".jp" in text or ".net" in text or ".org" in text):
        text = _ADDRESS_LINE.sub("", text)
    if "://" in text:
        text = _LINK.sub(" ", text)
    if "#" in text:
        text = _SOURCE_HASHTAG.sub(" ", text)
    if not text.isprintable():  # False for any whitespace but " ", for NUL and for surrogates
        text = _SPACE_OR_NOT_TEXT.sub(" ", text)
    # Runs of spaces are left: MeCab skips them all the same.
    return text.strip().lower()


# --------------------------------------------------------------------------------------------
# MeCab output with a word-class filter or another form: one `` ID|form`` item per token, each
# after a space. ID is the word's left context id: formatting it is an integer print, where
# writing the part of speech (``%f[0]``) makes MeCab split the word's 26-field feature string,
# which cost about a fifth of the parse.
# UniDic's rewrite rules keep POS1 and POS2 at the head of every context (left-id.def), so the
# id decides the word class and the kept ids are precomputed per filter. Unknown words have
# context ids of their own that say nothing of the class MeCab guessed, so they are written as
# `` POS1-POS2|surface`` (they also have no lemma or base form).
FORMS = {"surface": "%m", "lemma": "%f[7]", "base": "%f[10]"}
# Word classes that carry topic; numbers (名詞-数詞) and helper verbs (動詞-非自立可能) are left out.
# Each filter is matched against ``POS1-POS2`` as MeCab writes it (``*`` is written as nothing).
POS_FILTERS = {
    "all": r"[^|\s]+",
    "content": r"(?:名詞-(?!数詞)[^|\s]*|代名詞-[^|\s]*|動詞-一般|形容詞-一般|形状詞-[^|\s]*|接頭辞-[^|\s]*|接尾辞-[^|\s]*)",
    "nouns": r"(?:名詞-(?!数詞)[^|\s]*|接尾辞-名詞的)",
}


def _dictionary_dir() -> str:
    try:
        import unidic_lite
    except ImportError:
        raise RuntimeError("the unidic-lite dictionary is not installed: run `pip install unidic-lite` "
                           "(or `pip install -e .` in this project)") from None
    return unidic_lite.DICDIR


def splits_words_only(form: str, pos: str) -> bool:
    """Every word kept, by its surface: MeCab's built-in word splitting (wakati) is the whole
    tokenizer. It writes each surface and a space with no format to interpret, the cheapest
    output MeCab has (the floor), and the tokens are that output split on spaces."""
    return form == "surface" and pos == "all"


@functools.lru_cache(maxsize=None)
def mecab_arguments(form: str, pos: str) -> str:
    # -r /dev/null: the dictionary's own dicrc is all the configuration needed.
    if splits_words_only(form, pos):
        return f'-r /dev/null -d "{_dictionary_dir()}" -Owakati'
    node = f" %phl|{FORMS[form]}"
    unknown = " %f[0]-%f[1]|%m"
    # An empty -O switches off the dicrc's "unidic" output so that our node format is used.
    return f'-r /dev/null -d "{_dictionary_dir()}" -O "" -F "{node}" -U "{unknown}" -E "\\n"'


@functools.lru_cache(maxsize=None)
def token_pattern(pos: str) -> re.Pattern:
    """The regular expression that finds the kept tokens of MeCab's output for a POS filter."""
    keep = re.compile(POS_FILTERS[pos])
    path = os.path.join(_dictionary_dir(), "left-id.def")
    try:
        with open(path, encoding="utf-8") as stream:
            lines = stream.read().splitlines()
    except OSError as error:
        raise RuntimeError(f"the unidic-lite dictionary is incomplete ({path}: {error.strerror}): "
                           f"reinstall it with `pip install --force-reinstall unidic-lite`") from None
    ids = []
    for line in lines:
        number, _, features = line.partition(" ")
        fields = features.split(",")
        if len(fields) > 1 and keep.fullmatch("-".join("" if f == "*" else f for f in fields[:2])):
            ids.append(int(number))
    alternatives = [regex for low, high in _runs(ids) for regex in integer_range_regex(low, high)]
    return re.compile(rf" (?:{'|'.join(alternatives + [POS_FILTERS[pos]])})\|(\S+)")


def _runs(numbers) -> list[tuple[int, int]]:
    """Sorted integers as inclusive runs: [1, 2, 3, 7] -> [(1, 3), (7, 7)]."""
    runs: list[list[int]] = []
    for number in sorted(set(numbers)):
        if runs and runs[-1][1] == number - 1:
            runs[-1][1] = number
        else:
            runs.append([number, number])
    return [(low, high) for low, high in runs]


def integer_range_regex(low: int, high: int) -> list[str]:
    """Regular expressions (alternatives) that match exactly the decimal numbers low..high."""
    if not 0 <= low <= high:
        raise ValueError(f"need 0 <= low <= high, got {low}..{high}")
    if len(str(low)) < len(str(high)):
        split = 10 ** len(str(low))
        return integer_range_regex(low, split - 1) + integer_range_regex(split, high)
    return _digits_regex(str(low), str(high))


def _digits_regex(low: str, high: str) -> list[str]:
    """Alternatives matching the digit strings low..high, which have the same length."""
    if low == high:
        return [low]
    common = 0
    while low[common] == high[common]:
        common += 1
    prefix, first, last, rest = low[:common], int(low[common]), int(high[common]), len(low) - common - 1
    if rest == 0:
        return [f"{prefix}[{first}-{last}]"]
    low_tail, high_tail = low[common + 1:], high[common + 1:]
    out = []
    if low_tail != "0" * rest:
        out += [f"{prefix}{first}{tail}" for tail in _digits_regex(low_tail, "9" * rest)]
        first += 1
    if high_tail != "9" * rest:
        last -= 1
    if first <= last:
        out.append(f"{prefix}[{first}-{last}]" + r"\d" * rest)
    if high_tail != "9" * rest:
        out += [f"{prefix}{last + 1}{tail}" for tail in _digits_regex("0" * rest, high_tail)]
    return out


_local = threading.local()


def get_tagger(arguments: str):
    """The calling thread's MeCab tagger for these arguments: MeCab is not thread-safe, and
    building a tagger costs milliseconds, so each thread builds one once and keeps it."""
    taggers = getattr(_local, "taggers", None)
    if taggers is None:
        taggers = _local.taggers = {}
    tagger = taggers.get(arguments)
    if tagger is None:
        import fugashi

        tagger = taggers[arguments] = fugashi.GenericTagger(arguments)
    return tagger


def dictionary_version() -> str:
    import unidic_lite

    return f"unidic-lite {getattr(unidic_lite, '__version__', 'unknown')}"


def _ngrams(tokens: list[str], low: int, high: int) -> list[str]:
    # n-grams are made of tokens only, never of the shorter n-grams added before; map() over
    # zip() joins them without a Python-level loop.
    features = list(tokens) if low == 1 else []
    for n in range(max(2, low), high + 1):
        features += map(" ".join, zip(*(tokens[i:] for i in range(n))))
    return features


class Tokenizer:
    """Text -> list of features (tokens and joined n-grams), used as a scikit-learn analyzer.

    Parameters
    ----------
    form : "surface", "lemma" or "base" (UniDic orthBase) — which form of a word is a feature.
    pos : "all", "content" or "nouns" — which word classes are kept (see ``POS_FILTERS``).
    ngram_range : (min_n, max_n) over the kept tokens; n-grams are joined with a space.
    """

    def __init__(self, form: str = "surface", pos: str = "all", ngram_range: tuple[int, int] = (1, 1)):
        self.form = form
        self.pos = pos
        self.ngram_range = tuple(ngram_range)
        self._check()

    def _check(self):
        if self.form not in FORMS:
            raise ValueError(f"form must be one of {sorted(FORMS)}, got {self.form!r}")
        if self.pos not in POS_FILTERS:
            raise ValueError(f"pos must be one of {sorted(POS_FILTERS)}, got {self.pos!r}")
        low, high = self.ngram_range
        if not (1 <= low <= high <= 4):
            raise ValueError(f"ngram_range must satisfy 1 <= min_n <= max_n <= 4, got {self.ngram_range}")

    @property
    def arguments(self) -> str:
        return mecab_arguments(self.form, self.pos)

    @property
    def pattern(self) -> re.Pattern | None:
        """The regular expression that picks tokens from MeCab's output; None: split on spaces."""
        return None if splits_words_only(self.form, self.pos) else token_pattern(self.pos)

    def token_strings(self, texts: Iterable[str]) -> list[str]:
        """The kept word tokens of each text, after normalisation, as one string a text with
        the tokens separated by single spaces (no token holds whitespace).

        The tagger and the pattern are looked up once for the whole batch. (Normalising the
        whole batch before parsing any of it measured the same as normalising text by text.)
        """
        parse = get_tagger(self.arguments).parse
        # A text left empty by normalisation (a tweet's attribution line) has no tokens: MeCab is
        # not asked.
        outputs = [parse(text) if text else "" for text in map(normalize, texts)]
        pattern = self.pattern
        if pattern is None:
            return outputs  # wakati output is already that string
        return [" ".join(tokens) for tokens in map(pattern.findall, outputs)]

    def token_lists(self, texts: Iterable[str]) -> list[list[str]]:
        """The kept word tokens of each text, after normalisation."""
        return [tokens.split() for tokens in self.token_strings(texts)]

    def tokens(self, text: str) -> list[str]:
        """The kept word tokens of ``text``, after normalisation."""
        return self.token_lists((text,))[0]

    def feature_lists(self, texts: Iterable[str]) -> list[list[str]]:
        """The features of each text: its tokens and their n-grams, joined with a space."""
        return self.features_of(self.token_strings(texts))

    def features_of(self, token_strings: Iterable[str]) -> list[list[str]]:
        """``feature_lists`` of texts already tokenized (``token_strings``)."""
        token_lists = [tokens.split() for tokens in token_strings]
        low, high = self.ngram_range
        if high == 1:
            return token_lists
        return [_ngrams(tokens, low, high) for tokens in token_lists]

    def __call__(self, text: str) -> list[str]:
        return self.feature_lists((text,))[0]

    def __getstate__(self):
        # Compiled patterns and taggers are rebuilt on first use; only settings are saved.
        return {"form": self.form, "pos": self.pos, "ngram_range": self.ngram_range}

    def __setstate__(self, state):
        self.__dict__.update(state)
        self._check()

    def __repr__(self):
        return f"Tokenizer(form={self.form!r}, pos={self.pos!r}, ngram_range={self.ngram_range})"

    def __eq__(self, other):
        return isinstance(other, Tokenizer) and self.__getstate__() == other.__getstate__()

    def __hash__(self):
        return hash(tuple(self.__getstate__().items()))
