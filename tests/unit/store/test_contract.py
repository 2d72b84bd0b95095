"""The Store contract, once, run against every backend.

``StoreContract`` holds the tests; it needs two fixtures: ``store`` (a fresh,
open Store) and ``prefix`` (a key prefix no other test uses, so a shared etcd
works). Here they come from memory and sqlite; tests/integration/store runs
the same class against a real etcd. Tests never assume absolute revisions,
only their order and spacing, because etcd's revisions carry over between tests.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from podnet.store import (
    CompactedError,
    ConflictError,
    Event,
    EventType,
    KeyExistsError,
    KeyNotFoundError,
    KeyValue,
    Store,
    StoreError,
    StoreUnavailable,
    Watch,
)
from podnet.store.memory import MemoryStore
from podnet.store.sqlite import SqliteStore

TIMEOUT = 10.0


async def take(watch: Watch, n: int, timeout: float = TIMEOUT) -> list[Event]:
    """The next ``n`` events of ``watch``; fails after ``timeout`` seconds."""
    it = aiter(watch)

    async def run() -> list[Event]:
        return [await anext(it) for _ in range(n)]

    return await asyncio.wait_for(run(), timeout)


async def revision_after_a_write(store: Store, prefix: str) -> int:
    """A current revision above 0 (watching from 0 means "from now"), by writing beside ``prefix``."""
    return (await store.create(prefix.rstrip("/") + "~marker", b"")).mod_revision


def summary(events: list[Event]) -> list[tuple[str, str, bytes, int]]:
    return [(e.type.value, e.kv.key, e.kv.value, e.revision) for e in events]


class StoreContract:
    """Every rule of podnet/store/interface.py; subclasses provide ``store`` and ``prefix``."""

    many_watchers = 200

    # ---- create / get / update / delete ---------------------------------------------------------

    async def test_create_then_get(self, store: Store, prefix: str) -> None:
        before = await store.current_revision()
        kv = await store.create(prefix + "a", b"one")
        assert kv == KeyValue(prefix + "a", b"one", before + 1, before + 1)
        assert await store.get(prefix + "a") == kv
        assert await store.get(prefix + "missing") is None

    async def test_create_existing_key_fails_and_changes_nothing(self, store: Store, prefix: str) -> None:
        kv = await store.create(prefix + "a", b"one")
        with pytest.raises(KeyExistsError):
            await store.create(prefix + "a", b"two")
        assert await store.get(prefix + "a") == kv
        assert await store.current_revision() == kv.mod_revision

    async def test_update_compare_and_swap(self, store: Store, prefix: str) -> None:
        kv = await store.create(prefix + "a", b"one")
        new = await store.update(prefix + "a", b"two", kv.mod_revision)
        assert new == KeyValue(prefix + "a", b"two", kv.create_revision, kv.mod_revision + 1)
        with pytest.raises(ConflictError) as info:
            await store.update(prefix + "a", b"three", kv.mod_revision)
        assert info.value.current == new
        assert await store.get(prefix + "a") == new
        forced = await store.update(prefix + "a", b"four", 0)
        assert (forced.value, forced.create_revision, forced.mod_revision) == (
            b"four",
            kv.create_revision,
            new.mod_revision + 1,
        )

    async def test_update_missing_key_fails(self, store: Store, prefix: str) -> None:
        before = await store.current_revision()
        for expected in (0, 5):
            with pytest.raises(KeyNotFoundError):
                await store.update(prefix + "nope", b"x", expected)
        assert await store.current_revision() == before

    async def test_delete_compare_and_swap(self, store: Store, prefix: str) -> None:
        kv = await store.create(prefix + "a", b"one")
        upd = await store.update(prefix + "a", b"two", 0)
        with pytest.raises(ConflictError) as info:
            await store.delete(prefix + "a", kv.mod_revision)
        assert info.value.current == upd
        gone = await store.delete(prefix + "a", upd.mod_revision)
        assert gone == KeyValue(prefix + "a", b"two", kv.create_revision, upd.mod_revision + 1)
        assert await store.current_revision() == gone.mod_revision
        assert await store.get(prefix + "a") is None
        with pytest.raises(KeyNotFoundError):
            await store.delete(prefix + "a")

    async def test_unconditional_delete_and_recreate(self, store: Store, prefix: str) -> None:
        await store.create(prefix + "a", b"one")
        gone = await store.delete(prefix + "a")
        again = await store.create(prefix + "a", b"two")
        assert again.create_revision == again.mod_revision == gone.mod_revision + 1

    async def test_every_mutation_takes_the_next_revision(self, store: Store, prefix: str) -> None:
        start = await store.current_revision()
        revs = [(await store.create(prefix + str(i), b"v")).mod_revision for i in range(3)]
        revs.append((await store.update(prefix + "0", b"w", 0)).mod_revision)
        revs.append((await store.delete(prefix + "1")).mod_revision)
        assert revs == list(range(start + 1, start + 6))
        assert await store.current_revision() == start + 5

    # ---- list -------------------------------------------------------------------------------------

    async def test_list_prefix_sorted(self, store: Store, prefix: str) -> None:
        for name in ("b", "a/x", "c", "a"):
            await store.create(prefix + "p/" + name, name.encode())
        await store.create(prefix + "p", b"exact prefix without slash")
        await store.create(prefix + "pq/a", b"sibling")
        result = await store.list(prefix + "p/")
        assert [kv.key for kv in result.items] == [prefix + "p/" + n for n in ("a", "a/x", "b", "c")]
        assert (result.revision, result.more) == (await store.current_revision(), False)
        assert (await store.list(prefix + "nothing/")).items == []

    async def test_list_pages_with_limit_and_start_after(self, store: Store, prefix: str) -> None:
        names = [f"{prefix}k{i:02d}" for i in range(7)]
        for name in names:
            await store.create(name, b"v")
        pages, start, revision = [], "", 0
        for _ in range(10):
            page = await store.list(prefix, revision=revision, limit=3, start_after=start)
            revision = page.revision
            pages.append(([kv.key for kv in page.items], page.more))
            await store.create(f"{prefix}k{len(pages)}x", b"written between pages")
            if not page.more:
                break
            start = page.items[-1].key
        assert pages == [(names[0:3], True), (names[3:6], True), (names[6:7], False)]

    async def test_list_at_old_revision_is_a_snapshot(self, store: Store, prefix: str) -> None:
        a = await store.create(prefix + "a", b"a1")
        b = await store.create(prefix + "b", b"b1")
        snapshot = await store.current_revision()
        await store.update(prefix + "a", b"a2", 0)
        await store.delete(prefix + "b")
        await store.create(prefix + "c", b"c1")
        await store.create(prefix + "0", b"first")
        old = await store.list(prefix, revision=snapshot)
        assert (old.items, old.revision, old.more) == ([a, b], snapshot, False)
        now = await store.list(prefix)
        assert [(kv.key, kv.value) for kv in now.items] == [
            (prefix + "0", b"first"),
            (prefix + "a", b"a2"),
            (prefix + "c", b"c1"),
        ]
        first = await store.list(prefix, revision=snapshot, limit=1)
        assert (first.items, first.more) == ([a], True)
        rest = await store.list(prefix, revision=snapshot, limit=1, start_after=prefix + "a")
        assert (rest.items, rest.more) == ([b], False)

    async def test_list_at_future_revision_fails(self, store: Store, prefix: str) -> None:
        now = await store.current_revision()
        with pytest.raises(StoreError) as info:
            await store.list(prefix, revision=now + 100)
        assert not isinstance(info.value, CompactedError)

    # ---- watch ------------------------------------------------------------------------------------

    async def test_watch_replays_history_then_goes_live(self, store: Store, prefix: str) -> None:
        start = await store.current_revision()
        await store.create(prefix + "a", b"1")
        await store.create(prefix + "b", b"1")
        watch = store.watch(prefix, start + 1)
        try:
            replayed = await take(watch, 1)
            await store.update(prefix + "a", b"2", 0)
            await store.delete(prefix + "b")
            live = await take(watch, 2)
        finally:
            await watch.close()
        assert summary(replayed + live) == [
            ("PUT", prefix + "b", b"1", start + 2),
            ("PUT", prefix + "a", b"2", start + 3),
            ("DELETE", prefix + "b", b"1", start + 4),
        ]

    async def test_watch_handover_under_concurrent_writes(self, store: Store, prefix: str) -> None:
        """Watchers started while a writer runs see every revision after their start exactly once."""
        start = await store.current_revision()
        total = 60
        watches: list[tuple[int, Watch]] = []

        async def writer() -> None:
            for i in range(total):
                await store.create(f"{prefix}{i:03d}", b"v")
                if i % 10 == 5:
                    rev = await store.current_revision()
                    watches.append((rev - 3, store.watch(prefix, rev - 3)))
                    watches.append((rev, store.watch(prefix, rev)))
                await asyncio.sleep(0)

        await asyncio.wait_for(writer(), TIMEOUT)
        try:
            for from_rev, watch in watches:
                events = await take(watch, start + total - from_rev)
                assert [e.revision for e in events] == list(range(from_rev + 1, start + total + 1))
        finally:
            for _, watch in watches:
                await watch.close()

    async def test_watch_from_zero_starts_now(self, store: Store, prefix: str) -> None:
        old = await store.create(prefix + "old", b"before the watch")
        watch = store.watch(prefix, 0)
        first = asyncio.ensure_future(take(watch, 1))
        written: list[int] = []
        try:
            for i in range(200):  # etcd opens the stream asynchronously: write until it sees one
                written.append((await store.create(f"{prefix}new{i:03d}", b"v")).mod_revision)
                done, _ = await asyncio.wait([first], timeout=0.02)
                if done:
                    break
            (event,) = await first
            assert event.revision in written and event.revision > old.mod_revision
            following = await take(watch, written[-1] - event.revision)
        finally:
            await watch.close()
        assert [e.revision for e in following] == list(range(event.revision + 1, written[-1] + 1))

    async def test_watch_sees_only_its_prefix(self, store: Store, prefix: str) -> None:
        start = await store.current_revision()
        watch = store.watch(prefix + "pods/", start)
        try:
            await store.create(prefix + "podsx", b"sibling")
            await store.create(prefix + "services/a", b"other")
            mine = await store.create(prefix + "pods/a", b"mine")
            (event,) = await take(watch, 1)
        finally:
            await watch.close()
        assert event == Event(EventType.PUT, mine, None, mine.mod_revision)

    async def test_event_shapes(self, store: Store, prefix: str) -> None:
        start = await revision_after_a_write(store, prefix)
        created = await store.create(prefix + "a", b"1")
        updated = await store.update(prefix + "a", b"2", created.mod_revision)
        deleted = await store.delete(prefix + "a", updated.mod_revision)
        watch = store.watch(prefix, start)
        try:
            events = await take(watch, 3)
        finally:
            await watch.close()
        assert events == [
            Event(EventType.PUT, created, None, created.mod_revision),
            Event(EventType.PUT, updated, created, updated.mod_revision),
            Event(EventType.DELETE, deleted, updated, deleted.mod_revision),
        ]
        assert [e.is_create for e in events] == [True, False, False]
        assert deleted == KeyValue(prefix + "a", b"2", created.create_revision, updated.mod_revision + 1)

    async def test_many_watchers_each_get_every_event(self, store: Store, prefix: str) -> None:
        start = await store.current_revision()
        watches = [store.watch(prefix, start) for _ in range(self.many_watchers)]
        try:
            for i in range(5):
                await store.create(f"{prefix}{i}", b"v")
            results = await asyncio.wait_for(asyncio.gather(*(take(w, 5) for w in watches)), 3 * TIMEOUT)
        finally:
            for watch in watches:
                await watch.close()
        expected = list(range(start + 1, start + 6))
        assert all([e.revision for e in events] == expected for events in results)

    async def test_close_ends_a_blocked_watch(self, store: Store, prefix: str) -> None:
        watch = store.watch(prefix, await store.current_revision())
        pending = asyncio.ensure_future(take(watch, 1))
        await store.create(prefix + "a", b"v")
        assert len(await pending) == 1
        blocked = asyncio.ensure_future(take(watch, 1))
        done, _ = await asyncio.wait([blocked], timeout=0.05)
        assert not done
        await watch.close()
        with pytest.raises(StopAsyncIteration):
            await asyncio.wait_for(blocked, TIMEOUT)
        await watch.close()  # idempotent

    async def test_closed_store_is_unavailable(self, store: Store, prefix: str) -> None:
        watch = store.watch(prefix, 0)
        await store.close()
        with pytest.raises(StoreUnavailable):
            await store.get(prefix + "a")
        with pytest.raises(StoreUnavailable):
            await take(watch, 1)
        await store.close()  # idempotent

    # ---- compaction -------------------------------------------------------------------------------

    async def test_compaction_keeps_values_and_forgets_history(self, store: Store, prefix: str) -> None:
        a = await store.create(prefix + "a", b"1")
        b = await store.create(prefix + "b", b"1")
        await store.delete(prefix + "b")
        point = await store.current_revision()
        later = await store.update(prefix + "a", b"2", a.mod_revision)
        await store.compact(point)
        await store.compact(point)  # again: no error
        await store.compact(point - 1)  # older: no error
        assert await store.get(prefix + "a") == later
        assert (await store.list(prefix, revision=point)).items == [a]
        with pytest.raises(CompactedError) as info:
            await store.list(prefix, revision=b.mod_revision)
        assert info.value.compact_revision == point
        watch = store.watch(prefix, point)
        try:
            (event,) = await take(watch, 1)
            assert event.kv == later
        finally:
            await watch.close()

    async def test_watch_from_compacted_revision_fails(self, store: Store, prefix: str) -> None:
        await revision_after_a_write(store, prefix)
        await store.create(prefix + "a", b"1")
        await store.delete(prefix + "a")  # a tombstone exactly at the compaction point
        point = await store.current_revision()
        await store.compact(point)
        for from_rev in (point - 1, point - 2):
            watch = store.watch(prefix, from_rev)
            try:
                with pytest.raises(CompactedError) as info:
                    await take(watch, 1)
                assert info.value.compact_revision == point
            finally:
                await watch.close()


@pytest.fixture(params=["memory", "sqlite"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Store]:
    backend: Store = MemoryStore() if request.param == "memory" else SqliteStore(tmp_path / "state.db")
    try:
        yield backend
    finally:
        await backend.close()


def unique_prefix() -> str:
    return f"/contract/{uuid.uuid4().hex[:8]}/"


@pytest.fixture
def prefix() -> str:
    return unique_prefix()


class TestStoreContract(StoreContract):
    pass
