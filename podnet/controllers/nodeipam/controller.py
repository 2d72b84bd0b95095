"""NodeIPAMController: gives each node a spec.podCIDR from the cluster CIDR, as kube-controller-manager's
range allocator does.

At start, after the node cache has synced, it learns every CIDR already
assigned, so a restart never hands one out twice. A CIDR is released when its
node is deleted. When the range is exhausted the node is left without one and
a CIDRNotAvailable Event says so; it is retried on the node's next change.
"""

from __future__ import annotations

import logging

from podnet.api.errors import StatusError
from podnet.api.scheme import ResourceInfo, lookup_plural
from podnet.client.events import record_event
from podnet.client.informer import Informer, object_key
from podnet.client.interface import ApiClient, Obj
from podnet.client.workqueue import WorkQueue, process_queue
from podnet.controllers.config import ControllerConfig
from podnet.controllers.nodeipam.cidrset import CIDRSet

log = logging.getLogger(__name__)
NODES: ResourceInfo = lookup_plural("nodes")  # type: ignore[assignment]


def node_cidrs(node: Obj) -> list[str]:
    spec = node.get("spec") or {}
    return list(spec.get("podCIDRs") or ([spec["podCIDR"]] if spec.get("podCIDR") else []))


class NodeIPAMController:
    name = "nodeipam"

    def __init__(self, client: ApiClient, nodes: Informer, config: ControllerConfig) -> None:
        self.client, self.nodes, self.config = client, nodes, config
        self.cidrs = CIDRSet(config.cluster_cidr, config.node_cidr_mask_size)
        self.queue: WorkQueue[str] = WorkQueue(name=self.name)
        self._given: dict[str, str] = {}  # node name → CIDR we patched in, until the cache shows it
        self._exhausted_reported: set[str] = set()
        nodes.add_handler(self._enqueue, lambda _old, new: self._enqueue(new), self._node_deleted)

    def _enqueue(self, node: Obj) -> None:
        self.queue.add(object_key(node))

    def _node_deleted(self, node: Obj) -> None:
        name = node["metadata"]["name"]
        for cidr in node_cidrs(node):
            self.cidrs.release(cidr)
        given = self._given.pop(name, None)
        if given:
            self.cidrs.release(given)

    def learn_existing(self) -> None:
        """Occupy the CIDRs nodes already have; call once the node cache has synced."""
        for node in self.nodes.list():
            for cidr in node_cidrs(node):
                if not self.cidrs.occupy(cidr):
                    log.warning(
                        "node %s has pod CIDR %s outside %s",
                        node["metadata"]["name"],
                        cidr,
                        self.cidrs.network,
                    )

    async def run(self, workers: int = 1) -> None:
        await self.nodes.wait_synced()
        self.learn_existing()
        await process_queue(self.queue, self.sync, 1, log)  # one worker: allocation order is the state

    async def sync(self, name: str) -> None:
        node = self.nodes.get(name)
        if node is None:
            return
        have = node_cidrs(node)
        if have:
            for cidr in have:
                self.cidrs.occupy(cidr)
            self._given.pop(name, None)
            return
        if name in self._given:
            return  # our patch is on its way into the cache
        allocated = self.cidrs.allocate()
        if allocated is None:
            await self._report_exhausted(node)
            return
        cidr = allocated
        try:
            await self.client.patch(NODES, None, name, {"spec": {"podCIDR": cidr, "podCIDRs": [cidr]}})
        except StatusError as exc:
            self.cidrs.release(cidr)
            if exc.code == 404:
                return
            raise
        except Exception:
            self.cidrs.release(cidr)
            raise
        self._given[name] = cidr
        self._exhausted_reported.discard(name)
        log.info("node %s: pod CIDR %s", name, cidr)

    async def _report_exhausted(self, node: Obj) -> None:
        name = node["metadata"]["name"]
        log.warning("node %s: no pod CIDR left in %s", name, self.cidrs.network)
        if name in self._exhausted_reported:
            return
        self._exhausted_reported.add(name)
        message = f"Node {name} status is now: CIDRNotAvailable"
        await record_event(
            self.client, node, "Normal", "CIDRNotAvailable", message, "cidrAllocator", self.config.clock()
        )
