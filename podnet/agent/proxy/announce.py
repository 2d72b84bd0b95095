"""Which node answers for each LoadBalancer IP: one holder per IP, elected through Leases.

Every agent runs the same loop each second: for each LoadBalancer IP it may serve (any node for
externalTrafficPolicy Cluster; only nodes with a local ready endpoint for Local), it takes the IP's
Lease (kube-system/podnet-lb-<ip>) when nobody holds it or the holder stopped renewing, and renews
it while it holds it. Optimistic concurrency on the Lease decides races (a 409 means someone else
won). The holder answers ARP for the IP; a node that loses or gives up an IP stops answering.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any, Protocol

from podnet.agent.proxy.arp import ArpResponder
from podnet.agent.proxy.model import ipv4, local_endpoint_count, service_ports
from podnet.api.errors import StatusError
from podnet.api.scheme import resource
from podnet.api.timestamps import micro_time, parse_time
from podnet.client.informer import InformerFactory
from podnet.client.interface import ApiClient

Obj = dict[str, Any]
log = logging.getLogger(__name__)
LEASES = resource("leases")
NAMESPACE = "kube-system"
LEASE_SECONDS = 3
PERIOD_S = 1.0


def _rv(obj: Obj) -> int:
    value = str((obj.get("metadata") or {}).get("resourceVersion") or "0")
    return int(value) if value.isdigit() else 0


def lease_name(ip: str) -> str:
    return "podnet-lb-" + ip.replace(".", "-").replace(":", "-")


def eligible_ips(services: list[Obj], slices: list[Obj], node: str) -> set[str]:
    """The LoadBalancer IPs this node may announce (pure)."""
    out: set[str] = set()
    lb_ips: dict[tuple[str, str], list[str]] = {}
    for svc in services:
        if (svc.get("spec") or {}).get("type") != "LoadBalancer":
            continue
        ingress = ((svc.get("status") or {}).get("loadBalancer") or {}).get("ingress") or []
        meta = svc.get("metadata") or {}
        lb_ips[(meta.get("namespace") or "default", meta.get("name") or "")] = [
            ip for ip in (ipv4(i.get("ip")) for i in ingress if i.get("ip")) if ip
        ]
    for sp in service_ports(services, slices):
        ips = lb_ips.get((sp.namespace, sp.name))
        if not ips:
            continue
        if not sp.external_local or local_endpoint_count(sp, node) > 0:
            out.update(ips)
    return out


def holder(lease: Obj | None, now: float) -> str | None:
    """Who holds a lease that has not expired."""
    if lease is None:
        return None
    spec = lease.get("spec") or {}
    renewed = parse_time(spec.get("renewTime"))
    duration = float(spec.get("leaseDurationSeconds") or LEASE_SECONDS)
    if renewed is None or renewed + duration < now:
        return None
    return spec.get("holderIdentity") or None


class Responder(Protocol):
    """Who answers ARP for the held IPs (ArpResponder; a fake in unit tests)."""

    ips: set[str]

    def announce(self, ip: str) -> None: ...


class Announcer:
    """One node's side of the election: takes, renews and releases the Leases of its eligible IPs."""

    def __init__(self, client: ApiClient, node: str, responder: Responder) -> None:
        self.client, self.node, self.responder = client, node, responder
        self.written: dict[str, Obj] = {}  # our own last writes: the informer may not have them yet

    def _newest(self, leases: dict[str, Obj]) -> dict[str, Obj]:
        out = dict(leases)
        for name, mine in self.written.items():
            theirs = out.get(name)
            if theirs is None or _rv(mine) > _rv(theirs):
                out[name] = mine
        return out

    async def step(self, wanted: set[str], leases: dict[str, Obj], now: float) -> None:
        leases = self._newest(leases)
        held: set[str] = set()
        for ip in sorted(wanted):
            name = lease_name(ip)
            lease = leases.get(name)
            current = holder(lease, now)
            if current not in (None, self.node):
                continue
            if await self._take(ip, name, lease, current is None, now):
                held.add(ip)
        for ip in sorted(self.responder.ips - held):
            log.info("lb: no longer announcing %s", ip)
            await self._release(lease_name(ip), leases.get(lease_name(ip)))
        for ip in sorted(held - self.responder.ips):
            log.info("lb: announcing %s from %s", ip, self.node)
            self.responder.ips.add(ip)
            self.responder.announce(ip)
        self.responder.ips = held

    async def _take(self, ip: str, name: str, lease: Obj | None, acquiring: bool, at: float) -> bool:
        now = micro_time(at)
        spec: Obj = {"holderIdentity": self.node, "leaseDurationSeconds": LEASE_SECONDS, "renewTime": now}
        try:
            body: Obj
            if lease is None:
                body = {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
                        "metadata": {"name": name, "namespace": NAMESPACE, "labels": {"podnet.io/lb-ip": ip.replace(":", "-")}},
                        "spec": {**spec, "acquireTime": now}}  # fmt: skip
                self.written[name] = await self.client.create(LEASES, NAMESPACE, body)
            else:
                body = {**lease, "spec": {**(lease.get("spec") or {}), **spec}}
                if acquiring:
                    body["spec"]["acquireTime"] = now
                    body["spec"]["leaseTransitions"] = int(body["spec"].get("leaseTransitions") or 0) + 1
                self.written[name] = await self.client.update(LEASES, NAMESPACE, body)
            return True
        except StatusError as exc:
            if exc.code in (409, 404):
                return False  # someone else was faster; next round will see who
            raise

    async def _release(self, name: str, lease: Obj | None) -> None:
        self.written.pop(name, None)
        if lease is None or (lease.get("spec") or {}).get("holderIdentity") != self.node:
            return
        try:
            await self.client.delete(LEASES, NAMESPACE, name,
                                     precondition_resource_version=lease["metadata"]["resourceVersion"])  # fmt: skip
        except StatusError:
            pass


async def run_announcer(
    client: ApiClient,
    node_name: str,
    uplink: str,
    stop: asyncio.Event,
    factory: InformerFactory | None = None,
) -> None:
    """Hold and answer for this node's share of LoadBalancer IPs until ``stop``."""
    factory = factory or InformerFactory(client)
    services = factory.informer(resource("services"))
    slices = factory.informer(resource("endpointslices"))
    leases = factory.informer(LEASES, NAMESPACE)
    factory.start()
    await asyncio.gather(services.wait_synced(), slices.wait_synced(), leases.wait_synced())
    responder = ArpResponder(uplink)
    announcer = Announcer(client, node_name, responder)
    try:
        while not stop.is_set():
            wanted = eligible_ips(services.list(), slices.list(), node_name)
            current = {le["metadata"]["name"]: le for le in leases.list()}
            try:
                await announcer.step(wanted, current, time.time())
            except Exception as exc:  # the API may be briefly away: keep what we hold, retry
                log.warning("lb: election round failed: %r", exc)
            try:
                await asyncio.wait_for(stop.wait(), PERIOD_S)
            except TimeoutError:
                pass
    finally:
        responder.close()
