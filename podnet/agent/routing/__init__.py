"""Routing between nodes (host-gw routes or a VXLAN overlay) and pod egress masquerade."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Literal

from podnet.agent.routing.apply import RoutingError, Runner, apply
from podnet.agent.routing.model import desired_state, overlay_overhead
from podnet.api.scheme import resource
from podnet.client.informer import InformerFactory
from podnet.client.interface import ApiClient

__all__ = ["RoutingConfig", "overlay_overhead", "run_routing"]
log = logging.getLogger(__name__)
RESYNC_S = 30.0  # also repairs what someone removed by hand


@dataclass(frozen=True)
class RoutingConfig:
    node_name: str
    backend: Literal["host-gw", "vxlan"] = "host-gw"
    uplink: str = "eth0"
    cluster_cidr: str = "10.244.0.0/16"
    service_cidr: str = "10.96.0.0/12"
    bridge: str = "cbr0"
    vxlan_vni: int = 1
    vxlan_port: int = 8472
    command_prefix: tuple[str, ...] = ()


async def run_routing(
    client: ApiClient, config: RoutingConfig, stop: asyncio.Event, factory: InformerFactory | None = None
) -> None:
    """Keep this node's routes in step with the Node objects until ``stop`` is set."""
    own_factory = factory is None
    factory = factory or InformerFactory(client)
    nodes = factory.informer(resource("nodes"))
    changed = asyncio.Event()
    nodes.add_handler(lambda _n: changed.set(), lambda _o, _n: changed.set(), lambda _n: changed.set())
    factory.start()  # starts only informers not yet running: safe on a shared factory
    await nodes.wait_synced()
    runner = Runner(config.command_prefix)
    while not stop.is_set():
        changed.clear()
        desired = desired_state(
            nodes.list(), config.node_name, config.backend, config.service_cidr, config.uplink
        )
        try:
            n = await apply(
                runner, desired, backend=config.backend, uplink=config.uplink, vni=config.vxlan_vni,
                port=config.vxlan_port, cluster_cidr=config.cluster_cidr, bridge=config.bridge,
            )  # fmt: skip
            if n:
                log.info("routing: %d change(s); %d route(s) to other nodes", n, len(desired.routes))
        except (RoutingError, OSError, TimeoutError) as exc:
            log.warning("routing: sync failed, retrying: %s", exc)
            await asyncio.sleep(1.0)
            continue
        waits = [asyncio.ensure_future(changed.wait()), asyncio.ensure_future(stop.wait())]
        await asyncio.wait(waits, timeout=RESYNC_S, return_when=asyncio.FIRST_COMPLETED)
        for w in waits:
            w.cancel()
    if own_factory:
        await factory.stop()
