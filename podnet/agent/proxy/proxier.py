"""Observe → compute → apply: the service proxy's sync loop over a watch-fed cache."""

from __future__ import annotations

import asyncio
import logging
import time

from podnet.agent.proxy import conntrack, nftables
from podnet.agent.proxy.config import ProxyConfig
from podnet.agent.proxy.healthcheck import HealthChecks
from podnet.agent.proxy.model import PortCache, ServicePort, local_endpoint_count, service_ports

log = logging.getLogger(__name__)


class ProxyError(Exception):
    pass


async def run_cmd(prefix: tuple[str, ...], *argv: str, stdin: str | None = None) -> tuple[int, str]:
    proc = await asyncio.create_subprocess_exec(
        *prefix, *argv,
        stdin=asyncio.subprocess.PIPE if stdin is not None else asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    out, _ = await asyncio.wait_for(proc.communicate(stdin.encode() if stdin is not None else None), 120)
    return int(proc.returncode or 0), out.decode(errors="replace")


class NftProxier:
    """Keeps the ``ip podnet-proxy`` table equal to what the Services and EndpointSlices say."""

    def __init__(self, config: ProxyConfig) -> None:
        self.config = config
        self.state: nftables.State | None = None
        self.health = HealthChecks(config.healthz_bind_address)
        self.port_cache: PortCache = {}  # unchanged services are not recomputed on each sync
        self.last_full = 0.0

    async def sync(self, services: list[dict], slices: list[dict], full: bool = False) -> str:  # type: ignore[type-arg]
        """Apply the difference (or everything); returns "full", "partial" or "none"."""
        ports = service_ports(services, slices, self.port_cache)
        new = nftables.build_state(ports, self.config.node_name)
        text = None
        kind = "full"
        if not full and self.state is not None:
            text = nftables.render_partial(self.state, new, self.config.lb_algorithm)
            kind = "partial" if text else "none"
        if text is None:
            text = nftables.render_full(new, self.config.cluster_cidr, self.config.lb_algorithm)
            kind = "full"
        if text:
            code, out = await run_cmd(self.config.command_prefix, "nft", "-f", "-", stdin=text)
            if code != 0:
                self.state = None  # the kernel may hold anything now: next time, everything
                raise ProxyError(f"nft -f failed ({kind} sync): {out.strip()[:500]}")
        old, self.state = self.state, new
        if kind == "full":
            self.last_full = time.monotonic()
        if old is not None:
            for args in conntrack.stale_udp_flows(old, new):
                await run_cmd(self.config.command_prefix, "conntrack", *args)
        await self.health.sync(self._health(ports))
        return kind

    def _health(self, ports: list[ServicePort]) -> dict[int, tuple[str, str, int]]:
        out: dict[int, tuple[str, str, int]] = {}
        for sp in ports:
            if sp.external_local and sp.health_check_node_port:
                prev = out.get(sp.health_check_node_port, (sp.namespace, sp.name, 0))[2]
                out[sp.health_check_node_port] = (
                    sp.namespace,
                    sp.name,
                    max(prev, local_endpoint_count(sp, self.config.node_name)),
                )
        return out

    async def close(self) -> None:
        await self.health.close()
