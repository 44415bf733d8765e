"""Invented draft posts for the annotate tests: a prisoner swap, a NATO purchase and a recipe,
each a quoted tweet and its paragraphs."""
import re

SWAP = """ロシアとウクライナが捕虜を交換 双方で計150人が帰還 https://t.co/AbCdEf1234
— 架空通信 (@kakuu_news) March 2, 2031
ウクライナ大統領府は2日、ロシアとの捕虜交換で兵士75人が帰還したと発表した。仲介は中東の国が担った。
ロシア国防省も自国の兵士75人が戻ったと明らかにした。捕虜の交換は三か月ぶりとなる。
人権担当のコワレンコ氏は「捕虜の最後の一人が家に帰るまで交渉の席を立たない」と述べた。"""

NATO = """NATO、防空ミサイル500発を共同調達へ https://t.co/ZyXwVu9876
— 架空通信 (@kakuu_news) March 2, 2031
北大西洋条約機構(NATO)は2日、加盟国のために地対空ミサイル500発を共同で調達すると発表した。
加盟国の国防相会合では、防衛費を国内総生産の2%以上とする目標の前倒しも話し合われた。
NATOの事務総長は「同盟の防空をこれまでになく強くする」と語った。"""

COOKING = """秋の味覚 栗ご飯の炊き方 https://t.co/QwErTy5678
— 架空料理 (@kakuu_cook) March 2, 2031
栗は熱湯に10分ほどつけてから鬼皮をむくと、渋皮まできれいにむける。
米2合に対して栗を15個ほど入れ、塩と酒で味を調えて普通に炊く。"""


def make_draft(*blocks, blank=False):
    """The blocks one after the other, with a blank line between lines when ``blank``."""
    return ("\n\n" if blank else "\n").join(blocks) + "\n"


def summary_pieces(summary: str) -> list[str]:
    """The quoted and listed pieces of a drafted summary, each copied from the text."""
    return [piece for piece in re.split("[「」・]", summary) if piece]


# A post as the curator tags it: three blocks with their tag lines, and the post tags.
TAGGED_POST = make_draft(SWAP, "#捕虜交換(コワレンコ氏「捕虜の最後の一人が家に帰るまで交渉の席を立たない」・兵士75人)",
                     NATO, "#NATO(事務総長「同盟の防空をこれまでになく強くする」・500発)", COOKING,
                     "#栗ご飯(10分ほどつける)", "#反ロシア#対中露戦")
