"""Endpoint-selection algorithms, traffic policies and rule ownership, in real namespaces.

Round-robin and source-hash exist only in nftables mode (iptables mode refuses them at start, see
tests/unit/proxy). Ownership: the proxier replaces only its own table (nftables) or its own KUBE-*
chains and jump rules (iptables), however often it syncs or restarts. Address plan in conftest.py.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import pytest

from tests.integration.proxy.conftest import Lab, Proxy, clean_node, endpoint, endpoint_slice, service, sh

pytestmark = pytest.mark.integration


@pytest.fixture
def nft_proxy(request: pytest.FixtureRequest, lab: Lab) -> Iterator[Proxy]:
    p = Proxy(lab, "nftables", request.param)
    try:
        yield p
    finally:
        p.stop()
        clean_node(lab)


def names(lab: Lab, count: int, url: str = "http://10.96.2.10/hostname") -> list[str]:
    return [lab.http(lab.pod("pod-c"), url) for _ in range(count)]


@pytest.mark.parametrize("nft_proxy", ["round-robin"], indirect=True)
def test_round_robin_alternates(lab: Lab, nft_proxy: Proxy) -> None:
    sl = endpoint_slice("rr", [endpoint("pod-a"), endpoint("pod-b")])
    nft_proxy.sync([service("rr", "10.96.2.10")], [sl], full=True)
    seen = names(lab, 6)
    assert all(a != b for a, b in itertools.pairwise(seen)), seen
    assert sorted(seen) == ["pod-a"] * 3 + ["pod-b"] * 3


@pytest.mark.parametrize("nft_proxy", ["source-hash"], indirect=True)
def test_source_hash_keeps_a_client_on_one_endpoint(lab: Lab, nft_proxy: Proxy) -> None:
    sl = endpoint_slice("sh", [endpoint("pod-a"), endpoint("pod-b"), endpoint("pod-c")])
    nft_proxy.sync([service("sh", "10.96.2.10")], [sl], full=True)
    assert len(set(names(lab, 8))) == 1
    text = nft_proxy.ruleset()
    assert "jhash ip saddr mod 3" in text and "numgen" not in text.split("chain sel-3")[1].split("}")[0]


def test_internal_traffic_policy_local_uses_only_this_nodes_endpoints(lab: Lab, proxy: Proxy) -> None:
    svc = service("itp", "10.96.2.11", internalTrafficPolicy="Local")
    remote = endpoint("10.244.2.9", node="node-2")  # unreachable: choosing it would time out
    proxy.sync([svc], [endpoint_slice("itp", [remote, endpoint("pod-b")])], full=True)
    assert names(lab, 8, "http://10.96.2.11/hostname") == ["pod-b"] * 8


FOREIGN_NFT = """table ip someone-else {
    chain c {
        type filter hook forward priority 0; policy accept;
        ip daddr 10.9.9.9 counter
    }
}
"""


def test_rules_podnet_did_not_create_are_left_alone(lab: Lab, proxy: Proxy) -> None:
    node = lab.node
    sh("ip", "netns", "exec", node, "nft", "-f", "-", stdin=FOREIGN_NFT)
    sh("ip", "netns", "exec", node, "iptables-legacy", "-t", "nat", "-A", "PREROUTING", "-d", "10.9.9.9",
       "-j", "RETURN")  # fmt: skip
    sh("ip", "netns", "exec", node, "iptables-legacy", "-t", "filter", "-N", "MY-CHAIN")
    sh("ip", "netns", "exec", node, "iptables-legacy", "-t", "filter", "-A", "MY-CHAIN", "-j", "ACCEPT")
    foreign_nft = sh("ip", "netns", "exec", node, "nft", "list", "table", "ip", "someone-else").stdout
    svc, sl = service("own", "10.96.2.12"), endpoint_slice("own", [endpoint("pod-a")])
    proxy.sync([svc], [sl], full=True)
    proxy.sync([svc], [sl], full=True)
    proxy.restart()
    proxy.sync([svc], [sl], full=True)
    assert lab.http(lab.pod("pod-c"), "http://10.96.2.12/hostname") == "pod-a"
    assert sh("ip", "netns", "exec", node, "nft", "list", "table", "ip", "someone-else").stdout == foreign_nft
    saved = sh("ip", "netns", "exec", node, "iptables-legacy-save").stdout.splitlines()
    assert "-A PREROUTING -d 10.9.9.9/32 -j RETURN" in saved
    assert "-A MY-CHAIN -j ACCEPT" in saved
    if proxy.mode == "iptables":  # our jumps: inserted once, however often we sync or restart
        jumps = [line for line in saved if line.startswith("-A PREROUTING") and "KUBE-SERVICES" in line]
        assert len(jumps) == 1
