"""The network configuration on stdin, parsed and validated before anything is touched (pure).

Decoding failures get code 6, versions we do not speak code 1, fields we refuse on purpose code 2,
and everything else that is wrong code 7, each with a message naming the field.
"""

from __future__ import annotations

import ipaddress
import json
import re
from dataclasses import dataclass, field
from typing import Any

from podnet.agent.cni.errors import (
    DECODING_FAILURE,
    INCOMPATIBLE_VERSION,
    INVALID_NETWORK_CONFIG,
    UNSUPPORTED_FIELD,
    CNIError,
)

SUPPORTED_VERSIONS = ("0.4.0", "1.0.0", "1.1.0")
PLUGIN_TYPE = "podnet-cni"
IPAM_TYPE = "podnet-ipam"
DEFAULT_BRIDGE = "cbr0"
DEFAULT_DATA_DIR = "/var/lib/cni/networks"
DEFAULT_MTU = 1500
MIN_MTU, MAX_MTU = 68, 65535
NETWORK_NAME = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_.\-]*$")


@dataclass(frozen=True)
class IpamConf:
    subnet: ipaddress.IPv4Network
    gateway: ipaddress.IPv4Address
    data_dir: str  # the parent of the per-network directory


@dataclass(frozen=True)
class MtuSource:
    """Either a fixed MTU, or "the uplink's MTU minus the backend's encapsulation overhead"."""

    mtu: int | None = None
    uplink: str | None = None
    overhead: int = 0


@dataclass(frozen=True)
class NetConf:
    cni_version: str
    name: str
    bridge: str
    mtu: MtuSource
    is_gateway: bool
    hairpin: bool
    ipam: IpamConf
    agent_socket: str | None = None
    dns: dict[str, Any] = field(default_factory=dict)
    prev_result: dict[str, Any] | None = None
    valid_attachments: tuple[tuple[str, str], ...] | None = None

    @property
    def network_dir(self) -> str:
        return f"{self.ipam.data_dir.rstrip('/')}/{self.name}"


def valid_ifname(name: object) -> bool:
    """Linux interface name rules (IFNAMSIZ 16 with the NUL), as the spec states them for CNI_IFNAME."""
    return (
        isinstance(name, str)
        and 0 < len(name) < 16
        and name not in (".", "..")
        and not any(c in "/:" or c.isspace() for c in name)
    )


def _bad(msg: str) -> CNIError:
    return CNIError(INVALID_NETWORK_CONFIG, msg)


def decode(stdin: bytes) -> dict[str, Any]:
    """The stdin JSON object, or code 6."""
    try:
        doc = json.loads(stdin)
    except (ValueError, UnicodeDecodeError) as exc:
        raise CNIError(DECODING_FAILURE, "network config on stdin is not valid JSON", str(exc)) from None
    if not isinstance(doc, dict):
        raise CNIError(DECODING_FAILURE, "network config on stdin must be a JSON object")
    return doc


def check_version(doc: dict[str, Any]) -> str:
    version = doc.get("cniVersion")
    if version is None or version == "":
        raise _bad("cniVersion is required")
    if not isinstance(version, str):
        raise _bad("cniVersion must be a string")
    if version not in SUPPORTED_VERSIONS:
        raise CNIError(
            INCOMPATIBLE_VERSION,
            f"incompatible CNI versions: config is {version!r}, plugin supports {list(SUPPORTED_VERSIONS)}",
        )
    return version


def _get(doc: dict[str, Any], key: str, kind: type | tuple[type, ...], default: Any, what: str) -> Any:
    value = doc.get(key, default)
    if value is None:
        return default
    # bool is an int in Python; JSON true must not pass as an MTU
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise _bad(f"{what}{key} must be {_kind_name(kind)}")
    return value


def _kind_name(kind: type | tuple[type, ...]) -> str:
    names = {bool: "a boolean", int: "an integer", str: "a string", dict: "an object", list: "a list"}
    return names.get(kind, "valid") if isinstance(kind, type) else "valid"


def parse_ipam(doc: dict[str, Any]) -> IpamConf:
    ipam = doc.get("ipam")
    if not isinstance(ipam, dict):
        raise _bad("ipam is required and must be an object")
    if ipam.get("type") != IPAM_TYPE:
        raise _bad(f"ipam.type must be {IPAM_TYPE!r} (the built-in IPAM), got {ipam.get('type')!r}")
    raw = _get(ipam, "subnet", str, None, "ipam.")
    if raw is None:
        raise _bad("ipam.subnet is required")
    try:
        subnet = ipaddress.IPv4Network(raw)
    except ValueError as exc:
        raise _bad(f"ipam.subnet {raw!r} is not an IPv4 network: {exc}") from None
    if subnet.prefixlen > 30:
        raise _bad(f"ipam.subnet {raw!r} is too small: it needs room for a gateway and a pod (/30 or larger)")
    gateway = _parse_gateway(_get(ipam, "gateway", str, None, "ipam."), subnet)
    data_dir = _get(ipam, "dataDir", str, DEFAULT_DATA_DIR, "ipam.")
    if not data_dir.startswith("/") or "\0" in data_dir:
        raise _bad(f"ipam.dataDir must be an absolute path, got {data_dir!r}")
    return IpamConf(subnet=subnet, gateway=gateway, data_dir=data_dir)


def _parse_gateway(raw: str | None, subnet: ipaddress.IPv4Network) -> ipaddress.IPv4Address:
    if raw is None:
        return subnet.network_address + 1
    try:
        gw = ipaddress.IPv4Address(raw)
    except ValueError:
        raise _bad(f"ipam.gateway {raw!r} is not an IPv4 address") from None
    if gw not in subnet or gw in (subnet.network_address, subnet.broadcast_address):
        raise _bad(f"ipam.gateway {raw} is not a usable address of {subnet}")
    return gw


def parse_mtu(doc: dict[str, Any]) -> MtuSource:
    mtu = _get(doc, "mtu", int, None, "")
    uplink = _get(doc, "uplinkInterface", str, None, "")
    overhead = _get(doc, "backendOverhead", int, 0, "")
    if mtu is not None and uplink is not None:
        raise _bad("give either mtu or uplinkInterface, not both")
    if mtu is not None and not MIN_MTU <= mtu <= MAX_MTU:
        raise _bad(f"mtu {mtu} is out of range {MIN_MTU}-{MAX_MTU}")
    if uplink is not None and not valid_ifname(uplink):
        raise _bad(f"uplinkInterface {uplink!r} is not a valid interface name")
    if not 0 <= overhead <= 1000:
        raise _bad(f"backendOverhead {overhead} is out of range 0-1000")
    if mtu is None and uplink is None:
        mtu = DEFAULT_MTU
    return MtuSource(mtu=mtu, uplink=uplink, overhead=overhead)


def parse_attachments(doc: dict[str, Any]) -> tuple[tuple[str, str], ...] | None:
    raw = doc.get("cni.dev/valid-attachments")
    if raw is None:
        return None
    if not isinstance(raw, list):
        raise _bad("cni.dev/valid-attachments must be a list")
    out = []
    for item in raw:
        if not isinstance(item, dict) or not isinstance(item.get("containerID"), str):
            raise _bad("each of cni.dev/valid-attachments needs a containerID string")
        out.append((item["containerID"], str(item.get("ifname", ""))))
    return tuple(out)


def parse_netconf(stdin: bytes) -> NetConf:
    """The validated configuration; raises ``CNIError`` (codes 1, 2, 6, 7) and nothing else."""
    doc = decode(stdin)
    version = check_version(doc)
    name = doc.get("name")
    if not isinstance(name, str) or not NETWORK_NAME.match(name):
        raise _bad(f"name {name!r} must be a non-empty string of letters, digits, '_', '.' and '-'")
    if doc.get("type") != PLUGIN_TYPE:
        raise _bad(f"type must be {PLUGIN_TYPE!r}, got {doc.get('type')!r}")
    bridge = _get(doc, "bridge", str, DEFAULT_BRIDGE, "")
    if not valid_ifname(bridge):
        raise _bad(f"bridge {bridge!r} is not a valid interface name")
    if _get(doc, "ipMasq", bool, False, ""):
        raise CNIError(
            UNSUPPORTED_FIELD, "ipMasq is not supported: the podnet agent masquerades egress itself"
        )
    agent_socket = _get(doc, "agentSocket", str, None, "")
    if agent_socket is not None and not agent_socket.startswith("/"):
        raise _bad(f"agentSocket must be an absolute path, got {agent_socket!r}")
    prev = _get(doc, "prevResult", dict, None, "")
    return NetConf(
        cni_version=version,
        name=name,
        bridge=bridge,
        mtu=parse_mtu(doc),
        is_gateway=_get(doc, "isGateway", bool, True, ""),
        hairpin=_get(doc, "hairpinMode", bool, True, ""),
        ipam=parse_ipam(doc),
        agent_socket=agent_socket,
        dns=_get(doc, "dns", dict, {}, ""),
        prev_result=prev,
        valid_attachments=parse_attachments(doc),
    )
