"""open_store: the --datastore values the server accepts, and one clear line for the rest."""

from __future__ import annotations

from pathlib import Path

import pytest

from podnet.store.etcd import EtcdStore
from podnet.store.factory import open_store, parse_etcd_endpoints
from podnet.store.memory import MemoryStore
from podnet.store.sqlite import SqliteStore


async def test_sqlite_lives_in_the_data_dir(tmp_path: Path) -> None:
    store = open_store("sqlite", tmp_path / "data")
    assert isinstance(store, SqliteStore) and store.path == tmp_path / "data" / "state.db"
    await store.close()


async def test_memory_and_etcd(tmp_path: Path) -> None:
    assert isinstance(open_store("memory", tmp_path), MemoryStore)
    etcd = open_store("etcd://10.0.0.1:2379,etcd-2:2379", tmp_path)
    assert isinstance(etcd, EtcdStore)
    await etcd.close()


def test_etcd_endpoints() -> None:
    assert parse_etcd_endpoints("etcd://a:1, b:2") == ["http://a:1", "http://b:2"]


@pytest.mark.parametrize(
    "bad", ["", "postgres", "etcd://", "etcd://host", "etcd://h:99999", "etcd://h:1,,h:2"]
)
def test_bad_datastore_is_one_clear_line(tmp_path: Path, bad: str) -> None:
    with pytest.raises(ValueError, match=r"invalid datastore .*expected") as info:
        open_store(bad, tmp_path)
    assert "\n" not in str(info.value)
