"""A lab's shape: its name, hosts, addresses and the kernel names derived from them (pure, no I/O).

Every kernel object a lab owns is named from the lab name, so that several labs coexist and
``down`` removes exactly what was ours:

- network namespaces ``podnet-<lab>-<host>``; pod sandboxes the agent creates later are
  ``podnet-<lab>-pod-<hex>`` (the hex suffix is what keeps lab ``a``'s names apart from lab
  ``a-pod``'s: no host of another lab ends in a bare hex word);
- in the switch namespace, the bridge ``underlay`` and one port ``v-<host>`` per host;
- in each host namespace, ``eth0``.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass

DEFAULT_LAB = "podnet"
DEFAULT_NODE_NETWORK = "172.18.0.0/16"
DEFAULT_INTERNET = "203.0.113.1/24"
BACKENDS = ("host-gw", "vxlan")

NETNS_PREFIX = "podnet-"
SWITCH = "switch"
CONTROL_PLANE = "control-plane"
EXTERNAL = "external"
BRIDGE = "underlay"
HOST_IFNAME = "eth0"
IFNAMSIZ = 15  # the kernel keeps 16 bytes, one of them the NUL

# Offsets in the node network: kind and kubeadm put the control plane first; the external host sits
# at .250 so the LoadBalancer pool can take the top of the network.
CONTROL_PLANE_OFFSET = 2
FIRST_NODE_OFFSET = 3
EXTERNAL_OFFSET = 250
MAX_NODES = EXTERNAL_OFFSET - FIRST_NODE_OFFSET

# 32 keeps every derived path short: the longest unix socket path the lead may put under
# /run/podnet/<lab>/<host>/ stays well inside sun_path (107 bytes), and every namespace name,
# pod sandboxes included, inside HOST_NAME_MAX (64) should anyone use it as a hostname.
MAX_LAB_NAME = 32

_DNS1123_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
_OWNED_HOST = re.compile(r"switch|control-plane|external|node-[1-9][0-9]*|pod-[0-9a-f]+")


@dataclass(frozen=True)
class LabSpec:
    """What the user asked for; ``validate`` refuses anything that cannot be built whole."""

    name: str = DEFAULT_LAB
    nodes: int = 3
    node_network: str = DEFAULT_NODE_NETWORK
    backend: str = "host-gw"
    # An "internet" address on the external host's lo, reached from the other hosts by one route,
    # so pod egress masquerade can be tested against something that is not on the node network.
    internet: str | None = DEFAULT_INTERNET


@dataclass(frozen=True)
class Host:
    """One lab host: a network namespace with ``eth0`` on the underlay (the switch has neither)."""

    name: str
    role: str  # "switch" | "control-plane" | "node" | "external"
    netns: str
    address: str | None  # "172.18.0.3/16" on eth0
    switch_port: str | None  # the veth end in the switch namespace, on the bridge


def netns_name(lab: str, host: str) -> str:
    return f"{NETNS_PREFIX}{lab}-{host}"


def pod_netns_name(lab: str, pod_uid: str) -> str:
    """The sandbox namespace of a pod, derived from its uid so any tool can find it from the API object.

    16 hex digits of the uid keep the name inside HOST_NAME_MAX with a 32-character lab name.
    """
    digits = pod_uid.replace("-", "").lower()[:16]
    if not digits or any(c not in "0123456789abcdef" for c in digits):
        raise ValueError(f"pod uid {pod_uid!r} is not hexadecimal")
    return f"{NETNS_PREFIX}{lab}-pod-{digits}"


def owns_netns(lab: str, netns: str) -> bool:
    """True when ``netns`` is one of lab ``lab``'s namespaces (hosts and pod sandboxes), never another lab's."""
    prefix = f"{NETNS_PREFIX}{lab}-"
    return netns.startswith(prefix) and _OWNED_HOST.fullmatch(netns[len(prefix) :]) is not None


def switch_port(host: str) -> str:
    return f"v-{host}"


def validate_lab_name(name: str) -> None:
    if not name:
        raise ValueError("lab name must not be empty")
    if len(name) > MAX_LAB_NAME:
        raise ValueError(f"lab name {name!r} is too long: {len(name)} characters, at most {MAX_LAB_NAME}")
    if not _DNS1123_LABEL.fullmatch(name):
        raise ValueError(
            f"lab name {name!r} is not a DNS-1123 label: lower case letters, digits and '-', "
            "starting and ending with a letter or digit"
        )


def node_network(spec: LabSpec) -> ipaddress.IPv4Network:
    try:
        net = ipaddress.ip_network(spec.node_network, strict=True)
    except ValueError as exc:
        raise ValueError(f"node network {spec.node_network!r} is not a network address: {exc}") from None
    if not isinstance(net, ipaddress.IPv4Network):
        raise ValueError(f"node network {spec.node_network!r} must be IPv4")
    if net.prefixlen > 24:
        raise ValueError(f"node network {spec.node_network} is too small: it must be a /24 or larger")
    return net


def validate(spec: LabSpec) -> ipaddress.IPv4Network:
    """Check the whole spec before anything is created; return the parsed node network."""
    validate_lab_name(spec.name)
    if spec.backend not in BACKENDS:
        raise ValueError(f"backend {spec.backend!r} is not one of {', '.join(BACKENDS)}")
    net = node_network(spec)
    if spec.nodes < 1:
        raise ValueError(f"a lab needs at least 1 node, got {spec.nodes}")
    if spec.nodes > MAX_NODES:
        first, last = net[FIRST_NODE_OFFSET], net[EXTERNAL_OFFSET - 1]
        raise ValueError(
            f"{spec.nodes} nodes do not fit: the node network {net} holds at most {MAX_NODES} nodes "
            f"({first}-{last}; {net[EXTERNAL_OFFSET]} is the external host)"
        )
    if spec.internet is not None:
        _validate_internet(spec.internet, net)
    return net


def _validate_internet(internet: str, net: ipaddress.IPv4Network) -> None:
    try:
        iface = ipaddress.ip_interface(internet)
    except ValueError:
        raise ValueError(f"internet address {internet!r} is not an address/prefix") from None
    if not isinstance(iface, ipaddress.IPv4Interface) or iface.network.overlaps(net):
        raise ValueError(f"internet address {internet} must be IPv4 and outside the node network {net}")


def hosts(spec: LabSpec) -> tuple[Host, ...]:
    """The lab's hosts in build order: the switch first, then control plane, nodes, external."""
    net = validate(spec)
    lab = spec.name
    wired = [(CONTROL_PLANE, "control-plane", CONTROL_PLANE_OFFSET)]
    wired += [(f"node-{i}", "node", FIRST_NODE_OFFSET + i - 1) for i in range(1, spec.nodes + 1)]
    wired += [(EXTERNAL, "external", EXTERNAL_OFFSET)]
    result = [Host(SWITCH, "switch", netns_name(lab, SWITCH), None, None)]
    for name, role, offset in wired:
        address = f"{net[offset]}/{net.prefixlen}"
        result.append(Host(name, role, netns_name(lab, name), address, switch_port(name)))
    return tuple(result)


def external_ip(spec: LabSpec) -> str:
    return str(node_network(spec)[EXTERNAL_OFFSET])
