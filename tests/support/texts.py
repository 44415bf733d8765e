"""Texts that exercise the tokenizer's edges, and paragraphs of the bundled corpus."""
from classifier import load_corpus
from tests.support.paths import ROOT

# Texts that exercise the tokenizer's edges: unknown words (``iris-t``), symbols, pipes and
# digits inside words, Latin and full-width text, tweet noise, several lines, nothing at all.
EDGE_TEXTS = [
    "ドイツは地対空ミサイルシステム「IRIS-T」をウクライナに供与する",
    "a|b 5146|x ４７９３|ｙ", "第3回NATO首脳会議で1000億円", "ロシア軍はウクライナの発電所を攻撃した https://t.co/abc #nhk_news",
    "— NHKニュース (@nhk_news) January 3, 2024\n本文です。\n二行目", "😀𠮷①Ⅷ㍻ｶﾞ ΑΒΓ абв 한국어", "", "   ", "。",
    # whitespace that survives normalisation and that MeCab keeps inside tokens
    "イ•\u1680𠮷", "◆~\xad\u200b◆\x1f😀", "⁂\u1680😀*\u200d¥®",
]


def corpus_paragraphs(limit: int = 600) -> list[str]:
    """The first paragraphs of the bundled corpus, then the edge texts."""
    examples = load_corpus([ROOT / "training_data"])
    lines = [line for example in examples for line in example.text.splitlines() if line.strip()]
    return lines[:limit] + EDGE_TEXTS
