"""Tiny named corpora that train in a fraction of a second: two topics, a rare tag, and texts
that belong to neither."""
import json
from pathlib import Path

from classifier.corpus import Example

BOJ = ["日銀は金融政策決定会合で利上げを決めた", "植田総裁は円安と物価について会見で語った", "日銀が国債の買い入れを減らす方針を示した",
       "日銀の追加利上げ観測で長期金利が上昇した", "日銀は短期金利の誘導目標を据え置いた", "日銀総裁が賃金と物価の好循環に言及した"]
NATO = ["NATOは首脳会議で防衛費の目標を確認した", "NATO加盟国が防空ミサイルの共同調達で合意した", "NATO事務総長がウクライナ支援の継続を訴えた",
        "スウェーデンがNATOに正式に加盟した", "NATOは東欧での部隊配備を拡大する", "NATO国防相会合で弾薬の増産を協議した"]
OTHER = ["大谷選手が本塁打を放った", "関東は週末にかけて大雨の見込み", "新作映画の興行収入が記録を更新した",
         "人気アイドルがコンサートを開いた", "桜の開花が各地で発表された", "将棋の名人戦で挑戦者が勝った"]


def tiny_examples() -> list[Example]:
    """#日銀 and #NATO blocks (#NATO with the post tag #反ロシア), one rare #その他 and five untagged."""
    examples = []
    for i, text in enumerate(BOJ):
        examples.append(Example(text, ("#日銀",), (), f"boj:{i}", f"post{i % 6}"))
    for i, text in enumerate(NATO):
        examples.append(Example(text, ("#NATO",), ("#反ロシア",), f"nato:{i}", f"post{i % 6 + 6}"))
    for i, text in enumerate(OTHER):
        examples.append(Example(text, ("#その他",) if i == 0 else (), (), f"other:{i}", f"post{i % 6 + 12}"))
    return examples


def tiny_corpus(path: Path, extra: int = 0) -> Path:
    """A JSON Lines corpus of #日銀 and #NATO texts; ``extra`` changes the model it gives."""
    lines = [{"text": t, "tags": ["#日銀"], "post": f"boj{i}"} for i, t in enumerate(BOJ)]
    lines += [{"text": t, "tags": ["#NATO"], "post": f"nato{i}"} for i, t in enumerate(NATO)]
    lines += [{"text": f"{BOJ[i % 6]}。追加{i}", "tags": ["#日銀"], "post": f"extra{i}"} for i in range(extra)]
    path.write_text("".join(json.dumps(line, ensure_ascii=False) + "\n" for line in lines), encoding="utf-8")
    return path
