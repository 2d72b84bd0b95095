"""The ADD result JSON for each supported version, and reading a ``prevResult`` back (pure).

0.4.0 results carry ``"version": "4"`` in each IP; 1.0.0 dropped it; 1.1.0 adds the interface
``mtu``. The interface list follows the reference bridge plugin: the bridge, the host veth end,
then the pod's interface (with ``sandbox``), and each IP points at the pod's interface by index.
"""

from __future__ import annotations

from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Interface
from typing import Any

from podnet.agent.cni.errors import INVALID_NETWORK_CONFIG, CNIError


@dataclass(frozen=True)
class AddOutcome:
    """What ADD made, in kernel terms."""

    bridge: str
    bridge_mac: str
    host_ifname: str
    host_mac: str
    pod_ifname: str
    pod_mac: str
    sandbox: str
    address: IPv4Interface
    gateway: IPv4Address
    mtu: int


def _iface(name: str, mac: str, version: str, mtu: int, sandbox: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {"name": name, "mac": mac}
    if version == "1.1.0":
        out["mtu"] = mtu
    if sandbox:
        out["sandbox"] = sandbox
    return out


def render_result(outcome: AddOutcome, version: str, dns: dict[str, Any]) -> dict[str, Any]:
    ip: dict[str, Any] = {"address": str(outcome.address), "gateway": str(outcome.gateway), "interface": 2}
    if version == "0.4.0":
        ip = {"version": "4", **ip}
    return {
        "cniVersion": version,
        "interfaces": [
            _iface(outcome.bridge, outcome.bridge_mac, version, outcome.mtu),
            _iface(outcome.host_ifname, outcome.host_mac, version, outcome.mtu),
            _iface(outcome.pod_ifname, outcome.pod_mac, version, outcome.mtu, outcome.sandbox),
        ],
        "ips": [ip],
        "routes": [{"dst": "0.0.0.0/0", "gw": str(outcome.gateway)}],
        "dns": dns,
    }


@dataclass(frozen=True)
class Expected:
    """What CHECK verifies in the pod: the interface (and MAC if known), its addresses, its routes."""

    ifname: str
    mac: str
    addresses: tuple[IPv4Interface, ...]
    routes: tuple[tuple[str, str | None], ...]  # (dst, gw)


def _bad(msg: str) -> CNIError:
    return CNIError(INVALID_NETWORK_CONFIG, f"prevResult: {msg}")


def expected_from_prev(prev: dict[str, Any], ifname: str, sandbox: str) -> Expected:
    """The state ``prevResult`` promises for ``ifname``; code 7 when it is not a result we can read."""
    interfaces = prev.get("interfaces", [])
    if not isinstance(interfaces, list) or not all(isinstance(i, dict) for i in interfaces):
        raise _bad("interfaces must be a list of objects")
    mine = [
        n
        for n, i in enumerate(interfaces)
        if i.get("name") == ifname and i.get("sandbox") in (sandbox, None, "")
    ]
    if not mine:
        raise _bad(f"no interface {ifname!r} in the sandbox")
    index = mine[-1]
    addresses = []
    for ip in _list(prev, "ips"):
        if ip.get("interface") not in (index, None):
            continue
        try:
            addresses.append(IPv4Interface(str(ip.get("address"))))
        except ValueError:
            raise _bad(f"address {ip.get('address')!r} is not an IPv4 CIDR") from None
    routes = tuple((str(r.get("dst")), r.get("gw")) for r in _list(prev, "routes"))
    return Expected(
        ifname=ifname, mac=str(interfaces[index].get("mac", "")), addresses=tuple(addresses), routes=routes
    )


def _list(doc: dict[str, Any], key: str) -> list[dict[str, Any]]:
    value = doc.get(key) or []
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        raise _bad(f"{key} must be a list of objects")
    return value


def prev_addresses(prev: dict[str, Any] | None) -> list[IPv4Address]:
    """The addresses a prevResult names, leniently: DEL must not fail on a result it cannot read."""
    out = []
    for ip in (prev or {}).get("ips") or []:
        try:
            out.append(IPv4Interface(str(ip.get("address"))).ip)
        except (ValueError, AttributeError):
            continue
    return out
