#!/usr/bin/env python3
"""The floor of the batch benchmark, as a whole command: fugashi's ``Tagger('-Owakati').parse``
over the ``text`` of every JSON Lines record of a file, in one process, output discarded.

    python bench/raw_fugashi.py /tmp/archive.jsonl

No normalisation, no features, no model: only reading the file, decoding each line and MeCab.
"""
import json
import sys

import fugashi


def main(path: str) -> int:
    parse = fugashi.Tagger("-Owakati").parse
    n = 0
    with open(path, encoding="utf-8") as stream:
        for line in stream:
            parse(json.loads(line)["text"])
            n += 1
    print(f"{n} paragraphs", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
