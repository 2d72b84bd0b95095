"""Whole rendered rulesets for one representative cluster, compared with golden files.

The cluster (node n1; pods 10.244.0.0/16, services 10.96.0.0/12, nodes 172.18.0.0/16): a ClusterIP
service with a TCP and a UDP port; a NodePort service (Cluster policy) with session affinity; a
LoadBalancer with externalTrafficPolicy Local, an externalIP and one local and one remote endpoint;
a service with no endpoints; one whose only endpoint is terminating but serving; a headless one
(no rules). Regenerate after a deliberate change with ``PODNET_UPDATE_GOLDEN=1`` and review the
diff like code.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from podnet.agent.proxy import iptables, nftables
from podnet.agent.proxy.model import ServicePort, service_ports

GOLDEN = Path(__file__).with_name("golden")
Obj = dict[str, Any]


def svc(name: str, ip: str, ports: list[Obj], **spec: Any) -> Obj:
    status = spec.pop("status", {})
    return {"metadata": {"name": name, "namespace": "d"}, "spec": {"clusterIP": ip, "ports": ports, **spec},
            "status": status}  # fmt: skip


def sl(name: str, ports: list[Obj], *eps: tuple[str, str, Obj]) -> Obj:
    return {"metadata": {"name": f"{name}-1", "namespace": "d", "labels": {"kubernetes.io/service-name": name}},
            "addressType": "IPv4", "ports": ports,
            "endpoints": [{"addresses": [ip], "nodeName": node, "conditions": c} for ip, node, c in eps]}  # fmt: skip


READY = {"ready": True, "serving": True, "terminating": False}
LEAVING = {"ready": False, "serving": True, "terminating": True}
HTTP = [{"name": "http", "port": 80, "protocol": "TCP"}]
HTTP_EP = [{"name": "http", "port": 8080, "protocol": "TCP"}]


def cluster() -> list[ServicePort]:
    services = [
        svc("web", "10.96.0.10", [*HTTP, {"name": "dns", "port": 53, "protocol": "UDP"}]),
        svc("np", "10.96.0.11", [{**HTTP[0], "nodePort": 30080}], type="NodePort",
            sessionAffinity="ClientIP", sessionAffinityConfig={"clientIP": {"timeoutSeconds": 60}}),
        svc("lb", "10.96.0.12", [{**HTTP[0], "nodePort": 30081}], type="LoadBalancer",
            externalTrafficPolicy="Local", healthCheckNodePort=32000, externalIPs=["198.51.100.10"],
            status={"loadBalancer": {"ingress": [{"ip": "172.18.255.200"}]}}),
        svc("empty", "10.96.0.13", HTTP),
        svc("leaving", "10.96.0.14", HTTP),
        svc("headless", "None", HTTP),
    ]  # fmt: skip
    slices = [
        sl("web", [*HTTP_EP, {"name": "dns", "port": 8053, "protocol": "UDP"}],
           ("10.244.1.2", "n1", READY), ("10.244.2.2", "n2", READY)),
        sl("np", HTTP_EP, ("10.244.1.3", "n1", READY), ("10.244.2.3", "n2", READY)),
        sl("lb", HTTP_EP, ("10.244.1.4", "n1", READY), ("10.244.2.4", "n2", READY)),
        sl("empty", HTTP_EP),
        sl("leaving", HTTP_EP, ("10.244.1.5", "n1", LEAVING), ("10.244.1.6", "n1", {"ready": False})),
        sl("headless", HTTP_EP, ("10.244.1.7", "n1", READY)),
    ]  # fmt: skip
    return service_ports(services, slices)


def check(name: str, text: str) -> None:
    path = GOLDEN / name
    if os.environ.get("PODNET_UPDATE_GOLDEN") == "1":
        path.write_text(text)
    assert text == path.read_text(), f"{name} changed; review, then regenerate with PODNET_UPDATE_GOLDEN=1"


@pytest.mark.parametrize("algorithm", ["random", "round-robin", "source-hash"])
def test_nftables_full_ruleset(algorithm: str) -> None:
    state = nftables.build_state(cluster(), "n1")
    check(f"nftables-{algorithm}.nft", nftables.render_full(state, "10.244.0.0/16", algorithm))


def test_iptables_restore_text() -> None:
    text, chains = iptables.render(cluster(), "n1", "10.244.0.0/16")
    check("iptables.txt", text)
    assert {c for c in chains if c.startswith("KUBE-SVC-")} == {
        iptables.chain_hash("KUBE-SVC-", sp) for sp in cluster() if sp.name in ("web", "np", "lb", "leaving")
    }
