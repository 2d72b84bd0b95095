"""The evaluator against a table of the well-known NetworkPolicy recipes."""

from __future__ import annotations

from typing import Any

import pytest

from podnet.agent.policy.compile import render
from podnet.agent.policy.model import evaluate, pod_of, policy_types, resolve


def pod(name: str, ns: str, ip: str, labels: dict[str, str], node: str = "n1") -> dict[str, Any]:
    return {"metadata": {"name": name, "namespace": ns, "uid": f"{ip.replace('.', '')}-uid", "labels": labels},
            "spec": {"nodeName": node, "containers": [{"name": "c", "ports": [{"name": "http", "containerPort": 8080}]}]},
            "status": {"podIP": ip, "phase": "Running"}}  # fmt: skip


PODS = [
    pod("a", "x", "10.244.1.2", {"app": "a"}),
    pod("c", "x", "10.244.1.3", {"role": "client"}),
    pod("b", "y", "10.244.2.2", {"role": "client"}, node="n2"),
    pod("s", "y", "10.244.2.3", {"role": "server"}, node="n2"),
]
NAMESPACES = {
    "x": {"kubernetes.io/metadata.name": "x"},
    "y": {"kubernetes.io/metadata.name": "y", "team": "y"},
}
A, C, B, S = "10.244.1.2", "10.244.1.3", "10.244.2.2", "10.244.2.3"


def pol(name: str, ns: str, spec: dict[str, Any]) -> dict[str, Any]:
    return {"metadata": {"name": name, "namespace": ns}, "spec": spec}


APP_A = {"matchLabels": {"app": "a"}}
CASES = [
    ("no policy: open", [], B, A, 8080, "TCP", True),
    ("deny all ingress", [pol("d", "x", {"podSelector": {}, "policyTypes": ["Ingress"]})], B, A, 8080, "TCP", False),
    ("deny all ingress leaves egress open", [pol("d", "x", {"podSelector": {}})], A, B, 8080, "TCP", True),
    ("allow all ingress: one empty rule", [pol("d", "x", {"podSelector": {}, "ingress": [{}]})], B, A, 8080, "TCP", True),
    ("from namespace", [pol("n", "x", {"podSelector": APP_A, "ingress": [{"from": [{"namespaceSelector": {"matchLabels": {"team": "y"}}}]}]})], B, A, 8080, "TCP", True),
    ("from namespace denies others", [pol("n", "x", {"podSelector": APP_A, "ingress": [{"from": [{"namespaceSelector": {"matchLabels": {"team": "y"}}}]}]})], C, A, 8080, "TCP", False),
    ("pod AND namespace in one peer", [pol("n", "x", {"podSelector": APP_A, "ingress": [{"from": [{"namespaceSelector": {"matchLabels": {"team": "y"}}, "podSelector": {"matchLabels": {"role": "server"}}}]}]})], B, A, 8080, "TCP", False),
    ("pod AND namespace: the match", [pol("n", "x", {"podSelector": APP_A, "ingress": [{"from": [{"namespaceSelector": {"matchLabels": {"team": "y"}}, "podSelector": {"matchLabels": {"role": "server"}}}]}]})], S, A, 8080, "TCP", True),
    ("pod OR namespace as two peers", [pol("n", "x", {"podSelector": APP_A, "ingress": [{"from": [{"namespaceSelector": {"matchLabels": {"team": "y"}}}, {"podSelector": {"matchLabels": {"role": "client"}}}]}]})], C, A, 8080, "TCP", True),
    ("podSelector is the policy's namespace only", [pol("n", "x", {"podSelector": APP_A, "ingress": [{"from": [{"podSelector": {"matchLabels": {"role": "client"}}}]}]})], B, A, 8080, "TCP", False),
    ("ipBlock with except", [pol("i", "x", {"podSelector": APP_A, "ingress": [{"from": [{"ipBlock": {"cidr": "10.244.0.0/16", "except": ["10.244.2.0/24"]}}]}]})], B, A, 8080, "TCP", False),
    ("ipBlock outside the except", [pol("i", "x", {"podSelector": APP_A, "ingress": [{"from": [{"ipBlock": {"cidr": "10.244.0.0/16", "except": ["10.244.2.0/24"]}}]}]})], C, A, 8080, "TCP", True),
    ("named port matches the destination's port", [pol("p", "x", {"podSelector": APP_A, "ingress": [{"ports": [{"port": "http"}]}]})], B, A, 8080, "TCP", True),
    ("named port: other port denied", [pol("p", "x", {"podSelector": APP_A, "ingress": [{"ports": [{"port": "http"}]}]})], B, A, 8081, "TCP", False),
    ("endPort range", [pol("r", "x", {"podSelector": APP_A, "ingress": [{"ports": [{"port": 8000, "endPort": 8100}]}]})], B, A, 8080, "TCP", True),
    ("protocol must match", [pol("r", "x", {"podSelector": APP_A, "ingress": [{"ports": [{"port": 8080, "protocol": "UDP"}]}]})], B, A, 8080, "TCP", False),
    ("deny egress but DNS: DNS ok", [pol("e", "x", {"podSelector": {}, "policyTypes": ["Egress"], "egress": [{"ports": [{"port": 53, "protocol": "UDP"}]}]})], C, S, 53, "UDP", True),
    ("deny egress but DNS: http denied", [pol("e", "x", {"podSelector": {}, "policyTypes": ["Egress"], "egress": [{"ports": [{"port": 53, "protocol": "UDP"}]}]})], C, A, 8080, "TCP", False),
    ("egress section implies the Egress type", [pol("e", "x", {"podSelector": {}, "egress": []})], C, B, 8080, "TCP", False),
    ("policies union", [pol("d", "x", {"podSelector": {}, "policyTypes": ["Ingress"]}), pol("o", "x", {"podSelector": APP_A, "ingress": [{"from": [{"namespaceSelector": {}}]}]})], B, A, 8080, "TCP", True),
    ("egress of the source and ingress of the destination both apply", [pol("e", "y", {"podSelector": {}, "egress": [{}]}), pol("d", "x", {"podSelector": APP_A, "ingress": []})], B, A, 8080, "TCP", False),
]  # fmt: skip


@pytest.mark.parametrize(
    ("title", "policies", "src", "dst", "port", "proto", "allowed"), CASES, ids=[c[0] for c in CASES]
)
def test_recipes(
    title: str, policies: list[dict[str, Any]], src: str, dst: str, port: int, proto: str, allowed: bool
) -> None:
    pods = [p for p in (pod_of(o) for o in PODS) if p is not None]
    resolved = resolve(policies, pods, NAMESPACES)
    assert evaluate(src, dst, port, proto, resolved, {p.ip: p for p in pods}).allowed is allowed


def test_policy_types_defaulting() -> None:
    assert policy_types({}) == ["Ingress"]
    assert policy_types({"egress": []}) == ["Ingress", "Egress"]
    assert policy_types({"policyTypes": ["Egress"]}) == ["Egress"]


def test_render_isolates_only_local_selected_pods() -> None:
    pods = [p for p in (pod_of(o) for o in PODS) if p is not None]
    policies = resolve(
        [
            pol(
                "n",
                "x",
                {
                    "podSelector": APP_A,
                    "ingress": [
                        {
                            "from": [{"namespaceSelector": {"matchLabels": {"team": "y"}}}],
                            "ports": [{"port": "http"}],
                        }
                    ],
                },
            )
        ],
        pods,
        NAMESPACES,
    )
    out = render(policies, pods, "n1")
    assert list(out.ingress_isolated.values()) == [["x/n"]] and out.egress_isolated == {}
    # the peer's pods are a named set, shared by every rule with the same peer
    set_line = next(line for line in out.text.splitlines() if line.strip().startswith("set peers-"))
    assert "elements = { 10.244.2.2, 10.244.2.3 }" in set_line
    assert f'ip saddr @{set_line.split()[1]} meta l4proto tcp th dport 8080 return comment "x/n"' in out.text
    assert "add element ip podnet-policy ingress-pods { 10.244.1.2 : jump in-" in out.text
    assert (
        "10.244.2"
        not in render(policies, pods, "n2").text.split("map ingress-pods")[1].split("chain forward")[0]
    )
