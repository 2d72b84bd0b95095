"""ReplicaSet controller: Kubernetes' deletion ranking, slow start, status; the loop against FakeClient."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import pytest

from podnet.api import errors
from podnet.api.scheme import lookup_plural
from podnet.client.fake import FakeClient
from podnet.controllers.config import ControllerConfig
from podnet.controllers.replicaset.controller import Controller
from podnet.controllers.replicaset.expectations import Expectations
from podnet.controllers.replicaset.ownership import claim
from podnet.controllers.replicaset.selector import selector_is_empty, selector_matches
from podnet.controllers.replicaset.sync import (
    ReplicaPlan,
    available_requeue_after,
    calculate_status,
    new_pod,
    plan_replicas,
    pods_to_delete,
    slow_start_batches,
)
from tests.unit.controllers.fixtures import until

PODS, RS = lookup_plural("pods"), lookup_plural("replicasets")
assert PODS and RS
T0 = 1_700_000_000.0


def ts(t: float) -> str:
    import datetime as dt

    return dt.datetime.fromtimestamp(t, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def rs_obj(name: str = "web", replicas: int = 3, labels: dict[str, str] | None = None, **spec: Any) -> dict:
    labels = labels or {"app": name}
    return {
        "apiVersion": "apps/v1",
        "kind": "ReplicaSet",
        "metadata": {"name": name, "namespace": "default", "uid": f"uid-{name}", "generation": 2},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels, "annotations": {"a": "b"}},
                "spec": {"containers": [{"name": "c", "image": "nginx"}]},
            },
            **spec,
        },
    }


def pod_obj(
    name: str,
    node: str = "",
    phase: str = "Pending",
    ready_at: float | None = None,
    created: float = T0,
    restarts: int = 0,
    labels: dict[str, str] | None = None,
    owner: str | None = None,
) -> dict:
    conds = [{"type": "Ready", "status": "True", "lastTransitionTime": ts(ready_at)}] if ready_at else []
    meta: dict = {
        "name": name,
        "namespace": "default",
        "uid": f"uid-{name}",
        "labels": labels if labels is not None else {"app": "web"},
        "creationTimestamp": ts(created),
    }
    if owner:
        meta["ownerReferences"] = [
            {
                "apiVersion": "apps/v1",
                "kind": "ReplicaSet",
                "name": owner,
                "uid": f"uid-{owner}",
                "controller": True,
            }
        ]
    return {
        "metadata": meta,
        "spec": {"nodeName": node} if node else {},
        "status": {
            "phase": phase,
            "conditions": conds,
            "containerStatuses": [{"name": "c", "restartCount": restarts}],
        },
    }


# ---------------------------------------------------------------- pure functions


@pytest.mark.parametrize(
    ("pods", "count", "want"),
    [
        # Kubernetes' TestSortingActivePods order: unscheduled, pending, unknown, running-unready, ready.
        (
            [
                pod_obj("ready", "n1", "Running", ready_at=T0),
                pod_obj("unready", "n1", "Running"),
                pod_obj("unknown", "n1", "Unknown"),
                pod_obj("pending", "n1", "Pending"),
                pod_obj("unscheduled"),
            ],
            5,
            ["unscheduled", "pending", "unknown", "unready", "ready"],
        ),
        # Among ready pods: doubled-up node first, then ready more recently, then more restarts, then newer.
        (
            [
                pod_obj("alone-old", "n1", "Running", ready_at=T0),
                pod_obj("double-a", "n2", "Running", ready_at=T0),
                pod_obj("double-b", "n2", "Running", ready_at=T0 + 5),
            ],
            2,
            ["double-b", "double-a"],
        ),
        (
            [
                pod_obj("a", "n1", "Running", ready_at=T0, restarts=0),
                pod_obj("b", "n2", "Running", ready_at=T0, restarts=3),
                pod_obj("c", "n3", "Running", ready_at=T0 + 9),
            ],
            3,
            ["c", "b", "a"],
        ),
        (
            [pod_obj("old", "n1", "Running", created=T0), pod_obj("new", "n2", "Running", created=T0 + 60)],
            1,
            ["new"],
        ),
    ],
)
def test_pods_to_delete_follows_kubernetes_ranking(pods: list[dict], count: int, want: list[str]) -> None:
    assert [p["metadata"]["name"] for p in pods_to_delete(pods, count)] == want


def test_deletion_cost_annotation_ranks_cheap_pods_first() -> None:
    cheap = pod_obj("cheap", "n1", "Running", ready_at=T0)
    dear = pod_obj("dear", "n2", "Running", ready_at=T0 + 50)
    dear["metadata"]["annotations"] = {"controller.kubernetes.io/pod-deletion-cost": "100"}
    assert [p["metadata"]["name"] for p in pods_to_delete([dear, cheap], 1)] == ["cheap"]


@pytest.mark.parametrize(
    ("count", "batches"),
    [(0, []), (1, [1]), (2, [1, 1]), (3, [1, 2]), (7, [1, 2, 4]), (10, [1, 2, 4, 3]), (16, [1, 2, 4, 8, 1])],
)
def test_slow_start_batches(count: int, batches: list[int]) -> None:
    assert slow_start_batches(count) == batches


def test_plan_replicas_creates_deletes_and_caps_at_burst() -> None:
    active = [pod_obj(f"p{i}", "n1", "Running", created=T0 + i) for i in range(4)]
    assert plan_replicas(rs_obj(replicas=6), active).create == 2
    assert plan_replicas(rs_obj(replicas=1000), active, burst=500).create == 500
    plan = plan_replicas(rs_obj(replicas=2), active)
    assert plan.create == 0 and [p["metadata"]["name"] for p in plan.delete] == ["p3", "p2"]
    assert plan_replicas(rs_obj(replicas=4), active) == ReplicaPlan()


def test_new_pod_is_controlled_by_the_replicaset() -> None:
    assert new_pod(rs_obj()) == {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "generateName": "web-",
            "namespace": "default",
            "labels": {"app": "web"},
            "annotations": {"a": "b"},
            "ownerReferences": [
                {
                    "apiVersion": "apps/v1",
                    "kind": "ReplicaSet",
                    "name": "web",
                    "uid": "uid-web",
                    "controller": True,
                    "blockOwnerDeletion": True,
                }
            ],
        },
        "spec": {"containers": [{"name": "c", "image": "nginx"}]},
    }


def test_status_counts_ready_available_and_fully_labeled() -> None:
    rs = rs_obj(replicas=3, minReadySeconds=10)
    rs["spec"]["template"]["metadata"]["labels"] = {"app": "web", "tier": "fe"}
    pods = [
        pod_obj("long-ready", "n1", "Running", ready_at=T0 - 60, labels={"app": "web", "tier": "fe"}),
        pod_obj("just-ready", "n1", "Running", ready_at=T0 - 5),
        pod_obj("starting", "n1", "Running"),
    ]
    assert calculate_status(rs, pods, now=T0) == {
        "replicas": 3,
        "fullyLabeledReplicas": 1,
        "readyReplicas": 2,
        "availableReplicas": 1,
        "observedGeneration": 2,
    }


def test_requeue_when_the_next_ready_pod_turns_available() -> None:
    pods = [
        pod_obj("available", "n1", "Running", ready_at=T0 - 60),
        pod_obj("soon", "n1", "Running", ready_at=T0 - 4),
        pod_obj("later", "n1", "Running", ready_at=T0 - 1),
        pod_obj("unready", "n1", "Running"),
    ]
    assert available_requeue_after(rs_obj(minReadySeconds=10), pods, now=T0) == 6
    assert available_requeue_after(rs_obj(minReadySeconds=10), pods[:1], now=T0) is None
    assert available_requeue_after(rs_obj(), pods, now=T0) is None


@pytest.mark.parametrize(
    ("selector", "labels", "want"),
    [
        ({"matchLabels": {"app": "web"}}, {"app": "web", "x": "y"}, True),
        ({"matchLabels": {"app": "web"}}, {"app": "db"}, False),
        (
            {"matchExpressions": [{"key": "tier", "operator": "In", "values": ["fe", "be"]}]},
            {"tier": "be"},
            True,
        ),
        ({"matchExpressions": [{"key": "tier", "operator": "NotIn", "values": ["fe"]}]}, {}, True),
        ({"matchExpressions": [{"key": "tier", "operator": "Exists"}]}, {"app": "x"}, False),
        ({"matchExpressions": [{"key": "tier", "operator": "DoesNotExist"}]}, {"app": "x"}, True),
        ({"matchExpressions": [{"key": "tier", "operator": "Bogus"}]}, {"tier": "x"}, False),
        ({}, {"anything": "x"}, True),
        (None, {"anything": "x"}, False),
    ],
)
def test_selector_matches(selector: dict | None, labels: dict, want: bool) -> None:
    assert selector_matches(selector, labels) is want


def test_empty_selectors_are_never_acted_on() -> None:
    assert selector_is_empty(None) and selector_is_empty({}) and selector_is_empty({"matchLabels": {}})
    assert not selector_is_empty({"matchExpressions": [{"key": "a", "operator": "Exists"}]})


def test_claim_adopts_orphans_releases_mismatches_and_leaves_others() -> None:
    rs = rs_obj()
    pods = [
        pod_obj("mine", owner="web"),
        pod_obj("mine-relabeled", owner="web", labels={"app": "other"}),
        pod_obj("orphan"),
        pod_obj("orphan-nomatch", labels={"app": "other"}),
        pod_obj("someone-elses", owner="db"),
    ]
    out = claim(rs, pods, lambda p: selector_matches(rs["spec"]["selector"], p["metadata"]["labels"]))
    names = lambda objs: [o["metadata"]["name"] for o in objs]  # noqa: E731
    assert (names(out.owned), names(out.adopt), names(out.release)) == (
        ["mine"],
        ["orphan"],
        ["mine-relabeled"],
    )
    rs["metadata"]["deletionTimestamp"] = ts(T0)
    out = claim(rs, pods, lambda p: selector_matches(rs["spec"]["selector"], p["metadata"]["labels"]))
    assert (names(out.owned), names(out.adopt), names(out.release)) == (["mine"], [], [])


def test_expectations_wait_for_observations_or_expire() -> None:
    now = [0.0]
    exp = Expectations(lambda: now[0], ttl=300)
    exp.expect_creations("ns/a", 2)
    exp.creation_observed("ns/a")
    assert not exp.satisfied("ns/a")
    exp.creation_observed("ns/a")
    assert exp.satisfied("ns/a")
    exp.expect_deletions("ns/a", ["u1"])
    assert not exp.satisfied("ns/a")
    now[0] = 301
    assert exp.satisfied("ns/a")


# ---------------------------------------------------------------- the controller against FakeClient


@contextlib.asynccontextmanager
async def running(client: FakeClient) -> AsyncIterator[Controller]:
    ctrl = Controller(client, ControllerConfig(clock=client.clock))
    task = asyncio.ensure_future(ctrl.run(2))
    try:
        yield ctrl
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


def rs_pods(c: FakeClient, rs: str = "web") -> list[dict]:
    return [
        p
        for p in c.objects(PODS, "default")
        if any(
            r.get("name") == rs and r.get("controller") for r in p["metadata"].get("ownerReferences") or []
        )
        and not p["metadata"].get("deletionTimestamp")
    ]


async def make_ready(c: FakeClient, pod: dict, at: float) -> None:
    status = {
        "phase": "Running",
        "conditions": [{"type": "Ready", "status": "True", "lastTransitionTime": ts(at)}],
    }
    await c.patch(PODS, "default", pod["metadata"]["name"], {"status": status}, "merge", "status")


def rs_status(c: FakeClient, name: str = "web") -> dict:
    return next(r for r in c.objects(RS, "default") if r["metadata"]["name"] == name).get("status") or {}


async def test_creates_pods_reports_status_and_scales_down() -> None:
    c = FakeClient(clock=lambda: T0)
    async with running(c):
        body = rs_obj(replicas=3)
        del body["metadata"]["uid"]
        await c.create(RS, "default", body)
        await until(lambda: len(rs_pods(c)) == 3, what="3 pods")
        for p in rs_pods(c):
            assert p["metadata"]["name"].startswith("web-") and p["metadata"]["labels"] == {"app": "web"}
        for p in rs_pods(c):
            await make_ready(c, p, T0)
        await until(
            lambda: (
                rs_status(c)
                == {
                    "replicas": 3,
                    "fullyLabeledReplicas": 3,
                    "readyReplicas": 3,
                    "availableReplicas": 3,
                    "observedGeneration": 1,
                }
            ),
            what="status of 3 ready pods",
        )
        await c.patch(RS, "default", "web", {"spec": {"replicas": 1}})
        await until(lambda: len(rs_pods(c)) == 1 and rs_status(c).get("replicas") == 1, what="scaled to 1")
        assert rs_status(c)["observedGeneration"] == 2
        # It settles: no extra pods are created behind the cache's back.
        await until(lambda: len(c.objects(PODS, "default")) == 1, what="surplus pods gone")


async def test_recreates_a_deleted_pod_and_ignores_terminating_ones() -> None:
    c = FakeClient(clock=lambda: T0)
    async with running(c):
        await c.create(RS, "default", rs_obj(replicas=2))
        await until(lambda: len(rs_pods(c)) == 2, what="2 pods")
        victim = rs_pods(c)[0]["metadata"]["name"]
        # A pod on a node deletes gracefully: it stays with a deletionTimestamp, and is replaced at once.
        await c.patch(PODS, "default", victim, {"spec": {"nodeName": "node-1"}})
        await c.delete(PODS, "default", victim)
        await until(
            lambda: len(rs_pods(c)) == 2 and victim not in {p["metadata"]["name"] for p in rs_pods(c)},
            what="replacement pod",
        )
        assert len(c.objects(PODS, "default")) == 3  # the terminating one is still there


async def test_adopts_orphans_and_releases_relabeled_pods() -> None:
    c = FakeClient(clock=lambda: T0)
    orphan = await c.create(
        PODS, "default", {"metadata": {"name": "orphan", "labels": {"app": "web"}}, "spec": {}}
    )
    async with running(c):
        rs = await c.create(RS, "default", rs_obj(replicas=2))
        await until(lambda: len(rs_pods(c)) == 2, what="orphan adopted plus one new pod")
        got = {p["metadata"]["name"]: p for p in rs_pods(c)}
        assert "orphan" in got
        assert got["orphan"]["metadata"]["ownerReferences"] == [
            {
                "apiVersion": "apps/v1",
                "kind": "ReplicaSet",
                "name": "web",
                "uid": rs["metadata"]["uid"],
                "controller": True,
                "blockOwnerDeletion": True,
            }
        ]
        assert got["orphan"]["metadata"]["uid"] == orphan["metadata"]["uid"]
        # Relabel it: the RS lets it go and makes a replacement.
        await c.patch(PODS, "default", "orphan", {"metadata": {"labels": {"app": "debug"}}})
        await until(
            lambda: len(rs_pods(c)) == 2 and "orphan" not in {p["metadata"]["name"] for p in rs_pods(c)},
            what="released and replaced",
        )
        released = next(p for p in c.objects(PODS, "default") if p["metadata"]["name"] == "orphan")
        assert "ownerReferences" not in released["metadata"]


async def test_create_failure_sets_replica_failure_and_retries() -> None:
    c = FakeClient(clock=lambda: T0)
    c.fail_next(
        "create", "pods", errors.StatusError(403, "Forbidden", 'pods "x" is forbidden: exceeded quota')
    )
    async with running(c):
        await c.create(RS, "default", rs_obj(replicas=2))
        await until(lambda: len(rs_pods(c)) == 2, what="2 pods after retry")
        await until(
            lambda: "conditions" not in rs_status(c) and rs_status(c).get("replicas") == 2,
            what="failure condition cleared",
        )
    events = [(e["reason"], e["message"]) for e in c.objects(lookup_plural("events"), "default")]
    assert ("FailedCreate", 'Error creating: pods "x" is forbidden: exceeded quota') in events
    assert sum(1 for reason, _ in events if reason == "SuccessfulCreate") == 2
