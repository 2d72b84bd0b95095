"""In-process watch fan-out for the embedded backends (memory, sqlite).

A write commits, then calls ``Hub.publish`` in the same synchronous step, so
no coroutine can observe a committed revision that watchers have not been
handed. A watch first replays the log in batches; the batch that comes back
short was read in the same step in which the watch subscribes to the hub, so
the replay-to-live handover has neither gaps nor duplicates without any
locking.

Writers never wait for watchers: each subscriber has a bounded queue, and a
subscriber that falls ``queue_size`` events behind is cut off with
``WatchOverflowError``. That is a ``CompactedError``, so the API server answers
it the way it answers a too-old resourceVersion (410 Gone) and the client
relists, the same recovery Kubernetes clients use after their watch is closed.
"""

from __future__ import annotations

import asyncio
import collections
from typing import Protocol

from podnet.store.interface import CompactedError, Event, StoreUnavailable
from podnet.store.mvcc import LogRecord, record_event

DEFAULT_QUEUE_SIZE = 10_000
_REPLAY_BATCH = 512


class WatchOverflowError(CompactedError):
    """The watcher fell too far behind the writers; its watch was ended so the client relists."""


class LogSource(Protocol):
    """What a local watch needs from its store; every call is synchronous."""

    @property
    def revision(self) -> int: ...

    @property
    def compact_revision(self) -> int: ...

    def history(self, prefix: str, after: int, limit: int) -> list[LogRecord]:
        """Records under ``prefix`` with rev > ``after``, in revision order, at most ``limit``."""
        ...


class _Subscriber:
    __slots__ = ("done", "error", "events", "queue_size", "waiter")

    def __init__(self, queue_size: int) -> None:
        self.events: collections.deque[Event] = collections.deque()
        self.queue_size = queue_size
        self.error: BaseException | None = None
        self.done = False
        self.waiter: asyncio.Future[None] | None = None

    def push(self, event: Event) -> bool:
        """Queue ``event``; False when the queue overflowed and the subscriber is now dead."""
        if len(self.events) >= self.queue_size:
            self.events.clear()
            self.finish(WatchOverflowError(f"watcher fell more than {self.queue_size} events behind"))
            return False
        self.events.append(event)
        self._wake()
        return True

    def finish(self, error: BaseException | None = None) -> None:
        if not self.done:
            self.done, self.error = True, error
        self._wake()

    def _wake(self) -> None:
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_result(None)

    async def next(self) -> Event | None:
        """The next event, None once finished cleanly; raises the error that finished it."""
        while not self.events:
            if self.done:
                if self.error is not None:
                    raise self.error
                return None
            self.waiter = asyncio.get_running_loop().create_future()
            try:
                await self.waiter
            finally:
                self.waiter = None
        return self.events.popleft()


class Hub:
    """Routes each committed event to the subscribers whose prefix matches.

    Subscribers are grouped by prefix, so a write costs one ``startswith`` per
    distinct prefix (resource types and namespaces: a handful), however many
    watchers share it.
    """

    def __init__(self, queue_size: int = DEFAULT_QUEUE_SIZE) -> None:
        self.queue_size = queue_size
        self._by_prefix: dict[str, set[_Subscriber]] = {}

    def subscribe(self, prefix: str) -> _Subscriber:
        sub = _Subscriber(self.queue_size)
        self._by_prefix.setdefault(prefix, set()).add(sub)
        return sub

    def unsubscribe(self, prefix: str, sub: _Subscriber) -> None:
        subs = self._by_prefix.get(prefix)
        if subs is not None:
            subs.discard(sub)
            if not subs:
                del self._by_prefix[prefix]

    def publish(self, event: Event) -> None:
        key = event.kv.key
        dead: list[tuple[str, _Subscriber]] = []
        for prefix, subs in self._by_prefix.items():
            if key.startswith(prefix):
                dead.extend((prefix, sub) for sub in subs if not sub.push(event))
        for prefix, sub in dead:
            self.unsubscribe(prefix, sub)

    def close(self) -> None:
        """End every watch with StoreUnavailable: the store is closing."""
        for subs in self._by_prefix.values():
            for sub in subs:
                sub.finish(StoreUnavailable("the store was closed"))
        self._by_prefix.clear()

    @property
    def watcher_count(self) -> int:
        return sum(len(subs) for subs in self._by_prefix.values())


class LocalWatch:
    """A ``Watch`` over a local log: replay from history, then live events from the hub."""

    def __init__(self, hub: Hub, source: LogSource, prefix: str, from_revision: int) -> None:
        self._hub, self._source, self._prefix = hub, source, prefix
        self._after = from_revision if from_revision > 0 else source.revision
        self._pending: collections.deque[Event] = collections.deque()
        self._sub: _Subscriber | None = None
        self._closed = False

    def __aiter__(self) -> LocalWatch:
        return self

    async def __anext__(self) -> Event:
        if self._closed:
            raise StopAsyncIteration
        if self._pending:
            return self._pending.popleft()
        if self._sub is None:
            self._replay()
            if self._pending:
                return self._pending.popleft()
        assert self._sub is not None
        event = await self._sub.next()
        if event is None or self._closed:
            await self.close()
            raise StopAsyncIteration
        return event

    def _replay(self) -> None:
        """Read the next history batch; subscribe in the same step when it reaches the present."""
        compacted = self._source.compact_revision
        if self._after < compacted:
            self._closed = True
            raise CompactedError(
                f"required revision {self._after} has been compacted (at {compacted})", compacted
            )
        records = self._source.history(self._prefix, self._after, _REPLAY_BATCH)
        if len(records) < _REPLAY_BATCH:
            self._sub = self._hub.subscribe(self._prefix)
        if records:
            self._after = records[-1].rev
            self._pending.extend(record_event(rec) for rec in records)

    async def close(self) -> None:
        self._closed = True
        self._pending.clear()
        if self._sub is not None:
            self._hub.unsubscribe(self._prefix, self._sub)
            self._sub.finish()
