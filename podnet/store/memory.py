"""MemoryStore: the whole Store contract in memory, for unit tests of other components.

It keeps the same model as the sqlite backend (current values plus a log of
records that remember the previous value, see ``mvcc``), so MVCC lists at a
revision, compaction and watch replay behave exactly as in production. Nothing
survives the process.
"""

from __future__ import annotations

import bisect

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
from podnet.store.mvcc import LogRecord, first_change_per_key, prefix_end, record_event, rollback

_Page = tuple[list[KeyValue], bool]  # (sorted current values, more exist beyond them)


class MemoryStore:
    def __init__(self, *, watch_queue_size: int = DEFAULT_QUEUE_SIZE) -> None:
        self._current: dict[str, KeyValue] = {}
        self._keys: list[str] = []  # sorted keys of ``_current``
        self._log: list[LogRecord] = []  # ascending rev, all > _compacted
        self._revision = 0
        self._compacted = 0
        self._hub = Hub(watch_queue_size)
        self._closed = False

    # ---- LogSource, for LocalWatch ---------------------------------------------------------------

    @property
    def revision(self) -> int:
        return self._revision

    @property
    def compact_revision(self) -> int:
        return self._compacted

    def history(self, prefix: str, after: int, limit: int) -> list[LogRecord]:
        self._check_open()
        out: list[LogRecord] = []
        for rec in self._log[self._log_index_after(after) :]:
            if rec.key.startswith(prefix):
                out.append(rec)
                if len(out) >= limit:
                    break
        return out

    # ---- reads ------------------------------------------------------------------------------------

    async def get(self, key: str) -> KeyValue | None:
        self._check_open()
        return self._current.get(key)

    async def list(
        self, prefix: str, *, revision: int = 0, limit: int = 0, start_after: str = ""
    ) -> ListResult:
        self._check_open()
        at = self._check_read_revision(revision)
        changed: dict[str, LogRecord] = {}
        if at < self._revision:
            later = self._log[self._log_index_after(at) :]
            changed = first_change_per_key(r for r in later if _in_page(r.key, prefix, start_after))
        want = limit + len(changed) + 1 if limit else 0
        page, truncated = self._current_page(prefix, start_after, want)
        items, more = rollback(page, truncated, changed, limit)
        return ListResult(items, at, more)

    def _current_page(self, prefix: str, start_after: str, want: int) -> _Page:
        lo = max(bisect.bisect_right(self._keys, start_after), bisect.bisect_left(self._keys, prefix))
        end = prefix_end(prefix)
        hi = bisect.bisect_left(self._keys, end) if end is not None else len(self._keys)
        if want and hi - lo > want:
            return [self._current[k] for k in self._keys[lo : lo + want]], True
        return [self._current[k] for k in self._keys[lo:hi]], False

    async def current_revision(self) -> int:
        self._check_open()
        return self._revision

    # ---- writes -----------------------------------------------------------------------------------

    async def create(self, key: str, value: bytes) -> KeyValue:
        self._check_open()
        if key in self._current:
            raise KeyExistsError(f"key {key!r} already exists")
        rev = self._revision + 1
        kv = KeyValue(key, value, rev, rev)
        bisect.insort(self._keys, key)
        self._commit(LogRecord(rev, key, rev, 0, value, None), kv)
        return kv

    async def update(self, key: str, value: bytes, expected_mod_revision: int) -> KeyValue:
        old = self._expect(key, expected_mod_revision)
        rev = self._revision + 1
        kv = KeyValue(key, value, old.create_revision, rev)
        self._commit(LogRecord(rev, key, old.create_revision, old.mod_revision, value, old.value), kv)
        return kv

    async def delete(self, key: str, expected_mod_revision: int = 0) -> KeyValue:
        old = self._expect(key, expected_mod_revision)
        rev = self._revision + 1
        del self._keys[bisect.bisect_left(self._keys, key)]
        self._commit(LogRecord(rev, key, old.create_revision, old.mod_revision, None, old.value), None)
        return KeyValue(key, old.value, old.create_revision, rev)

    def _expect(self, key: str, expected_mod_revision: int) -> KeyValue:
        self._check_open()
        old = self._current.get(key)
        if old is None:
            raise KeyNotFoundError(f"key {key!r} not found")
        if expected_mod_revision and old.mod_revision != expected_mod_revision:
            raise ConflictError(
                f"key {key!r} is at revision {old.mod_revision}, not {expected_mod_revision}", old
            )
        return old

    def _commit(self, rec: LogRecord, kv: KeyValue | None) -> None:
        if kv is None:
            del self._current[rec.key]
        else:
            self._current[rec.key] = kv
        self._log.append(rec)
        self._revision = rec.rev
        self._hub.publish(record_event(rec))

    # ---- maintenance ------------------------------------------------------------------------------

    async def compact(self, revision: int) -> None:
        self._check_open()
        if revision > self._revision:
            raise StoreError(f"cannot compact at future revision {revision} (current {self._revision})")
        if revision <= self._compacted:
            return
        del self._log[: self._log_index_after(revision)]
        self._compacted = revision

    def watch(self, prefix: str, from_revision: int) -> LocalWatch:
        return LocalWatch(self._hub, self, prefix, from_revision)

    async def close(self) -> None:
        self._closed = True
        self._hub.close()

    # ---- helpers ----------------------------------------------------------------------------------

    def _log_index_after(self, rev: int) -> int:
        """Index of the first log record with revision > ``rev`` (revisions are dense above compaction)."""
        return min(max(rev - self._compacted, 0), len(self._log))

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
            raise StoreUnavailable("the store is closed")


def _in_page(key: str, prefix: str, start_after: str) -> bool:
    return key.startswith(prefix) and key > start_after
