"""Controllers end to end against FakeClient: shared informers, queues and the API semantics."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

from podnet.api.scheme import lookup_plural
from podnet.client.fake import FakeClient
from podnet.client.informer import InformerFactory
from podnet.controllers.config import ControllerConfig
from podnet.controllers.manager import build_controllers
from tests.unit.controllers.fixtures import node, pod, service, until

R = {
    p: lookup_plural(p)
    for p in ("services", "pods", "endpointslices", "endpoints", "nodes", "events", "leases")
}


@contextlib.asynccontextmanager
async def controllers(
    client: FakeClient, config: ControllerConfig, *names: str
) -> AsyncIterator[dict[str, Any]]:
    factory = InformerFactory(client)
    built = build_controllers(client, factory, config, set(names))
    factory.start()
    assert await factory.wait_for_sync(3)
    tasks = [asyncio.ensure_future(c.run(2)) for c in built.values()]
    try:
        yield built
    finally:
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await factory.stop()


async def create_pod(c: FakeClient, p: dict) -> None:
    """Create a pod with its status, as the kubelet would report it."""
    out = await c.create(R["pods"], p["metadata"]["namespace"], p)
    out["status"] = p["status"]
    await c.update(R["pods"], p["metadata"]["namespace"], out, "status")


def slice_addrs(c: FakeClient) -> list[list[str]]:
    return sorted(
        sorted(e["addresses"][0] for e in s["endpoints"]) for s in c.objects(R["endpointslices"], "default")
    )


async def test_slices_and_endpoints_follow_pods() -> None:
    c = FakeClient()
    async with controllers(c, ControllerConfig(), "endpointslice", "endpoints"):
        await c.create(R["services"], "default", service())
        await create_pod(c, pod("a", "10.244.1.2"))
        await create_pod(c, pod("b", "10.244.1.3"))
        await until(lambda: slice_addrs(c) == [["10.244.1.2", "10.244.1.3"]], what="slice with both pods")
        await until(lambda: c.objects(R["endpoints"], "default"), what="Endpoints")
        # Pod b becomes unready: its condition flips and it moves to notReadyAddresses.
        await c.patch(
            R["pods"],
            "default",
            "b",
            {"status": {"conditions": [{"type": "Ready", "status": "False"}]}},
            "merge",
            "status",
        )

        def b_unready() -> bool:
            eps = {
                e["targetRef"]["name"]: e
                for s in c.objects(R["endpointslices"], "default")
                for e in s["endpoints"]
            }
            return eps["b"]["conditions"]["ready"] is False

        await until(b_unready, what="b not ready in slice")
        await until(
            lambda: (
                [
                    a["ip"]
                    for a in c.objects(R["endpoints"], "default")[0]["subsets"][0].get(
                        "notReadyAddresses", []
                    )
                ]
                == ["10.244.1.3"]
            ),
            what="b in notReadyAddresses",
        )
        slice_writes = [a for a in c.actions if a[1] == "endpointslices" and a[0] in ("create", "update")]
        await c.delete(R["services"], "default", "web")
        await until(lambda: not c.objects(R["endpointslices"], "default"), what="slices removed")
        await until(lambda: not c.objects(R["endpoints"], "default"), what="endpoints removed")
    # One create, then updates only: no duplicate slices from a lagging cache.
    assert [a[0] for a in slice_writes].count("create") == 1


async def test_many_pods_make_several_slices() -> None:
    c = FakeClient()
    async with controllers(c, ControllerConfig(max_endpoints_per_slice=100), "endpointslice"):
        for i in range(230):
            await create_pod(c, pod(f"p{i}", f"10.244.{i // 100}.{i % 100 + 2}"))
        await c.create(R["services"], "default", service())
        await until(lambda: sorted(len(a) for a in slice_addrs(c)) == [30, 100, 100], what="3 slices")
        # Later changes do not grow the number of slices.
        await c.delete(R["pods"], "default", "p0", grace_period_seconds=0)
        await until(lambda: sum(len(a) for a in slice_addrs(c)) == 229, what="p0 gone")
        assert len(c.objects(R["endpointslices"], "default")) == 3


async def test_scheduler_spreads_and_reports_unschedulable() -> None:
    c = FakeClient()
    for n in (node("node-1"), node("node-2"), node("node-3", ready=False)):
        await c.create(R["nodes"], None, n)
    async with controllers(c, ControllerConfig(), "scheduler"):
        for i in range(4):
            await c.create(R["pods"], "default", {"metadata": {"name": f"p{i}"}, "spec": {"containers": []}})
        await c.create(
            R["pods"],
            "default",
            {"metadata": {"name": "picky"}, "spec": {"containers": [], "nodeSelector": {"disk": "ssd"}}},
        )

        def placement() -> dict[str, int]:
            out: dict[str, int] = {}
            for p in c.objects(R["pods"], "default"):
                n = p["spec"].get("nodeName")
                if n:
                    out[n] = out.get(n, 0) + 1
            return out

        await until(lambda: placement() == {"node-1": 2, "node-2": 2}, what="spread over the ready nodes")

        def picky_condition() -> dict | None:
            p = next(p for p in c.objects(R["pods"], "default") if p["metadata"]["name"] == "picky")
            return next((x for x in p["status"].get("conditions", []) if x["type"] == "PodScheduled"), None)

        cond = await until(picky_condition, what="PodScheduled=False")
        assert (cond["status"], cond["reason"]) == ("False", "Unschedulable")
        assert cond["message"] == (
            "0/3 nodes are available: 1 node(s) had untolerated taint {node.kubernetes.io/not-ready: }, "
            "2 node(s) didn't match Pod's node affinity/selector."
        )
        await c.patch(R["nodes"], None, "node-2", {"metadata": {"labels": {"disk": "ssd"}}})
        await until(lambda: placement().get("node-2") == 3, what="picky bound once a node matches")


async def test_nodeipam_assigns_learns_releases_and_reports_exhaustion() -> None:
    c = FakeClient()
    await c.create(
        R["nodes"], None, {**node("old"), "spec": {"podCIDR": "10.244.0.0/24", "podCIDRs": ["10.244.0.0/24"]}}
    )
    config = ControllerConfig(cluster_cidr="10.244.0.0/23", node_cidr_mask_size=24)
    async with controllers(c, config, "nodeipam"):
        await c.create(R["nodes"], None, node("new"))
        await until(
            lambda: c.objects(R["nodes"])[0]["spec"].get("podCIDR") == "10.244.1.0/24", what="new gets .1"
        )
        await c.create(R["nodes"], None, node("extra"))
        events = await until(lambda: c.objects(R["events"], "default"), what="CIDRNotAvailable event")
        assert events[0]["reason"] == "CIDRNotAvailable"
        assert "podCIDR" not in c.objects(R["nodes"])[0]["spec"]  # "extra" sorts first
        await c.delete(R["nodes"], None, "old")
        await c.patch(R["nodes"], None, "extra", {"metadata": {"labels": {"retry": "1"}}})
        await until(
            lambda: c.objects(R["nodes"])[0]["spec"].get("podCIDR") == "10.244.0.0/24",
            what="freed CIDR reused",
        )


async def test_lbipam_assigns_honours_request_releases_and_reports_exhaustion() -> None:
    c = FakeClient()
    config = ControllerConfig(lb_pools=["172.18.255.200-172.18.255.201"])

    def ingress(name: str) -> list:
        svc = next(s for s in c.objects(R["services"], "default") if s["metadata"]["name"] == name)
        return svc["status"]["loadBalancer"].get("ingress", [])

    async with controllers(c, config, "lbipam"):
        await c.create(
            R["services"], "default", service("a", type="LoadBalancer", loadBalancerIP="172.18.255.201")
        )
        await c.create(R["services"], "default", service("b", type="LoadBalancer"))
        await until(
            lambda: ingress("a") == [{"ip": "172.18.255.201", "ipMode": "VIP"}], what="a's requested IP"
        )
        await until(
            lambda: ingress("b") == [{"ip": "172.18.255.200", "ipMode": "VIP"}], what="b gets the other"
        )
        await c.create(R["services"], "default", service("c", type="LoadBalancer"))
        ev = await until(lambda: c.objects(R["events"], "default"), what="AllocationFailed")
        assert (ev[0]["reason"], ev[0]["message"]) == ("AllocationFailed", "no available IPs in pool")
        assert ingress("c") == []
        await c.patch(R["services"], "default", "a", {"spec": {"type": "ClusterIP", "loadBalancerIP": None}})
        await until(lambda: ingress("a") == [], what="a released")
        await until(lambda: ingress("c") == [{"ip": "172.18.255.201", "ipMode": "VIP"}], what="c gets a's IP")


async def test_nodelifecycle_marks_unknown_then_evicts() -> None:
    now = [1_700_000_000.0]
    c = FakeClient(clock=lambda: now[0])
    config = ControllerConfig(node_monitor_grace_period=40, pod_eviction_timeout=300, clock=lambda: now[0])
    await c.create(R["nodes"], None, node("node-1"))
    await c.create(
        R["leases"],
        "kube-node-lease",
        {
            "metadata": {"name": "node-1"},
            "spec": {"holderIdentity": "node-1", "renewTime": "2023-11-14T22:13:20.000000Z"},
        },
    )
    await create_pod(c, pod("p", "10.244.1.2", node="node-1"))
    factory = InformerFactory(c)
    ctl = build_controllers(c, factory, config, {"nodelifecycle"})["nodelifecycle"]
    factory.start()
    assert await factory.wait_for_sync(3)
    try:
        await ctl.monitor_once()
        assert c.objects(R["nodes"])[0]["status"]["conditions"][0]["status"] == "True"
        now[0] += 41
        await ctl.monitor_once()
        ready = c.objects(R["nodes"])[0]["status"]["conditions"][0]
        assert (ready["status"], ready["reason"], ready["message"]) == (
            "Unknown",
            "NodeStatusUnknown",
            "Kubelet stopped posting node status.",
        )
        pod_ready = c.objects(R["pods"], "default")[0]["status"]["conditions"][0]
        assert pod_ready["status"] == "False"
        await until(
            lambda: (
                factory.informer(R["nodes"]).get("node-1")["status"]["conditions"][0]["status"] == "Unknown"
            )
        )
        now[0] += 299
        await ctl.monitor_once()
        assert "deletionTimestamp" not in c.objects(R["pods"], "default")[0]["metadata"]
        now[0] += 2
        await ctl.monitor_once()
        assert c.objects(R["pods"], "default")[0]["metadata"]["deletionTimestamp"]
    finally:
        await factory.stop()
