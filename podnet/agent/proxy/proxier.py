"""Observe → compute → apply: the service proxy's sync loop over a watch-fed cache."""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any, Protocol

from podnet.agent.proxy import conntrack, nftables
from podnet.agent.proxy.config import ProxyConfig
from podnet.agent.proxy.healthcheck import HealthChecks
from podnet.agent.proxy.model import PortCache, ServicePort, local_endpoint_count, service_ports
from podnet.agent.proxy.nftables import State
from podnet.agent.proxy.tracker import StateTracker, merged, render_changes

Obj = dict[str, Any]

log = logging.getLogger(__name__)


class ProxyError(Exception):
    """A sync could not be applied; the loop retries with a full sync."""


async def run_cmd(prefix: tuple[str, ...], *argv: str, stdin: str | None = None) -> tuple[int, str]:
    """Run a kernel tool (argv only, never a shell) under ``prefix``; (exit code, stdout+stderr)."""
    proc = await asyncio.create_subprocess_exec(
        *prefix, *argv,
        stdin=asyncio.subprocess.PIPE if stdin is not None else asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    out, _ = await asyncio.wait_for(proc.communicate(stdin.encode() if stdin is not None else None), 120)
    return int(proc.returncode or 0), out.decode(errors="replace")


class Proxier(Protocol):
    """What run_proxy drives: one sync per change, fully at start, periodically and after failures."""

    async def sync(self, services: list[Obj], slices: list[Obj], full: bool = False) -> str: ...

    async def close(self) -> None: ...


class NftProxier:
    """Keeps the ``ip podnet-proxy`` table equal to what the Services and EndpointSlices say."""

    def __init__(self, config: ProxyConfig) -> None:
        self.config = config
        self.tracker: StateTracker | None = None  # None: the kernel's table is unknown, sync fully
        self.health = HealthChecks(config.healthz_bind_address)
        self.port_cache: PortCache = {}  # unchanged services are not recomputed on each sync
        self.last_full = 0.0

    async def sync(self, services: list[Obj], slices: list[Obj], full: bool = False) -> str:
        """Apply the difference (or everything); returns "full", "partial" or "none"."""
        ports = service_ports(services, slices, self.port_cache)
        old, new, text, kind = self._render(ports, full)
        if text:
            code, out = await run_cmd(self.config.command_prefix, "nft", "-f", "-", stdin=text)
            if code != 0:
                self.tracker = None  # the kernel may hold anything now: next time, everything
                raise ProxyError(f"nft -f failed ({kind} sync): {out.strip()[:500]}")
        if kind == "full":
            self.last_full = time.monotonic()
        if old is not None:
            for args in conntrack.stale_udp_flows(old, new):
                await run_cmd(self.config.command_prefix, "conntrack", *args)
        await self.health.sync(self._health(ports))
        return kind if text or kind == "full" else "none"

    def _render(self, ports: list[ServicePort], full: bool) -> tuple[State | None, State, str, str]:
        """(old and new states for the conntrack cleanup, the nft text, the sync kind)."""
        previous = self.tracker
        self.tracker = None  # until a transaction built from it has been applied
        old: State | None = None  # no cleanup without a previous state
        new: State | None = None
        tracker = previous
        if previous is not None:
            changes = previous.update(ports)  # cheap: only the ports that changed
            old, new = merged(changes.old_fragments), merged(changes.new_fragments)
            if not full and not changes.needs_full:
                self.tracker = previous
                return old, new, render_changes(previous, changes, self.config.lb_algorithm), "partial"
            if changes.conflict:
                tracker = None
        if tracker is None:  # first sync, or a conflict: build from nothing
            tracker = StateTracker(self.config.node_name)
            tracker.update(ports)
        self.tracker = tracker
        text = nftables.render_full(
            tracker.state, self.config.cluster_cidr, self.config.lb_algorithm, self.config.service_cidr
        )
        return old, tracker.state if new is None else new, text, "full"

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
