"""SqliteStore across close and reopen: keys, revisions, history and the compaction point persist."""

from __future__ import annotations

from pathlib import Path

import pytest

from podnet.store import CompactedError, KeyValue, StoreUnavailable
from podnet.store.sqlite import SqliteStore
from tests.unit.store.test_contract import take


async def test_reopen_keeps_keys_history_and_revision(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    first = SqliteStore(path)
    a = await first.create("/r/a", b"1")
    b = await first.create("/r/b", b"1")
    deleted = await first.delete("/r/b")
    await first.compact(b.mod_revision)
    await first.close()

    again = SqliteStore(path)
    try:
        assert await again.current_revision() == deleted.mod_revision
        assert (await again.list("/r/")).items == [a]
        assert (await again.list("/r/", revision=b.mod_revision)).items == [a, b]
        with pytest.raises(CompactedError):
            await again.list("/r/", revision=a.mod_revision)
        watch = again.watch("/r/", b.mod_revision)
        events = await take(watch, 1)
        await watch.close()
        assert [(e.type.value, e.revision) for e in events] == [("DELETE", deleted.mod_revision)]
        c = await again.create("/r/c", b"new")
        assert c == KeyValue("/r/c", b"new", deleted.mod_revision + 1, deleted.mod_revision + 1)
    finally:
        await again.close()


async def test_revision_survives_compacting_everything(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    first = SqliteStore(path)
    await first.create("/r/a", b"1")
    await first.delete("/r/a")
    await first.compact(await first.current_revision())
    await first.close()
    again = SqliteStore(path)
    try:
        assert await again.current_revision() == 2
        assert (await again.create("/r/a", b"2")).mod_revision == 3
    finally:
        await again.close()


async def test_closed_store_is_unavailable(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "state.db")
    await store.close()
    with pytest.raises(StoreUnavailable):
        await store.get("/a")
    with pytest.raises(StoreUnavailable):
        await store.create("/a", b"")
