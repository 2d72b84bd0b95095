"""Namespace controller: deletion conditions, and a terminating namespace emptied and finalized on FakeClient."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass

from podnet.api.errors import StatusError
from podnet.api.scheme import lookup_plural
from podnet.client.fake import FakeClient
from podnet.controllers.namespace.controller import Controller
from podnet.controllers.namespace.deletion import (
    Remaining,
    content_resources,
    deletion_conditions,
    with_transition_times,
    without_finalizer,
)
from tests.unit.controllers.fixtures import until

NS, PODS, CM, DEPLOY, SVC, NODES = (
    lookup_plural(p) for p in ("namespaces", "pods", "configmaps", "deployments", "services", "nodes")
)
assert NS and PODS and CM and DEPLOY and SVC and NODES
T0 = 1_700_000_000.0


def summary(conds: list[dict]) -> dict[str, tuple[str, str, str]]:
    return {c["type"]: (c["status"], c["reason"], c["message"]) for c in conds}


def test_conditions_when_everything_is_gone() -> None:
    assert summary(deletion_conditions(Remaining())) == {
        "NamespaceDeletionDiscoveryFailure": (
            "False",
            "ResourcesDiscovered",
            "All resources successfully discovered",
        ),
        "NamespaceDeletionGroupVersionParsingFailure": (
            "False",
            "ParsedGroupVersions",
            "All legacy kube types successfully parsed",
        ),
        "NamespaceDeletionContentFailure": (
            "False",
            "ContentDeleted",
            "All content successfully deleted, may be waiting on finalization",
        ),
        "NamespaceContentRemaining": ("False", "ContentRemoved", "All content successfully removed"),
        "NamespaceFinalizersRemaining": (
            "False",
            "ContentHasNoFinalizers",
            "All content-preserving finalizers finished",
        ),
    }


def test_conditions_name_what_remains_and_why() -> None:
    r = Remaining()
    r.add(PODS, {"metadata": {"name": "a"}})
    r.add(PODS, {"metadata": {"name": "b"}})
    r.add(DEPLOY, {"metadata": {"name": "d", "finalizers": ["example.com/hold", "foregroundDeletion"]}})
    r.failures.append("configmaps/x: boom")
    got = summary(deletion_conditions(r))
    assert got["NamespaceContentRemaining"] == (
        "True",
        "SomeResourcesRemain",
        "Some resources are remaining: deployments.apps has 1 resource instances, pods has 2 resource instances",
    )
    assert got["NamespaceFinalizersRemaining"] == (
        "True",
        "SomeFinalizersRemain",
        "Some content in the namespace has finalizers remaining: example.com/hold in 1 resource instances, "
        "foregroundDeletion in 1 resource instances",
    )
    assert got["NamespaceDeletionContentFailure"] == (
        "True",
        "ContentDeletionFailed",
        "Failed to delete all resource types, 1 remaining: configmaps/x: boom",
    )


def test_transition_times_survive_unchanged_status() -> None:
    old = with_transition_times(deletion_conditions(Remaining()), [], "t1")
    r = Remaining()
    r.add(PODS, {"metadata": {"name": "a"}})
    new = {
        c["type"]: c["lastTransitionTime"] for c in with_transition_times(deletion_conditions(r), old, "t2")
    }
    assert new["NamespaceContentRemaining"] == "t2" and new["NamespaceDeletionDiscoveryFailure"] == "t1"


def test_content_is_every_namespaced_kind_and_finalize_body() -> None:
    kinds = {r.kind for r in content_resources()}
    assert {
        "Pod",
        "Service",
        "Deployment",
        "ReplicaSet",
        "ConfigMap",
        "Secret",
        "EndpointSlice",
        "Event",
    } <= kinds
    assert not kinds & {"Namespace", "Node", "IngressClass"}
    ns = {"metadata": {"name": "x"}, "spec": {"finalizers": ["kubernetes", "other"]}}
    assert without_finalizer(ns)["spec"]["finalizers"] == ["other"]


# ---------------------------------------------------------------- the controller on FakeClient


@dataclass
class Config:
    clock: object
    namespace_content_poll: float = 0.01


@contextlib.asynccontextmanager
async def controller(c: FakeClient) -> AsyncIterator[Controller]:
    ctrl = Controller(c, Config(clock=c.clock))
    task = asyncio.ensure_future(ctrl.run(1))
    try:
        yield ctrl
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def fill(c: FakeClient, ns: str) -> None:
    await c.create(NS, None, {"metadata": {"name": ns}})
    await c.create(CM, ns, {"metadata": {"name": "cfg"}})
    await c.create(SVC, ns, {"metadata": {"name": "web"}, "spec": {}})
    await c.create(DEPLOY, ns, {"metadata": {"name": "web"}, "spec": {}})
    await c.create(PODS, ns, {"metadata": {"name": "loose"}, "spec": {}})
    await c.create(PODS, ns, {"metadata": {"name": "running"}, "spec": {"nodeName": "node-1"}})


def content(c: FakeClient, ns: str) -> list[str]:
    return sorted(
        f"{r.plural}/{o['metadata']['name']}" for r in content_resources() for o in c.objects(r, ns)
    )


def namespaces(c: FakeClient) -> list[str]:
    return [n["metadata"]["name"] for n in c.objects(NS)]


async def test_terminating_namespace_is_emptied_then_finalized() -> None:
    c = FakeClient(clock=lambda: T0)
    await fill(c, "doomed")
    await fill(c, "keep")
    async with controller(c):
        await c.delete(NS, None, "doomed")
        # Everything goes at once except the pod in its grace period on a node.
        await until(lambda: content(c, "doomed") == ["pods/running"], what="content deleted")

        def remaining_condition() -> object:
            ns = next((n for n in c.objects(NS) if n["metadata"]["name"] == "doomed"), None)
            conds = summary((ns or {}).get("status", {}).get("conditions") or [])
            return conds.get("NamespaceContentRemaining")

        await until(
            lambda: (
                remaining_condition()
                == (
                    "True",
                    "SomeResourcesRemain",
                    "Some resources are remaining: pods has 1 resource instances",
                )
            ),
            what="remaining condition",
        )
        assert "doomed" in namespaces(c)
        await c.delete(PODS, "doomed", "running", grace_period_seconds=0)  # the kubelet finishes it
        await until(lambda: namespaces(c) == ["keep"], what="namespace finalized and removed")
    assert ("update", "namespaces/finalize", "", "doomed") in c.actions
    assert content(c, "keep") == [
        "configmaps/cfg",
        "deployments/web",
        "pods/loose",
        "pods/running",
        "services/web",
    ]


async def test_failures_are_retried_until_the_namespace_goes() -> None:
    c = FakeClient(clock=lambda: T0)
    await fill(c, "doomed")
    c.fail_next("delete", "configmaps", StatusError(500, "InternalError", "etcd is sad"))
    async with controller(c):
        await c.delete(NS, None, "doomed")
        await c.delete(PODS, "doomed", "running", grace_period_seconds=0)
        await until(lambda: namespaces(c) == [], what="namespace removed after a retry")
    deletes = [a for a in c.actions if a[:2] == ("delete", "configmaps")]
    assert len(deletes) == 2
