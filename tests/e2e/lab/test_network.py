"""The flat pod network across nodes, on both backends: no NAT between pods, masqueraded egress, MTU."""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
from collections.abc import Iterator

import pytest

from tests.e2e.lab.conftest import Lab, lab_leftovers, make_lab, netexec, pod_manifest, podnet
from tests.helpers import wait_until

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module", params=["host-gw", "vxlan"])
def net_lab(request: pytest.FixtureRequest) -> Iterator[Lab]:
    if os.geteuid() != 0 or shutil.which("kubectl") is None:
        pytest.skip("needs root and kubectl")
    name = "n" + secrets.token_hex(3)
    handle = make_lab(name, "--nodes", "2", "--backend", request.param)
    try:  # set up inside the try: a failing setup still removes the lab
        handle.kubectl.apply(
            [
                pod_manifest("a1", netexec(), node="node-1"),
                pod_manifest("a2", netexec(), node="node-1"),
                pod_manifest("b1", netexec(), node="node-2"),
            ]
        )
        yield handle
    finally:
        podnet("down", "--name", name)
        assert lab_leftovers(name) == []


def ip_of(lab: Lab, pod: str) -> str:
    return str(lab.wait_ready(pod)["status"]["podIP"])


def clientip(lab: Lab, src: str, dst_ip: str, port: int = 8080) -> str:
    def ask() -> str:
        return lab.exec(src, "curl", "-s", "--max-time", "2", f"http://{dst_ip}:{port}/clientip", check=False)

    return wait_until(ask, timeout=10, interval=0.2, what=f"{src} -> {dst_ip}").rsplit(":", 1)[0]


def test_pod_to_pod_across_nodes_keeps_the_pod_ip(net_lab: Lab) -> None:
    a1, b1 = ip_of(net_lab, "a1"), ip_of(net_lab, "b1")
    assert clientip(net_lab, "a1", b1) == a1
    assert clientip(net_lab, "b1", a1) == b1
    # and on one node
    assert clientip(net_lab, "a1", ip_of(net_lab, "a2")) == a1


def test_nodes_reach_pods_on_other_nodes(net_lab: Lab) -> None:
    b1 = ip_of(net_lab, "b1")
    out = net_lab.host("node-1", "curl", "-s", "--max-time", "3", f"http://{b1}:8080/hostname")
    assert out == "b1"


def test_egress_to_the_outside_is_masqueraded_to_the_node_ip(net_lab: Lab) -> None:
    ip_of(net_lab, "b1")
    assert clientip(net_lab, "b1", "203.0.113.1", port=80) == "172.18.0.4"
    assert clientip(net_lab, "a1", "172.18.0.250", port=80) == "172.18.0.3"


def test_pod_mtu_fits_the_backend_and_full_size_packets_cross(net_lab: Lab) -> None:
    mtu = int(net_lab.exec("a1", "cat", "/sys/class/net/eth0/mtu").strip())
    expected = 1450 if net_lab.backend == "vxlan" else 1500
    assert mtu == expected
    b1 = ip_of(net_lab, "b1")
    # the largest packet the pod may send, with DF set, arrives: nothing black-holes on the way
    net_lab.exec("a1", "ping", "-c", "2", "-W", "2", "-M", "do", "-s", str(mtu - 28), b1)


def test_a_node_joining_or_leaving_updates_routes_on_the_others(net_lab: Lab) -> None:
    node_ns = f"podnet-{net_lab.name}-node-1"

    def routes() -> str:
        return subprocess.run(
            ["ip", "-n", node_ns, "route", "show", "proto", "80"], capture_output=True, text=True, check=True
        ).stdout

    net_lab.kubectl.apply(
        {
            "apiVersion": "v1",
            "kind": "Node",
            "metadata": {"name": "node-9"},
            "spec": {"podCIDR": "10.244.99.0/24"},
            "status": {"addresses": [{"type": "InternalIP", "address": "172.18.0.99"}]},
        }
    )
    via = "10.244.99.0 dev pn-vxlan onlink" if net_lab.backend == "vxlan" else "172.18.0.99 dev eth0"
    wait_until(lambda: f"10.244.99.0/24 via {via}" in routes(), timeout=5, what="route to the new node")
    net_lab.kubectl("delete", "node", "node-9")
    wait_until(lambda: "10.244.99.0/24" not in routes(), timeout=5, what="route to the gone node removed")
