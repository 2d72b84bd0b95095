"""Partial syncs: the tracker's port-by-port state always equals a rebuild, and its nft text is minimal.

Address plan: pods 10.244.0.0/16, services 10.96.0.0/12, nodes 172.18.0.0/16.
"""

from __future__ import annotations

import random
from typing import Any

from podnet.agent.proxy import nftables
from podnet.agent.proxy.model import ServicePort, service_ports
from podnet.agent.proxy.tracker import StateTracker, render_changes

READY = {"ready": True}
Obj = dict[str, Any]


def svc(name: str, ip: str, **spec: Any) -> Obj:
    ports = spec.pop("ports", [{"name": "http", "port": 80, "protocol": "TCP"}])
    return {"metadata": {"name": name, "namespace": "d"}, "spec": {"clusterIP": ip, "ports": ports, **spec}}


def sl(name: str, *ips: str, node: str = "n1", proto: str = "TCP") -> Obj:
    return {"metadata": {"name": f"{name}-1", "namespace": "d", "labels": {"kubernetes.io/service-name": name}},
            "addressType": "IPv4", "ports": [{"name": "http", "port": 8080, "protocol": proto}],
            "endpoints": [{"addresses": [ip], "nodeName": node, "conditions": READY} for ip in ips]}  # fmt: skip


def ports_of(services: list[Obj], slices: list[Obj]) -> list[ServicePort]:
    return service_ports(services, slices)


def test_one_endpoint_change_is_four_element_edits() -> None:
    tracker = StateTracker("n1")
    tracker.update(ports_of([svc("web", "10.96.0.10")], [sl("web", "10.244.1.2", "10.244.2.2")]))
    changes = tracker.update(ports_of([svc("web", "10.96.0.10")], [sl("web", "10.244.1.2", "10.244.2.9")]))
    assert render_changes(tracker, changes, "random") == (
        "delete element ip podnet-proxy backends { 10.96.0.10 . tcp . 80 . 1 }\n"
        "add element ip podnet-proxy backends { 10.96.0.10 . tcp . 80 . 1 : 10.244.2.9 . 8080 }\n"
        "delete element ip podnet-proxy hairpin { 10.244.2.2 . 10.244.2.2 }\n"
        "add element ip podnet-proxy hairpin { 10.244.2.9 . 10.244.2.9 }\n"
    )
    same = tracker.update(ports_of([svc("web", "10.96.0.10")], [sl("web", "10.244.1.2", "10.244.2.9")]))
    assert render_changes(tracker, same, "random") == ""


def test_a_new_endpoint_count_needs_a_full_sync() -> None:
    tracker = StateTracker("n1")
    tracker.update(ports_of([svc("web", "10.96.0.10")], [sl("web", "10.244.1.2")]))
    changes = tracker.update(ports_of([svc("web", "10.96.0.10")], [sl("web", "10.244.1.2", "10.244.1.3")]))
    assert changes.new_chains == {"sel-2"} and changes.needs_full
    back = tracker.update(ports_of([svc("web", "10.96.0.10")], [sl("web", "10.244.1.2")]))
    assert not back.needs_full  # sel-1 is still in the table


def test_shared_elements_leave_with_their_last_owner() -> None:
    two_ports = [
        {"name": "http", "port": 80, "protocol": "TCP"},
        {"name": "alt", "port": 81, "protocol": "TCP"},
    ]
    tracker = StateTracker("n1")
    tracker.update(ports_of([svc("web", "10.96.0.10", ports=two_ports)], [sl("web", "10.244.1.2")]))
    one_port = tracker.update(ports_of([svc("web", "10.96.0.10")], [sl("web", "10.244.1.2")]))
    text = render_changes(tracker, one_port, "random")
    assert "cluster-ips" not in text and "hairpin" not in text  # still owned by port 80
    assert "10.96.0.10" in tracker.state.cluster_ips
    gone = tracker.update([])
    assert "delete element ip podnet-proxy cluster-ips { 10.96.0.10 }" in render_changes(
        tracker, gone, "random"
    )


def test_two_services_on_one_address_ask_for_a_full_sync() -> None:
    tracker = StateTracker("n1")
    tracker.update(ports_of([svc("a", "10.96.0.10")], [sl("a", "10.244.1.2")]))
    clash = tracker.update(ports_of([svc("a", "10.96.0.10"), svc("b", "10.96.0.10")],
                                    [sl("a", "10.244.1.2"), sl("b", "10.244.1.3")]))  # fmt: skip
    assert clash.conflict


def random_cluster(rng: random.Random) -> tuple[list[Obj], list[Obj]]:
    services, slices = [], []
    for i in range(rng.randint(0, 6)):
        kind = rng.choice(["ClusterIP", "NodePort", "LoadBalancer"])
        spec: dict[str, Any] = {"type": kind}
        if kind != "ClusterIP":
            spec["ports"] = [{"name": "http", "port": 80, "protocol": rng.choice(["TCP", "UDP"]),
                              "nodePort": 30000 + i}]  # fmt: skip
            spec["externalTrafficPolicy"] = rng.choice(["Cluster", "Local"])
        if kind == "LoadBalancer":
            spec["status"] = {"loadBalancer": {"ingress": [{"ip": f"172.18.255.{200 + i}"}]}}
        if rng.random() < 0.3:
            spec["sessionAffinity"] = "ClientIP"
        status = spec.pop("status", {})
        services.append({**svc(f"s{i}", f"10.96.0.{10 + i}", **spec), "status": status})
        proto = (spec.get("ports") or [{"protocol": "TCP"}])[0]["protocol"]
        ips = [f"10.244.{rng.randint(1, 2)}.{rng.randint(2, 6)}" for _ in range(rng.randint(0, 3))]
        slices.append(sl(f"s{i}", *sorted(set(ips)), node=rng.choice(["n1", "n2"]), proto=proto))
    return services, slices


def test_random_update_sequences_equal_a_rebuild() -> None:
    rng = random.Random(4)
    for _ in range(30):
        tracker = StateTracker("n1")
        for _ in range(8):
            ports = ports_of(*random_cluster(rng))
            changes = tracker.update(ports)
            if changes.conflict:
                break
            if not changes.needs_full:
                render_changes(tracker, changes, "random")  # well-formed whenever it is used
            rebuilt = nftables.build_state(ports, "n1")
            assert nftables.element_lines(tracker.state) == nftables.element_lines(rebuilt)
            assert rebuilt.chains <= tracker.state.chains
