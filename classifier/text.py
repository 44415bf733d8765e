"""Normalise and tokenise Japanese text: NFKC, noise removal, fugashi with unidic-lite.

The tokenizer asks MeCab for a compact ``POS|form`` line and picks tokens with one regular
expression, so the per-token work stays in C: there is no Python loop over MeCab nodes.
"""
from __future__ import annotations

import re
import threading
import unicodedata

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
_SPACES = re.compile(r"[ \t\u3000]+")


def normalize(text: str) -> str:
    """NFKC, lower-case ASCII, noise lines and links removed; line breaks kept."""
    text = unicodedata.normalize("NFKC", text)
    text = _ATTRIBUTION_LINE.sub("", text)
    text = _ADDRESS_LINE.sub("", text)
    text = _LINK.sub(" ", text)
    text = _SOURCE_HASHTAG.sub(" ", text)
    text = _SPACES.sub(" ", text)
    return "\n".join(line.strip() for line in text.lower().splitlines() if line.strip())


# --------------------------------------------------------------------------------------------
# MeCab output: one ``POS1-POS2|form`` item per token, separated by spaces. Unknown words have
# no lemma or base form, so they always use the surface.
FORMS = {"surface": "%m", "lemma": "%f[7]", "base": "%f[10]"}
# Word classes that carry topic; numbers (名詞-数詞) and helper verbs (動詞-非自立可能) are left out.
POS_FILTERS = {
    "all": r"[^|\s]+",
    "content": r"(?:名詞-(?!数詞)[^|\s]*|代名詞-[^|\s]*|動詞-一般|形容詞-一般|形状詞-[^|\s]*|接頭辞-[^|\s]*|接尾辞-[^|\s]*)",
    "nouns": r"(?:名詞-(?!数詞)[^|\s]*|接尾辞-名詞的)",
}


def mecab_arguments(form: str) -> str:
    try:
        import unidic_lite
    except ImportError:
        raise RuntimeError("the unidic-lite dictionary is not installed: run `pip install unidic-lite` "
                           "(or `pip install -e .` in this project)") from None
    node = f"%f[0]-%f[1]|{FORMS[form]} "
    unknown = "%f[0]-%f[1]|%m "
    # -r /dev/null: the dictionary's own dicrc is all the configuration needed; an empty -O
    # switches off the dicrc's "unidic" output so that our node format is used.
    return f'-r /dev/null -d "{unidic_lite.DICDIR}" -O "" -F "{node}" -U "{unknown}" -E "\\n"'


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


class Tokenizer:
    """Text -> list of features (tokens and joined n-grams), used as a scikit-learn analyzer.

    Parameters
    ----------
    form : "surface", "lemma" or "base" (UniDic orthBase) — which form of a word is a feature.
    pos : "all", "content" or "nouns" — which word classes are kept (see ``POS_FILTERS``).
    ngram_range : (min_n, max_n) over the kept tokens; n-grams are joined with a space.
    """

    def __init__(self, form: str = "surface", pos: str = "content", ngram_range: tuple[int, int] = (1, 1)):
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
        return mecab_arguments(self.form)

    @property
    def pattern(self) -> re.Pattern:
        pattern = self.__dict__.get("_pattern")
        if pattern is None:
            pattern = self.__dict__["_pattern"] = re.compile(rf"(?<!\S){POS_FILTERS[self.pos]}\|(\S+)")
        return pattern

    def tokens(self, text: str) -> list[str]:
        """The kept word tokens of ``text``, after normalisation."""
        return self.pattern.findall(get_tagger(self.arguments).parse(normalize(text)))

    def __call__(self, text: str) -> list[str]:
        tokens = self.tokens(text)
        low, high = self.ngram_range
        if high == 1:
            return tokens
        features = tokens if low == 1 else []
        for n in range(max(2, low), high + 1):
            features += [" ".join(gram) for gram in zip(*(tokens[i:] for i in range(n)))]
        return features

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
