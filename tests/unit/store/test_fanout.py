"""Watch fan-out of the embedded backends: a slow watcher is cut off, writers and other watchers go on."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from podnet.store import CompactedError, Store, StoreUnavailable
from podnet.store.fanout import WatchOverflowError
from podnet.store.memory import MemoryStore
from podnet.store.sqlite import SqliteStore
from tests.unit.store.test_contract import take


@pytest.fixture(params=["memory", "sqlite"])
async def small_queue_store(request: pytest.FixtureRequest, tmp_path: Path) -> Store:
    if request.param == "memory":
        return MemoryStore(watch_queue_size=4)
    return SqliteStore(tmp_path / "state.db", watch_queue_size=4)


async def test_slow_watcher_overflows_without_blocking_writers(small_queue_store: Store) -> None:
    store = small_queue_store
    await store.create("/marker", b"")
    start = await store.current_revision()
    slow, fast = store.watch("/k/", start), store.watch("/k/", start)
    await store.create("/k/first", b"v")
    assert len(await take(slow, 1) + await take(fast, 1)) == 2  # both live now
    seen = []
    for i in range(10):
        await store.create(f"/k/{i}", b"v")
        seen += await take(fast, 1)
    assert [e.revision for e in seen] == list(range(start + 2, start + 12))
    with pytest.raises(WatchOverflowError) as info:
        await take(slow, 1)
    assert isinstance(info.value, CompactedError)  # the API server answers 410 Gone: the client relists
    await slow.close()
    await fast.close()
    await store.close()


async def test_closing_the_store_ends_its_watches(small_queue_store: Store) -> None:
    store = small_queue_store
    live, idle = store.watch("/k/", 0), store.watch("/k/", 0)
    await store.create("/k/a", b"v")
    assert len(await take(live, 1)) == 1
    blocked = asyncio.ensure_future(take(live, 1))
    await store.close()
    with pytest.raises(StoreUnavailable):
        await blocked
    with pytest.raises(StoreUnavailable):
        await take(idle, 1)
