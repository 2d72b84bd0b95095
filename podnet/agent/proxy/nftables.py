"""The nftables layout of the service proxy: a few flat named maps, no chain per service (pure).

KERNEL-NOTES measured why: kernel time per transaction grows with the number of chains, so a chain
per service and per endpoint (kube-proxy's nftables layout) takes minutes to load at 10,000
services, while flat maps load in under a second. Here every service port is map elements:

- ``services``: (virtual IP, protocol, port) -> ``goto`` one of a handful of shared selection chains,
  one per endpoint count N (``sel-N``), which DNAT through ``backends``: (VIP, protocol, port,
  index) -> endpoint address and port, the index drawn by ``numgen random|inc`` or ``jhash ip saddr``
  ``mod N``; ``ext-sel-N`` first marks the packet for masquerade (external traffic, Cluster policy);
- ``nodeports`` / ``np-backends`` the same keyed by (protocol, NodePort), matched on any local address;
- ``no-endpoints`` / ``np-no-endpoints``: service ports without endpoints, rejected at once in the filter hooks;
  ``no-local`` / ``np-no-local``: external traffic to a Local-policy service with no local endpoint;
- ``hairpin``: (endpoint, endpoint) pairs, masqueraded so a pod reaches itself through its service;
- ``ext-from-pods`` / ``np-from-pods``: pods and the node itself are not external clients, so their
  traffic to the LoadBalancer IPs, externalIPs and NodePorts of a Local-policy service may use any
  endpoint, as kube-proxy's "pod traffic" and "LOCAL traffic for external destinations" rules do
  (backends from index 1024);
- session affinity (per client and service port, as kube-proxy's ``recent`` lists): ``affinity``
  (client, VIP, protocol, port) -> endpoint index with the service's timeout, refreshed on each new
  connection and copied into the ct mark before the DNAT through ``aff-backends`` (chains
  ``aff-<timeout>-sel-N``); the random choice is made only for a client the map does not know.

Lookups cost the same with 10 or 10,000 services, and any change is a few element updates in one
``nft -f`` transaction.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from podnet.agent.proxy.model import Endpoint, ServicePort, cluster_endpoints, external_endpoints

TABLE = "podnet-proxy"
MASQ_MARK = 0x4000
ALGORITHMS = {"random": "numgen random", "round-robin": "numgen inc", "source-hash": "jhash ip saddr"}

POD_OFFSET = 1024  # backend indexes of the in-cluster view of a Local-policy external address
VipKey = tuple[str, str, int]  # (ip, protocol, port)
NpKey = tuple[str, int]  # (protocol, node port)


@dataclass
class State:
    """Every element of every map and set, and the selection chains they point to."""

    services: dict[VipKey, str] = field(default_factory=dict)
    nodeports: dict[NpKey, str] = field(default_factory=dict)
    backends: dict[tuple[str, str, int, int], tuple[str, int]] = field(default_factory=dict)
    np_backends: dict[tuple[str, int, int], tuple[str, int]] = field(default_factory=dict)
    reject: set[VipKey] = field(default_factory=set)
    np_reject: set[NpKey] = field(default_factory=set)
    drop: set[VipKey] = field(default_factory=set)
    np_drop: set[NpKey] = field(default_factory=set)
    cluster_ips: set[str] = field(default_factory=set)
    hairpin: set[tuple[str, str]] = field(default_factory=set)
    aff_backends: dict[tuple[str, str, int, int], tuple[str, int]] = field(default_factory=dict)  # from 1
    np_aff_backends: dict[tuple[str, int, int], tuple[str, int]] = field(default_factory=dict)
    ext_from_pods: dict[VipKey, str] = field(default_factory=dict)
    np_from_pods: dict[NpKey, str] = field(default_factory=dict)
    chains: set[str] = field(default_factory=set)


def _select(state: State, prefix: str, count: int, external_mark: bool, affinity: int = 0) -> str:
    base = f"aff-{affinity}-{prefix}sel-{count}" if affinity else f"{prefix}sel-{count}"
    state.chains.add(base)
    name = f"ext-{base}" if external_mark else base
    state.chains.add(name)
    return f"goto {name}"


def _add_vip(st: State, sp: ServicePort, vip: str, eps: tuple[Endpoint, ...], prefix: str, mark: bool) -> str:
    """The backends of one (virtual IP, protocol, port) from index ``offset``; the verdict choosing one."""
    offset = POD_OFFSET if prefix == "int-" else 0
    for i, ep in enumerate(eps):
        st.backends[(vip, sp.protocol, sp.port, offset + i)] = (ep.ip, ep.port)
        if sp.affinity_timeout:
            st.aff_backends[(vip, sp.protocol, sp.port, offset + i + 1)] = (ep.ip, ep.port)
    return _select(st, prefix, len(eps), mark, sp.affinity_timeout)


def _add_node_port(st: State, sp: ServicePort, eps: tuple[Endpoint, ...], prefix: str, mark: bool) -> str:
    offset = POD_OFFSET if prefix == "int-np-" else 0
    for i, ep in enumerate(eps):
        st.np_backends[(sp.protocol, sp.node_port, offset + i)] = (ep.ip, ep.port)
        if sp.affinity_timeout:
            st.np_aff_backends[(sp.protocol, sp.node_port, offset + i + 1)] = (ep.ip, ep.port)
    return _select(st, prefix, len(eps), mark, sp.affinity_timeout)


def add_service_port(st: State, sp: ServicePort, node: str) -> None:
    proto = sp.protocol
    st.cluster_ips.add(sp.cluster_ip)
    internal, external = cluster_endpoints(sp, node), external_endpoints(sp, node)
    st.hairpin.update((ep.ip, ep.ip) for ep in {*internal, *external})
    if internal:
        st.services[(sp.cluster_ip, proto, sp.port)] = _add_vip(st, sp, sp.cluster_ip, internal, "", False)
    else:
        st.reject.add((sp.cluster_ip, proto, sp.port))
    # endpoints exist, just none on this node: drop so that the load balancer picks another node
    no_external = st.drop if sp.external_local and sp.endpoints else st.reject
    for ip in sp.external_ips:
        key = (ip, proto, sp.port)
        if external:
            st.services[key] = _add_vip(st, sp, ip, external, "", not sp.external_local)
        else:
            no_external.add(key)
        if sp.external_local and internal:  # pods are not external clients: any endpoint serves them
            st.ext_from_pods[key] = _add_vip(st, sp, ip, internal, "int-", False)
    if sp.node_port:
        np_key = (proto, sp.node_port)
        if external:
            st.nodeports[np_key] = _add_node_port(st, sp, external, "np-", not sp.external_local)
        else:
            (st.np_drop if sp.external_local and sp.endpoints else st.np_reject).add(np_key)
        if sp.external_local and internal:
            st.np_from_pods[np_key] = _add_node_port(st, sp, internal, "int-np-", False)


def build_state(ports: Iterable[ServicePort], node: str) -> State:
    """Everything the table must hold for these service ports, seen from ``node``."""
    st = State()
    for sp in ports:
        add_service_port(st, sp, node)
    return st


# ---- rendering -------------------------------------------------------------------------------------


def chain_rules(name: str, algorithm: str) -> list[str]:
    """The rules of one shared selection chain, all read from its name (so partial syncs need none)."""
    parts = name.split("-")
    count = int(parts[-1])
    offset = POD_OFFSET if "int" in parts else 0
    np = "np" in parts
    if name.startswith("ext-"):
        return [f"meta mark set meta mark | {MASQ_MARK:#x}", f"goto {name[len('ext-') :]}"]
    key = "meta l4proto . th dport" if np else "ip daddr . meta l4proto . th dport"
    if name.startswith("aff-"):
        client = "ip saddr . ip daddr . meta l4proto . th dport"
        return [
            f"ct mark set {client} map @affinity",  # a known client: its endpoint's index
            f"ct mark 0 ct mark set numgen random mod {count} offset {offset + 1}",  # a new one: choose
            f"update @affinity {{ {client} timeout {int(parts[1])}s : ct mark }}",
            f"dnat ip addr . port to {key} . ct mark map @{'np-aff-backends' if np else 'aff-backends'}",
        ]
    pick = f"{ALGORITHMS[algorithm]} mod {count}" + (f" offset {offset}" if offset else "")
    return [f"dnat ip addr . port to {key} . {pick} map @{'np-backends' if np else 'backends'}"]


def _elements(items: Iterable[str]) -> str:
    return ", ".join(items)


def fmt(x: object) -> str:
    return " . ".join(str(v) for v in x) if isinstance(x, tuple) else str(x)


def collections(st: State) -> dict[str, dict[Any, Any] | set[Any]]:
    """Each named map or set of the table and the State field holding its elements."""
    return {
        "services": st.services, "nodeports": st.nodeports, "backends": st.backends,
        "np-backends": st.np_backends, "aff-backends": st.aff_backends, "np-aff-backends": st.np_aff_backends,
        "ext-from-pods": st.ext_from_pods, "np-from-pods": st.np_from_pods,
        "no-endpoints": st.reject, "np-no-endpoints": st.np_reject, "no-local": st.drop,
        "np-no-local": st.np_drop, "cluster-ips": st.cluster_ips, "hairpin": st.hairpin,
    }  # fmt: skip


def element(items: dict[Any, Any] | set[Any], key: Any) -> str:
    return f"{fmt(key)} : {fmt(items[key])}" if isinstance(items, dict) else fmt(key)


def element_lines(st: State) -> dict[str, list[str]]:
    """Each map/set's elements as nft element text (what full and partial syncs both write)."""
    return {name: [element(items, k) for k in sorted(items)] for name, items in collections(st).items()}


DECLS = {
    "services": "map services { type ipv4_addr . inet_proto . inet_service : verdict; }",
    "nodeports": "map nodeports { type inet_proto . inet_service : verdict; }",
    "backends": "map backends { typeof ip daddr . meta l4proto . th dport . numgen random mod 1 : ip daddr . th dport; }",
    "np-backends": "map np-backends { typeof meta l4proto . th dport . numgen random mod 1 : ip daddr . th dport; }",
    "no-endpoints": "set no-endpoints { type ipv4_addr . inet_proto . inet_service; }",
    "np-no-endpoints": "set np-no-endpoints { type inet_proto . inet_service; }",
    "no-local": "set no-local { type ipv4_addr . inet_proto . inet_service; }",
    "np-no-local": "set np-no-local { type inet_proto . inet_service; }",
    "ext-from-pods": "map ext-from-pods { type ipv4_addr . inet_proto . inet_service : verdict; }",
    "np-from-pods": "map np-from-pods { type inet_proto . inet_service : verdict; }",
    "cluster-ips": "set cluster-ips { type ipv4_addr; }",
    "hairpin": "set hairpin { type ipv4_addr . ipv4_addr; }",
    "aff-backends": "map aff-backends { typeof ip daddr . meta l4proto . th dport . ct mark : ip daddr . th dport; }",
    "np-aff-backends": "map np-aff-backends { typeof meta l4proto . th dport . ct mark : ip daddr . th dport; }",
}


def render_full(
    st: State, cluster_cidr: str, algorithm: str = "random", service_cidr: str | None = None
) -> str:
    """The whole table, replacing any previous one in the same transaction (established flows keep
    their conntrack entries, so they survive).

    With ``service_cidr``, new connections that the NAT stage left addressed to the service range
    are refused as kube-proxy's nftables mode refuses them: a ClusterIP on a port it does not serve
    is rejected at once, an address of the range no Service holds is dropped (it must not leave the
    node towards a default route). The filter hooks run after DNAT, so a served port never gets
    here: its destination is an endpoint by then.
    """
    cidr = ipaddress.IPv4Network(cluster_cidr)
    checks = []
    if service_cidr:
        checks = [
            "\t\tct state new ip daddr @cluster-ips reject",
            f"\t\tct state new ip daddr {ipaddress.IPv4Network(service_cidr)} drop",
        ]
    t = TABLE
    out = [f"table ip {t} {{}}", f"delete table ip {t}", f"table ip {t} {{"]
    for decl in DECLS.values():
        out.append(f"\t{decl}")
    out.append(
        "\tmap affinity { typeof ip saddr . ip daddr . meta l4proto . th dport : ct mark; flags dynamic,timeout; timeout 3h; }"
    )
    for name in sorted(st.chains, key=chain_order):
        out.append(f"\tchain {name} {{")
        out += [f"\t\t{r}" for r in chain_rules(name, algorithm)]
        out.append("\t}")
    out += [
        "\tchain entry {",
        f"\t\tip daddr @cluster-ips ip saddr != {cidr} meta mark set meta mark | {MASQ_MARK:#x}",
        f"\t\tip saddr {cidr} ip daddr . meta l4proto . th dport vmap @ext-from-pods",
        "\t\tip daddr . meta l4proto . th dport vmap @services",
        f"\t\tip saddr {cidr} fib daddr type local meta l4proto . th dport vmap @np-from-pods",
        "\t\tfib daddr type local meta l4proto . th dport vmap @nodeports",
        "\t}",
        "\tchain prerouting {",
        "\t\ttype nat hook prerouting priority -100; policy accept;",
        "\t\tjump entry",
        "\t}",
        "\tchain output {",
        "\t\ttype nat hook output priority -100; policy accept;",
        # the node itself is no external client either (kube-proxy: "route LOCAL traffic for ...
        # external destinations"): its own connections to a Local-policy LB/externalIP/NodePort
        # may use any endpoint, not only this node's
        "\t\tip daddr . meta l4proto . th dport vmap @ext-from-pods",
        "\t\tfib daddr type local meta l4proto . th dport vmap @np-from-pods",
        "\t\tjump entry",
        "\t}",
        "\tchain postrouting {",
        "\t\ttype nat hook postrouting priority 100; policy accept;",
    ]
    out += [
        f"\t\tmeta mark & {MASQ_MARK:#x} == {MASQ_MARK:#x} meta mark set meta mark & {~MASQ_MARK & 0xFFFFFFFF:#x} masquerade",
        "\t\tct status dnat ip saddr . ip daddr @hairpin masquerade",
        "\t}",
    ]
    for hook in ("input", "forward", "output"):
        out += [
            f"\tchain filter-{hook} {{",
            f"\t\ttype filter hook {hook} priority filter - 10; policy accept;",
            "\t\tct state new ip daddr . meta l4proto . th dport @no-endpoints reject",
            "\t\tct state new ip daddr . meta l4proto . th dport @no-local drop",
        ]
        if hook != "input":  # ClusterIPs are on no interface: such traffic is forwarded or sent
            out += checks
        if hook == "input":
            out += [
                "\t\tct state new fib daddr type local meta l4proto . th dport @np-no-endpoints reject",
                "\t\tct state new fib daddr type local meta l4proto . th dport @np-no-local drop",
            ]
        out.append("\t}")
    out.append("}")
    for name, items in element_lines(st).items():
        if items:
            out.append(f"add element ip {t} {name} {{ {_elements(items)} }}")
    return "\n".join(out) + "\n"


def chain_order(name: str) -> tuple[int, str]:
    """Chains a goto targets come first (nft wants a chain declared before a rule jumps to it)."""
    return (name.count("-"), name)
