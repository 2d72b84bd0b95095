"""Garbage collector: the per-object decision table, and background/foreground/orphan deletion on FakeClient."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import pytest

from podnet.api.scheme import lookup_plural
from podnet.client.fake import FakeClient
from podnet.controllers.gc.controller import Controller
from podnet.controllers.gc.graph import (
    Delete,
    Keep,
    OwnerState,
    RemoveRefs,
    blocking_dependents,
    decide,
    owner_namespace,
    owner_state,
    resource_for_ref,
)
from tests.unit.controllers.fixtures import until

PODS, RS, DEPLOY, CM, NODES = (
    lookup_plural(p) for p in ("pods", "replicasets", "deployments", "configmaps", "nodes")
)
assert PODS and RS and DEPLOY and CM and NODES


def ref(
    name: str, uid: str, kind: str = "ReplicaSet", api_version: str = "apps/v1", block: bool = True
) -> dict:
    return {
        "apiVersion": api_version,
        "kind": kind,
        "name": name,
        "uid": uid,
        "controller": True,
        "blockOwnerDeletion": block,
    }


def obj(name: str, *refs: dict, finalizers: list[str] | None = None, deleting: bool = False) -> dict:
    meta: dict = {"name": name, "namespace": "default", "uid": f"uid-{name}", "ownerReferences": list(refs)}
    if finalizers:
        meta["finalizers"] = finalizers
    if deleting:
        meta["deletionTimestamp"] = "2024-01-01T00:00:00Z"
    return {"metadata": meta}


# ---------------------------------------------------------------- pure decisions


def test_owner_state() -> None:
    r = ref("web", "uid-web")
    assert owner_state(r, None) == "dangling"
    assert owner_state(r, obj("web") | {"metadata": {"name": "web", "uid": "other"}}) == "dangling"
    assert owner_state(r, obj("web")) == "solid"
    assert owner_state(r, obj("web", finalizers=["foregroundDeletion"], deleting=True)) == "waiting"
    assert owner_state(r, obj("web", finalizers=["orphan"], deleting=True)) == "solid"


A, B = ref("a", "uid-a"), ref("b", "uid-b")


@pytest.mark.parametrize(
    ("dependent", "states", "has_deps", "want"),
    [
        (obj("x", A), [(A, "solid")], False, Keep()),
        (obj("x", A, B), [(A, "solid"), (B, "dangling")], False, RemoveRefs(("uid-b",))),
        (obj("x", A, B), [(A, "solid"), (B, "waiting")], False, RemoveRefs(("uid-b",))),
        (obj("x", A), [(A, "dangling")], False, Delete("Background")),
        (obj("x", A), [(A, "waiting")], False, Delete("Background")),
        (obj("x", A), [(A, "waiting")], True, Delete("Foreground")),  # the wait chains down
        (obj("x", A), [(A, "dangling")], True, Delete("Background")),
        (obj("x", A, finalizers=["orphan"]), [(A, "dangling")], False, Delete("Orphan")),
        (obj("x", A, finalizers=["foregroundDeletion"]), [(A, "dangling")], False, Delete("Foreground")),
        (obj("x"), [], False, Keep()),
    ],
)
def test_decide(dependent: dict, states: list[tuple[dict, OwnerState]], has_deps: bool, want: object) -> None:
    assert decide(dependent, states, has_deps) == want


def test_blocking_dependents_and_lookups() -> None:
    owner = obj("a")
    deps = [obj("p1", A), obj("p2", ref("a", "uid-a", block=False)), obj("p3", B)]
    assert [d["metadata"]["name"] for d in blocking_dependents(owner, deps)] == ["p1"]
    assert resource_for_ref(ref("w", "u", "Deployment", "apps/v1beta2")) == DEPLOY  # versions may differ
    assert resource_for_ref(ref("n", "u", "Node", "v1")) == NODES
    assert resource_for_ref(ref("x", "u", "Widget", "example.com/v1")) is None
    assert owner_namespace(obj("p"), RS) == (True, "default")
    assert owner_namespace(obj("p"), NODES) == (True, None)
    assert owner_namespace({"metadata": {"name": "n"}}, RS) == (False, None)


# ---------------------------------------------------------------- the collector on FakeClient


@contextlib.asynccontextmanager
async def collector(c: FakeClient) -> AsyncIterator[Controller]:
    gc = Controller(c, None)
    task = asyncio.ensure_future(gc.run(2))
    try:
        yield gc
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def make_rs_with_pods(
    c: FakeClient, name: str = "web", pods: int = 2, node: str = ""
) -> tuple[dict, list[str]]:
    rs = await c.create(RS, "default", {"metadata": {"name": name}, "spec": {"replicas": pods}})
    names = []
    for i in range(pods):
        spec = {"nodeName": node} if node else {}
        body = {
            "metadata": {"name": f"{name}-{i}", "ownerReferences": [ref(name, rs["metadata"]["uid"])]},
            "spec": spec,
        }
        names.append((await c.create(PODS, "default", body))["metadata"]["name"])
    return rs, names


def names(c: FakeClient, res: object) -> list[str]:
    return [o["metadata"]["name"] for o in c.objects(res, "default")]  # type: ignore[arg-type]


async def test_background_deletes_dependents_of_a_deleted_owner_through_a_chain() -> None:
    c = FakeClient()
    d = await c.create(DEPLOY, "default", {"metadata": {"name": "app"}, "spec": {}})
    rs = await c.create(
        RS,
        "default",
        {"metadata": {"name": "app-1", "ownerReferences": [ref("app", d["metadata"]["uid"], "Deployment")]}},
    )
    await c.create(
        PODS,
        "default",
        {"metadata": {"name": "app-1-x", "ownerReferences": [ref("app-1", rs["metadata"]["uid"])]}},
    )
    await make_rs_with_pods(c, "keep", 1)
    async with collector(c):
        await c.delete(DEPLOY, "default", "app", propagation_policy="Background")
        await until(lambda: names(c, PODS) == ["keep-0"] and names(c, RS) == ["keep"], what="chain collected")


async def test_owner_recreated_with_another_uid_counts_as_gone() -> None:
    c = FakeClient()
    await c.create(RS, "default", {"metadata": {"name": "web"}})
    await c.create(
        PODS,
        "default",
        {"metadata": {"name": "stale", "ownerReferences": [ref("web", "uid-of-an-older-web")]}},
    )
    async with collector(c):
        await until(lambda: names(c, PODS) == [], what="pod of the old owner deleted")
    assert names(c, RS) == ["web"]


async def test_foreground_waits_for_blocking_dependents_then_removes_finalizer() -> None:
    c = FakeClient()
    _, pods = await make_rs_with_pods(c, "web", 2, node="node-1")  # pods on a node delete gracefully
    async with collector(c):
        out = await c.delete(RS, "default", "web", propagation_policy="Foreground")
        assert out is not None and out["metadata"]["finalizers"] == ["foregroundDeletion"]

        def all_terminating() -> bool:
            return all(p["metadata"].get("deletionTimestamp") for p in c.objects(PODS, "default"))

        await until(all_terminating, what="GC deleted the pods")
        assert names(c, RS) == ["web"]  # still waiting for its pods to actually go
        for p in pods:  # the kubelet finishes them
            await c.delete(PODS, "default", p, grace_period_seconds=0)
        await until(lambda: names(c, RS) == [], what="owner gone after its dependents")


async def test_orphan_propagation_strips_owner_references_and_keeps_dependents() -> None:
    c = FakeClient()
    rs, pods = await make_rs_with_pods(c, "web", 2)
    other = await c.create(CM, "default", {"metadata": {"name": "other"}})
    shared = [ref("web", rs["metadata"]["uid"]), ref("other", other["metadata"]["uid"], "ConfigMap", "v1")]
    await c.create(CM, "default", {"metadata": {"name": "shared", "ownerReferences": shared}})
    async with collector(c):
        await c.delete(RS, "default", "web", propagation_policy="Orphan")
        await until(lambda: names(c, RS) == [], what="orphaned owner gone")
    assert names(c, PODS) == pods
    assert all("ownerReferences" not in p["metadata"] for p in c.objects(PODS, "default"))
    kept = {o["metadata"]["name"]: o for o in c.objects(CM, "default")}["shared"]
    assert kept["metadata"]["ownerReferences"] == [shared[1]]


async def test_dependent_with_one_live_owner_loses_only_the_dangling_reference() -> None:
    c = FakeClient()
    live = await c.create(CM, "default", {"metadata": {"name": "live"}})
    refs = [
        ref("live", live["metadata"]["uid"], "ConfigMap", "v1"),
        ref("gone", "uid-gone", "ConfigMap", "v1"),
    ]
    await c.create(CM, "default", {"metadata": {"name": "dep", "ownerReferences": refs}})
    async with collector(c):
        await until(
            lambda: (
                {o["metadata"]["name"]: o for o in c.objects(CM, "default")}["dep"]["metadata"].get(
                    "ownerReferences"
                )
                == [refs[0]]
            ),
            what="dangling reference removed",
        )


async def test_owner_missing_from_cache_is_read_live_before_deleting() -> None:
    c = FakeClient()
    _, pods = await make_rs_with_pods(c, "web", 1)
    gc = Controller(c, None)  # never started: its caches are empty, as right after a create
    pod = c.objects(PODS, "default")[0]
    await gc._collect(PODS, pod)
    assert names(c, PODS) == pods
    assert ("get", "replicasets", "default", "web") in c.actions


async def test_foreground_deletion_chains_through_a_deployment() -> None:
    c = FakeClient()
    d = await c.create(DEPLOY, "default", {"metadata": {"name": "app"}, "spec": {}})
    rs = await c.create(
        RS,
        "default",
        {"metadata": {"name": "app-1", "ownerReferences": [ref("app", d["metadata"]["uid"], "Deployment")]}},
    )
    pod = {
        "metadata": {"name": "app-1-x", "ownerReferences": [ref("app-1", rs["metadata"]["uid"])]},
        "spec": {"nodeName": "n"},
    }
    await c.create(PODS, "default", pod)
    async with collector(c):
        await c.delete(DEPLOY, "default", "app", propagation_policy="Foreground")

        def rs_waits_for_pod() -> bool:
            rss = c.objects(RS, "default")
            return bool(rss) and rss[0]["metadata"].get("finalizers") == ["foregroundDeletion"]

        await until(rs_waits_for_pod, what="the ReplicaSet deleted in the foreground as well")
        await until(
            lambda: all(p["metadata"].get("deletionTimestamp") for p in c.objects(PODS, "default")),
            what="pod deleted",
        )
        assert names(c, DEPLOY) == ["app"] and names(c, RS) == ["app-1"]
        await c.delete(PODS, "default", "app-1-x", grace_period_seconds=0)
        await until(lambda: names(c, DEPLOY) == [] and names(c, RS) == [], what="whole chain gone, bottom up")
