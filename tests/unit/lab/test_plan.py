"""The lab plan as data. Address plan: nodes 172.18.0.0/16, external "internet" 203.0.113.0/24."""

from __future__ import annotations

from pathlib import Path

import pytest

from podnet.lab.plan import (
    AddAddress,
    AddRoute,
    AttachToBridge,
    CreateBridge,
    CreateNetns,
    CreateVethToSwitch,
    DeleteNetns,
    LinkUp,
    RemoveLabDir,
    SetSysctl,
    StopProcesses,
    WriteFile,
    plan,
    teardown_plan,
)
from podnet.lab.state import ProcessRecord, new_state
from podnet.lab.topology import LabSpec, hosts, owns_netns

HOSTS_FILE = (
    "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n"
    "172.18.0.2\tcontrol-plane\n172.18.0.3\tnode-1\n172.18.0.4\tnode-2\n172.18.0.250\texternal\n"
)


def _resolv(host: str) -> str:
    return f"# podnet lab 'demo', host {host}: no upstream resolver is reachable from the lab\n"


def _wire(host: str, address: str) -> list[object]:
    ns, sw = f"podnet-demo-{host}", "podnet-demo-switch"
    return [
        CreateVethToSwitch(ns, "eth0", sw, f"v-{host}"),
        AttachToBridge(sw, f"v-{host}", "underlay"),
        LinkUp(sw, f"v-{host}"),
        AddAddress(ns, "eth0", address),
        LinkUp(ns, "eth0"),
    ]


def test_two_node_lab_golden() -> None:
    names = ["switch", "control-plane", "node-1", "node-2", "external"]
    want: list[object] = []
    for n in names:
        want += [CreateNetns(f"podnet-demo-{n}"), LinkUp(f"podnet-demo-{n}", "lo")]
    want += [CreateBridge("podnet-demo-switch", "underlay"), LinkUp("podnet-demo-switch", "underlay")]
    want += [
        SetSysctl("podnet-demo-switch", f"net.bridge.bridge-nf-call-{f}", "0")
        for f in ("iptables", "ip6tables", "arptables")
    ]
    want += _wire("control-plane", "172.18.0.2/16")
    want += _wire("node-1", "172.18.0.3/16")
    want += _wire("node-2", "172.18.0.4/16")
    want += _wire("external", "172.18.0.250/16")
    want += [
        SetSysctl("podnet-demo-node-1", "net.ipv4.ip_forward", "1"),
        SetSysctl("podnet-demo-node-2", "net.ipv4.ip_forward", "1"),
        AddAddress("podnet-demo-external", "lo", "203.0.113.1/24"),
        AddRoute("podnet-demo-control-plane", "203.0.113.0/24", "172.18.0.250"),
        AddRoute("podnet-demo-node-1", "203.0.113.0/24", "172.18.0.250"),
        AddRoute("podnet-demo-node-2", "203.0.113.0/24", "172.18.0.250"),
    ]
    for n in names[1:]:
        want += [
            WriteFile(f"/run/podnet/demo/{n}/hosts", HOSTS_FILE),
            WriteFile(f"/run/podnet/demo/{n}/resolv.conf", _resolv(n)),
        ]
    assert plan(LabSpec(name="demo", nodes=2)) == want


def test_without_internet_there_is_no_route_and_no_lo_address() -> None:
    steps = plan(LabSpec(name="demo", nodes=1, internet=None))
    assert [s for s in steps if isinstance(s, AddRoute)] == []
    assert [s for s in steps if isinstance(s, AddAddress) and s.ifname == "lo"] == []


def test_other_node_network_moves_every_address() -> None:
    got = [(h.name, h.address) for h in hosts(LabSpec(name="x", nodes=2, node_network="10.9.8.0/24"))]
    assert got == [
        ("switch", None),
        ("control-plane", "10.9.8.2/24"),
        ("node-1", "10.9.8.3/24"),
        ("node-2", "10.9.8.4/24"),
        ("external", "10.9.8.250/24"),
    ]


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (LabSpec(name=""), "lab name must not be empty"),
        (LabSpec(name="Demo"), "lab name 'Demo' is not a DNS-1123 label"),
        (LabSpec(name="-demo"), "lab name '-demo' is not a DNS-1123 label"),
        (LabSpec(name="a_b"), "lab name 'a_b' is not a DNS-1123 label"),
        (LabSpec(name="../etc"), "lab name '../etc' is not a DNS-1123 label"),
        (LabSpec(name="a" * 33), "is too long: 33 characters, at most 32"),
        (LabSpec(nodes=0), "a lab needs at least 1 node, got 0"),
        (LabSpec(nodes=248), "248 nodes do not fit: the node network 172.18.0.0/16 holds at most 247"),
        (LabSpec(node_network="172.18.0.0/25"), "too small: it must be a /24 or larger"),
        (LabSpec(node_network="172.18.0.1/16"), "is not a network address"),
        (LabSpec(node_network="fd00::/64"), "must be IPv4"),
        (LabSpec(backend="flannel"), "backend 'flannel' is not one of host-gw, vxlan"),
        (LabSpec(internet="172.18.9.9/24"), "must be IPv4 and outside the node network"),
        (LabSpec(internet="nowhere"), "is not an address/prefix"),
    ],
)
def test_validation_refuses_with_one_line(spec: LabSpec, message: str) -> None:
    with pytest.raises(ValueError) as info:
        plan(spec)
    assert message in str(info.value)
    assert "\n" not in str(info.value)


def test_limits_that_fit_are_accepted() -> None:
    lab = hosts(LabSpec(name="a" * 32, nodes=247))
    assert len(lab) == 250  # switch, control plane, 247 nodes, external
    assert (lab[-2].name, lab[-2].address) == ("node-247", "172.18.0.249/16")


@pytest.mark.parametrize(
    ("lab", "netns", "owned"),
    [
        ("a", "podnet-a-switch", True),
        ("a", "podnet-a-node-12", True),
        ("a", "podnet-a-pod-0f3a9c", True),
        ("a", "podnet-a-control-plane", True),
        ("a", "podnet-a-b-switch", False),  # lab "a-b"
        ("a", "podnet-a-pod-switch", False),  # lab "a-pod"'s switch
        ("a", "podnet-a-node-node-1", False),  # lab "a-node"
        ("a", "podnet-a-node-01", False),
        ("a", "podnet-ab-switch", False),
        ("a", "cni-1234", False),
    ],
)
def test_owns_netns_never_claims_another_labs_names(lab: str, netns: str, owned: bool) -> None:
    assert owns_netns(lab, netns) is owned


def test_teardown_plan_takes_state_and_leftovers_switch_last() -> None:
    spec = LabSpec(name="demo", nodes=1)
    proc = ProcessRecord(pid=42, host="node-1", argv=("agent",), start_ticks=7, name="agent")
    state = new_state(spec, hosts(spec), now=0.0)
    state = type(state)(**{**state.__dict__, "processes": (proc,)})
    present = ["podnet-demo-pod-abc123", "podnet-demo-b-switch", "podnet-other-node-1", "podnet-demo-node-1"]
    steps = teardown_plan("demo", state, present, Path("/run/podnet"))
    ns = [
        "podnet-demo-control-plane",
        "podnet-demo-external",
        "podnet-demo-node-1",
        "podnet-demo-pod-abc123",
        "podnet-demo-switch",
    ]
    assert steps == [
        StopProcesses((proc,), tuple(ns)),
        *[DeleteNetns(n) for n in ns],
        RemoveLabDir("/run/podnet/demo"),
    ]


def test_teardown_plan_without_state_removes_only_what_carries_the_name() -> None:
    steps = teardown_plan("demo", None, ["podnet-demo-node-1", "podnet-demox-node-1"], Path("/r"))
    assert steps == [DeleteNetns("podnet-demo-node-1"), RemoveLabDir("/r/demo")]
