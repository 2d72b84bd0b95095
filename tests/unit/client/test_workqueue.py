"""WorkQueue: client-go's dedup, processing exclusivity, delays and per-key back-off, with a fake clock."""

from __future__ import annotations

import asyncio

import pytest

from podnet.client.workqueue import QueueShutDown, WorkQueue, process_queue


class Clock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


async def test_dedup_of_queued_keys() -> None:
    q: WorkQueue[str] = WorkQueue()
    for key in ("a", "b", "a", "a"):
        q.add(key)
    assert len(q) == 2
    assert [await q.get(), await q.get()] == ["a", "b"]


async def test_key_in_processing_is_requeued_after_done_not_handed_out_twice() -> None:
    q: WorkQueue[str] = WorkQueue()
    q.add("a")
    assert await q.get() == "a"
    q.add("a")
    assert len(q) == 0  # not available to a second worker while processing
    q.done("a")
    assert len(q) == 1
    assert await q.get() == "a"
    q.done("a")
    assert len(q) == 0


async def test_add_after_waits_for_the_clock() -> None:
    clock = Clock()
    q: WorkQueue[str] = WorkQueue(clock=clock)
    q.add_after("a", 10)
    assert q.promote_due() == 0 and len(q) == 0
    clock.t += 10
    assert q.promote_due() == 1
    assert await q.get() == "a"


async def test_add_after_keeps_the_earlier_time() -> None:
    clock = Clock()
    q: WorkQueue[str] = WorkQueue(clock=clock)
    q.add_after("a", 10)
    q.add_after("a", 2)
    q.add_after("a", 30)
    clock.t += 2
    assert q.promote_due() == 1


def test_rate_limited_backoff_doubles_to_the_cap_and_forget_resets() -> None:
    q: WorkQueue[str] = WorkQueue(clock=Clock())
    delays = []
    for _ in range(20):
        delays.append(q.when("k"))
        q.add_rate_limited("k")
    assert delays[:4] == [0.005, 0.01, 0.02, 0.04]
    assert delays[-1] == 1000.0
    assert q.num_requeues("k") == 20
    q.forget("k")
    assert q.when("k") == 0.005 and q.num_requeues("k") == 0


async def test_get_wakes_on_add_and_shutdown_drains_then_raises() -> None:
    q: WorkQueue[str] = WorkQueue()
    waiter = asyncio.ensure_future(q.get())
    await asyncio.sleep(0)
    q.add("x")
    assert await asyncio.wait_for(waiter, 2) == "x"
    q.add("y")
    q.shutdown()
    q.add("z")  # refused after shutdown
    assert await q.get() == "y"
    with pytest.raises(QueueShutDown):
        await q.get()


async def test_process_queue_retries_failures_with_backoff_then_forgets() -> None:
    q: WorkQueue[str] = WorkQueue(base_delay=0.001)
    calls: list[str] = []

    async def sync(key: str) -> None:
        calls.append(key)
        if len(calls) < 3:
            raise RuntimeError("boom")
        q.shutdown()

    q.add("k")
    await asyncio.wait_for(process_queue(q, sync, workers=2), 5)
    assert calls == ["k", "k", "k"]
    assert q.num_requeues("k") == 0
