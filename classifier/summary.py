"""Draft the summary of a tag line from a block's own words, in the curator's style.

The curator's summary is mostly who said what: ``クレバ外相「プランBはない。…」「…」・戦争研究所「…」``,
the statements copied from the block, ``・`` between speakers. A block that quotes nobody gets its
key figures instead (``少なくとも4人が死亡・38人が負傷した``). Everything is extractive: every piece
of a drafted summary (a speaker, a quote, a clause) is a substring of the block; only the joining
characters ``「」・`` are added.
"""
from __future__ import annotations

import re

# The longest summary drafted, in characters (without the surrounding parentheses). The bundled
# corpus's 1,222 summaries: median 68, p75 82, p90 92, p95 99, p99 116, max 162 (the two real
# posts: median 73, p90 168). 100 keeps 95% of the curator's lengths and leaves room for two
# statements.
SUMMARY_CAP = 100

# A tweet's headline (a t.co link in it) and its attribution line: not the block's own sentences.
_LINK = re.compile(r"\s*https?://\S*")
_ATTRIBUTION = re.compile(r"^\s*[—―-]\s*.{0,80}\(@\w{1,30}\)\s+[A-Za-z]+\s+\d{1,2},\s*\d{4}\s*$")

# A statement is a quote of some length that is said: followed by と (と述べた, との見方), the
# end of the sentence or the end of the paragraph. 「パトリオット」を, 「支援疲れ」が are names.
_MIN_STATEMENT = 8
_LONG_QUOTE = re.compile("「[^「」]{%d,}」" % _MIN_STATEMENT)
_SAID_AFTER = ("と", "。", "")
# A figure: digits not naming a day, month, year or hour.
_FIGURE = re.compile(r"[0-9０-９][0-9０-９,，.．]*(?![0-9０-９,，.．]*(?:日|月|年|時|分))")
_MAX_FIGURE_CLAUSES = 4
_MAX_CLAUSE = 45
# Speakers: the run of nouns before the topic or subject particle (ウクライナのクレバ外相は -> クレバ外相).
_SPEAKER_POS = ("名詞", "接尾辞", "補助記号")
# Nouns that end a clause, not a name: 「…」ことは, 「…」ものが.
_NOT_SPEAKERS = {"こと", "もの", "ため", "よう", "ところ", "これ", "それ", "方針", "考え", "見方", "各国"}
_MECAB_FORMAT = r'-O "" -F "%m\t%f[0]\t%f[1]\n" -U "%m\t%f[0]\t%f[1]\n" -E ""'


def article_lines(paragraphs: list[str]) -> list[str]:
    return [line for line in paragraphs if "t.co/" not in line and not _ATTRIBUTION.match(line)]


def draft_summary(paragraphs: list[str], cap: int = SUMMARY_CAP) -> str:
    """The summary of a block: its statements with their speakers, else its key figures."""
    lines = article_lines(paragraphs)
    summary = _join_statements(statements(lines), cap)
    return summary or _join_figures(lines, cap) or _headline(paragraphs, cap)


def statements(lines: list[str]) -> list[tuple[str, str]]:
    """(speaker, quote) for each statement of the lines, in order; speaker "" when unknown."""
    found, last_speaker = [], ""
    for line in lines:
        for start, end in _quotes(line):
            quote = line[start + 1:end]
            if len(quote) < _MIN_STATEMENT or line[end + 1:end + 2] not in _SAID_AFTER:
                continue
            speaker = _speaker_before(line, start) or _speaker_after(line, end) or last_speaker
            last_speaker = speaker
            found.append((speaker, quote))
    return found


def _quotes(line: str) -> list[tuple[int, int]]:
    """(position of 「, position of its matching 」) of each outermost quote of a line."""
    spans, depth, start = [], 0, 0
    for i, char in enumerate(line):
        if char == "「":
            if depth == 0:
                start = i
            depth += 1
        elif char == "」" and depth:
            depth -= 1
            if depth == 0:
                spans.append((start, i))
    return spans


def _speaker_before(line: str, quote_start: int) -> str:
    prefix = line[line.rfind("。", 0, quote_start) + 1:quote_start]
    return _subject(_LONG_QUOTE.sub("、", prefix))


def _speaker_after(line: str, quote_end: int) -> str:
    """「…」と、議会の人権担当のルビネツ氏は語った: the subject after the quote, same sentence."""
    stop = line.find("。", quote_end)
    suffix = line[quote_end + 1:stop if stop >= 0 else len(line)]
    return _subject(suffix) if suffix.startswith("と") and "「" not in suffix else ""


def _subject(text: str) -> str:
    """The noun run before the last topic は of a text, else before its last subject が
    (``ウクライナのクレバ外相は`` -> ``クレバ外相``); a bracketed name counts (``「戦争研究所」は``)."""
    from .text import _dictionary_dir, get_tagger

    if not text:
        return ""
    tagger = get_tagger(f'-r /dev/null -d "{_dictionary_dir()}" {_MECAB_FORMAT}')
    tokens = [row.split("\t") for row in tagger.parse(text).splitlines() if row.count("\t") == 2]
    for particle, pos2 in (("は", "係助詞"), ("が", "格助詞")):
        for i in range(len(tokens) - 1, 0, -1):
            if tokens[i][0] == particle and tokens[i][1] == "助詞" and tokens[i][2] == pos2:
                return _noun_run(tokens[:i], text)
    return ""


def _noun_run(tokens: list[list[str]], text: str) -> str:
    if tokens[-1][0] == "」":
        before = "".join(t[0] for t in tokens[:-1])
        return before[before.rfind("「") + 1:] if "「" in before else ""
    run = []
    for surface, pos1, pos2 in reversed(tokens):
        if pos1 not in _SPEAKER_POS or surface in "、。「」()（）" or pos2 == "数詞":
            break
        run.insert(0, surface)
    name = "".join(run).strip("・")
    return name if len(name) >= 2 and name in text and name not in _NOT_SPEAKERS else ""


def _join_statements(found: list[tuple[str, str]], cap: int) -> str:
    """``話者「…」「…」・話者「…」``, in the block's order, as many statements as fit under the cap."""
    groups: list[list] = []  # [speaker, [quotes]]
    length = 0
    for speaker, quote in found:
        same = bool(groups) and groups[-1][0] == speaker
        overhead = 2 + (0 if same else len(speaker) + (1 if groups else 0))
        quote = _fit(quote, cap - length - overhead)
        if not quote or any(quote in q for group in groups for q in group[1]):
            continue
        if same:
            groups[-1][1].append(quote)
        else:
            groups.append([speaker, [quote]])
        length += overhead + len(quote)
    return "・".join(speaker + "".join(f"「{q}」" for q in quotes) for speaker, quotes in groups)


def _fit(quote: str, room: int) -> str:
    """The quote, or its first sentences that fit in ``room`` characters, or ""."""
    if len(quote) <= room:
        return quote
    cut = quote.rfind("。", 0, room)
    while cut > 0:
        head = quote[:cut + 1].rstrip("。")
        if len(head) >= _MIN_STATEMENT and head.count("「") == head.count("」"):
            return head
        cut = quote.rfind("。", 0, cut)
    return ""


def _join_figures(lines: list[str], cap: int) -> str:
    """The block's clauses that hold a figure (``230人が帰国``), joined by ・ under the cap."""
    chosen, length = [], 0
    for line in lines:
        for clause in re.split(r"[、。]", line):
            clause = clause.strip()
            if not clause or clause.count("「") != clause.count("」") or not _FIGURE.search(clause):
                continue
            if len(clause) > _MAX_CLAUSE or length + len(clause) + bool(chosen) > cap:
                continue
            chosen.append(clause)
            length += len(clause) + (len(chosen) > 1)
            if len(chosen) == _MAX_FIGURE_CLAUSES:
                return "・".join(chosen)
    return "・".join(chosen)


def _headline(paragraphs: list[str], cap: int) -> str:
    """No statement and no figure: the block's first headline (its link and source hashtag cut
    off), else its first clause."""
    for line in paragraphs:
        if "t.co/" in line:
            headline = _LINK.split(line)[0].strip()
            if headline:
                return headline[:cap]
    for line in paragraphs:
        clause = re.split(r"[、。]", line)[0].strip()
        if clause and not _ATTRIBUTION.match(line):
            return clause[:cap]
    return ""
