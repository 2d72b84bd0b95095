"""Make this node's kernel match ``Desired``: our routes, the VXLAN device and its FDB/neighbour
entries, and the egress masquerade table; nothing we do not own is read-modify-written.

It reads the kernel with ``ip -j`` (routes filtered by our protocol number, so other routes are
never even considered), computes the difference, and writes it in one ``ip -batch`` and one
``nft -f`` transaction. It acts on the process's own network namespace (the agent's node), or,
with ``command_prefix`` (``ip netns exec NS``), on another one in tests.
"""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import dataclass

from podnet.agent.routing.model import ROUTE_PROTO, VXLAN_DEVICE, Desired, Route, Vtep, egress_ruleset

log = logging.getLogger(__name__)


class RoutingError(Exception):
    pass


@dataclass
class Runner:
    prefix: tuple[str, ...] = ()

    async def run(self, *argv: str, stdin: str | None = None, check: bool = True) -> str:
        proc = await asyncio.create_subprocess_exec(
            *self.prefix, *argv,
            stdin=asyncio.subprocess.PIPE if stdin is not None else asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        out, err = await asyncio.wait_for(proc.communicate(stdin.encode() if stdin else None), 30)
        if check and proc.returncode != 0:
            raise RoutingError(f"{' '.join(argv[:3])}: {err.decode(errors='replace').strip()}")
        return out.decode()

    async def json(self, *argv: str) -> list[dict]:  # type: ignore[type-arg]
        text = (await self.run(*argv, check=False)).strip()
        return json.loads(text) if text.startswith("[") else []


async def current_routes(r: Runner) -> set[Route]:
    out = set()
    for e in await r.json("ip", "-j", "-4", "route", "show", "proto", str(ROUTE_PROTO)):
        onlink_or_direct = "onlink" in (e.get("flags") or []) or not e.get("gateway")
        out.add(Route(e.get("dst", ""), e.get("gateway", ""), e.get("dev", "") if onlink_or_direct else ""))
    return out


async def uplink_mtu(r: Runner, uplink: str) -> int:
    links = await r.json("ip", "-j", "link", "show", "dev", uplink)
    if not links:
        raise RoutingError(f"uplink {uplink} not found")
    return int(links[0].get("mtu", 1500))


async def ensure_vxlan(r: Runner, local: Vtep, uplink: str, vni: int, port: int) -> None:
    """The VXLAN device, created once with our MAC, VNI, port and local address; recreated if it differs."""
    links = await r.json("ip", "-j", "-d", "link", "show", "dev", VXLAN_DEVICE)
    mtu = await uplink_mtu(r, uplink) - 50
    if links:
        info = (links[0].get("linkinfo") or {}).get("info_data") or {}
        same = (
            info.get("id") == vni and info.get("local") == local.node_ip and info.get("port") == port
            and links[0].get("address") == local.mac and links[0].get("mtu") == mtu
        )  # fmt: skip
        if same:
            addrs = await r.json("ip", "-j", "-4", "addr", "show", "dev", VXLAN_DEVICE)
            have = {a.get("local") for x in addrs for a in x.get("addr_info") or []}
            if local.address in have:
                return
        else:
            await r.run("ip", "link", "del", VXLAN_DEVICE)
    if not links or not same:
        await r.run(
            "ip", "link", "add", VXLAN_DEVICE, "address", local.mac, "mtu", str(mtu), "type", "vxlan",
            "id", str(vni), "local", local.node_ip, "dev", uplink, "dstport", str(port), "nolearning",
        )  # fmt: skip
    await r.run("ip", "addr", "replace", f"{local.address}/32", "dev", VXLAN_DEVICE)
    await r.run("ip", "link", "set", VXLAN_DEVICE, "up")


async def current_vteps(r: Runner) -> tuple[dict[str, str], dict[str, str]]:
    """(neighbour address -> MAC, FDB MAC -> remote IP) on our VXLAN device."""
    neigh = {
        e["dst"]: e.get("lladdr", "")
        for e in await r.json("ip", "-j", "-4", "neigh", "show", "dev", VXLAN_DEVICE)
        if "dst" in e
    }
    fdb = {
        e["mac"]: e.get("dst", "")
        for e in await r.json("bridge", "-j", "fdb", "show", "dev", VXLAN_DEVICE)
        if e.get("dst") and e.get("mac") != "00:00:00:00:00:00"
    }
    return neigh, fdb


def route_batch(have: set[Route], want: frozenset[Route]) -> list[str]:
    cmds = []
    for rt in sorted(have - want):
        cmds.append(f"route del {rt.dst} proto {ROUTE_PROTO}")
    for rt in sorted(want - have):
        if (
            not rt.via
        ):  # a direct route (the service CIDR): locally made packets need one to reach the NAT hook
            cmds.append(f"route replace {rt.dst} dev {rt.dev} scope link proto {ROUTE_PROTO}")
            continue
        onlink = f" dev {rt.dev} onlink" if rt.dev else ""
        cmds.append(f"route replace {rt.dst} via {rt.via}{onlink} proto {ROUTE_PROTO}")
    return cmds


def vtep_batch(neigh: dict[str, str], fdb: dict[str, str], want: frozenset[Vtep]) -> list[str]:
    """ip -batch lines (neighbours) and bridge -batch lines (FDB) to reach ``want`` exactly."""
    cmds = []
    want_neigh = {v.address: v.mac for v in want}
    want_fdb = {v.mac: v.node_ip for v in want}
    for addr, mac in sorted(neigh.items()):
        if want_neigh.get(addr) != mac:
            cmds.append(f"neigh del {addr} dev {VXLAN_DEVICE}")
    for addr, mac in sorted(want_neigh.items()):
        if neigh.get(addr) != mac:
            cmds.append(f"neigh replace {addr} lladdr {mac} dev {VXLAN_DEVICE} nud permanent")
    bridge = []
    for mac, ip in sorted(fdb.items()):
        if want_fdb.get(mac) != ip:
            bridge.append(f"fdb del {mac} dev {VXLAN_DEVICE} dst {ip}")
    for mac, ip in sorted(want_fdb.items()):
        if fdb.get(mac) != ip:
            bridge.append(f"fdb append {mac} dev {VXLAN_DEVICE} dst {ip} self permanent")
    return cmds + [f"#bridge {b}" for b in bridge]


async def apply(
    r: Runner,
    desired: Desired,
    *,
    backend: str,
    uplink: str,
    vni: int,
    port: int,
    cluster_cidr: str,
    bridge: str,
) -> int:
    """Converge; returns how many kernel changes were written (0 when already in sync)."""
    changes = 0
    if backend == "vxlan" and desired.local_vtep is not None:
        await ensure_vxlan(r, desired.local_vtep, uplink, vni, port)
        neigh, fdb = await current_vteps(r)
        lines = vtep_batch(neigh, fdb, desired.vteps)
        ip_lines = [x for x in lines if not x.startswith("#bridge ")]
        bridge_lines = [x[len("#bridge ") :] for x in lines if x.startswith("#bridge ")]
        if bridge_lines:
            await r.run("bridge", "-batch", "-", stdin="\n".join(bridge_lines) + "\n")
        if ip_lines:
            await r.run("ip", "-batch", "-", stdin="\n".join(ip_lines) + "\n")
        changes += len(lines)
    elif backend != "vxlan":
        links = await r.json("ip", "-j", "link", "show", "dev", VXLAN_DEVICE)
        if links:  # the backend changed: the overlay goes
            await r.run("ip", "link", "del", VXLAN_DEVICE)
            changes += 1
    cmds = route_batch(await current_routes(r), desired.routes)
    if cmds:
        await r.run("ip", "-batch", "-", stdin="\n".join(cmds) + "\n")
        changes += len(cmds)
    tunnel = (
        (desired.local_vtep.node_ip, port) if backend == "vxlan" and desired.local_vtep is not None else None
    )
    await r.run("nft", "-f", "-", stdin=egress_ruleset(cluster_cidr, bridge, tunnel))
    return changes
