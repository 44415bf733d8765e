"""Commands that tag text: suggest (paragraphs) and annotate (a draft post)."""
from __future__ import annotations

import argparse
import contextlib
import json
import sys
from collections import deque
from itertools import chain, islice, repeat
from pathlib import Path
from typing import Callable, Iterable, Iterator

from .. import config
from ..batch import add_parallel_arguments, add_progress_argument
from ..config import model_in_use
from ..corpus import CorpusError
from .common import ensure_default_model, open_input



def run_suggest(args) -> int:
    """Paragraphs in (a line each, or JSON Lines with ``text``), JSON Lines out, in input order.

    Chunks of lines are scored in this process, and in worker processes when the input is large
    (``batch.auto_start``) or ``--jobs`` asks: each chunk's lines are parsed, scored and written
    out as JSON by whoever scores it, so this process reads lines and writes text.
    """
    from .. import batch
    from ..suggest_lines import suggest_lines

    options = {"k": args.k, "threshold": args.threshold, "explain": args.explain}
    return _stream_lines(args, suggest_lines, options, "paragraphs", config.BATCH_SIZE, batch.PARALLEL_MIN_BYTES,
                         tokenize_ahead=not args.explain)


def _stream_lines(args, function, options: dict, what: str, chunk_size: int, parallel_min_bytes: int,
                  tokenize_ahead: bool = False) -> int:
    """``function(model, first line number, lines, options)`` -> (output, count, error) over the
    input's chunks of lines, in this process or in workers (``batch.map_ordered``), each chunk's
    output (UTF-8) written out in input order as it is done. ``tokenize_ahead``: ``function``
    takes ``Tokenized`` chunks too, and a run on local workers gets a head start
    (``classifier.head_start``)."""
    from ..batch import auto_start, forks_workers, map_ordered
    from ..progress import Progress, file_size_and_position

    if args.batch_size is not None and args.batch_size < 1:
        raise ValueError(f"--batch-size must be a positive number of lines, got {args.batch_size}")
    args.model = args.model or str(model_in_use())
    # Lines are read as bytes: whoever scores a chunk decodes it (suggest_lines.decoded).
    with open_input(args.input, binary=True) as stream, contextlib.ExitStack() as stack:
        total, position = file_size_and_position(stream)
        start = auto_start(args.jobs, args.dask_scheduler, total, parallel_min_bytes)
        read_up_to = deque()  # the input's position after each chunk in flight, for the progress
        size = args.batch_size or chunk_size
        sizes = repeat(size) if total is None else _file_chunk_sizes(size, lambda: total - stream.tell())
        # Workers forked from this process share its descriptor of a file: they read their chunks
        # from it, and this process only finds where each chunk's lines lie.
        forked = total is not None and start == 0 and forks_workers(args.dask_scheduler)
        head = None
        if tokenize_ahead and total is not None:
            from ..head_start import CHUNK_LINES, CHUNKS, HeadStart, model_tokenizer

            # A file's first chunks are the head start's, in one process or many: where a bad line
            # stops the run, the same lines have been written before it either way.
            sizes = chain(repeat(min(size, CHUNK_LINES), CHUNKS), sizes)
            tokenizer = model_tokenizer(args.model) if forked else None
            if tokenizer is not None:
                chunks = _line_chunks(stream, sizes, options, position, read_up_to, forked)
                head_chunks = list(islice(chunks, CHUNKS))
                head = stack.enter_context(HeadStart(tokenizer, [(first, lines) for first, lines, _ in head_chunks]))
        if head is None:
            chunks = _line_chunks(stream, sizes, options, position, read_up_to, forked)
        from ..persist import load_model

        ensure_default_model(args.model)
        model, _ = load_model(args.model)
        model.suggest(["確認"], k=args.k, threshold=options.get("threshold"))  # a bad --k or --threshold: exit 2 now
        if head is not None:
            done = head.finish(model.tokenizer_)
            chunks = chain([(first, lines, options) for (first, _, _), lines in zip(head_chunks, done)], chunks)
        progress = Progress(what, total, enabled=args.progress)
        sys.stdout.flush()  # anything written as text goes out before the chunks' bytes
        for output, count, error in map_ordered(function, chunks, model, jobs=args.jobs,
                                                dask_scheduler=args.dask_scheduler, model_dir=args.model,
                                                start_after=start, keep_workers=False):
            if error:
                raise CorpusError(stream.name, *error)
            _write_chunk(output)
            progress.update(count, read_up_to.popleft())
        progress.close()
    return 0


# A file's last chunks are smaller, over about this many chunks' worth of its lines: a run ends
# when its last worker does, and a full chunk handed out last keeps the other workers idle for up
# to its whole time (a tenth of a second), a quarter chunk for a quarter of that.
TAIL_CHUNKS = 4
TAIL_PART = 4


def _file_chunk_sizes(size: int, remaining: Callable[[], int]) -> Iterator[int]:
    """Lines in each next chunk of a file: ``size``, then ``size // TAIL_PART`` once the lines
    left (``remaining()``: the bytes not read yet, over the bytes a line so far) would make fewer
    than ``TAIL_CHUNKS`` full chunks. Sizes depend on the file alone, not on the processes."""
    start, lines = remaining(), 0
    while True:
        left = remaining()
        tail = lines and left * lines < TAIL_CHUNKS * size * (start - left)
        step = max(1, size // TAIL_PART) if tail else size
        lines += step
        yield step


def _line_chunks(stream, sizes: Iterable[int], options: dict, position, read_up_to, by_range: bool = False):
    """(number of the first line, the lines as one block of bytes, options) for each chunk of
    ``stream`` (bytes), the next of ``sizes`` lines long; the position in the file after each is
    appended to ``read_up_to`` (None for a pipe). ``by_range``: each block as where it lies in
    the file (``FileRange``), for processes that share ``stream``'s descriptor."""
    from ..suggest_lines import FileRange

    first = 1
    offset = stream.tell() if by_range else 0
    for size in sizes:
        lines = list(islice(stream, size))
        if not lines:
            return
        read_up_to.append(position() if position else None)
        if by_range:
            length = sum(map(len, lines))
            yield first, FileRange(stream.fileno(), offset, length), options
            offset += length
        else:
            yield first, b"".join(lines), options
        first += len(lines)


def _write_chunk(output: bytes) -> None:
    """A chunk's JSON Lines (UTF-8), flushed: a reader downstream gets each chunk as it is done."""
    sys.stdout.buffer.write(output)
    sys.stdout.buffer.flush()


def run_annotate(args) -> int:
    """A draft post in (blog format), the post with drafted tag lines out (or, with --json, its
    blocks); with --jsonl, many drafts, one a line, annotated in input order like ``suggest``."""
    if args.jsonl:
        from .. import batch
        from ..annotate_lines import annotate_lines

        return _stream_lines(args, annotate_lines, {"k": args.k}, "drafts", config.ANNOTATE_BATCH_SIZE,
                             batch.ANNOTATE_PARALLEL_MIN_BYTES)
    if args.jobs is not None or args.dask_scheduler or args.progress:
        # One draft is one post (a tenth of a second): only many drafts are shared out.
        raise ValueError("--jobs, --dask-scheduler and --progress are for many drafts: use them with --jsonl")
    from ..annotate import annotate
    from ..persist import load_model

    args.model = args.model or str(model_in_use())
    ensure_default_model(args.model)
    model, metadata = load_model(args.model)
    if args.input in (None, "-"):
        text = sys.stdin.read()
    else:
        from ..corpus import read_text

        text = read_text(Path(args.input))
    draft = annotate(model, text, k=args.k)
    if args.json:
        print(json.dumps(draft.to_json(), ensure_ascii=False, indent=1))
    else:
        sys.stdout.write(draft.render())
    return 0


def add_suggest_command(commands) -> None:
    suggest = commands.add_parser("suggest", help="suggest hashtags for paragraphs (one a line, or JSONL)")
    suggest.add_argument("input", nargs="?", help="a file, or - for standard input (default)")
    suggest.add_argument("--model", help="model folder (default: models/current when promoted, else models/default)")
    suggest.add_argument("--k", type=int, help="at most this many tags per text")
    suggest.add_argument("--threshold", type=float, help="one threshold for all tags; 0 ranks every tag")
    suggest.add_argument("--explain", action="store_true", help="add the terms behind each tag")
    suggest.add_argument("--batch-size", type=int, help=argparse.SUPPRESS)
    add_parallel_arguments(suggest)
    add_progress_argument(suggest)
    suggest.set_defaults(run=run_suggest)


def add_annotate_command(commands) -> None:
    annotate = commands.add_parser("annotate", help="a draft post in (blog format), the post with drafted tag lines out")
    annotate.add_argument("input", nargs="?", help="a file, or - for standard input (default)")
    annotate.add_argument("--model", help="model folder (default: models/current when promoted, else models/default)")
    annotate.add_argument("--k", type=int, help="at most this many tags per block (default: the model's)")
    form = annotate.add_mutually_exclusive_group()
    form.add_argument("--json", action="store_true", help="print the blocks, their ranked tags, the post tags "
                                                          "and the drafted lines as JSON")
    form.add_argument("--jsonl", action="store_true", help="many drafts: JSON Lines in, one {\"id\"?, \"text\"} a "
                                                           "draft, and one line of that JSON out for each, in input order")
    annotate.add_argument("--batch-size", type=int, help=argparse.SUPPRESS)
    add_parallel_arguments(annotate)
    add_progress_argument(annotate)
    annotate.set_defaults(run=run_annotate)
