"""FakeClient keeps the API semantics controllers rely on."""

from __future__ import annotations

import asyncio

import pytest

from podnet.api import errors
from podnet.api.errors import StatusError
from podnet.api.scheme import lookup_plural
from podnet.client.fake import FakeClient
from podnet.client.interface import WatchEvent

PODS = lookup_plural("pods")
RS = lookup_plural("replicasets")
NS = lookup_plural("namespaces")
CM = lookup_plural("configmaps")
assert PODS and RS and NS and CM


def pod(name: str, labels: dict[str, str] | None = None, node: str = "") -> dict:
    spec = {"containers": [{"name": "c", "image": "busybox"}]}
    if node:
        spec["nodeName"] = node
    return {"metadata": {"name": name, "labels": labels or {}}, "spec": spec}


async def test_create_sets_metadata_and_rejects_duplicates() -> None:
    c = FakeClient(clock=lambda: 0.0)
    out = await c.create(PODS, "default", {"metadata": {"generateName": "web-"}, "spec": {}})
    meta = out["metadata"]
    assert meta["name"].startswith("web-") and len(meta["name"]) == 9
    assert meta["namespace"] == "default" and meta["uid"] and meta["resourceVersion"] == "2"
    assert meta["creationTimestamp"] == "1970-01-01T00:00:00Z"
    assert out["status"] == {"phase": "Pending"}
    with pytest.raises(StatusError) as exc:
        await c.create(PODS, "default", {"metadata": {"name": meta["name"]}})
    assert (exc.value.code, exc.value.reason) == (409, "AlreadyExists")
    assert c.actions[-1] == ("create", "pods", "default", meta["name"])


async def test_get_missing_is_none_other_verbs_404() -> None:
    c = FakeClient()
    assert await c.get(PODS, "default", "nope") is None
    for call in (
        c.delete(PODS, "default", "nope"),
        c.patch(PODS, "default", "nope", {"metadata": {"labels": {"a": "b"}}}),
        c.update(PODS, "default", {"metadata": {"name": "nope"}}),
    ):
        with pytest.raises(StatusError) as exc:
            await call
        assert exc.value.code == 404


async def test_stale_update_conflicts_and_status_is_separate() -> None:
    c = FakeClient()
    rs = await c.create(RS, "default", {"metadata": {"name": "r"}, "spec": {"replicas": 1}})
    assert rs["metadata"]["generation"] == 1
    rs["spec"]["replicas"] = 2
    rs["status"] = {"replicas": 5}
    updated = await c.update(RS, "default", rs)
    assert updated["metadata"]["generation"] == 2
    assert updated["status"] == {}  # main resource ignores status
    with pytest.raises(StatusError) as exc:
        await c.update(RS, "default", rs)  # rs carries the old resourceVersion
    assert (exc.value.code, exc.value.reason) == (409, "Conflict")
    updated["status"] = {"replicas": 2}
    updated["spec"]["replicas"] = 9
    after = await c.update(RS, "default", updated, "status")
    assert after["status"] == {"replicas": 2} and after["spec"]["replicas"] == 2
    assert after["metadata"]["generation"] == 2


async def test_patches() -> None:
    c = FakeClient()
    await c.create(
        CM, "default", {"metadata": {"name": "m", "labels": {"a": "1", "b": "2"}}, "data": {"k": "v"}}
    )
    out = await c.patch(CM, "default", "m", {"metadata": {"labels": {"a": None, "c": "3"}}})
    assert out["metadata"]["labels"] == {"b": "2", "c": "3"}
    out = await c.patch(CM, "default", "m", [{"op": "replace", "path": "/data/k", "value": "w"}], "json")
    assert out["data"] == {"k": "w"}


async def test_finalizers_hold_deletion_until_removed() -> None:
    c = FakeClient()
    await c.create(CM, "default", {"metadata": {"name": "m", "finalizers": ["x/y"]}})
    held = await c.delete(CM, "default", "m")
    assert held is not None and held["metadata"]["deletionTimestamp"]
    held["metadata"]["finalizers"] = []
    await c.update(CM, "default", held)
    assert await c.get(CM, "default", "m") is None


async def test_pod_grace_period_then_forced_delete() -> None:
    c = FakeClient()
    await c.create(PODS, "default", pod("p", node="n1"))
    held = await c.delete(PODS, "default", "p")
    assert held is not None and held["metadata"]["deletionGracePeriodSeconds"] == 30
    assert await c.delete(PODS, "default", "p", grace_period_seconds=0) is None
    assert await c.get(PODS, "default", "p") is None
    await c.create(PODS, "default", pod("unbound"))
    assert await c.delete(PODS, "default", "unbound") is None  # never scheduled: goes at once


async def test_namespace_terminating_forbids_creates_and_finalize_removes_it() -> None:
    c = FakeClient()
    await c.create(NS, None, {"metadata": {"name": "team"}})
    ns = await c.delete(NS, None, "team")
    assert ns is not None and ns["status"]["phase"] == "Terminating"
    with pytest.raises(StatusError) as exc:
        await c.create(CM, "team", {"metadata": {"name": "m"}})
    assert exc.value.code == 403
    ns["spec"]["finalizers"] = []
    await c.update(NS, None, ns, "finalize")
    assert await c.get(NS, None, "team") is None


async def test_selectors_filter_list() -> None:
    c = FakeClient()
    await c.create(PODS, "a", pod("p1", {"app": "web", "tier": "fe"}, node="n1"))
    await c.create(PODS, "a", pod("p2", {"app": "db"}))
    await c.create(PODS, "b", pod("p3", {"app": "web"}))

    async def names(**kw: str) -> list[str]:
        return [p["metadata"]["name"] for p in (await c.list(PODS, **kw))["items"]]

    assert await names(label_selector="app=web") == ["p1", "p3"]
    assert await names(label_selector="app in (web,db),!tier") == ["p2", "p3"]
    assert await names(label_selector="app!=web") == ["p2"]
    assert await names(field_selector="spec.nodeName=n1") == ["p1"]
    assert await names(field_selector="metadata.namespace=b") == ["p3"]


async def next_events(w: object, n: int) -> list[WatchEvent]:
    it = w.__aiter__()  # type: ignore[attr-defined]
    return [await asyncio.wait_for(it.__anext__(), 2) for _ in range(n)]


async def test_watch_from_version_and_selector_transitions() -> None:
    c = FakeClient()
    await c.create(PODS, "a", pod("p1", {"app": "web"}))
    rv = c.resource_version
    w = c.watch(PODS, "a", resource_version=rv, label_selector="app=web")
    await c.create(PODS, "a", pod("p2", {"app": "db"}))  # filtered out
    await c.patch(PODS, "a", "p2", {"metadata": {"labels": {"app": "web"}}})  # enters: ADDED
    await c.patch(PODS, "a", "p1", {"metadata": {"labels": {"app": "db"}}})  # leaves: DELETED
    events = await next_events(w, 2)
    assert [(e.type, e.object["metadata"]["name"]) for e in events] == [("ADDED", "p2"), ("DELETED", "p1")]
    await w.close()


async def test_watch_from_compacted_version_is_gone() -> None:
    c = FakeClient()
    await c.create(PODS, "a", pod("p1"))
    old = c.resource_version
    await c.create(PODS, "a", pod("p2"))
    c.compact()
    w = c.watch(PODS, resource_version=old)
    with pytest.raises(StatusError) as exc:
        await next_events(w, 1)
    assert exc.value.code == 410


async def test_fail_next_injects_one_error() -> None:
    c = FakeClient()
    c.fail_next("create", "pods", errors.internal_error("boom"))
    with pytest.raises(StatusError):
        await c.create(PODS, "a", pod("p1"))
    assert (await c.create(PODS, "a", pod("p1")))["metadata"]["name"] == "p1"
