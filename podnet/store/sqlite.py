"""SqliteStore: the embedded default datastore, one sqlite file in WAL mode.

Two tables, in the spirit of k3s's kine:

- ``log``: one row per revision (``rev`` is the rowid, so revision order is
  the b-tree order), with the key's previous value and revision. A NULL
  ``value`` marks a delete, a NULL ``prev_value`` a create. Watch replay, MVCC
  lists at an old revision and compaction are all range scans of ``rev``.
- ``kv``: the current value of every live key, so ``get`` and current lists
  never look at history.

Each write is one transaction touching both tables; it commits and then
publishes its event to the in-process hub in the same synchronous step (see
``fanout``). The calls run on the event-loop thread: they take tens of
microseconds, less than a hop to a worker thread would.

Durability: WAL with ``synchronous=NORMAL`` puts every committed transaction
in the WAL file before ``COMMIT`` returns, so it survives the process being
killed (even ``kill -9``); only an OS crash or power loss can drop the last
transactions. ``fsync=True`` selects ``synchronous=FULL`` for that case.
The API server must be the only process that opens the file.
"""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

from podnet.store.fanout import DEFAULT_QUEUE_SIZE, Hub, LocalWatch
from podnet.store.interface import (
    CompactedError,
    ConflictError,
    KeyExistsError,
    KeyNotFoundError,
    KeyValue,
    ListResult,
    StoreError,
    StoreUnavailable,
)
from podnet.store.mvcc import LogRecord, prefix_end, record_event, rollback

_SCHEMA = """
CREATE TABLE IF NOT EXISTS log (
    rev INTEGER PRIMARY KEY,
    key TEXT NOT NULL,
    create_rev INTEGER NOT NULL,
    prev_rev INTEGER NOT NULL,
    value BLOB,
    prev_value BLOB
);
CREATE TABLE IF NOT EXISTS kv (
    key TEXT PRIMARY KEY,
    create_rev INTEGER NOT NULL,
    mod_rev INTEGER NOT NULL,
    value BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
"""
_LOG_COLUMNS = "rev, key, create_rev, prev_rev, value, prev_value"
_INSERT_LOG = f"INSERT INTO log ({_LOG_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?)"
_COMPACT_BATCH = 10_000


class SqliteStore:
    def __init__(self, path: Path | str, *, fsync: bool = False, watch_queue_size: int = DEFAULT_QUEUE_SIZE):
        self.path = Path(path)
        self._db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute(f"PRAGMA synchronous={'FULL' if fsync else 'NORMAL'}")
        self._db.executescript(_SCHEMA)
        self._compacted = self._scalar("SELECT value FROM meta WHERE name = 'compact_rev'")
        self._revision = max(
            self._compacted,
            self._scalar("SELECT MAX(rev) FROM log"),
            self._scalar("SELECT MAX(mod_rev) FROM kv"),
        )
        self._hub = Hub(watch_queue_size)
        self._closed = False

    def _scalar(self, sql: str) -> int:
        row = self._db.execute(sql).fetchone()
        return int(row[0]) if row is not None and row[0] is not None else 0

    # ---- LogSource, for LocalWatch ---------------------------------------------------------------

    @property
    def revision(self) -> int:
        return self._revision

    @property
    def compact_revision(self) -> int:
        return self._compacted

    def history(self, prefix: str, after: int, limit: int) -> list[LogRecord]:
        self._check_open()
        where, args = _key_range(prefix, "")
        rows = self._db.execute(
            f"SELECT {_LOG_COLUMNS} FROM log WHERE rev > ? AND {where} ORDER BY rev LIMIT ?",
            (after, *args, limit),
        ).fetchall()
        return [LogRecord(*row) for row in rows]

    # ---- reads ------------------------------------------------------------------------------------

    async def get(self, key: str) -> KeyValue | None:
        self._check_open()
        return self._get(key)

    def _get(self, key: str) -> KeyValue | None:
        row = self._db.execute("SELECT create_rev, mod_rev, value FROM kv WHERE key = ?", (key,)).fetchone()
        return None if row is None else KeyValue(key, row[2], row[0], row[1])

    async def list(
        self, prefix: str, *, revision: int = 0, limit: int = 0, start_after: str = ""
    ) -> ListResult:
        self._check_open()
        at = self._check_read_revision(revision)
        where, args = _key_range(prefix, start_after)
        changed: dict[str, LogRecord] = {}
        if at < self._revision:
            rows = self._db.execute(
                f"SELECT {_LOG_COLUMNS} FROM log WHERE rev IN"
                f" (SELECT MIN(rev) FROM log WHERE rev > ? AND {where} GROUP BY key)",
                (at, *args),
            ).fetchall()
            changed = {row[1]: LogRecord(*row) for row in rows}
        want = limit + len(changed) if limit else -1
        rows = self._db.execute(
            f"SELECT key, value, create_rev, mod_rev FROM kv WHERE {where} ORDER BY key LIMIT ?",
            (*args, want + 1 if limit else -1),
        ).fetchall()
        truncated = bool(limit) and len(rows) > want
        page = [KeyValue(*row) for row in (rows[:want] if truncated else rows)]
        items, more = rollback(page, truncated, changed, limit)
        return ListResult(items, at, more)

    async def current_revision(self) -> int:
        self._check_open()
        return self._revision

    # ---- writes -----------------------------------------------------------------------------------

    async def create(self, key: str, value: bytes) -> KeyValue:
        self._check_open()
        rev = self._revision + 1
        rec = LogRecord(rev, key, rev, 0, value, None)
        try:
            self._write(
                rec,
                "INSERT INTO kv (key, create_rev, mod_rev, value) VALUES (?, ?, ?, ?)",
                (key, rev, rev, value),
            )
        except sqlite3.IntegrityError as exc:
            raise KeyExistsError(f"key {key!r} already exists") from exc
        return KeyValue(key, value, rev, rev)

    async def update(self, key: str, value: bytes, expected_mod_revision: int) -> KeyValue:
        old = self._expect(key, expected_mod_revision)
        rev = self._revision + 1
        rec = LogRecord(rev, key, old.create_revision, old.mod_revision, value, old.value)
        self._write(rec, "UPDATE kv SET mod_rev = ?, value = ? WHERE key = ?", (rev, value, key))
        return KeyValue(key, value, old.create_revision, rev)

    async def delete(self, key: str, expected_mod_revision: int = 0) -> KeyValue:
        old = self._expect(key, expected_mod_revision)
        rev = self._revision + 1
        rec = LogRecord(rev, key, old.create_revision, old.mod_revision, None, old.value)
        self._write(rec, "DELETE FROM kv WHERE key = ?", (key,))
        return KeyValue(key, old.value, old.create_revision, rev)

    def _expect(self, key: str, expected_mod_revision: int) -> KeyValue:
        self._check_open()
        old = self._get(key)
        if old is None:
            raise KeyNotFoundError(f"key {key!r} not found")
        if expected_mod_revision and old.mod_revision != expected_mod_revision:
            raise ConflictError(
                f"key {key!r} is at revision {old.mod_revision}, not {expected_mod_revision}", old
            )
        return old

    def _write(self, rec: LogRecord, kv_sql: str, kv_args: tuple[object, ...]) -> None:
        """Append ``rec`` and apply it to ``kv`` in one transaction, then publish it."""
        db = self._db
        db.execute("BEGIN IMMEDIATE")
        try:
            db.execute(kv_sql, kv_args)
            db.execute(
                _INSERT_LOG, (rec.rev, rec.key, rec.create_rev, rec.prev_rev, rec.value, rec.prev_value)
            )
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        self._revision = rec.rev
        self._hub.publish(record_event(rec))

    # ---- maintenance ------------------------------------------------------------------------------

    async def compact(self, revision: int) -> None:
        """Mark ``revision`` compacted at once, then delete old log rows in batches between yields."""
        self._check_open()
        if revision > self._revision:
            raise StoreError(f"cannot compact at future revision {revision} (current {self._revision})")
        if revision <= self._compacted:
            return
        self._db.execute(
            "INSERT INTO meta (name, value) VALUES ('compact_rev', ?)"
            " ON CONFLICT (name) DO UPDATE SET value = excluded.value",
            (revision,),
        )
        self._compacted = revision
        for _ in range(revision // _COMPACT_BATCH + 2):
            if self._closed:
                return
            cur = self._db.execute(
                "DELETE FROM log WHERE rev IN (SELECT rev FROM log WHERE rev <= ? ORDER BY rev LIMIT ?)",
                (revision, _COMPACT_BATCH),
            )
            if cur.rowcount < _COMPACT_BATCH:
                return
            await asyncio.sleep(0)

    def watch(self, prefix: str, from_revision: int) -> LocalWatch:
        return LocalWatch(self._hub, self, prefix, from_revision)

    async def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._hub.close()
            self._db.close()

    # ---- helpers ----------------------------------------------------------------------------------

    def _check_read_revision(self, revision: int) -> int:
        if revision == 0:
            return self._revision
        if revision < self._compacted:
            raise CompactedError(
                f"required revision {revision} has been compacted (at {self._compacted})", self._compacted
            )
        if revision > self._revision:
            raise StoreError(f"required revision {revision} is a future revision (current {self._revision})")
        return revision

    def _check_open(self) -> None:
        if self._closed:
            raise StoreUnavailable(f"the store {self.path} is closed")


def _key_range(prefix: str, start_after: str) -> tuple[str, tuple[str, ...]]:
    """A WHERE clause (and its arguments) for keys under ``prefix`` and after ``start_after``."""
    lower = ("key > ?", start_after) if start_after >= prefix and start_after else ("key >= ?", prefix)
    end = prefix_end(prefix)
    if end is None:
        return lower[0], (lower[1],)
    return f"{lower[0]} AND key < ?", (lower[1], end)
