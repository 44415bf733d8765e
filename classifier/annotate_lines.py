"""The annotate command's chunk for many drafts: JSON Lines in (one draft post a line, as
``{"id"?, "text"}``), JSON Lines out (one annotated draft a line). A chunk is what one process
(this one or a worker) does, as ``suggest_lines`` is for paragraphs."""
from __future__ import annotations

import json
from typing import Sequence

from .annotate import annotate
from .suggest_lines import parse_record


def annotate_lines(model, first: int, lines: Sequence[str], options: dict) -> tuple[str, int, tuple | None]:
    """What ``python -m classifier annotate --jsonl`` prints for ``lines`` (the first numbered
    ``first``): (the output text, the number of drafts, None), or ("", 0, (number, message)) when
    a line is bad or holds a draft the blog format cannot read: nothing of that chunk is printed."""
    out = []
    for number, line in enumerate(lines, first):
        if not line.strip():
            continue
        try:
            identifier, text = parse_record(line)  # BadLine is a ValueError
            draft = annotate(model, text, k=options.get("k"))
        except ValueError as error:
            # read_draft names the draft's own line ("line 3: …"): say it is the draft's
            message = str(error)
            return "", 0, (number, f"the draft's {message}" if message.startswith("line ") else message)
        record = {"line": number, **draft.to_json()}
        if identifier is not None:
            record = {"id": identifier, **record}
        out.append(json.dumps(record, ensure_ascii=False))
    if not out:
        return "", 0, None
    return "\n".join(out) + "\n", len(out), None
