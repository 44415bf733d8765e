"""How real blog posts differ from the bundled corpus: the figures behind docs/REAL_POSTS.md.

    python scripts/real_posts_stats.py [--seeds DIR_OR_FILE...] [--corpus DIR_OR_FILE...]

A Markdown table, real posts (not in the repository; skipped when absent) beside training_data.
Topic words: per taxonomy tag, the 30 tokens (Tokenizer(pos="content")) whose presence in a block
has the highest chi2 with the tag; each post is scored with those learned from the half of the
training posts (even or odd files) that does not hold it, so no figure is measured in-sample.
"""
from __future__ import annotations

import argparse
import re
import statistics
import sys
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from classifier.corpus import parse_tag_line, read_blog  # noqa: E402
from classifier.text import Tokenizer  # noqa: E402
ROOT = Path(__file__).resolve().parents[1]
DEFAULT_SEEDS = ROOT.parent / "shared" / "seeds"  # the real posts, kept outside the repository
TAXONOMY = ("#ウクライナ軍事支援 #ウクライナミサイル攻撃 #ウクライナインフラ攻撃 #ウクライナ戦況 #ウクライナ戦力 "
            "#ウクライナ和平 #捕虜交換 #ロシア国内 #対ロシア制裁 #ウクライナ復興 #ウクライナEU加盟 #NATO #日波 "
            "#日ウクライナ #ガザ情勢 #台湾情勢 #北朝鮮ミサイル #米大統領選 #日米 #米中 #中露 #日銀 #FRB").split()
ATTRIBUTION = re.compile(r"^[—―-]\s*.{0,80}\(@(\w+)\)\s+[A-Za-z]+\s+\d{1,2},\s*\d{4}$")
ADDRESS = re.compile(r"^(?:https?://)?[\w-]+\.hatena(?:diary|blog)\.(?:com|jp)/?$")
QUOTE = re.compile(r"「[^「」]*(?:「[^「」]*」[^「」]*)*」")  # one level of nesting is enough here


def split_lines(text):
    """Lines -> (tweets (index, headline): a t.co line before an attribution, @handles, article lines)."""
    lines, headlines, handles, article = text.split("\n"), [], [], []
    for i, line in enumerate(lines):
        if match := ATTRIBUTION.match(line):
            handles.append(match.group(1))
        elif i + 1 < len(lines) and "https://t.co/" in line and ATTRIBUTION.match(lines[i + 1]):
            headlines.append((i, line))
        elif "https://t.co/" not in line:
            article.append(line)
    return headlines, handles, article


def read_posts(paths):
    """Each post: its examples, its summaries (what follows the tags of a tag line), its lines."""
    posts = []
    for file in sorted(f for p in paths for f in ([p] if p.is_file() else p.glob("*.txt"))):
        raw = [line.strip() for line in file.read_text(encoding="utf-8-sig").splitlines()]
        tag_lines = [(parse_tag_line(line)[0], line) for line in raw if line.startswith("#")]
        summaries = [line[len("".join(tags)):].strip() for tags, line in tag_lines if line != "".join(tags)]
        posts.append({"examples": read_blog(file), "summaries": summaries, "raw": raw})
    return posts


def topic_words(units):
    """units: (example, token set) of blocks -> {tag: the 30 tokens with the highest chi2
    of presence in the tag's blocks (positive association, in 3 of its blocks at least)}."""
    total, n_tag, df_all = len(units), Counter(), Counter()
    df = {tag: Counter() for tag in TAXONOMY}
    for example, toks in units:
        df_all.update(toks)
        for tag in set(example.tags) & set(TAXONOMY):
            n_tag[tag] += 1
            df[tag].update(toks)

    def chi2(tag, w):  # 2x2 table: block has w or not (a+b | c+d), is the tag's or not (a+c | b+d)
        a = df[tag][w]
        b, c = df_all[w] - a, n_tag[tag] - a
        d = total - a - b - c
        return total * (a * d - b * c) ** 2 / ((a + b) * (c + d) * (a + c) * (b + d) or 1) if a * d > b * c else 0
    # Ties are broken by the word itself: set order changes from run to run.
    return {tag: sorted((w for w, a in df[tag].items() if a >= 3), key=lambda w: (-chi2(tag, w), w))[:30]
            for tag in TAXONOMY}


def topic_rows(posts, tokenizer, words_for):
    """Per taxonomy block: (paragraphs, paragraphs without the tag's words, drifts). A tag scores the number
    of its words in a paragraph; the paragraph drifts when another tag scores 2+ and more than the block's."""
    for i, post in enumerate(posts):
        words = {tag: set(ws) for tag, ws in words_for(i).items()}
        for example in post["examples"]:
            tag = next((t for t in example.tags if t in TAXONOMY), None)
            if tag:
                empty, pairs, paras = 0, [], split_lines(example.text)[2]
                for toks in map(set, tokenizer.token_lists(paras)):
                    scores = {t: len(toks & ws) for t, ws in words.items()}
                    best = max(scores, key=scores.get)
                    empty += scores[tag] == 0
                    if scores[best] >= 2 and scores[best] > scores[tag]:
                        pairs.append(f"{tag} → {best}")
                yield len(paras), empty, pairs


def measure(posts, tokenizer, words_for):
    """{row name: formatted figure} for one collection, plus details under '_' keys."""
    examples = [e for p in posts for e in p["examples"]]
    every = [split_lines(e.text) for e in examples]  # untagged stretches too
    split = [parts for parts, e in zip(every, examples) if e.tags]
    lengths = sorted(len(line) for _, _, paras in every for line in paras)
    quoted = [sum(map(len, QUOTE.findall(line))) / len(line) for _, _, paras in every for line in paras]
    forms = [s.replace("（", "(") for p in posts for s in p["summaries"]]
    summaries = [s[1:-1] if s[:1] == "(" and s[-1:] in ")）" else s for s in forms]  # inside (…)
    frags, outside = [QUOTE.findall(s) for s in summaries], [QUOTE.sub("", s) for s in summaries]
    sizes = sorted(map(len, summaries))
    raw = [line for p in posts for line in p["raw"]]
    handles = Counter(h for _, hs, _ in every for h in hs)
    headlines = [h for hs, _, _ in every for h in hs]
    tweets = [len(hs) for hs, _, _ in split]
    topic = list(topic_rows(posts, tokenizer, words_for))
    runs = [list(zip([e.tags for e in p["examples"] if e.tags], p["summaries"])) for p in posts]  # (tags, summary)
    pairs = [(a, b) for run in runs for a, b in zip(run, run[1:])]
    same = [b[1].startswith(a[1][:-1]) for a, b in pairs if a[0] == b[0]]  # does the summary extend the last one?
    untagged = [len(e.text.split("\n")) for e in examples if not e.tags]

    def avg(values, digits=0):  # "median / mean"
        return f"{statistics.median(values):.{digits}f} / {statistics.mean(values):.{digits or 1}f}" if values else "–"

    def pct(part, whole):
        return f"{100 * part / whole:.0f}% ({part}/{whole})" if whole else "–"
    return {
        "blocks per post (median / mean)": avg([len(run) for run in runs], 1),
        "block length, chars with tweets (median / mean)": avg([len(e.text.replace("\n", "")) for e in examples if e.tags]),
        "block length, paragraphs (median / mean)": avg([len(e.text.split("\n")) for e in examples if e.tags], 1),
        "article paragraphs per block (median / mean)": avg([len(s[2]) for s in split], 1),
        "posts ending untagged / lines (median / mean)": f"{pct(len(untagged), len(posts))} / {avg(untagged)}",
        "same tag twice in a row / summary extends the last": f"{pct(len(same), len(pairs))} / {pct(sum(same), len(same))}",
        "tweets per block (mean)": f"{statistics.mean(tweets):.2f}" if tweets else "–",
        "blocks with 0 / 1 / 2+ tweets": " / ".join(pct(n, len(tweets)) for n in (
            tweets.count(0), tweets.count(1), sum(n >= 2 for n in tweets))),
        "tweets not on a block's first line": pct(sum(i > 0 for i, _ in headlines), len(headlines)),
        "tweets with a source hashtag": pct(sum(bool(re.search(r"#\w+$", h)) for _, h in headlines), len(headlines)),
        "tweets with the t.co link glued on": pct(sum(bool(re.search(r"\Shttps://t\.co/", h)) for _, h in headlines), len(headlines)),
        "live-update headlines (【随時更新】)": str(sum("【随時更新】" in line for line in raw)),
        "blog address lines (header/footer)": str(sum(bool(ADDRESS.match(line)) for line in raw)),
        "paragraph length, chars (median / mean)": avg(lengths),
        "paragraph length (p10 / p90 / max)": f"{lengths[len(lengths) // 10]} / {lengths[9 * len(lengths) // 10]} / {lengths[-1]}",
        "paragraphs under 25 / 100+ chars": " / ".join(pct(n, len(lengths)) for n in (
            sum(n < 25 for n in lengths), sum(n >= 100 for n in lengths))),
        "quote-only paragraphs (60%+ of chars inside 「…」)": pct(sum(q >= .6 for q in quoted), len(quoted)),
        "paragraphs with none of the tag's words": pct(sum(e for _, e, _ in topic), sum(n for n, _, _ in topic)),
        "paragraphs drifting to another tag": pct(sum(len(p) for _, _, p in topic), sum(n for n, _, _ in topic)),
        "blocks with a drifting paragraph": pct(sum(bool(p) for _, _, p in topic), len(topic)),
        "summary length, chars (median / mean)": avg(sizes),
        "summary length, chars (p10 / p90)": f"{sizes[len(sizes) // 10]} / {sizes[9 * len(sizes) // 10]}",
        "summaries writing ウク for ウクライナ": pct(sum(bool(re.search("ウク(?!ライナ)", s)) for s in summaries), len(summaries)),
        "summaries in (…) / as bare 「…」": " / ".join(pct(sum(s[:1] in k for s in forms), len(forms)) for k in "(「"),
        "「…」 fragments per summary (median / mean)": avg([len(f) for f in frags], 1),
        "summaries with no 「…」 fragment": pct(sum(not f for f in frags), len(frags)),
        "summary chars inside 「…」": pct(sum(len("".join(f)) for f in frags), sum(map(len, summaries))),
        "summaries with ・ outside 「…」 / ・ each": f"{pct(sum('・' in o for o in outside), len(outside))} / "
            + (f"{statistics.mean(o.count('・') for o in outside):.1f}" if outside else "–"),
        "summary quotes found verbatim in the block": pct(*verbatim(posts)),
        "_handles": handles, "_pairs": Counter(pair for _, _, p in topic for pair in p),
    }


def verbatim(posts):
    """Summary 「…」 fragments found word for word in their block (『』 as 「」, ウク as ウクライナ)."""
    found = total = 0
    for post in posts:
        blocks = [e.text for e in post["examples"] if e.tags]
        for text, summary in zip(blocks, post["summaries"]):
            for fragment in QUOTE.findall(summary):
                inner = fragment[1:-1].replace("『", "「").replace("』", "」")
                found += inner in text or re.sub("ウク(?!ライナ)", "ウクライナ", inner) in text
                total += 1
    return found, total


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", nargs="*", type=Path, default=[DEFAULT_SEEDS], help="real posts")
    parser.add_argument("--corpus", nargs="+", type=Path, default=[ROOT / "training_data" / "posts"])
    args = parser.parse_args(argv)
    tokenizer = Tokenizer(pos="content")
    corpus = read_posts(args.corpus)
    units = [(i, e, set(tokenizer.tokens("\n".join(split_lines(e.text)[2]))))
             for i, p in enumerate(corpus) for e in p["examples"] if e.tags]
    halves = [topic_words([(e, t) for i, e, t in units if i % 2 == h]) for h in (0, 1)]
    seeds, other_half = read_posts([p for p in args.seeds if p.exists()]), (lambda i: halves[1 - i % 2])
    columns = {f"real posts ({len(seeds)})": measure(seeds, tokenizer, other_half)} if seeds else {}
    columns[f"training_data ({len(corpus)})"] = measure(corpus, tokenizer, other_half)
    if not seeds:
        print(f"Real posts absent ({' '.join(map(str, args.seeds)) or 'none given'}): only training_data is shown.\n")
    print("| measure | " + " | ".join(columns) + " |\n|---|" + "---:|" * len(columns))
    for key in list(columns.values())[0]:
        if not key.startswith("_"):
            print(f"| {key} | " + " | ".join(column[key] for column in columns.values()) + " |")
    for name, column in columns.items():
        print(f"\n{name}: tweet sources: " + ", ".join(f"@{h} {n}" for h, n in column["_handles"].most_common()))
        print(f"{name}: commonest drifts: " + ", ".join(f"{p} {n}" for p, n in column["_pairs"].most_common(8)))
    print("\ntopic words from the even-numbered training posts, first 12 a tag:\n" +
          "\n".join(f"  {tag}: {' '.join(words[:12])}" for tag, words in halves[0].items()))


if __name__ == "__main__":
    main()
