"""The service proxy: Services and EndpointSlices programmed into this node's kernel."""

from __future__ import annotations

import asyncio
import logging

from podnet.agent.proxy.config import ProxyConfig, check_algorithm
from podnet.agent.proxy.iptables import IptablesProxier
from podnet.agent.proxy.proxier import NftProxier, Proxier, ProxyError
from podnet.api.scheme import resource
from podnet.client.informer import InformerFactory
from podnet.client.interface import ApiClient

__all__ = ["ProxyConfig", "run_proxy"]
log = logging.getLogger(__name__)


async def run_proxy(
    client: ApiClient, config: ProxyConfig, stop: asyncio.Event, factory: InformerFactory | None = None
) -> None:
    """Sync on every change (debounced by min_sync_period) and fully every sync_period, until stop."""
    check_algorithm(config.mode, config.lb_algorithm)
    proxier: Proxier = NftProxier(config) if config.mode == "nftables" else IptablesProxier(config)
    own = factory is None
    factory = factory or InformerFactory(client)
    services = factory.informer(resource("services"))
    slices = factory.informer(resource("endpointslices"))
    changed = asyncio.Event()
    for inf in (services, slices):
        inf.add_handler(lambda _o: changed.set(), lambda _a, _b: changed.set(), lambda _o: changed.set())
    factory.start()
    await asyncio.gather(services.wait_synced(), slices.wait_synced())
    full = True
    try:
        while not stop.is_set():
            changed.clear()
            try:
                kind = await proxier.sync(services.list(), slices.list(), full=full)
                if kind != "none":
                    log.debug("proxy: %s sync", kind)
                full = False
            except (ProxyError, OSError, TimeoutError) as exc:
                log.warning("proxy: %s; retrying with a full sync", exc)
                full = True
                await asyncio.sleep(1.0)
                continue
            waits = [asyncio.ensure_future(changed.wait()), asyncio.ensure_future(stop.wait())]
            done, _ = await asyncio.wait(
                waits, timeout=config.sync_period, return_when=asyncio.FIRST_COMPLETED
            )
            for w in waits:
                w.cancel()
            if not done:
                full = True  # the periodic resync
            elif config.min_sync_period:
                await asyncio.sleep(config.min_sync_period)
    finally:
        await proxier.close()
        if own:
            await factory.stop()
