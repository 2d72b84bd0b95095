"""Result JSON per CNI version, and reading prevResult back for CHECK and DEL."""

from __future__ import annotations

from ipaddress import IPv4Address, IPv4Interface

import pytest

from podnet.agent.cni.errors import CNIError
from podnet.agent.cni.result import AddOutcome, expected_from_prev, prev_addresses, render_result

OUTCOME = AddOutcome(
    bridge="cbr0",
    bridge_mac="02:00:00:00:00:01",
    host_ifname="pn0123456789a",
    host_mac="02:00:00:00:00:02",
    pod_ifname="eth0",
    pod_mac="02:00:00:00:00:03",
    sandbox="/run/netns/pod",
    address=IPv4Interface("10.244.1.7/24"),
    gateway=IPv4Address("10.244.1.1"),
    mtu=1450,
)


def test_result_1_1_0() -> None:
    assert render_result(OUTCOME, "1.1.0", {"nameservers": ["10.96.0.10"]}) == {
        "cniVersion": "1.1.0",
        "interfaces": [
            {"name": "cbr0", "mac": "02:00:00:00:00:01", "mtu": 1450},
            {"name": "pn0123456789a", "mac": "02:00:00:00:00:02", "mtu": 1450},
            {"name": "eth0", "mac": "02:00:00:00:00:03", "mtu": 1450, "sandbox": "/run/netns/pod"},
        ],
        "ips": [{"address": "10.244.1.7/24", "gateway": "10.244.1.1", "interface": 2}],
        "routes": [{"dst": "0.0.0.0/0", "gw": "10.244.1.1"}],
        "dns": {"nameservers": ["10.96.0.10"]},
    }


def test_result_1_0_0_has_no_interface_mtu() -> None:
    result = render_result(OUTCOME, "1.0.0", {})
    assert result["cniVersion"] == "1.0.0"
    assert result["interfaces"][2] == {
        "name": "eth0",
        "mac": "02:00:00:00:00:03",
        "sandbox": "/run/netns/pod",
    }
    assert result["ips"] == [{"address": "10.244.1.7/24", "gateway": "10.244.1.1", "interface": 2}]


def test_result_0_4_0_has_ip_version() -> None:
    result = render_result(OUTCOME, "0.4.0", {})
    assert result["ips"] == [
        {"version": "4", "address": "10.244.1.7/24", "gateway": "10.244.1.1", "interface": 2}
    ]
    assert "mtu" not in result["interfaces"][0]


@pytest.mark.parametrize("version", ["0.4.0", "1.0.0", "1.1.0"])
def test_prev_result_round_trip(version: str) -> None:
    prev = render_result(OUTCOME, version, {})
    expected = expected_from_prev(prev, "eth0", "/run/netns/pod")
    assert expected.ifname == "eth0"
    assert expected.mac == "02:00:00:00:00:03"
    assert expected.addresses == (IPv4Interface("10.244.1.7/24"),)
    assert expected.routes == (("0.0.0.0/0", "10.244.1.1"),)
    assert prev_addresses(prev) == [IPv4Address("10.244.1.7")]


@pytest.mark.parametrize(
    "prev",
    [
        {"interfaces": "eth0"},
        {"interfaces": [{"name": "eth1", "sandbox": "/run/netns/pod"}]},
        {"interfaces": [{"name": "eth0"}], "ips": [{"address": "not-an-ip", "interface": 0}]},
        {"interfaces": [{"name": "eth0"}], "routes": "default"},
    ],
)
def test_unreadable_prev_result_is_code_7(prev: dict[str, object]) -> None:
    with pytest.raises(CNIError) as info:
        expected_from_prev(prev, "eth0", "/run/netns/pod")
    assert info.value.code == 7
    assert "prevResult" in info.value.msg


def test_prev_addresses_is_lenient() -> None:
    assert prev_addresses(None) == []
    assert prev_addresses({"ips": [{"address": "junk"}, {"address": "10.0.0.2/24"}, "x"]}) == [
        IPv4Address("10.0.0.2")
    ]
