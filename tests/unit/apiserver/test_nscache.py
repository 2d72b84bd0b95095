"""NamespaceLifecycle from the namespace cache: no store read for known namespaces, same answers."""

from __future__ import annotations

import asyncio
import ipaddress

import pytest

from podnet.api.errors import StatusError
from podnet.api.scheme import resource
from podnet.apiserver.allocators import IPAllocator, PortAllocator
from podnet.apiserver.nscache import NamespaceCache
from podnet.apiserver.registry import DeleteOptions, Registry
from podnet.apiserver.services import ServiceAllocator
from podnet.store.memory import MemoryStore

NS, CM = resource("namespaces"), resource("configmaps")


class CountingStore(MemoryStore):
    def __init__(self) -> None:
        super().__init__()
        self.gets: list[str] = []

    async def get(self, key: str):  # type: ignore[no-untyped-def]
        self.gets.append(key)
        return await super().get(key)


def cm(name: str) -> dict:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": {"a": "b"}}


async def wait_for(cond, timeout: float = 2.0) -> None:  # type: ignore[no-untyped-def]
    for _ in range(int(timeout / 0.01)):
        if cond():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("condition not met")


async def test_cache_answers_known_namespaces_and_falls_back_for_new_ones() -> None:
    store = CountingStore()
    services = ServiceAllocator(
        IPAllocator(ipaddress.IPv4Network("10.96.0.0/12")), PortAllocator(30000, 32767)
    )
    reg = Registry(store, services)
    reg.namespaces = NamespaceCache(store)
    await reg.namespaces.start()
    try:
        await reg.create(NS, None, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "shop"}})
        await reg.create(CM, "shop", cm("first"))  # the cache may not know "shop" yet: a live read decides
        await wait_for(lambda: reg.namespaces.lookup("shop") is False)  # type: ignore[union-attr]
        store.gets.clear()
        await reg.create(CM, "shop", cm("second"))
        assert not any("/namespaces/" in k for k in store.gets)  # answered from the cache
        with pytest.raises(StatusError) as missing:
            await reg.create(CM, "nowhere", cm("x"))
        assert missing.value.code == 404
        await reg.delete(NS, None, "shop", DeleteOptions())  # the namespace finalizer keeps it, terminating
        await wait_for(lambda: reg.namespaces.lookup("shop") is True)  # type: ignore[union-attr]
        with pytest.raises(StatusError) as terminating:
            await reg.create(CM, "shop", cm("third"))
        assert terminating.value.code == 403 and "being terminated" in terminating.value.message
    finally:
        await reg.namespaces.stop()
