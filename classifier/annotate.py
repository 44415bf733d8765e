"""Annotate a draft post: split it into blocks, tag each block, draft its tag line.

A draft is a post in the blog format (docs/FORMAT.md) without some or all of its tag lines.
Blocks are cut where the curator cuts them:

- a tag line already written closes a block, and is kept as written;
- a quoted tweet (a headline with a ``https://t.co/`` link) that follows article paragraphs
  starts a new block (96% of the corpus's tweets open their block);
- a sharp change of topic between neighbouring paragraphs, by the model's scores: a Viterbi path
  over the paragraphs, one state per block tag (and one for "no tag"), paying
  ``SWITCH_PENALTY`` at each change (see ``topic_boundaries``).

Each block is then scored as a whole (its lines joined); it gets the best block tag that clears
its threshold, and a summary drafted from its own words (``classifier.summary``). Post tags come
from the whole post scored as one text (``POST_TAGS_FROM``). ``classifier.annotate_eval``
measures all of it against the curator's posts.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

from .corpus import parse_tag_line
from .corpus.blog import _BLOG_ADDRESS_LINE
from .summary import SUMMARY_CAP, draft_summary

_ATTRIBUTION = re.compile(r"^\s*[—―-]\s*.{0,80}\(@\w{1,30}\)\s+[A-Za-z]+\s+\d{1,2},\s*\d{4}\s*$")
_TWEET_LINK = "https://t.co/"

# The topic cue's settings, chosen on posts that are neither the bundled model's training posts
# nor its held-out ones (the 30% of posts whose name hashes between the 20% and 50% marks, scored
# by a model trained on the other 50%): the cost of a change of topic between two neighbouring
# paragraphs (in log-probability), the probability given to "no tag", and the floor of a tag's.
# The measures behind them: docs/DEFAULTS.md, "Where annotate cuts a draft".
SWITCH_PENALTY = 5.0
NONE_PROBABILITY = 0.02
PROBABILITY_FLOOR = 1e-4
# "post": the whole post as one text (post-tag F1 0.928 on those posts); "blocks": the best score
# of each post tag over the blocks (0.917; with tweets as the only cue 0.936 against 0.933).
POST_TAGS_FROM = "post"
ALTERNATIVES = 5


@dataclass
class Block:
    paragraphs: list[str]  # its non-empty lines as written, tweets included
    line_numbers: list[int]  # the line of the draft each paragraph is on (1-based)
    written: list[str] = field(default_factory=list)  # the tag lines that closed it in the draft
    tags: list[dict] = field(default_factory=list)  # block tags that clear their thresholds
    alternatives: list[dict] = field(default_factory=list)  # the best block tags, any score
    summary: str | None = None
    line: str | None = None  # the tag line: as written, or drafted, or None (no tag fits)

    @property
    def text(self) -> str:
        return "\n".join(self.paragraphs)

    def to_json(self) -> dict:
        return {"line_number": self.line_numbers[0], "paragraphs": self.paragraphs, "tags": self.tags,
                "alternatives": self.alternatives, "line": self.line, "drafted": not self.written,
                "summary": self.summary, "written": self.written}


@dataclass
class Draft:
    blocks: list[Block]
    header: list[str] = field(default_factory=list)  # the blog's address lines at the top
    footer: list[str] = field(default_factory=list)  # ... and at the bottom
    post_tag_lines: list[str] = field(default_factory=list)  # the bare tag lines at the end, as written
    blank_lines: bool = False  # the draft separates its lines with blank lines
    post_tags: list[dict] = field(default_factory=list)  # suggested post tags
    drafted_post_tag_line: str | None = None

    def render(self) -> str:
        return render_post(self.header, [b.paragraphs + ([b.line] if b.line else []) for b in self.blocks],
                           self.post_tag_lines or ([self.drafted_post_tag_line] if self.drafted_post_tag_line else []),
                           self.footer, self.blank_lines)

    def to_json(self) -> dict:
        return {"blocks": [b.to_json() for b in self.blocks], "post_tags": self.post_tags,
                "post_tag_lines": self.post_tag_lines or [self.drafted_post_tag_line] * bool(self.drafted_post_tag_line),
                "post_tags_drafted": not self.post_tag_lines, "header": self.header, "footer": self.footer,
                "blank_lines": self.blank_lines, "post": self.render()}


def render_post(header, blocks, post_tag_lines, footer, blank_lines: bool) -> str:
    """The post in the blog format: one line a paragraph, blank lines between them if the draft had them."""
    lines = [*header, *(line for block in blocks for line in block), *post_tag_lines, *footer]
    return ("\n\n" if blank_lines else "\n").join(lines) + "\n"


def is_tweet_headline(line: str) -> bool:
    return _TWEET_LINK in line


# ---------------------------------------------------------------------------------------------
# reading a draft

def read_draft(text: str) -> Draft:
    """The draft's lines as blocks cut by the written tag lines and by the tweet cue."""
    numbered = [(n, raw.strip()) for n, raw in enumerate(text.splitlines(), 1)]
    content = [(n, line) for n, line in numbered if line]
    header, footer = _chrome(content), _chrome(content[::-1])[::-1]
    body = [(n, line) for n, line in content[len(header):len(content) - len(footer)]
            if not _BLOG_ADDRESS_LINE.match(line)]
    end = len(body)
    while end and body[end - 1][1].startswith("#") and not parse_tag_line(body[end - 1][1])[1]:
        end -= 1
    post_tag_lines = [line for _, line in body[end:]]
    blocks: list[Block] = []
    for n, line in body[:end]:
        if line.startswith("#"):
            if not parse_tag_line(line)[0]:
                raise ValueError(f"line {n}: a line starting with '#' needs a tag name after it: {line[:40]!r}")
            if blocks:
                blocks[-1].written.append(line)
                continue
            raise ValueError(f"line {n}: a tag line closes a block with no paragraphs before it")
        if not blocks or blocks[-1].written or _tweet_starts_block(blocks[-1].paragraphs, line):
            blocks.append(Block([], []))
        blocks[-1].paragraphs.append(line)
        blocks[-1].line_numbers.append(n)
    blank = any(not line for _, line in numbered[content[0][0]:content[-1][0] - 1]) if content else False
    return Draft(blocks, [l for _, l in header], [l for _, l in footer], post_tag_lines, blank)


def _chrome(content) -> list:
    count = 0
    while count < len(content) and _BLOG_ADDRESS_LINE.match(content[count][1]):
        count += 1
    return content[:count]


def _tweet_starts_block(paragraphs: list[str], line: str) -> bool:
    """A tweet headline after an article paragraph (not after another tweet) opens a block."""
    if not is_tweet_headline(line) or not paragraphs:
        return False
    last = paragraphs[-1]
    return not (is_tweet_headline(last) or _ATTRIBUTION.match(last))


def strip_tag_lines(text: str) -> str:
    """A post without its tag lines (block and post tags): what the curator pastes first."""
    return "\n".join(line for line in text.splitlines() if not line.strip().startswith("#")) + "\n"


# ---------------------------------------------------------------------------------------------
# the topic cue

def units(paragraphs: list[str]) -> list[list[int]]:
    """Indexes of the paragraphs, grouped so that a tweet's headline and attribution stay together
    with what follows them up to the next article paragraph (one unit, never cut inside)."""
    groups: list[list[int]] = []
    for i, line in enumerate(paragraphs):
        joined = groups and (is_tweet_headline(paragraphs[i - 1]) or _ATTRIBUTION.match(line))
        if joined:
            groups[-1].append(i)
        else:
            groups.append([i])
    return groups


def topic_boundaries(model, paragraphs: list[str], penalty: float = SWITCH_PENALTY,
                     none_probability: float = NONE_PROBABILITY, floor: float = PROBABILITY_FLOOR) -> list[int]:
    """Paragraph indexes where the topic changes sharply (a new block starts there).

    Every unit (a paragraph, or a tweet) gets the model's block-tag probabilities; the best path
    of one topic per unit (a block tag, or none at ``none_probability``) pays ``penalty`` for each
    change, so one drifting paragraph does not cut a block but a run of paragraphs on another
    topic does.
    """
    groups = units(paragraphs)
    if len(groups) < 2 or penalty == math.inf:
        return []
    ranked = model.suggest(["\n".join(paragraphs[i] for i in group) for group in groups],
                           k=len(model.classes_), threshold=0)
    tags = sorted({item["tag"] for answer in ranked for item in answer["tags"]})
    rows = []
    for answer in ranked:
        score = {item["tag"]: item["score"] for item in answer["tags"]}
        rows.append([math.log(max(score.get(tag, 0.0), floor)) for tag in tags]
                    + [math.log(none_probability)])
    path = _viterbi(rows, penalty)
    return [groups[u][0] for u in range(1, len(groups)) if path[u] != path[u - 1]]


def _viterbi(rows: list[list[float]], penalty: float) -> list[int]:
    """The state sequence maximising the sum of emission scores minus ``penalty`` per change."""
    best, back = list(rows[0]), []
    for row in rows[1:]:
        leader = max(range(len(best)), key=best.__getitem__)
        pointers, scores = [], []
        for state, emission in enumerate(row):
            stay, switch = best[state], best[leader] - penalty
            # On a tie the change comes as late as possible: a paragraph that speaks for no topic
            # stays with the block before it, where the curator's drifting paragraphs are.
            pointers.append(state if stay > switch else leader)
            scores.append(max(stay, switch) + emission)
        back.append(pointers)
        best = scores
    state = max(range(len(best)), key=best.__getitem__)
    path = [state]
    for pointers in reversed(back):
        state = pointers[state]
        path.append(state)
    return path[::-1]


def split_by_topic(model, draft: Draft, **options) -> None:
    """Cut the blocks where the topic changes sharply (in place). A block the curator closed with
    a tag line is theirs: the topic cue leaves it whole."""
    blocks: list[Block] = []
    for block in draft.blocks:
        cuts = [] if block.written else topic_boundaries(model, block.paragraphs, **options)
        for start, stop in zip([0, *cuts], [*cuts, len(block.paragraphs)]):
            blocks.append(Block(block.paragraphs[start:stop], block.line_numbers[start:stop], block.written))
    draft.blocks = blocks


# ---------------------------------------------------------------------------------------------
# tags and lines

def tag_draft(model, draft: Draft, k: int | None = None, cap: int = SUMMARY_CAP,
              post_tags_from: str = POST_TAGS_FROM) -> Draft:
    """Score every block as a whole, choose its tag, draft its line; choose the post tags."""
    texts = [block.text for block in draft.blocks]
    whole = "\n".join(texts)
    passing = model.suggest(texts + [whole], k=k)
    ranked = model.suggest(texts + [whole], k=len(model.classes_), threshold=0)
    for block, chosen, everything in zip(draft.blocks, passing, ranked):
        block.tags = chosen["tags"]
        block.alternatives = everything["tags"][:ALTERNATIVES]
        if block.written:
            block.line = "\n".join(block.written)
        elif block.tags:
            block.summary = draft_summary(block.paragraphs, cap)
            block.line = tag_line([block.tags[0]["tag"]], block.summary)
    draft.post_tags = post_tags(passing, post_tags_from)
    if draft.post_tags:
        draft.drafted_post_tag_line = "".join(item["tag"] for item in draft.post_tags)
    return draft


def post_tags(passing: list[dict], source: str) -> list[dict]:
    """Post tags from the blocks' answers (best score of each over the blocks) or the whole post's."""
    if source not in ("blocks", "post"):
        raise ValueError(f"post tags come from 'blocks' or 'post', got {source!r}")
    answers = passing[:-1] if source == "blocks" else passing[-1:]
    best: dict[str, dict] = {}
    for answer in answers:
        for item in answer["post_tags"]:
            if item["score"] > best.get(item["tag"], {"score": -1})["score"]:
                best[item["tag"]] = item
    return sorted(best.values(), key=lambda item: -item["score"])


def tag_line(tags: list[str], summary: str) -> str:
    """``#Tag(summary)``, on one line."""
    summary = " ".join(summary.split()) or "…"
    return "".join(tags) + f"({summary})"


def annotate(model, text: str, k: int | None = None, topic_cue: bool = True, cap: int = SUMMARY_CAP,
             **options) -> Draft:
    """A draft post in, the draft with its blocks, their tags and tag lines out."""
    draft = read_draft(text)
    if not draft.blocks:  # only post tags or the blog's address lines: nothing to tag, given back as written
        return draft
    if topic_cue:
        split_by_topic(model, draft, **options)
    return tag_draft(model, draft, k=k, cap=cap)
