"""Feedback records in an embedded SQLite database: a review queue between the page and training.

``POST /feedback`` stores a record as ``pending``; a reviewer accepts or rejects it (``python -m
classifier feedback …`` or the review view of the page, behind the admin token), and only
accepted records are exported as JSON Lines for ``train.py``
(``training_data/feedback/accepted.jsonl``). Nothing a caller sends reaches training without a
person's decision.

The database is one file (``FEEDBACK_PATH``, default ``var/feedback.sqlite3``) in WAL mode:
readers never block the writer, and several gunicorn workers write at once, each insert one
short ``BEGIN IMMEDIATE`` transaction, waiting up to ``BUSY_TIMEOUT_MS`` for the write lock.
``synchronous=FULL`` syncs the log at every commit, so a record is on disk before the request is
answered: a killed worker or a power cut loses nothing that was acknowledged, and a failed
write (disk full, file size limit, I/O error) rolls back whole and is answered 503.

A connection is opened per operation and closed after it: nothing crosses gunicorn's fork and
no connection is shared between threads.
"""
from __future__ import annotations

import json
import logging
import os
import sqlite3
from contextlib import closing, contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterator, Mapping

from flask import Flask, current_app

from .errors import ApiError

log = logging.getLogger(__name__)

EXTENSION = "feedback_store"
STATUSES = ("pending", "accepted", "rejected")
BUSY_TIMEOUT_MS = 10_000
# Owner and group read and write (the service and a reviewer in its group), nobody else: the
# records hold the clients' addresses. SQLite gives its -wal and -shm files the same mode.
DATABASE_MODE = 0o660
SCHEMA_VERSION = 1
# Ends that would make train.py read the database as a corpus if it sat under training_data/.
CORPUS_SUFFIXES = (".jsonl", ".ndjson", ".csv", ".tsv", ".txt")

SCHEMA = """
CREATE TABLE IF NOT EXISTS feedback (
    id        INTEGER PRIMARY KEY AUTOINCREMENT,
    received  TEXT NOT NULL,                  -- when it was stored, UTC ISO 8601
    text      TEXT NOT NULL,
    tags      TEXT NOT NULL,                  -- JSON array of block tags the person chose
    post_tags TEXT NOT NULL DEFAULT '[]',     -- JSON array of post tags
    shown     TEXT,                           -- JSON array of the suggestions the page showed, or NULL
    model     TEXT,                           -- version of the model that was serving
    client    TEXT,                           -- the client's address
    new_tags  TEXT NOT NULL DEFAULT '[]',     -- JSON array: tags the model did not know
    status    TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'accepted', 'rejected')),
    reviewed  TEXT,                           -- when it was accepted or rejected
    origin    TEXT NOT NULL DEFAULT 'api'     -- 'api', or 'import:<file>' for the old JSON Lines file
);
CREATE INDEX IF NOT EXISTS feedback_by_status ON feedback (status, id);
CREATE TABLE IF NOT EXISTS imports (
    sha256   TEXT PRIMARY KEY,                -- of the imported file's bytes: imported once
    path     TEXT NOT NULL,
    imported TEXT NOT NULL,
    records  INTEGER NOT NULL
);
"""
_JSON_COLUMNS = ("tags", "post_tags", "shown", "new_tags")


class FeedbackUnavailable(RuntimeError):
    """The database cannot be written (or read) now; the message says why."""


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _row(row: sqlite3.Row) -> dict:
    record = dict(row)
    for column in _JSON_COLUMNS:
        if column in record and record[column] is not None:
            record[column] = json.loads(record[column])
    return record


class FeedbackStore:
    def __init__(self, path: str | os.PathLike, import_path: str | os.PathLike | None = None):
        self.path = Path(path)
        self.import_path = Path(import_path) if import_path else None
        if self.path.suffix.lower() in CORPUS_SUFFIXES:
            raise ValueError(f"the feedback database {self.path} ends in {self.path.suffix}: train.py would read it "
                             f"as a corpus; name it e.g. var/feedback.sqlite3 (HASHTAG_FEEDBACK_PATH, --feedback)")
        self._ready = False

    # ----------------------------------------------------------------------------------------
    # connections

    def _create_file(self) -> None:
        """Create the database file with its mode (not the umask's) before SQLite opens it."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            descriptor = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, DATABASE_MODE)
        except FileExistsError:
            return
        try:
            os.fchmod(descriptor, DATABASE_MODE)
        finally:
            os.close(descriptor)

    @contextmanager
    def connect(self) -> Iterator[sqlite3.Connection]:
        """A connection in autocommit mode (transactions are explicit), closed after use."""
        try:
            if not self._ready:
                self._create_file()
            connection = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None)
        except (OSError, sqlite3.Error) as error:
            raise FeedbackUnavailable(_reason(error)) from None
        with closing(connection):
            try:
                connection.row_factory = sqlite3.Row
                connection.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
                connection.execute("PRAGMA synchronous = FULL")
                if not self._ready:
                    self._initialise(connection)
                yield connection
            except sqlite3.Error as error:
                if connection.in_transaction:
                    try:
                        connection.rollback()
                    except sqlite3.Error:
                        pass
                raise FeedbackUnavailable(_reason(error)) from None

    def _initialise(self, connection: sqlite3.Connection) -> None:
        mode = connection.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        if mode.lower() != "wal":
            raise sqlite3.OperationalError(f"the database cannot use WAL mode (got {mode})")
        connection.execute("BEGIN IMMEDIATE")
        for statement in SCHEMA.split(";"):
            if statement.strip():
                connection.execute(statement)
        connection.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        connection.execute("COMMIT")
        self._ready = True

    def open(self) -> "FeedbackStore":
        """Create the database if needed and import the old JSON Lines file once."""
        with self.connect():
            pass
        if self.import_path is not None and self.import_path.is_file():
            self.import_jsonl(self.import_path)
        return self

    def close(self) -> None:
        """Nothing stays open between operations; here for ``open_feedback_store(...).close()``."""

    # ----------------------------------------------------------------------------------------
    # writing

    def add(self, record: Mapping, connection: sqlite3.Connection | None = None) -> int:
        """Store one record as pending in one short transaction; its id once it is on disk."""
        values = (record.get("received") or _now(), record["text"], json.dumps(list(record.get("tags") or []),
                  ensure_ascii=False), json.dumps(list(record.get("post_tags") or []), ensure_ascii=False),
                  None if record.get("shown") is None else json.dumps(record["shown"], ensure_ascii=False),
                  record.get("model"), record.get("client"),
                  json.dumps(list(record.get("new_tags") or []), ensure_ascii=False), record.get("origin", "api"))
        insert = ("INSERT INTO feedback (received, text, tags, post_tags, shown, model, client, new_tags, origin) "
                  "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)")
        if connection is not None:
            return connection.execute(insert, values).lastrowid
        with self.connect() as connection:
            connection.execute("BEGIN IMMEDIATE")
            identifier = connection.execute(insert, values).lastrowid
            connection.execute("COMMIT")
            return identifier

    def review(self, ids, status: str) -> list[dict]:
        """Set ``status`` (accepted or rejected) on the records ``ids``; all or none: an unknown id
        changes nothing and raises KeyError."""
        if status not in ("accepted", "rejected", "pending"):
            raise ValueError(f"status must be accepted, rejected or pending, got {status!r}")
        ids = [int(i) for i in ids]
        with self.connect() as connection:
            connection.execute("BEGIN IMMEDIATE")
            found = {row[0] for row in connection.execute(
                f"SELECT id FROM feedback WHERE id IN ({','.join('?' * len(ids))})", ids)} if ids else set()
            missing = [i for i in ids if i not in found]
            if missing:
                connection.execute("ROLLBACK")
                raise KeyError(f"no feedback record {', '.join(map(str, missing))}")
            connection.executemany("UPDATE feedback SET status = ?, reviewed = ? WHERE id = ?",
                                   [(status, None if status == "pending" else _now(), i) for i in ids])
            connection.execute("COMMIT")
            return [_row(row) for row in connection.execute(
                f"SELECT * FROM feedback WHERE id IN ({','.join('?' * len(ids))}) ORDER BY id", ids)]

    def import_jsonl(self, path: Path) -> int:
        """Import the old feedback file as pending records, once (by its bytes' hash), then rename
        it aside (``<name>.imported``) so that train.py no longer reads it. Returns the count."""
        import hashlib

        from ..corpus import read_jsonl

        data = path.read_bytes()
        digest = hashlib.sha256(data).hexdigest()
        examples = read_jsonl(path)
        raw_lines = {}
        for number, line in enumerate(data.decode("utf-8-sig").split("\n"), 1):
            if line.strip():
                try:
                    raw_lines[number] = json.loads(line)
                except ValueError:
                    pass
        count = 0
        with self.connect() as connection:
            connection.execute("BEGIN IMMEDIATE")
            if connection.execute("SELECT 1 FROM imports WHERE sha256 = ?", (digest,)).fetchone() is None:
                for example in examples:
                    number = int(example.source.rsplit(":", 1)[1])
                    raw = raw_lines.get(number) or {}
                    self.add({"text": example.text, "tags": example.tags, "post_tags": example.post_tags,
                              "received": raw.get("received") if isinstance(raw.get("received"), str) else None,
                              "model": raw.get("model") if isinstance(raw.get("model"), str) else None,
                              "new_tags": [], "origin": f"import:{path.name}"}, connection)
                    count += 1
                connection.execute("INSERT INTO imports (sha256, path, imported, records) VALUES (?, ?, ?, ?)",
                                   (digest, str(path), _now(), count))
            connection.execute("COMMIT")
        aside = path.with_name(path.name + ".imported")
        if aside.exists():
            aside = path.with_name(f"{path.name}.imported-{digest[:12]}")
        os.replace(path, aside)
        log.warning("imported %d feedback records from %s as pending; the file is now %s", count, path, aside)
        return count

    # ----------------------------------------------------------------------------------------
    # reading

    def get(self, identifier: int) -> dict | None:
        with self.connect() as connection:
            row = connection.execute("SELECT * FROM feedback WHERE id = ?", (int(identifier),)).fetchone()
        return _row(row) if row else None

    def list(self, status: str | None = "pending", limit: int = 100, after: int = 0) -> list[dict]:
        """Records with ``status`` (None: all), oldest first, from the id after ``after``."""
        query, values = "SELECT * FROM feedback WHERE id > ?", [int(after)]
        if status is not None:
            query += " AND status = ?"
            values.append(status)
        query += " ORDER BY id LIMIT ?"
        values.append(int(limit))
        with self.connect() as connection:
            return [_row(row) for row in connection.execute(query, values)]

    def counts(self) -> dict:
        with self.connect() as connection:
            found = dict(connection.execute("SELECT status, COUNT(*) FROM feedback GROUP BY status").fetchall())
        return {status: found.get(status, 0) for status in STATUSES}

    def export_accepted(self, out: str | os.PathLike) -> int:
        """Write the accepted records as JSON Lines a corpus reader reads (``text``, ``tags``,
        ``post_tags``, ``post``), through the atomic-write helper. Returns how many."""
        from ..persist import write_atomic

        with self.connect() as connection:
            rows = [_row(row) for row in connection.execute(
                "SELECT id, text, tags, post_tags FROM feedback WHERE status = 'accepted' ORDER BY id")]
        lines = [_one_line(json.dumps({"text": row["text"], "tags": row["tags"], "post_tags": row["post_tags"],
                                       "post": f"feedback-{row['id']}"}, ensure_ascii=False)) + "\n"
                 for row in rows]
        write_atomic(out, "".join(lines))
        return len(rows)


def _one_line(encoded: str) -> str:
    """JSON text with the line separators JSON leaves raw (U+0085, U+2028, U+2029) escaped, so
    a reader that splits lines on them still sees one record per line."""
    return encoded.replace("\x85", "\\u0085").replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")


def _reason(error: Exception) -> str:
    if isinstance(error, OSError):
        return error.strerror or type(error).__name__
    return str(error) or type(error).__name__


def open_feedback_store(settings: Mapping) -> FeedbackStore:
    """The store the settings name, created, with the old JSON Lines file imported."""
    return FeedbackStore(settings["FEEDBACK_PATH"], settings.get("FEEDBACK_IMPORT_PATH")).open()


def unavailable(error: FeedbackUnavailable) -> ApiError:
    return ApiError(503, "feedback_unavailable", f"feedback cannot be stored now ({error}); "
                                                 f"nothing was saved, try again later")


def init_app(app: Flask) -> None:
    # Nothing is opened here: a service whose database cannot be written still starts and answers
    # /suggest; /feedback answers 503 until the database can be written.
    app.extensions[EXTENSION] = FeedbackStore(app.config["FEEDBACK_PATH"])


def feedback_store() -> FeedbackStore:
    return current_app.extensions[EXTENSION]
