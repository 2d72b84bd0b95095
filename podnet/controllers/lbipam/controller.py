"""LBIPAMController: status.loadBalancer.ingress for Services of type LoadBalancer, from a pool.

spec.loadBalancerIP is honoured when it is in the pool and free. Addresses are
released when a service stops being a LoadBalancer or is deleted, and learnt
from services' status at start, so a restart keeps every assignment. When the
pool is exhausted the service stays <pending> and gets an AllocationFailed
Event; it is retried whenever a service releases an address.
Services with a spec.loadBalancerClass belong to another implementation and
are left alone.
"""

from __future__ import annotations

import logging

from podnet.api.errors import StatusError
from podnet.api.scheme import ResourceInfo, lookup_plural
from podnet.client.events import record_event
from podnet.client.informer import Informer, object_key, split_key
from podnet.client.interface import ApiClient, Obj
from podnet.client.workqueue import WorkQueue, process_queue
from podnet.controllers.config import ControllerConfig
from podnet.controllers.lbipam.pool import Pool

log = logging.getLogger(__name__)
SERVICES: ResourceInfo = lookup_plural("services")  # type: ignore[assignment]


def is_ours(svc: Obj) -> bool:
    spec = svc.get("spec") or {}
    return spec.get("type") == "LoadBalancer" and not spec.get("loadBalancerClass")


def ingress_ips(svc: Obj) -> list[str]:
    ingress = ((svc.get("status") or {}).get("loadBalancer") or {}).get("ingress") or []
    return [i["ip"] for i in ingress if i.get("ip")]


class LBIPAMController:
    name = "lbipam"

    def __init__(self, client: ApiClient, services: Informer, config: ControllerConfig) -> None:
        self.client, self.services, self.config = client, services, config
        self.pool = Pool(config.lb_pools)
        self.queue: WorkQueue[str] = WorkQueue(name=self.name)
        self._failed: set[str] = set()  # services waiting for an address
        services.add_handler(self._enqueue, lambda _old, new: self._enqueue(new), self._enqueue)

    def _enqueue(self, svc: Obj) -> None:
        self.queue.add(object_key(svc))

    def learn_existing(self) -> None:
        for svc in self.services.list():
            if not is_ours(svc):
                continue
            for ip in ingress_ips(svc):
                if self.pool.assign(object_key(svc), ip):
                    break

    async def run(self, workers: int = 1) -> None:
        await self.services.wait_synced()
        self.learn_existing()
        await process_queue(self.queue, self.sync, 1, log)

    async def sync(self, key: str) -> None:
        svc = self.services.get(key)
        if svc is None or not is_ours(svc):
            self._release(key)
            if svc is not None and self.pool.contains(next(iter(ingress_ips(svc)), "")):
                await self._set_ingress(svc, None)
            return
        held = self.pool.held_by(key)
        current = ingress_ips(svc)
        wanted = (svc.get("spec") or {}).get("loadBalancerIP") or ""
        if held and (not wanted or wanted == held):
            if current != [held]:
                await self._set_ingress(svc, held)
            return
        ip = self._choose(key, wanted)
        if ip is None:
            await self._report_failure(svc, wanted)
            return
        self._failed.discard(key)
        try:
            await self._set_ingress(svc, ip)
        except Exception:
            self.pool.release(key)
            raise
        log.info("service %s: load balancer IP %s", key, ip)

    def _choose(self, key: str, wanted: str) -> str | None:
        if wanted:
            return wanted if self.pool.assign(key, wanted) else None
        self.pool.release(key)
        return self.pool.allocate(key)

    def _release(self, key: str) -> None:
        if self.pool.held_by(key) is not None:
            self.pool.release(key)
            for waiting in sorted(self._failed):
                self.queue.add(waiting)  # an address came free

    async def _set_ingress(self, svc: Obj, ip: str | None) -> None:
        ns, name = split_key(object_key(svc))
        ingress = [{"ip": ip, "ipMode": "VIP"}] if ip else []
        try:
            await self.client.patch(
                SERVICES, ns, name, {"status": {"loadBalancer": {"ingress": ingress}}}, "merge", "status"
            )
        except StatusError as exc:
            if exc.code != 404:
                raise

    async def _report_failure(self, svc: Obj, wanted: str) -> None:
        key = object_key(svc)
        if key in self._failed:
            return
        self._failed.add(key)
        if wanted and not self.pool.contains(wanted):
            message = f"requested IP {wanted} is not in any pool"
        elif wanted:
            message = f"requested IP {wanted} is already allocated to {self.pool.owner(wanted)}"
        else:
            message = "no available IPs in pool"
        log.warning("service %s: %s", key, message)
        await record_event(
            self.client, svc, "Warning", "AllocationFailed", message, self.name, self.config.clock()
        )
