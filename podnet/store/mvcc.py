"""The revision log shared by the embedded backends (memory, sqlite), as pure functions.

Both keep the *current* value of every key plus a log with one record per
revision. Each record carries the key's previous value, so the state as of an
older revision R is "current state, with every key changed after R rolled back
to what its first change after R overwrote". That is why compaction may drop
every record at or below the compaction point and still answer reads at it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from podnet.store.interface import Event, EventType, KeyValue


@dataclass(frozen=True, slots=True)
class LogRecord:
    """One mutation. ``value`` is None for a delete; ``prev_value`` is None for a create."""

    rev: int
    key: str
    create_rev: int
    prev_rev: int
    value: bytes | None
    prev_value: bytes | None

    @property
    def created(self) -> bool:
        return self.prev_value is None

    @property
    def deleted(self) -> bool:
        return self.value is None


def prefix_end(prefix: str) -> str | None:
    """The smallest string greater than every string starting with ``prefix`` (None: no bound).

    Code-point order equals UTF-8 byte order, so this bound is valid for Python
    sorting, sqlite's BINARY collation and etcd's byte ranges alike.
    """
    chars = list(prefix)
    while chars:
        code = ord(chars[-1]) + 1
        if 0xD800 <= code <= 0xDFFF:  # surrogates cannot be encoded; skip past them
            code = 0xE000
        if code <= 0x10FFFF:
            chars[-1] = chr(code)
            return "".join(chars)
        chars.pop()
    return None


def record_event(rec: LogRecord) -> Event:
    """The watch event a log record stands for (shape as documented on ``Event``)."""
    prev = before(rec)
    if rec.value is None:
        assert prev is not None, "a delete always has a previous value"
        kv = KeyValue(rec.key, prev.value, prev.create_revision, rec.rev)
        return Event(EventType.DELETE, kv, prev, rec.rev)
    return Event(EventType.PUT, KeyValue(rec.key, rec.value, rec.create_rev, rec.rev), prev, rec.rev)


def before(rec: LogRecord) -> KeyValue | None:
    """The key's value just before ``rec`` was applied (None when ``rec`` created it)."""
    if rec.prev_value is None:
        return None
    return KeyValue(rec.key, rec.prev_value, rec.create_rev, rec.prev_rev)


def first_change_per_key(records: Iterable[LogRecord]) -> dict[str, LogRecord]:
    """For records in revision order, the earliest one of each key."""
    first: dict[str, LogRecord] = {}
    for rec in records:
        first.setdefault(rec.key, rec)
    return first


def rollback(
    current: list[KeyValue], truncated: bool, changed: dict[str, LogRecord], limit: int
) -> tuple[list[KeyValue], bool]:
    """Turn a current-state page into the page as of an older revision.

    ``current`` is the sorted current page, fetched with ``limit + len(changed) + 1``
    rows (``truncated`` says whether more rows exist beyond it); ``changed`` holds,
    for each key in the same range changed after the target revision, its first
    change after it. Returns the items at the target revision and whether more follow.
    """
    items = [kv for kv in current if kv.key not in changed]
    last_key = current[-1].key if current else ""
    for rec in changed.values():
        old = before(rec)
        if old is None:
            continue
        if truncated and old.key > last_key:
            continue  # belongs to a later page; enough unchanged rows precede it
        items.append(old)
    items.sort(key=lambda kv: kv.key)
    if limit and len(items) > limit:
        return items[:limit], True
    return items, truncated
