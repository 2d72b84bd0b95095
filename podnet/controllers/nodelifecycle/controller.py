"""NodeLifecycleController: notices nodes whose kubelet went silent, as kube-controller-manager's does.

Every monitor period it compares each node's Lease (kube-node-lease/<node>)
with the clock. Past the grace period the node's conditions become Unknown
(NodeStatusUnknown) and its pods get Ready=False, which takes them out of
every Service's endpoints. After the eviction timeout, measured from the
Ready condition's lastTransitionTime (so it survives restarts), its pods are
deleted. ``monitor_once()`` is one pass, which tests drive with a fake clock.
"""

from __future__ import annotations

import asyncio
import logging

from podnet.api.errors import StatusError
from podnet.api.scheme import ResourceInfo, lookup_plural
from podnet.client.informer import Informer
from podnet.client.interface import ApiClient, Obj
from podnet.controllers.config import ControllerConfig
from podnet.controllers.nodelifecycle.health import judge, not_ready_conditions, unknown_conditions

log = logging.getLogger(__name__)
NODES: ResourceInfo = lookup_plural("nodes")  # type: ignore[assignment]
PODS: ResourceInfo = lookup_plural("pods")  # type: ignore[assignment]
LEASE_NAMESPACE = "kube-node-lease"
NODE_NAME_INDEX = "spec.nodeName"


class NodeLifecycleController:
    name = "nodelifecycle"

    def __init__(
        self, client: ApiClient, nodes: Informer, leases: Informer, pods: Informer, config: ControllerConfig
    ) -> None:
        self.client, self.nodes, self.leases, self.pods, self.config = client, nodes, leases, pods, config
        self._first_seen: dict[str, float] = {}
        if not pods.has_index(NODE_NAME_INDEX):
            pods.add_index(
                NODE_NAME_INDEX, lambda p: [n] if (n := (p.get("spec") or {}).get("nodeName")) else []
            )

    @property
    def period(self) -> float:
        """How often to look: often enough to notice within a fraction of the grace period."""
        return max(0.5, min(5.0, self.config.node_monitor_grace_period / 8))

    async def run(self, workers: int = 1) -> None:
        await asyncio.gather(self.nodes.wait_synced(), self.leases.wait_synced(), self.pods.wait_synced())
        while True:
            try:
                await self.monitor_once()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("node monitor pass failed: %r", exc)
            await asyncio.sleep(self.period)

    async def monitor_once(self) -> None:
        now = self.config.clock()
        names = set()
        for node in self.nodes.list():
            name = node["metadata"]["name"]
            names.add(name)
            first = self._first_seen.setdefault(name, now)
            lease = self.leases.get(f"{LEASE_NAMESPACE}/{name}")
            verdict = judge(
                node,
                lease,
                first,
                now,
                self.config.node_monitor_grace_period,
                self.config.pod_eviction_timeout,
            )
            try:
                if verdict.mark_unknown:
                    await self._mark_unknown(node, now)
                if verdict.unhealthy:
                    await self._mark_pods_not_ready(name, now)
                if verdict.evict:
                    await self._evict_pods(name)
            except StatusError as exc:
                log.warning("node %s: %s", name, exc.message)
        for gone in set(self._first_seen) - names:
            del self._first_seen[gone]

    async def _mark_unknown(self, node: Obj, now: float) -> None:
        name = node["metadata"]["name"]
        log.warning(
            "node %s: lease not renewed for %ss; Ready=Unknown", name, self.config.node_monitor_grace_period
        )
        patch = {"status": {"conditions": unknown_conditions(node, now)}}
        await self.client.patch(NODES, None, name, patch, "merge", "status")

    async def _mark_pods_not_ready(self, node: str, now: float) -> None:
        for pod in self.pods.by_index(NODE_NAME_INDEX, node):
            conds = not_ready_conditions(pod, now)
            if conds is None:
                continue
            meta = pod["metadata"]
            try:
                await self.client.patch(
                    PODS,
                    meta["namespace"],
                    meta["name"],
                    {"status": {"conditions": conds}},
                    "merge",
                    "status",
                )
            except StatusError as exc:
                if exc.code != 404:
                    raise

    async def _evict_pods(self, node: str) -> None:
        for pod in self.pods.by_index(NODE_NAME_INDEX, node):
            meta = pod["metadata"]
            if meta.get("deletionTimestamp"):
                continue
            log.info("evicting pod %s/%s from unreachable node %s", meta["namespace"], meta["name"], node)
            try:
                await self.client.delete(
                    PODS, meta["namespace"], meta["name"], precondition_uid=meta.get("uid")
                )
            except StatusError as exc:
                if exc.code != 404:
                    raise
