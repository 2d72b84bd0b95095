"""A work queue with client-go's guarantees, for controllers' worker pools.

- A key queued twice is processed once (dedup of waiting keys).
- A key being processed is never handed to a second worker; if it is added
  meanwhile it is processed again after ``done()``, so no change is lost.
- ``add_after`` delays a key; ``add_rate_limited`` delays it exponentially per
  key (5 ms doubling to a 1000 s cap, client-go's default item limiter) until
  ``forget``.

Time comes from an injected ``clock``; tests that advance a fake clock call
``promote_due()`` to move delayed keys whose time has come, with no sleeps.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable, Hashable
from typing import Generic, TypeVar

T = TypeVar("T", bound=Hashable)

# How long an idle get() waits at most before re-checking the clock: bounds the
# drift between a fake clock and real waiting without spinning.
_MAX_IDLE_WAIT = 1.0


class QueueShutDown(Exception):
    """get() on a queue that was shut down and has nothing left."""


class WorkQueue(Generic[T]):
    def __init__(
        self,
        *,
        clock: Callable[[], float] = time.monotonic,
        base_delay: float = 0.005,
        max_delay: float = 1000.0,
        name: str = "",
    ) -> None:
        self.name = name
        self._clock = clock
        self._base_delay, self._max_delay = base_delay, max_delay
        self._queue: deque[T] = deque()
        self._dirty: set[T] = set()
        self._processing: set[T] = set()
        self._waiting: list[tuple[float, int, T]] = []  # heap of (ready_at, seq, key)
        self._ready_at: dict[T, float] = {}
        self._seq = itertools.count()
        self._failures: dict[T, int] = {}
        self._wakeup = asyncio.Event()
        self._shutting_down = False

    def __len__(self) -> int:
        """Keys waiting to be handed out (not delayed, not in processing)."""
        return len(self._queue)

    @property
    def shutting_down(self) -> bool:
        return self._shutting_down

    def add(self, key: T) -> None:
        if self._shutting_down or key in self._dirty:
            return
        self._dirty.add(key)
        if key in self._processing:
            return  # done() puts it back
        self._queue.append(key)
        self._wakeup.set()

    def add_after(self, key: T, delay: float) -> None:
        if self._shutting_down:
            return
        if delay <= 0:
            self.add(key)
            return
        ready_at = self._clock() + delay
        if key in self._ready_at and self._ready_at[key] <= ready_at:
            return  # an earlier wake-up is already planned
        self._ready_at[key] = ready_at
        heapq.heappush(self._waiting, (ready_at, next(self._seq), key))
        self._wakeup.set()  # a waiting get() recomputes how long to wait

    def when(self, key: T) -> float:
        """The back-off the next ``add_rate_limited(key)`` would use."""
        failures = self._failures.get(key, 0)
        return min(self._max_delay, self._base_delay * 2.0 ** min(failures, 64))

    def add_rate_limited(self, key: T) -> None:
        delay = self.when(key)
        self._failures[key] = self._failures.get(key, 0) + 1
        self.add_after(key, delay)

    def forget(self, key: T) -> None:
        self._failures.pop(key, None)

    def num_requeues(self, key: T) -> int:
        return self._failures.get(key, 0)

    def promote_due(self) -> int:
        """Move delayed keys whose time has come into the queue; returns how many."""
        now, moved = self._clock(), 0
        while self._waiting and self._waiting[0][0] <= now:
            ready_at, _, key = heapq.heappop(self._waiting)
            if self._ready_at.get(key) != ready_at:
                continue  # superseded by an earlier entry
            del self._ready_at[key]
            self.add(key)
            moved += 1
        return moved

    async def get(self) -> T:
        """The next key to process; raises QueueShutDown once shut down and drained."""
        while True:
            self.promote_due()
            if self._queue:
                key = self._queue.popleft()
                self._processing.add(key)
                self._dirty.discard(key)
                return key
            if self._shutting_down:
                raise QueueShutDown(self.name)
            self._wakeup.clear()
            timeout = _MAX_IDLE_WAIT
            if self._waiting:
                timeout = min(timeout, max(0.0, self._waiting[0][0] - self._clock()))
            # asyncio.timeout, not wait_for: on 3.11 wait_for can swallow a cancellation that
            # races with the event, leaving a cancelled worker waiting forever.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(timeout):
                    await self._wakeup.wait()

    def done(self, key: T) -> None:
        self._processing.discard(key)
        if key in self._dirty:
            self._queue.append(key)
            self._wakeup.set()

    def shutdown(self) -> None:
        """Stop accepting keys; workers drain what is queued, then get() raises QueueShutDown."""
        self._shutting_down = True
        self._waiting.clear()
        self._ready_at.clear()
        self._wakeup.set()


async def process_queue(
    queue: WorkQueue[T],
    sync: Callable[[T], Awaitable[None]],
    workers: int = 1,
    logger: logging.Logger | None = None,
) -> None:
    """Run ``workers`` loops of get → sync → done until the queue shuts down.

    A failing sync never ends a loop: the key is re-added with per-key
    back-off, and forgotten (back-off reset) once a sync succeeds.
    """
    out = logger or logging.getLogger(__name__)

    async def worker() -> None:
        while True:
            try:
                key = await queue.get()
            except QueueShutDown:
                return
            try:
                await sync(key)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                retries = queue.num_requeues(key)
                out.warning("%s: sync of %s failed (retry %d): %r", queue.name, key, retries, exc)
                queue.add_rate_limited(key)
            else:
                queue.forget(key)
            finally:
                queue.done(key)

    await asyncio.gather(*(worker() for _ in range(max(1, workers))))
