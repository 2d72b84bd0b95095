"""EtcdStore across etcd restarts and outages, and with several endpoints."""

from __future__ import annotations

import pytest

from podnet.store import StoreUnavailable
from podnet.store.etcd import EtcdStore
from tests.helpers import free_port
from tests.integration.store.conftest import EtcdProcess
from tests.unit.store.test_contract import take

pytestmark = pytest.mark.integration


async def test_keys_and_revision_survive_an_etcd_restart(fresh_etcd: EtcdProcess) -> None:
    store = EtcdStore([fresh_etcd.endpoint])
    try:
        a = await store.create("/r/a", b"1")
        b = await store.update("/r/a", b"2", a.mod_revision)
        await store.create("/r/b", b"x")
        revision = await store.current_revision()
        fresh_etcd.stop()
        with pytest.raises(StoreUnavailable):
            await store.get("/r/a")
        fresh_etcd.start()
        assert await store.get("/r/a") == b
        assert await store.current_revision() == revision
        c = await store.create("/r/c", b"after restart")
        assert c.mod_revision == revision + 1
        assert [kv.key for kv in (await store.list("/r/")).items] == ["/r/a", "/r/b", "/r/c"]
    finally:
        await store.close()


async def test_watch_ends_with_unavailable_when_etcd_dies(fresh_etcd: EtcdProcess) -> None:
    store = EtcdStore([fresh_etcd.endpoint])
    try:
        start = await store.current_revision()
        watch = store.watch("/w/", start)
        await store.create("/w/a", b"1")
        assert len(await take(watch, 1)) == 1
        fresh_etcd.stop()
        with pytest.raises(StoreUnavailable):
            await take(watch, 1)
        await watch.close()
    finally:
        await store.close()


async def test_next_endpoint_is_tried_when_one_is_down(etcd: EtcdProcess) -> None:
    dead = f"http://127.0.0.1:{free_port()}"
    store = EtcdStore([dead, etcd.endpoint])
    try:
        kv = await store.create("/failover/a", b"1")
        assert await store.get("/failover/a") == kv
    finally:
        await store.close()
    alone = EtcdStore([dead])
    try:
        with pytest.raises(StoreUnavailable, match="no etcd endpoint answered"):
            await alone.get("/failover/a")
    finally:
        await alone.close()
