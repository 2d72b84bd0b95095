"""NetworkPolicy recipes end to end: the kernel enforces what Kubernetes' semantics say."""

from __future__ import annotations

import os
import secrets
import shutil
import time
from collections.abc import Iterator
from typing import Any

import pytest

from tests.e2e.lab.conftest import Lab, lab_leftovers, make_lab, netexec, podnet
from tests.helpers import wait_until

pytestmark = pytest.mark.e2e


def pod(name: str, ns: str, node: str, labels: dict[str, str]) -> dict[str, Any]:
    return {
        "apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": ns, "labels": labels},
        "spec": {"nodeSelector": {"kubernetes.io/hostname": node},
                 "containers": [netexec(ports=[{"name": "http", "containerPort": 8080}])]},
    }  # fmt: skip


@pytest.fixture(scope="module")
def np_lab() -> Iterator[Lab]:
    if os.geteuid() != 0 or shutil.which("kubectl") is None:
        pytest.skip("needs root and kubectl")
    name = "p" + secrets.token_hex(3)
    lab = make_lab(name, "--nodes", "2")
    try:  # set up inside the try: a failing setup still removes the lab
        lab.kubectl.apply(
            [
                {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "x"}},
                {
                    "apiVersion": "v1",
                    "kind": "Namespace",
                    "metadata": {"name": "ny", "labels": {"team": "blue"}},
                },
                pod("a", "x", "node-1", {"app": "a"}),
                pod("c", "x", "node-1", {"role": "client"}),
                pod("b", "ny", "node-2", {"role": "client"}),
            ]
        )
        for p, ns in (("a", "x"), ("c", "x"), ("b", "ny")):
            lab.wait_ready(p, ns)
        yield lab
    finally:
        podnet("down", "--name", name)
        assert lab_leftovers(name) == []


def ip(lab: Lab, name: str, ns: str) -> str:
    return str(lab.pod(name, ns)["status"]["podIP"])


def can(lab: Lab, src: str, ns: str, dst_ip: str, port: int = 8080, proto: str = "tcp") -> bool:
    proc = podnet("exec", "--name", lab.name, "-n", ns, src, "--", "/agnhost", "connect", f"{dst_ip}:{port}",
                  "--timeout=1s", f"--protocol={proto}")  # fmt: skip
    return proc.returncode == 0


def policy(name: str, ns: str, spec: dict[str, Any]) -> dict[str, Any]:
    return {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": {"name": name, "namespace": ns},
            "spec": spec}  # fmt: skip


@pytest.fixture(autouse=True)
def _clean(np_lab: Lab) -> Iterator[None]:
    yield
    np_lab.kubectl("delete", "networkpolicy", "--all", "-n", "x")
    np_lab.kubectl("delete", "networkpolicy", "--all", "-n", "ny")


def expect(lab: Lab, src: str, ns: str, dst_ip: str, allowed: bool, port: int = 8080) -> None:
    wait_until(lambda: can(lab, src, ns, dst_ip, port) == allowed, timeout=5, interval=0.2,
               what=f"{ns}/{src} -> {dst_ip}:{port} {'allowed' if allowed else 'denied'}")  # fmt: skip


def test_open_by_default_and_deny_all_ingress(np_lab: Lab) -> None:
    a = ip(np_lab, "a", "x")
    assert can(np_lab, "c", "x", a) and can(np_lab, "b", "ny", a)
    np_lab.kubectl.apply(policy("deny", "x", {"podSelector": {}, "policyTypes": ["Ingress"]}))
    expect(np_lab, "c", "x", a, False)
    expect(np_lab, "b", "ny", a, False)
    # the node itself (kubelet probes) still reaches its pod
    assert np_lab.host("node-1", "curl", "-s", "--max-time", "2", f"http://{a}:8080/hostname") == "a"


def test_allow_from_a_namespace_and_from_labelled_pods_in_labelled_namespaces(np_lab: Lab) -> None:
    a = ip(np_lab, "a", "x")
    np_lab.kubectl.apply(
        policy(
            "from-y",
            "x",
            {
                "podSelector": {"matchLabels": {"app": "a"}},
                "ingress": [{"from": [{"namespaceSelector": {"matchLabels": {"team": "blue"}}}]}],
            },
        )
    )
    expect(np_lab, "b", "ny", a, True)
    expect(np_lab, "c", "x", a, False)
    np_lab.kubectl.apply(
        policy(
            "from-y",
            "x",
            {
                "podSelector": {"matchLabels": {"app": "a"}},
                "ingress": [
                    {
                        "from": [
                            {
                                "namespaceSelector": {"matchLabels": {"team": "blue"}},
                                "podSelector": {"matchLabels": {"role": "server"}},
                            }
                        ]
                    }
                ],
            },
        )
    )
    expect(np_lab, "b", "ny", a, False)  # both selectors in one peer: AND
    np_lab.kubectl("label", "pod", "b", "-n", "ny", "role=server", "--overwrite")
    t0 = time.monotonic()
    expect(np_lab, "b", "ny", a, True)  # a label change takes effect
    assert time.monotonic() - t0 < 5
    np_lab.kubectl("label", "pod", "b", "-n", "ny", "role=client", "--overwrite")


def test_ip_block_with_except_and_ports(np_lab: Lab) -> None:
    a, b, c = ip(np_lab, "a", "x"), ip(np_lab, "b", "ny"), ip(np_lab, "c", "x")
    np_lab.kubectl.apply(policy("cidr", "x", {"podSelector": {"matchLabels": {"app": "a"}}, "ingress": [{
        "from": [{"ipBlock": {"cidr": "10.244.0.0/16", "except": [f"{c}/32"]}}],
        "ports": [{"port": "http"}]}]}))  # fmt: skip
    expect(np_lab, "b", "ny", a, True)
    expect(np_lab, "c", "x", a, False)
    np_lab.kubectl.apply(policy("cidr", "x", {"podSelector": {"matchLabels": {"app": "a"}}, "ingress": [{
        "ports": [{"port": 8000, "endPort": 8079}]}]}))  # fmt: skip
    expect(np_lab, "b", "ny", a, False)  # 8080 is outside 8000-8079
    del b


def test_deny_all_egress_but_dns(np_lab: Lab) -> None:
    a = ip(np_lab, "a", "x")
    np_lab.kubectl.apply(
        policy(
            "egress",
            "x",
            {
                "podSelector": {"matchLabels": {"role": "client"}},
                "policyTypes": ["Egress"],
                "egress": [{"ports": [{"port": 53, "protocol": "UDP"}, {"port": 53, "protocol": "TCP"}]}],
            },
        )
    )
    expect(np_lab, "c", "x", a, False)
    out = podnet(
        "exec", "--name", np_lab.name, "-n", "x", "c", "--", "getent", "hosts", "kubernetes.default"
    ).stdout
    assert out.split()[:1] == ["10.96.0.1"]  # DNS still works
    # drops are counted against the pod and direction that dropped them
    drops = podnet("netpol", "drops", "--name", np_lab.name, "-n", "x")
    assert drops.returncode == 0, drops.stderr
    assert any(
        line.split()[:2] == ["x/c", "egress"] and int(line.split()[2]) > 0
        for line in drops.stdout.splitlines()
    )
    assert "x/egress" in drops.stdout


def test_matrix_agrees_with_the_policies(np_lab: Lab) -> None:
    np_lab.kubectl.apply(
        policy("deny", "x", {"podSelector": {"matchLabels": {"app": "a"}}, "policyTypes": ["Ingress"]})
    )
    time.sleep(1)  # the policy is in force within 1 s (the assertion is about agreement, not speed)
    out = podnet("netpol", "matrix", "--name", np_lab.name, "-n", "x", "-n", "ny", "--ports", "8080")
    assert out.returncode == 0, out.stdout + out.stderr
    assert "x/c" in out.stdout and "X" in out.stdout


def test_policies_hold_for_traffic_through_services_and_ip_block_sees_local_clients(np_lab: Lab) -> None:
    """Enforced after DNAT (ClusterIP and NodePort), and with externalTrafficPolicy Local the outside
    client's own address is what ipBlock matches."""
    np_lab.kubectl.apply({
        "apiVersion": "v1", "kind": "Service", "metadata": {"name": "a-svc", "namespace": "x"},
        "spec": {"type": "NodePort", "externalTrafficPolicy": "Local", "selector": {"app": "a"},
                 "ports": [{"port": 80, "targetPort": "http", "nodePort": 30090}]},
    })  # fmt: skip
    vip = np_lab.kubectl("get", "svc", "a-svc", "-n", "x", "-o", "jsonpath={.spec.clusterIP}").strip()
    node_ip = np_lab.pod("a", "x")["status"]["hostIP"]  # a runs on node-1: Local serves there

    def outside() -> bool:
        out = np_lab.host(
            "external", "curl", "-s", "--max-time", "1", f"http://{node_ip}:30090/clientip", check=False
        )
        return out.startswith("172.18.0.250:")  # the client's own address reached the pod

    try:
        wait_until(lambda: can(np_lab, "b", "ny", vip, 80) and outside(), timeout=10, interval=0.2)
        np_lab.kubectl.apply(policy("only", "x", {"podSelector": {"matchLabels": {"app": "a"}}, "ingress": [{"from": [
            {"namespaceSelector": {"matchLabels": {"team": "blue"}}},
            {"ipBlock": {"cidr": "172.18.0.250/32"}}]}]}))  # fmt: skip
        expect(np_lab, "c", "x", vip, False, port=80)  # through the ClusterIP, after DNAT: still denied
        expect(np_lab, "b", "ny", vip, True, port=80)
        wait_until(outside, timeout=5, interval=0.2)  # allowed by ipBlock: its source was kept
        np_lab.kubectl.apply(policy("only", "x", {"podSelector": {"matchLabels": {"app": "a"}}, "ingress": [{"from": [
            {"ipBlock": {"cidr": "172.18.0.0/16", "except": ["172.18.0.250/32"]}}]}]}))  # fmt: skip
        wait_until(lambda: not outside(), timeout=5, interval=0.2)
        expect(np_lab, "b", "ny", vip, False, port=80)
    finally:
        np_lab.kubectl("delete", "svc", "a-svc", "-n", "x")


def test_trace_shows_the_rule_that_dropped_a_connection_and_cleans_up(np_lab: Lab) -> None:
    a = ip(np_lab, "a", "x")
    open_run = podnet("trace", "--name", np_lab.name, "-n", "ny", "b", "--to", f"{a}:8080")
    assert open_run.returncode == 0, open_run.stderr
    assert f"ny/b ({ip(np_lab, 'b', 'ny')}) -> {a}:8080/tcp: connected" in open_run.stdout
    assert "node-1:" in open_run.stdout and "node-2:" in open_run.stdout  # b on node-2, a on node-1
    assert "syn,ack" in open_run.stdout  # the reply was traced too
    np_lab.kubectl.apply(
        policy("deny", "x", {"podSelector": {"matchLabels": {"app": "a"}}, "policyTypes": ["Ingress"]})
    )
    expect(np_lab, "b", "ny", a, False)
    denied = podnet("trace", "--name", np_lab.name, "-n", "ny", "b", "--to", f"{a}:8080")
    assert "timed out" in denied.stdout
    node1 = denied.stdout.split("node-1:", 1)[1].split("node-2:", 1)[0]  # a's node: where it is dropped
    assert "ip podnet-policy in-" in node1 and " drop  => drop" in node1, denied.stdout
    for node in ("node-1", "node-2"):  # the marking tables are gone
        assert "podnet-trace" not in np_lab.host(node, "nft", "list", "tables")
