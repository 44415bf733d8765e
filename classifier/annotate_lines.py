"""The annotate command's chunk for many drafts: JSON Lines in (one draft post a line, as
``{"id"?, "text"}``), JSON Lines out (one annotated draft a line). A chunk is what one process
(this one or a worker) does, as ``suggest_lines`` is for paragraphs."""
from __future__ import annotations

from typing import Sequence

from .annotate import annotate
from .suggest_lines import chunk_lines, decoded, format_records, parse_record


def annotate_lines(model, first: int, lines: bytes | Sequence[bytes | str], options: dict) -> tuple[bytes, int, tuple | None]:
    """What ``python -m classifier annotate --jsonl`` prints for a chunk's ``lines``
    (``chunk_lines``; the first numbered ``first``): (the output, UTF-8, the number of drafts,
    None), or (b"", 0, (number, message)) when a line is bad or holds a draft the blog format
    cannot read: nothing of that chunk is printed."""
    records, answers = [], []
    for number, line in enumerate(chunk_lines(lines), first):
        try:
            line = decoded(line)  # BadLine is a ValueError
            if not line.strip():
                continue
            identifier, text = parse_record(line)
            answers.append(annotate(model, text, k=options.get("k")).to_json())
        except ValueError as error:
            # read_draft names the draft's own line ("line 3: …"): say it is the draft's
            message = str(error)
            return b"", 0, (number, f"the draft's {message}" if message.startswith("line ") else message)
        records.append((number, identifier, text))
    if not records:
        return b"", 0, None
    return format_records(records, answers).encode("utf-8"), len(records), None
