"""A head start for ``suggest`` on a large input: its first paragraphs are tokenized while this
process is still importing NumPy and SciPy and loading the model.

The workers of a large run are forked with the model in memory, so until it is loaded (a few
tenths of a second, nearly all of it imports) the other cores wait. A child forked before those
imports, needing only fugashi, spends that time on MeCab, the bulk of a paragraph's work, for the
first chunks of the input. When the model is loaded the child is told to stop after the chunk in
hand; the chunks it finished go to the workers tokenized (``Tokenized``), the others as they were
read. The tokens are the same whichever process makes them, so the output is too, byte for byte.

The child is a worker that cannot score, not a second pipeline: it reads and tokenizes as a
worker would, and anything that goes wrong there (a bad line, a failing parse) only stops it
early, leaving the chunk to a worker, which reports it as it always does.
"""
from __future__ import annotations

import os

from .forking import interrupts_held
from .metadata import ModelLoadError, read_metadata
from .suggest_lines import FileRange, Tokenized, read_records
from .text import Tokenizer

# The head start's chunks, small so that the child stops soon after it is asked (a chunk of 256
# paragraphs is about 15 ms of MeCab); enough of them for the imports of a slow machine.
CHUNK_LINES = 256
CHUNKS = 48


def model_tokenizer(model_dir: str | os.PathLike) -> Tokenizer | None:
    """The tokenizer of the model in ``model_dir``, from its metadata alone (no NumPy), or None
    when the metadata cannot say: loading the model reports what is wrong with it."""
    try:
        params = read_metadata(os.path.realpath(model_dir))["params"]
        return Tokenizer(form=params["form"], pos=params["pos"], ngram_range=tuple(params["ngram_range"]))
    except (ModelLoadError, OSError, ValueError, TypeError, KeyError):
        return None


class HeadStart:
    """A child process tokenizing ``chunks`` ((number of the first line, its lines as one block
    of bytes or a ``FileRange``), in input order) with ``tokenizer`` until ``finish`` is called.
    Use it as a context manager, so that the child is stopped whatever happens to this process
    meanwhile."""

    def __init__(self, tokenizer: Tokenizer, chunks: list[tuple[int, bytes | FileRange]]):
        import multiprocessing

        self.tokenizer = tokenizer
        self.chunks = chunks
        self._connection, child_end = multiprocessing.Pipe()
        # Forked, not spawned: a new interpreter would take as long to start as the imports it
        # is meant to overlap.
        self._process = multiprocessing.get_context("fork").Process(
            target=_tokenize, args=(child_end, tokenizer, chunks), daemon=True, name="hashtag-head-start")
        with interrupts_held():  # Ctrl-C is for this process, which stops the child (``__exit__``)
            self._process.start()
        child_end.close()

    def finish(self, tokenizer: Tokenizer) -> list[Tokenized | bytes | FileRange]:
        """Each chunk as it is to be scored: tokenized, if the child did it with ``tokenizer``
        (the loaded model's), else its block of lines."""
        done: list[Tokenized] = []
        try:
            self._connection.send(None)  # stop after the chunk in hand
        except OSError:  # it has stopped already; what it did may be waiting all the same
            pass
        try:
            done = self._connection.recv()
        except (EOFError, OSError):  # the child is gone: its chunks are scored as read
            pass
        self._process.join()
        if tokenizer != self.tokenizer:
            done = []
        return [*done, *(block for _, block in self.chunks[len(done):])]

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        if self._process.is_alive():
            self._process.terminate()
            self._process.join()
        self._connection.close()


def _tokenize(connection, tokenizer: Tokenizer, chunks: list[tuple[int, bytes | FileRange]]) -> None:
    """In the child: tokenize chunks in order until told to stop or out of chunks, then send
    what was done, in one message (the parent reads nothing before it asks)."""
    done = []
    try:
        for first, block in chunks:
            if connection.poll():
                break
            records = read_records(block, first)
            token_strings = tokenizer.token_strings([text for _, _, text in records])
            done.append(Tokenized([(number, identifier, None) for number, identifier, _ in records], token_strings))
        connection.recv()  # wait to be asked
    except Exception:  # a bad line (BadLine) or a failed parse: a worker takes the chunk and reports it
        pass
    try:
        connection.send(done)
    except OSError:  # the parent is gone
        pass
