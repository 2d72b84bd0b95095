"""Config and environment validation: every bad input maps to the spec's error code, with the field named."""

from __future__ import annotations

import json
from ipaddress import IPv4Address, IPv4Network
from typing import Any

import pytest

from podnet.agent.cni.config import MtuSource, parse_netconf
from podnet.agent.cni.errors import CNIError
from podnet.agent.cni.request import parse_env


def conf(**overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "cniVersion": "1.1.0",
        "name": "podnet",
        "type": "podnet-cni",
        "bridge": "cbr0",
        "mtu": 1450,
        "ipam": {"type": "podnet-ipam", "subnet": "10.244.1.0/24", "dataDir": "/var/lib/cni/networks"},
    }
    for key, value in overrides.items():
        if value is DROP:
            base.pop(key, None)
        else:
            base[key] = value
    return base


DROP = object()
IPAM = {"type": "podnet-ipam", "subnet": "10.244.1.0/24"}


def code_of(stdin: bytes) -> tuple[int, str]:
    with pytest.raises(CNIError) as info:
        parse_netconf(stdin)
    return info.value.code, info.value.msg


@pytest.mark.parametrize(
    ("stdin", "code", "word"),
    [
        (b"", 6, "JSON"),
        (b"{not json", 6, "JSON"),
        (b"[1, 2]", 6, "object"),
        (b"\xff\xfe", 6, "JSON"),
        (json.dumps(conf(cniVersion=DROP)).encode(), 7, "cniVersion"),
        (json.dumps(conf(cniVersion="0.3.1")).encode(), 1, "0.3.1"),
        (json.dumps(conf(cniVersion="2.0.0")).encode(), 1, "2.0.0"),
        (json.dumps(conf(cniVersion=1)).encode(), 7, "cniVersion"),
        (json.dumps(conf(name=DROP)).encode(), 7, "name"),
        (json.dumps(conf(name="-bad")).encode(), 7, "name"),
        (json.dumps(conf(type="bridge")).encode(), 7, "type"),
        (json.dumps(conf(bridge="a-very-long-bridge-name")).encode(), 7, "bridge"),
        (json.dumps(conf(bridge="br/0")).encode(), 7, "bridge"),
        (json.dumps(conf(mtu=40)).encode(), 7, "mtu"),
        (json.dumps(conf(mtu="1500")).encode(), 7, "mtu"),
        (json.dumps(conf(mtu=True)).encode(), 7, "mtu"),
        (json.dumps(conf(uplinkInterface="eth0")).encode(), 7, "either"),
        (
            json.dumps(conf(mtu=DROP, uplinkInterface="eth0", backendOverhead=-1)).encode(),
            7,
            "backendOverhead",
        ),
        (json.dumps(conf(isGateway="yes")).encode(), 7, "isGateway"),
        (json.dumps(conf(hairpinMode=1)).encode(), 7, "hairpinMode"),
        (json.dumps(conf(ipMasq=True)).encode(), 2, "ipMasq"),
        (json.dumps(conf(agentSocket="relative.sock")).encode(), 7, "agentSocket"),
        (json.dumps(conf(ipam=DROP)).encode(), 7, "ipam"),
        (json.dumps(conf(ipam={"type": "host-local", "subnet": "10.244.1.0/24"})).encode(), 7, "ipam.type"),
        (json.dumps(conf(ipam={"type": "podnet-ipam"})).encode(), 7, "ipam.subnet"),
        (json.dumps(conf(ipam={**IPAM, "subnet": "10.244.1.5/24"})).encode(), 7, "ipam.subnet"),
        (json.dumps(conf(ipam={**IPAM, "subnet": "fd00::/64"})).encode(), 7, "ipam.subnet"),
        (json.dumps(conf(ipam={**IPAM, "subnet": "10.244.1.0/31"})).encode(), 7, "too small"),
        (json.dumps(conf(ipam={**IPAM, "gateway": "10.244.2.1"})).encode(), 7, "gateway"),
        (json.dumps(conf(ipam={**IPAM, "gateway": "10.244.1.255"})).encode(), 7, "gateway"),
        (json.dumps(conf(ipam={**IPAM, "gateway": "nope"})).encode(), 7, "gateway"),
        (json.dumps(conf(ipam={**IPAM, "dataDir": "rel/dir"})).encode(), 7, "dataDir"),
        (json.dumps(conf(prevResult=[])).encode(), 7, "prevResult"),
        (json.dumps(conf(**{"cni.dev/valid-attachments": {}})).encode(), 7, "valid-attachments"),
        (json.dumps(conf(**{"cni.dev/valid-attachments": [{"ifname": "eth0"}]})).encode(), 7, "containerID"),
    ],
)
def test_bad_config_gets_the_spec_code(stdin: bytes, code: int, word: str) -> None:
    got_code, msg = code_of(stdin)
    assert (got_code, word in msg) == (code, True), msg


@pytest.mark.parametrize("version", ["0.4.0", "1.0.0", "1.1.0"])
def test_good_config_defaults(version: str) -> None:
    nc = parse_netconf(json.dumps(conf(cniVersion=version, mtu=DROP, bridge=DROP, ipam=IPAM)).encode())
    assert nc.cni_version == version
    assert nc.bridge == "cbr0"
    assert nc.mtu == MtuSource(mtu=1500)
    assert (nc.is_gateway, nc.hairpin) == (True, True)
    assert nc.ipam.subnet == IPv4Network("10.244.1.0/24")
    assert nc.ipam.gateway == IPv4Address("10.244.1.1")
    assert nc.network_dir == "/var/lib/cni/networks/podnet"
    assert nc.agent_socket is None and nc.prev_result is None and nc.valid_attachments is None


def test_uplink_mtu_source_and_attachments() -> None:
    doc = conf(mtu=DROP, uplinkInterface="eth0", backendOverhead=50, agentSocket="/run/podnet/x/cni.sock")
    doc["cni.dev/valid-attachments"] = [{"containerID": "a", "ifname": "eth0"}]
    nc = parse_netconf(json.dumps(doc).encode())
    assert nc.mtu == MtuSource(mtu=None, uplink="eth0", overhead=50)
    assert nc.agent_socket == "/run/podnet/x/cni.sock"
    assert nc.valid_attachments == (("a", "eth0"),)


ENV = {"CNI_COMMAND": "ADD", "CNI_CONTAINERID": "abc", "CNI_NETNS": "/run/netns/p", "CNI_IFNAME": "eth0"}


@pytest.mark.parametrize(
    ("change", "word"),
    [
        ({"CNI_COMMAND": None}, "CNI_COMMAND"),
        ({"CNI_COMMAND": "FROB"}, "CNI_COMMAND"),
        ({"CNI_CONTAINERID": None}, "CNI_CONTAINERID"),
        ({"CNI_CONTAINERID": "-starts-with-dash"}, "CNI_CONTAINERID"),
        ({"CNI_CONTAINERID": "has space"}, "CNI_CONTAINERID"),
        ({"CNI_IFNAME": None}, "CNI_IFNAME"),
        ({"CNI_IFNAME": "sixteen-chars-xx"}, "CNI_IFNAME"),
        ({"CNI_IFNAME": "eth:0"}, "CNI_IFNAME"),
        ({"CNI_IFNAME": ".."}, "CNI_IFNAME"),
        ({"CNI_NETNS": None}, "CNI_NETNS"),
        ({"CNI_NETNS": "relative"}, "CNI_NETNS"),
        ({"CNI_COMMAND": "CHECK", "CNI_NETNS": None}, "CNI_NETNS"),
    ],
)
def test_bad_env_is_code_4(change: dict[str, str | None], word: str) -> None:
    env = {**ENV, **change}
    with pytest.raises(CNIError) as info:
        parse_env({k: v for k, v in env.items() if v is not None})
    assert info.value.code == 4
    assert word in info.value.msg


def test_env_needs_per_command() -> None:
    assert parse_env({"CNI_COMMAND": "VERSION"}).command == "VERSION"
    assert parse_env({"CNI_COMMAND": "STATUS"}).command == "STATUS"
    assert parse_env({"CNI_COMMAND": "GC", "CNI_PATH": "/opt/cni/bin"}).path == "/opt/cni/bin"
    deleted = parse_env({**ENV, "CNI_COMMAND": "DEL", "CNI_NETNS": ""})
    assert (deleted.netns, deleted.container_id, deleted.ifname) == ("", "abc", "eth0")
