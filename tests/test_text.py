"""classifier.text: normalisation and the tokenizer (forms, n-grams, threads, pickling), MeCab's
output read by context id, and property-based tests: any str in, no exception (hypothesis)."""
import pickle
import re
import threading
import unicodedata

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from classifier import Tokenizer
from classifier.text import POS_FILTERS, _FULL_WIDTH, _narrow, get_tagger, integer_range_regex, normalize
from tests.support.fuzz import ANY_CHARACTER, FUZZ
from tests.support.texts import EDGE_TEXTS, corpus_paragraphs


NOISE = [
    ("ロシア 防衛産業標的か 英国防省https://t.co/aN1DlVOBoV #nhk_news", "ロシア 防衛産業標的か 英国防省"),
    ("— NHKニュース (@nhk_news) January 3, 2024", ""),
    ("— ロイター (@ReutersJapan) January 4, 2024\n本文です。", "本文です。"),
    ("https://d1021.hatenadiary.com\n本文\nd1021.hatenadiary.jp", "本文"),
    ("ＮＡＴＯは１０００発を調達", "natoは1000発を調達"),
    ("  全角　スペース  ", "全角 スペース"),
]


@pytest.mark.parametrize("raw, expected", NOISE)
def test_normalize_removes_noise(raw, expected):
    assert normalize(raw) == expected


def test_tokenizer_keeps_content_words_and_drops_noise():
    tokens = Tokenizer(pos="content")("ロシア軍はウクライナの発電所を攻撃した https://t.co/abc #nhk_news")
    assert tokens[:5] == ["ロシア", "軍", "ウクライナ", "発電", "所"]
    assert "攻撃" in tokens
    assert not {"は", "の", "を", "た", "nhk_news", "https"} & set(tokens)


def test_tokenizer_forms_and_ngrams():
    text = "ロシア軍が町を奪った"
    assert "奪う" in Tokenizer(form="lemma")(text)
    assert "奪っ" in Tokenizer(form="surface")(text)
    assert "町 奪っ" in Tokenizer(pos="content", ngram_range=(1, 2))(text)
    assert Tokenizer(pos="content", ngram_range=(2, 2))(text) == ["ロシア 軍", "軍 町", "町 奪っ"]
    assert "が" in Tokenizer(pos="all")(text)


@pytest.mark.parametrize("settings", [{"form": "stem"}, {"pos": "verbs"}, {"ngram_range": (2, 1)}])
def test_tokenizer_rejects_unknown_settings(settings):
    with pytest.raises(ValueError):
        Tokenizer(**settings)


def test_tokenizer_pickles_without_its_tagger():
    tokenizer = Tokenizer(form="base", ngram_range=(1, 2))
    tokenizer("先に一度使う")
    copy = pickle.loads(pickle.dumps(tokenizer))
    assert copy == tokenizer
    assert copy("ウクライナに戦車を供与") == tokenizer("ウクライナに戦車を供与")


def test_one_tagger_per_thread():
    arguments = Tokenizer(pos="content").arguments
    assert get_tagger(arguments) is get_tagger(arguments)
    others = []
    thread = threading.Thread(target=lambda: others.append(get_tagger(arguments)))
    thread.start()
    thread.join()
    assert others[0] is not get_tagger(arguments)


def test_threads_tokenize_like_one_thread():
    tokenizer = Tokenizer(ngram_range=(1, 2))
    texts = [f"第{i}回の会合でNATOは防空ミサイルの調達を決めた" for i in range(200)]
    expected = [tokenizer(t) for t in texts]
    results = {}

    def work(n):
        results[n] = [tokenizer(t) for t in texts]

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert all(result == expected for result in results.values())


# Full-width forms, ASCII, combining marks (which compose with what comes before), half-width
# kana and their sound marks, Hangul jamo (which compose with each other) and the ideographic space.
NFKC_EDGES = st.sampled_from([chr(c) for c in [*range(0xFF01, 0xFF5F), *range(0xFF61, 0xFFA0), 0x3000, 0x20, 0x41,
                                               0x65, 0x6E, 0x300, 0x301, 0x308, 0x30A, 0x323, 0x3099, 0x309A, 0x304B,
                                               0x1100, 0x1161, 0x11A8, 0x2026, 0x212B]])


@settings(max_examples=500, deadline=None)
@given(text=st.text(st.one_of(NFKC_EDGES, st.characters()), max_size=30))
def test_swapping_full_width_forms_before_nfkc_keeps_its_result(text):
    # normalize() swaps full-width ASCII for ASCII before NFKC, to skip CPython's slow path.
    assert unicodedata.normalize("NFKC", _FULL_WIDTH.sub(_narrow, text)) == unicodedata.normalize("NFKC", text)


@pytest.fixture(scope="module")
def paragraphs():
    return corpus_paragraphs()


# --------------------------------------------------------------------------------------------
# MeCab's output read by word-class id gives exactly what reading the part of speech gives


def reference_tokens(tokenizer: Tokenizer, text: str) -> list[str]:
    """Tokens as MeCab names them: ``POS1-POS2|form`` for every word and one regex (the
    implementation before context ids were used)."""
    import unidic_lite

    form = {"surface": "%m", "lemma": "%f[7]", "base": "%f[10]"}[tokenizer.form]
    arguments = (f'-r /dev/null -d "{unidic_lite.DICDIR}" -O "" -F "%f[0]-%f[1]|{form} " '
                 f'-U "%f[0]-%f[1]|%m " -E "\\n"')
    pattern = re.compile(rf"(?<!\S){POS_FILTERS[tokenizer.pos]}\|(\S+)")
    return pattern.findall(get_tagger(arguments).parse(normalize(text)))


@pytest.mark.parametrize("form", ["surface", "lemma", "base"])
@pytest.mark.parametrize("pos", ["all", "content", "nouns"])
def test_tokens_by_context_id_equal_tokens_by_part_of_speech(paragraphs, form, pos):
    tokenizer = Tokenizer(form=form, pos=pos)
    texts = paragraphs[::3] + EDGE_TEXTS
    assert [tokenizer.tokens(t) for t in texts] == [reference_tokens(tokenizer, t) for t in texts]


def test_ngrams_are_made_of_tokens_only():
    # Regression: trigrams were built over the list that already held the bigrams.
    features = Tokenizer(pos="content", ngram_range=(1, 3))("ロシア軍が町を奪った")
    assert features == ["ロシア", "軍", "町", "奪っ", "ロシア 軍", "軍 町", "町 奪っ", "ロシア 軍 町", "軍 町 奪っ"]


@pytest.mark.parametrize("low, high", [(0, 0), (1, 3), (7, 7), (8, 12), (95, 1_234), (891, 1_771), (5_129, 5_223),
                                       (999, 1_000), (0, 99_999), (12_345, 67_890)])
def test_integer_range_regex_matches_exactly_the_range(low, high):
    pattern = re.compile("(?:" + "|".join(integer_range_regex(low, high)) + ")")
    candidates = set(range(0, 2_000)) | set(range(low - 50, low + 50)) | set(range(high - 50, high + 50)) | {10 ** 5}
    for number in sorted(n for n in candidates if n >= 0):
        assert bool(pattern.fullmatch(str(number))) == (low <= number <= high), number


# --------------------------------------------------------------------------------------------
# Normalisation and tokenisation: any str in, no exception


TOKENIZERS = [Tokenizer(pos="content"), Tokenizer(pos="all"), Tokenizer(form="lemma", pos="all", ngram_range=(1, 3)),
              Tokenizer(form="base", pos="nouns")]


@FUZZ
@given(text=st.text(ANY_CHARACTER, max_size=200))
@example(text="日銀\ud800会見")  # a lone surrogate, as a JSON "\ud800" escape gives
@example(text="\udfff")
@example(text="日銀\x00会見")
@example(text="\ufdfa" * 50)  # NFKC turns one character into 18
@example(text="https://t.co/" + "a" * 500)
@example(text="— " + "x" * 80 + " (@a) January 1, 2024\n" * 20)
def test_normalize_and_tokenize_take_any_text(text):
    normalized = normalize(text)
    assert isinstance(normalized, str)
    # one stripped line whose only whitespace is the plain space, with no NUL
    assert normalized == normalized.strip() and "\x00" not in normalized
    assert all(not character.isspace() for character in normalized.replace(" ", ""))
    normalized.encode("utf-8")  # what reaches MeCab is valid UTF-8
    for tokenizer in TOKENIZERS:
        features = tokenizer(text)
        assert all(isinstance(feature, str) and feature.strip() for feature in features)
        # one text or a batch of it with others: the same tokens
        assert tokenizer.token_lists(["日銀", text, ""])[1] == tokenizer.tokens(text)


@pytest.mark.parametrize("text", ["日銀\ud800会見", "\ud83d日銀会見"])
def test_lone_surrogates_do_not_crash_the_tokenizer(text):
    """Regression: MeCab takes UTF-8, and a str holding a lone surrogate (what a JSON "\\ud800"
    escape decodes to) raised UnicodeEncodeError from inside the tokenizer."""
    assert {"日銀", "会見"} <= set(Tokenizer(pos="content")(text))


def test_text_after_a_nul_character_is_not_lost():
    """Regression: MeCab reads a C string, so everything after a NUL ("\\u0000" in JSON) was
    silently dropped from the tokens."""
    assert "会見" in Tokenizer(pos="content")("日銀\x00会見")


def test_huge_text_normalizes_and_tokenizes():
    text = ("日銀の植田総裁は会見で追加利上げに言及した。https://t.co/abc #nhk_news\n" * 2_000)[:200_000]
    assert Tokenizer(pos="content")(text)[:2] == ["日銀", "植田"]
