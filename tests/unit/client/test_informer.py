"""Informer: list+watch cache, handlers, indexes, relist on 410 and on a broken watch (FakeClient)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable

import pytest

from podnet.api import errors
from podnet.api.scheme import lookup_plural
from podnet.client.fake import FakeClient
from podnet.client.informer import Informer, InformerFactory

PODS = lookup_plural("pods")
assert PODS


def pod(name: str, ns: str = "a", **labels: str) -> dict:
    return {"metadata": {"name": name, "namespace": ns, "labels": labels}, "spec": {}}


async def until(cond: Callable[[], object], timeout: float = 3.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not cond():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out waiting for {cond}")
        await asyncio.sleep(0.005)


@contextlib.asynccontextmanager
async def running(inf: Informer) -> AsyncIterator[Informer]:
    task = asyncio.ensure_future(inf.run())
    try:
        await asyncio.wait_for(inf.wait_synced(), 3)
        yield inf
    finally:
        await inf.stop()
        await asyncio.wait_for(task, 3)


async def test_cache_handlers_and_index() -> None:
    c = FakeClient()
    await c.create(PODS, "a", pod("p1", app="web"))
    seen: list[tuple[str, str]] = []
    inf = Informer(c, PODS, backoff_initial=0.01)
    inf.add_index("app", lambda o: [o["metadata"]["labels"].get("app", "")])
    inf.add_handler(
        lambda o: seen.append(("add", o["metadata"]["name"])),
        lambda old, new: seen.append(("update", new["metadata"]["name"])),
        lambda o: seen.append(("delete", o["metadata"]["name"])),
    )
    async with running(inf):
        assert inf.has_synced() and inf.get("a/p1") is not None
        await c.create(PODS, "b", pod("p2", "b", app="web"))
        await c.patch(PODS, "a", "p1", {"metadata": {"labels": {"app": "db"}}})
        await c.delete(PODS, "b", "p2")
        await until(lambda: len(seen) == 4)
    assert seen == [("add", "p1"), ("add", "p2"), ("update", "p1"), ("delete", "p2")]
    assert [o["metadata"]["name"] for o in inf.by_index("app", "db")] == ["p1"]
    assert inf.by_index("app", "web") == []
    assert [o["metadata"]["name"] for o in inf.by_index("namespace", "a")] == ["p1"]


async def test_relist_on_410_reports_objects_that_vanished() -> None:
    c = FakeClient()
    await c.create(PODS, "a", pod("keep"))
    await c.create(PODS, "a", pod("gone"))
    deleted: list[dict] = []
    inf = Informer(c, PODS, backoff_initial=0.01)
    inf.add_handler(on_delete=deleted.append)
    async with running(inf):
        await until(lambda: c.watch_count() == 1)
        # While the watch is down, "gone" is deleted and history is compacted: only a relist can tell.
        c.break_watches(errors.gone("too old resource version"))
        c.watch = _delayed(c.watch)  # type: ignore[method-assign]
        await c.delete(PODS, "a", "gone")
        c.compact()
        await until(lambda: inf.list_count == 3)
        await until(lambda: inf.get("a/gone") is None)
    assert [d["metadata"]["name"] for d in deleted] == ["gone"]
    assert deleted[0]["metadata"]["resourceVersion"]  # the last known object


def _delayed(watch: Callable[..., object]) -> Callable[..., object]:
    """The first re-watch after the 410 comes from a too-old version, as after a long outage."""
    state = {"first": True}

    def wrapper(*args: object, **kw: object) -> object:
        if state["first"]:
            state["first"] = False
            kw["resource_version"] = "1"
        return watch(*args, **kw)

    return wrapper


async def test_watch_that_breaks_resumes_from_last_version_without_relist() -> None:
    c = FakeClient()
    inf = Informer(c, PODS, backoff_initial=0.01)
    async with running(inf):
        await until(lambda: c.watch_count() == 1)
        c.break_watches()
        await c.create(PODS, "a", pod("p"))
        await until(lambda: inf.get("a/p") is not None)
        assert inf.list_count == 1


async def test_failed_list_is_retried() -> None:
    c = FakeClient()
    await c.create(PODS, "a", pod("p"))
    c.fail_next("list", "pods", errors.internal_error("etcd down"))
    inf = Informer(c, PODS, backoff_initial=0.01)
    async with running(inf):
        assert inf.get("a/p") is not None
    assert [a for a in c.actions if a[0] == "list"] == [("list", "pods", "", "")] * 2


async def test_factory_shares_informers() -> None:
    c = FakeClient()
    f = InformerFactory(c)
    assert f.informer(PODS) is f.informer(PODS)
    assert f.informer(PODS, "a") is not f.informer(PODS)
    f.start()
    assert await f.wait_for_sync(3)
    await f.stop()
    with pytest.raises(KeyError):
        f.informer(PODS).by_index("missing", "x")


async def test_index_count_follows_updates_and_deletes() -> None:
    """The scheduler's per-node load comes from this count: it must track every change."""
    from podnet.controllers.scheduler.controller import PLACE_INDEX
    from podnet.controllers.scheduler.fit import place_of

    c = FakeClient()
    for name, node in (("p1", "n1"), ("p2", "n1"), ("p3", "n2"), ("p4", "")):
        await c.create(PODS, "a", {**pod(name), "spec": {"nodeName": node} if node else {}})
    inf = Informer(c, PODS, backoff_initial=0.01)
    inf.add_index(PLACE_INDEX, lambda p: [n] if (n := place_of(p)) else [])
    counts = lambda: (inf.index_count(PLACE_INDEX, "n1"), inf.index_count(PLACE_INDEX, "n2"))  # noqa: E731
    async with running(inf):
        assert counts() == (2, 1)
        await c.patch(PODS, "a", "p1", {"status": {"phase": "Succeeded"}}, subresource="status")  # finished
        await c.delete(PODS, "a", "p4")
        await c.create(PODS, "a", {**pod("p4"), "spec": {"nodeName": "n2"}})  # bound now
        await c.delete(PODS, "a", "p3", grace_period_seconds=0)  # gone (terminating, it would count)
        await until(lambda: counts() == (1, 1))
    assert inf.index_count(PLACE_INDEX, "nowhere") == 0
