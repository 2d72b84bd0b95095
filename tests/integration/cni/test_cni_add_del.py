"""ADD, CHECK and DEL through the exec protocol, in real namespaces, standalone and resident."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from ipaddress import IPv4Interface
from typing import Any

import pytest

from tests.helpers import wait_until
from tests.integration.cni.conftest import Node, ip
from tests.integration.cni.icmp import ping

pytestmark = pytest.mark.integration


def pod_link(netns: str, ifname: str = "eth0") -> dict[str, Any]:
    name = netns.rsplit("/", 1)[1]
    [link] = json.loads(ip("-j", "-n", name, "addr", "show", "dev", ifname).stdout)
    return dict(link)


def test_add_connects_pods_to_the_gateway_and_each_other(node: Node) -> None:
    a, b = node.new_pod(), node.new_pod()
    ra = node.add("ctr-a", a)
    rb = node.add("ctr-b", b)

    assert ra["cniVersion"] == "1.1.0"
    [ip_a] = ra["ips"]
    assert ip_a["gateway"] == "10.244.1.1" and ip_a["interface"] == 2
    assert ra["interfaces"][2]["name"] == "eth0" and ra["interfaces"][2]["sandbox"] == a
    assert ra["interfaces"][0]["name"] == "cbr0" and "sandbox" not in ra["interfaces"][1]
    assert ra["routes"] == [{"dst": "0.0.0.0/0", "gw": "10.244.1.1"}]
    addr_a, addr_b = IPv4Interface(ip_a["address"]), IPv4Interface(rb["ips"][0]["address"])
    assert addr_a != addr_b and addr_a.network == addr_b.network == IPv4Interface("10.244.1.0/24").network

    link = pod_link(a)
    assert link["address"] == ra["interfaces"][2]["mac"]
    assert [f"{x['local']}/{x['prefixlen']}" for x in link["addr_info"] if x["family"] == "inet"] == [
        str(addr_a)
    ]
    assert ping(a, "10.244.1.1")
    assert ping(a, str(addr_b.ip))
    assert ping(b, str(addr_a.ip))
    assert ping(a, "127.0.0.1")  # lo is up in the pod
    assert not ping(a, "10.244.1.250", timeout=0.5)  # and the probe can tell when nobody answers


def test_mtu_from_uplink_minus_backend_overhead(node: Node) -> None:
    ip("-n", node.ns, "link", "add", "uplink0", "mtu", "1500", "type", "veth", "peer", "name", "uplink0p")
    pod = node.new_pod()
    conf = node.conf(mtu=None, uplinkInterface="uplink0", backendOverhead=50)
    result = node.add("ctr-vx", pod, conf=conf)
    assert pod_link(pod)["mtu"] == 1450
    host = result["interfaces"][1]["name"]
    assert node.host_links()[host]["mtu"] == 1450
    assert result["interfaces"][2]["mtu"] == 1450
    # large packets fit the pod MTU end to end
    assert ping(pod, "10.244.1.1", size=1450 - 28)


def test_hairpin_mode_on_the_bridge_port(node: Node) -> None:
    result = node.add("ctr-h", node.new_pod())
    host = result["interfaces"][1]["name"]
    assert len(host) <= 15 and host.startswith("pn")
    assert node.sysfs(f"/sys/class/net/{host}/brport/hairpin_mode") == "1"
    assert node.host_links()[host]["master"] == "cbr0"
    assert node.sysfs("/proc/sys/net/ipv4/ip_forward") == "1"


def test_check_passes_then_fails_when_the_address_is_removed(node: Node) -> None:
    pod = node.new_pod()
    result = node.add("ctr-c", pod)
    ok = node.cni("CHECK", "ctr-c", pod, conf=node.conf(prevResult=result))
    assert (ok.status, ok.out) == (0, None), ok.stderr
    ip("-n", pod.rsplit("/", 1)[1], "addr", "del", result["ips"][0]["address"], "dev", "eth0")
    bad = node.cni("CHECK", "ctr-c", pod, conf=node.conf(prevResult=result))
    assert (bad.status, bad.code) == (1, 102)
    assert bad.out and result["ips"][0]["address"] in bad.out["msg"]


def test_del_releases_everything_and_is_idempotent(node: Node) -> None:
    pod = node.new_pod()
    result = node.add("ctr-d", pod)
    address = result["ips"][0]["address"].split("/")[0]
    assert node.ip_files() == {address: "ctr-d\neth0"}
    for _ in range(2):
        got = node.cni("DEL", "ctr-d", pod, conf=node.conf(prevResult=result))
        assert (got.status, got.out) == (0, None), got.stderr
    assert node.ip_files() == {}
    assert node.pod_veths(attached_only=True) == []  # cut off before DEL returns
    wait_until(lambda: node.pod_veths() == [], timeout=5, what="the host veth to be unregistered")
    # unknown containers are fine too, with or without a netns
    assert node.cni("DEL", "never-added", pod).status == 0
    assert node.cni("DEL", "never-added", env={"CNI_NETNS": None}).status == 0


def test_del_after_the_netns_is_gone(node: Node) -> None:
    pod = node.new_pod()
    node.add("ctr-gone", pod)
    ip("netns", "del", pod.rsplit("/", 1)[1])
    got = node.cni("DEL", "ctr-gone", pod)
    assert (got.status, got.out) == (0, None), got.stderr
    assert node.ip_files() == {}
    wait_until(lambda: node.pod_veths() == [], timeout=5, what="the veth to go with its namespace")


def test_concurrent_adds_get_distinct_addresses(node: Node) -> None:
    pods = [node.new_pod() for _ in range(20)]
    with ThreadPoolExecutor(20) as pool:
        results = list(pool.map(lambda i: node.cni("ADD", f"ctr-{i}", pods[i]), range(20)))
    assert [r.status for r in results] == [0] * 20, [r.out for r in results if r.status]
    addresses = [r.out["ips"][0]["address"] for r in results if r.out]
    assert len(set(addresses)) == 20
    assert len(node.ip_files()) == 20
    assert len(node.pod_veths(attached_only=True)) == 20
    with ThreadPoolExecutor(20) as pool:
        gone = list(pool.map(lambda i: node.cni("DEL", f"ctr-{i}", pods[i]), range(20)))
    assert [r.status for r in gone] == [0] * 20
    assert node.ip_files() == {}


def test_allocations_survive_a_restart(node: Node) -> None:
    first = node.add("ctr-1", node.new_pod())["ips"][0]["address"]
    if node.server is not None:
        node.restart_server()
    second = node.add("ctr-2", node.new_pod())["ips"][0]["address"]
    assert first != second
    assert node.ip_files() == {first.split("/")[0]: "ctr-1\neth0", second.split("/")[0]: "ctr-2\neth0"}


@pytest.mark.parametrize("version", ["0.4.0", "1.0.0", "1.1.0"])
def test_each_supported_version(node: Node, version: str) -> None:
    pod = node.new_pod()
    result = node.add("ctr-v", pod, conf=node.conf(cniVersion=version))
    assert result["cniVersion"] == version
    assert ("version" in result["ips"][0]) == (version == "0.4.0")
    assert ("mtu" in result["interfaces"][2]) == (version == "1.1.0")
    check = node.cni("CHECK", "ctr-v", pod, conf=node.conf(cniVersion=version, prevResult=result))
    assert check.status == 0, check.out
    assert node.cni("DEL", "ctr-v", pod, conf=node.conf(cniVersion=version, prevResult=result)).status == 0
    got = node.cni("VERSION", conf={"cniVersion": version})
    assert got.out == {"cniVersion": version, "supportedVersions": ["0.4.0", "1.0.0", "1.1.0"]}
