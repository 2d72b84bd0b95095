"""How pod CIDRs reach other nodes, computed from the Node objects alone (pure).

host-gw: a route to each other node's podCIDR via that node's InternalIP (the nodes share a link).
vxlan: one VXLAN device per node; each remote node is a VTEP whose address is its podCIDR's network
address (flannel's convention) and whose MAC is derived from its InternalIP, so every node computes
every other node's VTEP from the Node objects alone — no annotation, no coordination, and the same
MAC after any restart. Routes go via the remote VTEP address (onlink), a permanent neighbour entry
maps it to the MAC, and an FDB entry maps the MAC to the remote node's IP (the outer destination).
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import Any

Obj = dict[str, Any]
VXLAN_DEVICE = "pn-vxlan"
VXLAN_OVERHEAD = 50  # outer IPv4 20 + UDP 8 + VXLAN 8 + inner Ethernet 14
ROUTE_PROTO = 80  # our routes carry this protocol number: reconcile finds exactly ours


@dataclass(frozen=True, order=True)
class Route:
    dst: str  # a podCIDR
    via: str  # the next hop: node IP (host-gw) or VTEP address (vxlan)
    dev: str = ""  # set for vxlan (onlink through the VXLAN device)


@dataclass(frozen=True, order=True)
class Vtep:
    address: str  # the remote podCIDR's network address
    mac: str
    node_ip: str


@dataclass(frozen=True)
class Desired:
    routes: frozenset[Route]
    vteps: frozenset[Vtep]  # empty for host-gw
    local_vtep: Vtep | None  # our own (vxlan only)


def overlay_overhead(backend: str) -> int:
    """Bytes the backend adds to each packet: the pod MTU is the uplink's minus this."""
    return VXLAN_OVERHEAD if backend == "vxlan" else 0


def vtep_mac(node_ip: str) -> str:
    """A locally administered unicast MAC from the node's IPv4 address: 0e:70:<a>:<b>:<c>:<d>."""
    packed = ipaddress.IPv4Address(node_ip).packed
    return ":".join(f"{b:02x}" for b in (0x0E, 0x70, *packed))


def internal_ip(node: Obj) -> str | None:
    for addr in (node.get("status") or {}).get("addresses") or []:
        if addr.get("type") == "InternalIP":
            try:
                return str(ipaddress.IPv4Address(addr.get("address")))
            except ValueError:
                return None
    return None


def pod_cidr(node: Obj) -> str | None:
    cidr = (node.get("spec") or {}).get("podCIDR")
    if not cidr:
        return None
    try:
        return str(ipaddress.IPv4Network(cidr))
    except ValueError:
        return None


def desired_state(
    nodes: list[Obj], own_name: str, backend: str, service_cidr: str = "", uplink: str = "eth0"
) -> Desired:
    """What this node's kernel must hold to reach every other node's pods; nodes missing a podCIDR or
    an InternalIP (still registering) are left out until they have both."""
    routes: set[Route] = set()
    vteps: set[Vtep] = set()
    local: Vtep | None = None
    for node in nodes:
        ip, cidr = internal_ip(node), pod_cidr(node)
        if ip is None or cidr is None:
            continue
        vtep = Vtep(str(ipaddress.IPv4Network(cidr).network_address), vtep_mac(ip), ip)
        if node["metadata"]["name"] == own_name:
            local = vtep
            continue
        if backend == "vxlan":
            vteps.add(vtep)
            routes.add(Route(cidr, vtep.address, VXLAN_DEVICE))
        else:
            routes.add(Route(cidr, ip))
    if service_cidr:
        # ClusterIPs live on no link: a node's own connections to them need a route to leave by before
        # the service proxy's NAT (output hook) rewrites them to an endpoint, as a default route gives.
        routes.add(Route(str(ipaddress.IPv4Network(service_cidr)), "", uplink))
    return Desired(frozenset(routes), frozenset(vteps), local if backend == "vxlan" else None)


def egress_ruleset(cluster_cidr: str, bridge: str, tunnel: tuple[str, int] | None = None) -> str:
    """nft: pods' traffic to anything outside the cluster CIDR leaves with the node's address.

    Pod-to-pod traffic (destination in the cluster CIDR) is never touched, on one node or across
    nodes; traffic bridged between local pods (out through the bridge) neither.

    ``tunnel`` (node IP, VXLAN port): the overlay's outer UDP packets skip conntrack. Nothing NATs
    or filters them by state, and tracking every 64 KB tunnel packet twice per node cost ~6% of a
    cross-node VXLAN stream here. Only packets from or to this node's own address on that port
    are spared, so a pod's UDP to a Service on the same port is still tracked (and DNATed).
    """
    net = ipaddress.IPv4Network(cluster_cidr)
    raw = ""
    if tunnel is not None:
        node_ip, port = tunnel
        raw = (
            "\tchain tunnel-in {\n"
            "\t\ttype filter hook prerouting priority raw; policy accept;\n"
            f"\t\tip daddr {node_ip} udp dport {port} notrack\n"
            "\t}\n"
            "\tchain tunnel-out {\n"
            "\t\ttype filter hook output priority raw; policy accept;\n"
            f"\t\tip saddr {node_ip} udp dport {port} notrack\n"
            "\t}\n"
        )
    return (
        "table ip podnet-egress {}\n"
        "delete table ip podnet-egress\n"
        "table ip podnet-egress {\n"
        "\tchain postrouting {\n"
        "\t\ttype nat hook postrouting priority srcnat + 10; policy accept;\n"
        f'\t\tip saddr {net} ip daddr != {net} oifname != "{bridge}" counter masquerade\n'
        "\t}\n"
        f"{raw}"
        "}\n"
    )
