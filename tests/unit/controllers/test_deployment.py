"""Deployment controller: hash, surge/unavailable arithmetic, rollout steps, status; full rollouts on FakeClient."""

from __future__ import annotations

import asyncio
import contextlib
import copy
from collections.abc import AsyncIterator
from typing import Any

import pytest

from podnet.api.scheme import lookup_plural
from podnet.client.fake import FakeClient
from podnet.client.informer import InformerFactory
from podnet.controllers.config import ControllerConfig
from podnet.controllers.deployment import rollout, status
from podnet.controllers.deployment.controller import Controller as DeploymentController
from podnet.controllers.deployment.hash import compute_hash, equal_ignore_hash, fnv32a, safe_encode
from podnet.controllers.deployment.replicasets import new_replicaset, set_new_rs_annotations
from podnet.controllers.replicaset.controller import Controller as ReplicaSetController
from tests.unit.controllers.fixtures import until

PODS, RS, DEPLOY = lookup_plural("pods"), lookup_plural("replicasets"), lookup_plural("deployments")
assert PODS and RS and DEPLOY
T0 = 1_700_000_000.0


def ts(t: float) -> str:
    import datetime as dt

    return dt.datetime.fromtimestamp(t, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def deploy(
    replicas: int = 3,
    image: str = "nginx:1",
    surge: int | str | None = None,
    unavailable: int | str | None = None,
    strategy: str = "RollingUpdate",
    **spec: Any,
) -> dict:
    strat: dict = {"type": strategy}
    if strategy == "RollingUpdate" and (surge is not None or unavailable is not None):
        strat["rollingUpdate"] = {"maxSurge": surge, "maxUnavailable": unavailable}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "default", "uid": "uid-web", "generation": 1},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": "web"}},
            "strategy": strat,
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {"containers": [{"name": "c", "image": image}]},
            },
            **spec,
        },
    }


def rs(
    name: str, replicas: int, available: int | None = None, created: float = T0, **annotations: str
) -> dict:
    available = replicas if available is None else available
    return {
        "metadata": {"name": name, "creationTimestamp": ts(created), "annotations": dict(annotations)},
        "spec": {"replicas": replicas},
        "status": {"replicas": replicas, "availableReplicas": available, "readyReplicas": available},
    }


# ---------------------------------------------------------------- hash


def test_fnv32a_matches_reference_vectors() -> None:
    assert [fnv32a(s) for s in (b"", b"a", b"foobar")] == [0x811C9DC5, 0xE40C292C, 0xBF9CF968]


def test_safe_encode_maps_each_digit_into_the_alphabet() -> None:
    assert safe_encode("0123456789") == "456789bcdf"


def test_hash_is_stable_ignores_key_order_and_uses_collision_count() -> None:
    a = deploy()["spec"]["template"]
    b = {"spec": {"containers": [{"image": "nginx:1", "name": "c"}]}, "metadata": {"labels": {"app": "web"}}}
    assert (
        compute_hash(a) == compute_hash(b) == "79bfd649dc"
    )  # golden: names must not change between releases
    assert compute_hash(a, 1) != compute_hash(a) and compute_hash(a, 1) == compute_hash(b, 1)
    assert compute_hash(deploy(image="nginx:2")["spec"]["template"]) != compute_hash(a)
    assert set(compute_hash(a, 7)) <= set("bcdfghjklmnpqrstvwxz2456789")


def test_equal_ignore_hash() -> None:
    a = deploy()["spec"]["template"]
    b = copy.deepcopy(a)
    b["metadata"]["labels"]["pod-template-hash"] = "abc"
    b["spec"]["volumes"] = []  # empty and absent are the same, as in Kubernetes' semantic equality
    assert equal_ignore_hash(a, b)
    b["metadata"]["labels"]["tier"] = "fe"
    assert not equal_ignore_hash(a, b)


# ---------------------------------------------------------------- arithmetic (Kubernetes' TestResolveFenceposts)


@pytest.mark.parametrize(
    ("surge", "unavailable", "desired", "want"),
    [
        ("0%", "0%", 0, (0, 1)),
        ("39%", "39%", 10, (4, 3)),
        (None, "39%", 10, (0, 3)),
        ("39%", None, 10, (4, 0)),
        (None, None, 10, (0, 1)),
        (1, 0, 3, (1, 0)),
        ("25%", "25%", 3, (1, 0)),
        ("25%", "25%", 10, (3, 2)),
    ],
)
def test_resolve_fenceposts(surge: Any, unavailable: Any, desired: int, want: tuple[int, int]) -> None:
    assert rollout.resolve_fenceposts(surge, unavailable, desired) == want


@pytest.mark.parametrize(("surge", "unavailable"), [("oops", "39%"), ("55%", "urg"), ("5", "1")])
def test_resolve_fenceposts_rejects_non_percent_strings(surge: str, unavailable: str) -> None:
    with pytest.raises(ValueError, match="not a percentage"):
        rollout.resolve_fenceposts(surge, unavailable, 10)


def test_defaults_apply_per_field_and_max_unavailable_is_capped() -> None:
    assert (rollout.max_surge(deploy(10)), rollout.max_unavailable(deploy(10))) == (3, 2)
    assert rollout.max_unavailable(deploy(2, surge=0, unavailable=5)) == 2
    assert (rollout.max_surge(deploy(4, strategy="Recreate")), rollout.max_unavailable(deploy(0))) == (0, 0)


@pytest.mark.parametrize(
    ("d", "old", "new", "want"),
    [
        (deploy(10), 10, 0, 3),  # surge 25% of 10 rounds up to 3
        (deploy(10), 10, 3, 3),  # at replicas + surge already
        (deploy(10), 5, 3, 8),  # room for 5, but never beyond replicas
        (deploy(1, surge=1, unavailable=0), 1, 0, 1),
        (deploy(4, strategy="Recreate"), 4, 0, 4),
    ],
)
def test_new_rs_new_replicas(d: dict, old: int, new: int, want: int) -> None:
    olds, new_rs = [rs("old", old)], rs("new", new)
    assert rollout.new_rs_new_replicas(d, [*olds, new_rs], new_rs) == want


@pytest.mark.parametrize(
    ("d", "olds", "new", "want"),
    [
        (deploy(10, surge=0, unavailable=2), [rs("old", 10)], rs("new", 0), {"old": 8}),
        # Unhealthy old pods go first and need no availability budget.
        (deploy(10, surge=0, unavailable=2), [rs("old", 10, available=5)], rs("new", 0), {"old": 8}),
        # maxUnavailable 0: wait for the surge pod to become available.
        (deploy(10, surge=1, unavailable=0), [rs("old", 10)], rs("new", 1, available=0), {}),
        (deploy(10, surge=1, unavailable=0), [rs("old", 10)], rs("new", 1), {"old": 9}),
        # Two old RSes: the oldest shrinks first.
        (
            deploy(4, surge=0, unavailable=2),
            [rs("v2", 2, created=T0 + 10), rs("v1", 2, created=T0)],
            rs("v3", 0, created=T0 + 20),
            {"v1": 0},
        ),
    ],
)
def test_reconcile_old(d: dict, olds: list[dict], new: dict, want: dict) -> None:
    assert rollout.reconcile_old(d, [*olds, new], olds, new) == want


def simulate(d: dict, olds: list[dict], new: dict, ready: bool, steps: int = 20) -> list[tuple[int, ...]]:
    """Run rolling steps with pods that become available at once (or never, for the new RS)."""
    seen = []
    for _ in range(steps):
        scales = rollout.rolling_step(d, new, olds)
        if not scales:
            break
        for r in [*olds, new]:
            if r["metadata"]["name"] in scales:
                r["spec"]["replicas"] = scales[r["metadata"]["name"]]
        for r in olds:
            r["status"]["availableReplicas"] = min(r["status"]["availableReplicas"], r["spec"]["replicas"])
        new["status"]["availableReplicas"] = new["spec"]["replicas"] if ready else 0
        total_available = sum(r["status"]["availableReplicas"] for r in [*olds, new])
        assert total_available >= rollout.spec_replicas(d) - rollout.max_unavailable(d)
        assert sum(r["spec"]["replicas"] for r in [*olds, new]) <= rollout.spec_replicas(
            d
        ) + rollout.max_surge(d)
        seen.append((new["spec"]["replicas"], *(r["spec"]["replicas"] for r in olds)))
    return seen


def test_rolling_update_steps_from_old_to_new_template() -> None:
    d = deploy(4, surge=1, unavailable=1)
    assert simulate(d, [rs("old", 4)], rs("new", 0), ready=True) == [(1, 4), (1, 2), (3, 2), (3, 0), (4, 0)]


def test_rolling_update_stalls_without_losing_availability_when_new_pods_never_ready() -> None:
    d = deploy(4, surge=1, unavailable=1)
    assert simulate(d, [rs("old", 4)], rs("new", 0), ready=False) == [(1, 4), (1, 3), (2, 3)]


# ---------------------------------------------------------------- proportional scaling (Kubernetes' TestScale)


def annotated(name: str, replicas: int, created: float, desired: int, max_replicas: int) -> dict:
    return rs(
        name,
        replicas,
        created=created,
        **{rollout.DESIRED_REPLICAS: str(desired), rollout.MAX_REPLICAS: str(max_replicas)},
    )


@pytest.mark.parametrize(
    ("d", "new", "olds", "want"),
    [
        # proportional scaling: 5 -> 10
        (
            deploy(10, surge=0, unavailable=0),
            annotated("v2", 2, T0 + 9, 5, 5),
            [annotated("v1", 3, T0, 5, 5)],
            {"v2": 4, "v1": 6},
        ),
        # proportional scaling: 5 -> 3
        (
            deploy(3, surge=0, unavailable=0),
            annotated("v2", 2, T0 + 9, 5, 5),
            [annotated("v1", 3, T0, 5, 5)],
            {"v2": 1, "v1": 2},
        ),
        # leftover distribution: 3 -> 4 goes to the newest of equals
        (
            deploy(4, surge=0, unavailable=0),
            annotated("v3", 1, T0 + 9, 3, 3),
            [annotated("v2", 1, T0 + 5, 3, 3), annotated("v1", 1, T0, 3, 3)],
            {"v3": 2, "v2": 1, "v1": 1},
        ),
        # one active RS is simply resized
        (deploy(7), annotated("v2", 3, T0 + 9, 3, 4), [annotated("v1", 0, T0, 3, 4)], {"v2": 7}),
        # stalled rollout 3 -> 6 with surge: 8 pods allowed, split 3:1
        (deploy(6), annotated("v2", 1, T0 + 9, 3, 4), [annotated("v1", 3, T0, 3, 4)], {"v1": 6, "v2": 2}),
    ],
)
def test_scale_step_is_proportional(d: dict, new: dict, olds: list[dict], want: dict) -> None:
    assert rollout.is_scaling_event(d, [*olds, new])
    assert rollout.scale_step(d, new, olds) == want


def test_history_keeps_revision_history_limit_of_empty_old_replicasets() -> None:
    olds = [rs(f"r{i}", 0, **{rollout.REVISION: str(i)}) for i in (3, 1, 2, 4)]
    olds[1]["spec"]["replicas"] = 1  # r1 still scaling down: skipped, and not replaced by a newer one
    names = [r["metadata"]["name"] for r in rollout.history_to_delete(deploy(revisionHistoryLimit=1), olds)]
    assert names == ["r2", "r3"]


def test_new_replicaset_object_and_rollback_revision_history() -> None:
    d = deploy(3)
    d["metadata"]["annotations"] = {"team": "a", "kubectl.kubernetes.io/last-applied-configuration": "{}"}
    new = new_replicaset(d, 1, 5)
    h = compute_hash(d["spec"]["template"])
    assert new["metadata"]["name"] == f"web-{h}"
    assert new["metadata"]["labels"] == {"app": "web", "pod-template-hash": h}
    assert new["spec"]["selector"] == {"matchLabels": {"app": "web", "pod-template-hash": h}}
    assert new["spec"]["template"]["metadata"]["labels"] == {"app": "web", "pod-template-hash": h}
    assert new["metadata"]["annotations"] == {
        "team": "a",
        rollout.REVISION: "5",
        rollout.DESIRED_REPLICAS: "3",
        rollout.MAX_REPLICAS: "4",
    }
    assert new["metadata"]["ownerReferences"][0]["uid"] == "uid-web"
    assert set_new_rs_annotations(d, new, 7, exists=True)
    assert (
        new["metadata"]["annotations"][rollout.REVISION],
        new["metadata"]["annotations"][rollout.REVISION_HISTORY],
    ) == ("7", "5")


# ---------------------------------------------------------------- status


def test_status_and_conditions_follow_kubernetes_wording() -> None:
    d = deploy(3)
    new = rs("web-new", 3, available=1)
    st = status.rollout_status(d, [new], new, T0)
    assert {k: v for k, v in st.items() if k != "conditions"} == {
        "observedGeneration": 1,
        "replicas": 3,
        "updatedReplicas": 3,
        "readyReplicas": 1,
        "availableReplicas": 1,
        "unavailableReplicas": 2,
    }
    conds = {c["type"]: (c["status"], c["reason"], c["message"]) for c in st["conditions"]}
    assert conds == {
        "Available": (
            "False",
            "MinimumReplicasUnavailable",
            "Deployment does not have minimum availability.",
        ),
        "Progressing": ("True", "ReplicaSetUpdated", 'ReplicaSet "web-new" is progressing.'),
    }
    d["status"] = st
    done = status.rollout_status(d, [rs("web-new", 3)], rs("web-new", 3), T0 + 5)
    conds = {c["type"]: (c["status"], c["reason"], c["message"]) for c in done["conditions"]}
    assert conds == {
        "Available": ("True", "MinimumReplicasAvailable", "Deployment has minimum availability."),
        "Progressing": (
            "True",
            "NewReplicaSetAvailable",
            'ReplicaSet "web-new" has successfully progressed.',
        ),
    }
    assert status.deployment_complete(d, done)


def test_progress_deadline_times_out() -> None:
    d = deploy(3, progressDeadlineSeconds=60)
    stuck = rs("web-new", 3, available=1)
    d["status"] = status.rollout_status(d, [stuck], stuck, T0)
    assert status.requeue_for_deadline(d, d["status"], T0 + 10) == 51
    later = status.rollout_status(d, [stuck], stuck, T0 + 61)
    progressing = status.get_condition(later, "Progressing")
    assert progressing is not None
    assert (progressing["status"], progressing["reason"], progressing["message"]) == (
        "False",
        "ProgressDeadlineExceeded",
        'ReplicaSet "web-new" has timed out progressing.',
    )


# ---------------------------------------------------------------- controllers on FakeClient


def rollout_status_message(d: dict) -> tuple[str, bool]:
    """kubectl's DeploymentStatusViewer, to prove `kubectl rollout status` can follow us."""
    st, name, want = d.get("status") or {}, d["metadata"]["name"], d["spec"]["replicas"]
    if d["metadata"].get("generation", 0) > st.get("observedGeneration", 0):
        return "Waiting for deployment spec update to be observed...", False
    if st.get("updatedReplicas", 0) < want:
        return (
            f'Waiting for deployment "{name}" rollout to finish: {st.get("updatedReplicas", 0)} out of {want} new replicas have been updated...',
            False,
        )
    if st.get("replicas", 0) > st.get("updatedReplicas", 0):
        return "old replicas are pending termination", False
    if st.get("availableReplicas", 0) < st.get("updatedReplicas", 0):
        return "updated replicas are available", False
    return f'deployment "{name}" successfully rolled out', True


class Kubelet:
    """Marks pods Ready when their image is healthy, and records how many pods lived at once."""

    def __init__(self, client: FakeClient, healthy: set[str]) -> None:
        self.client, self.healthy = client, healthy
        self.live: dict[str, str] = {}  # pod name -> image
        self.max_live = 0
        self.mixed = False  # pods of two templates alive at once

    async def run(self) -> None:
        watch = self.client.watch(PODS, "default", resource_version=self.client.resource_version)
        async for ev in watch:
            pod, name = ev.object, ev.object["metadata"]["name"]
            image = pod["spec"]["containers"][0]["image"]
            if ev.type == "DELETED":
                self.live.pop(name, None)
                continue
            self.live[name] = image
            self.max_live = max(self.max_live, len(self.live))
            self.mixed = self.mixed or len(set(self.live.values())) > 1
            ready = [c for c in pod["status"].get("conditions") or [] if c["type"] == "Ready"]
            if image in self.healthy and not ready:
                st = {
                    "phase": "Running",
                    "conditions": [{"type": "Ready", "status": "True", "lastTransitionTime": ts(T0)}],
                }
                await self.client.patch(PODS, "default", name, {"status": st}, "merge", "status")


@contextlib.asynccontextmanager
async def cluster(c: FakeClient, healthy: set[str]) -> AsyncIterator[Kubelet]:
    factory = InformerFactory(c)
    cfg = ControllerConfig(clock=c.clock)
    ctrls = [
        ReplicaSetController.from_factory(c, factory, cfg),
        DeploymentController.from_factory(c, factory, cfg),
    ]
    kubelet = Kubelet(c, healthy)
    factory.start()
    tasks = [asyncio.ensure_future(x.run(2)) for x in ctrls] + [asyncio.ensure_future(kubelet.run())]
    try:
        yield kubelet
    finally:
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await factory.stop()


def get_deploy(c: FakeClient) -> dict:
    return next(d for d in c.objects(DEPLOY, "default") if d["metadata"]["name"] == "web")


def replicasets(c: FakeClient) -> dict[str, dict]:
    return {r["metadata"]["name"]: r for r in c.objects(RS, "default")}


def rolled_out(c: FakeClient) -> bool:
    return rollout_status_message(get_deploy(c))[1]


async def test_rolling_update_end_to_end_with_kubectl_rollout_status() -> None:
    c = FakeClient(clock=lambda: T0)
    async with cluster(c, {"nginx:1", "nginx:2"}) as kubelet:
        body = deploy(3)
        del body["metadata"]["uid"], body["metadata"]["generation"]
        await c.create(DEPLOY, "default", body)
        await until(lambda: rolled_out(c), what="first rollout")
        h1 = compute_hash(body["spec"]["template"])
        assert list(replicasets(c)) == [f"web-{h1}"]
        assert get_deploy(c)["metadata"]["annotations"] == {rollout.REVISION: "1"}

        await c.patch(
            DEPLOY,
            "default",
            "web",
            {"spec": {"template": {"spec": {"containers": [{"name": "c", "image": "nginx:2"}]}}}},
        )
        await until(
            lambda: get_deploy(c)["status"].get("observedGeneration") == 2 and rolled_out(c),
            what="second rollout",
        )
        d = get_deploy(c)
        h2 = compute_hash(d["spec"]["template"])
        rss = replicasets(c)
        assert {n: r["spec"]["replicas"] for n, r in rss.items()} == {f"web-{h1}": 0, f"web-{h2}": 3}
        assert rss[f"web-{h2}"]["metadata"]["annotations"][rollout.REVISION] == "2"
        assert d["metadata"]["annotations"][rollout.REVISION] == "2"
        assert {k: v for k, v in d["status"].items() if k != "conditions"} == {
            "observedGeneration": 2,
            "replicas": 3,
            "updatedReplicas": 3,
            "readyReplicas": 3,
            "availableReplicas": 3,
            "unavailableReplicas": 0,
        }
        reasons = {cond["type"]: cond["reason"] for cond in d["status"]["conditions"]}
        assert reasons == {"Available": "MinimumReplicasAvailable", "Progressing": "NewReplicaSetAvailable"}
        await until(lambda: len(kubelet.live) == 3, what="old pods gone")
        assert set(kubelet.live.values()) == {"nginx:2"}
        assert kubelet.max_live <= 3 + 1  # maxSurge 25% of 3 rounds up to 1


async def test_recreate_never_runs_old_and_new_pods_together() -> None:
    c = FakeClient(clock=lambda: T0)
    async with cluster(c, {"nginx:1", "nginx:2"}) as kubelet:
        await c.create(DEPLOY, "default", deploy(2, strategy="Recreate"))
        await until(lambda: rolled_out(c), what="first rollout")
        await c.patch(
            DEPLOY,
            "default",
            "web",
            {"spec": {"template": {"spec": {"containers": [{"name": "c", "image": "nginx:2"}]}}}},
        )
        await until(
            lambda: get_deploy(c)["status"].get("observedGeneration") == 2 and rolled_out(c), what="recreate"
        )
        await until(lambda: sorted(kubelet.live.values()) == ["nginx:2", "nginx:2"], what="new pods only")
        assert not kubelet.mixed


async def test_scaling_a_stalled_rollout_splits_replicas_and_keeps_availability() -> None:
    c = FakeClient(clock=lambda: T0)
    async with cluster(c, {"nginx:1"}):  # nginx:2 pods never become ready
        await c.create(DEPLOY, "default", deploy(3))
        await until(lambda: rolled_out(c), what="first rollout")
        await c.patch(
            DEPLOY,
            "default",
            "web",
            {"spec": {"template": {"spec": {"containers": [{"name": "c", "image": "nginx:2"}]}}}},
        )
        sizes = lambda: sorted(r["spec"]["replicas"] for r in replicasets(c).values())  # noqa: E731
        await until(lambda: sizes() == [1, 3], what="stalled with one surge pod")
        await c.patch(DEPLOY, "default", "web", {"spec": {"replicas": 6}})
        # 8 pods allowed (surge 2); at least 5 available (unavailable 1); the new pods never help.
        await until(
            lambda: sizes() == [3, 5] and get_deploy(c)["status"].get("availableReplicas") == 5,
            what="settled",
        )
        st = get_deploy(c)["status"]
        assert (st["replicas"], st["updatedReplicas"], st["unavailableReplicas"]) == (8, 3, 3)
        assert rollout_status_message(get_deploy(c)) == (
            'Waiting for deployment "web" rollout to finish: 3 out of 6 new replicas have been updated...',
            False,
        )


async def test_hash_collision_bumps_collision_count() -> None:
    c = FakeClient(clock=lambda: T0)
    d = deploy(1)
    squatter = {
        "metadata": {"name": f"web-{compute_hash(d['spec']['template'])}", "labels": {"other": "x"}},
        "spec": {
            "replicas": 0,
            "selector": {"matchLabels": {"other": "x"}},
            "template": {"metadata": {"labels": {"other": "x"}}},
        },
    }
    await c.create(RS, "default", squatter)
    async with cluster(c, {"nginx:1"}):
        await c.create(DEPLOY, "default", d)
        await until(lambda: rolled_out(c), what="rollout despite the collision")
    assert get_deploy(c)["status"]["collisionCount"] == 1
    assert sorted(replicasets(c)) == sorted(
        [squatter["metadata"]["name"], f"web-{compute_hash(d['spec']['template'], 1)}"]
    )
