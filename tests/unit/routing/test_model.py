from podnet.agent.routing.apply import route_batch, vtep_batch
from podnet.agent.routing.model import (
    Route,
    Vtep,
    desired_state,
    egress_ruleset,
    overlay_overhead,
    vtep_mac,
)


def node(name: str, ip: str | None, cidr: str | None) -> dict:
    return {
        "metadata": {"name": name},
        "spec": {"podCIDR": cidr} if cidr else {},
        "status": {"addresses": [{"type": "InternalIP", "address": ip}] if ip else []},
    }


NODES = [
    node("node-1", "172.18.0.3", "10.244.1.0/24"),
    node("node-2", "172.18.0.4", "10.244.2.0/24"),
    node("node-3", "172.18.0.5", None),  # no podCIDR yet
    node("node-4", None, "10.244.4.0/24"),  # no address yet
]


def test_host_gw_routes_each_other_node_via_its_ip() -> None:
    d = desired_state(NODES, "node-1", "host-gw")
    assert d.routes == {Route("10.244.2.0/24", "172.18.0.4")}
    assert d.vteps == frozenset() and d.local_vtep is None


def test_vxlan_routes_via_remote_vteps_with_derived_macs() -> None:
    d = desired_state(NODES, "node-1", "vxlan")
    assert d.routes == {Route("10.244.2.0/24", "10.244.2.0", "pn-vxlan")}
    assert d.vteps == {Vtep("10.244.2.0", "0e:70:ac:12:00:04", "172.18.0.4")}
    assert d.local_vtep == Vtep("10.244.1.0", "0e:70:ac:12:00:03", "172.18.0.3")
    assert overlay_overhead("vxlan") == 50 and overlay_overhead("host-gw") == 0


def test_vtep_mac_is_locally_administered_unicast_and_stable() -> None:
    mac = vtep_mac("172.18.0.9")
    first = int(mac.split(":")[0], 16)
    assert first & 0x02 and not first & 0x01
    assert mac == vtep_mac("172.18.0.9") != vtep_mac("172.18.0.10")


def test_route_diff_removes_stale_and_adds_missing_only() -> None:
    have = {Route("10.244.2.0/24", "172.18.0.4"), Route("10.244.9.0/24", "172.18.0.9")}
    want = frozenset({Route("10.244.2.0/24", "172.18.0.4"), Route("10.244.3.0/24", "10.244.3.0", "pn-vxlan")})
    assert route_batch(have, want) == [
        "route del 10.244.9.0/24 proto 80",
        "route replace 10.244.3.0/24 via 10.244.3.0 dev pn-vxlan onlink proto 80",
    ]
    assert route_batch(set(want), want) == []


def test_vtep_diff() -> None:
    want = frozenset({Vtep("10.244.2.0", "0e:70:ac:12:00:04", "172.18.0.4")})
    lines = vtep_batch({"10.244.7.0": "0e:70:ac:12:00:07"}, {"0e:70:ac:12:00:07": "172.18.0.7"}, want)
    assert lines == [
        "neigh del 10.244.7.0 dev pn-vxlan",
        "neigh replace 10.244.2.0 lladdr 0e:70:ac:12:00:04 dev pn-vxlan nud permanent",
        "#bridge fdb del 0e:70:ac:12:00:07 dev pn-vxlan dst 172.18.0.7",
        "#bridge fdb append 0e:70:ac:12:00:04 dev pn-vxlan dst 172.18.0.4 self permanent",
    ]
    assert vtep_batch({"10.244.2.0": "0e:70:ac:12:00:04"}, {"0e:70:ac:12:00:04": "172.18.0.4"}, want) == []


def test_egress_masquerade_spares_pod_to_pod_and_local_bridge_traffic() -> None:
    text = egress_ruleset("10.244.0.0/16", "cbr0")
    assert 'ip saddr 10.244.0.0/16 ip daddr != 10.244.0.0/16 oifname != "cbr0" counter masquerade' in text
    assert text.startswith("table ip podnet-egress {}\ndelete table ip podnet-egress\n")


def test_vxlan_outer_packets_of_this_node_skip_conntrack_and_nothing_else_does() -> None:
    text = egress_ruleset("10.244.0.0/16", "cbr0", ("172.18.0.3", 8472))
    assert (
        "type filter hook prerouting priority raw; policy accept;\n\t\tip daddr 172.18.0.3 udp dport 8472 notrack"
        in text
    )
    assert (
        "type filter hook output priority raw; policy accept;\n\t\tip saddr 172.18.0.3 udp dport 8472 notrack"
        in text
    )
    assert "notrack" not in egress_ruleset("10.244.0.0/16", "cbr0")  # host-gw: no tunnel, nothing spared
