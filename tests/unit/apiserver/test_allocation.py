"""ClusterIP and NodePort allocation: ranges, conflicts, release, and refusal that changes nothing.

Address plan: services 10.96.0.0/12 (and a tiny /29 to exhaust), NodePorts 30000-32767.
"""

from __future__ import annotations

import ipaddress
import random
from typing import Any

import pytest

from podnet.api.errors import StatusError
from podnet.apiserver.allocators import AlreadyAllocated, IPAllocator, OutOfRange, PortAllocator, RangeFull
from podnet.apiserver.services import ServiceAllocator


def allocator(cidr: str = "10.96.0.0/12", ports: tuple[int, int] = (30000, 32767)) -> ServiceAllocator:
    return ServiceAllocator(
        IPAllocator(ipaddress.IPv4Network(cidr), random.Random(1)),
        PortAllocator(*ports, rng=random.Random(1)),
    )


def svc(name: str = "s", **spec: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"type": "ClusterIP", "ports": [{"port": 80, "protocol": "TCP"}]}
    base.update(spec)
    return {"metadata": {"name": name}, "spec": base}


def test_ip_allocator_never_hands_out_network_or_broadcast() -> None:
    ips = IPAllocator(ipaddress.IPv4Network("10.0.0.0/29"), random.Random(0))
    got = {ips.allocate_next() for _ in range(6)}
    assert got == {f"10.0.0.{i}" for i in range(1, 7)}
    with pytest.raises(RangeFull):
        ips.allocate_next()
    ips.release("10.0.0.3")
    assert ips.allocate_next() == "10.0.0.3"


def test_ip_allocator_dynamic_prefers_upper_band() -> None:
    ips = IPAllocator(ipaddress.IPv4Network("10.96.0.0/12"), random.Random(0))
    # /12 → static band of 256 addresses at the bottom: 10.96.0.1 .. 10.96.1.0
    for _ in range(50):
        assert int(ipaddress.IPv4Address(ips.allocate_next())) > int(ipaddress.IPv4Address("10.96.1.0"))


@pytest.mark.parametrize(
    ("ip", "error", "detail"),
    [
        (
            "192.168.0.1",
            OutOfRange,
            "the provided IP (192.168.0.1) is not in the valid range. The range of valid IPs is 10.96.0.0/12",
        ),
        (
            "10.96.0.0",
            OutOfRange,
            "the provided IP (10.96.0.0) is not in the valid range. The range of valid IPs is 10.96.0.0/12",
        ),
        ("10.96.0.1", AlreadyAllocated, "provided IP is already allocated"),
    ],
)
def test_ip_allocator_refusals(ip: str, error: type[Exception], detail: str) -> None:
    ips = IPAllocator(ipaddress.IPv4Network("10.96.0.0/12"))
    ips.allocate("10.96.0.1")
    with pytest.raises(error) as exc:
        ips.allocate(ip)
    assert exc.value.detail == detail  # type: ignore[attr-defined]


def test_port_allocator_range_and_conflicts() -> None:
    ports = PortAllocator(30000, 30002, rng=random.Random(0))
    ports.allocate(30001)
    with pytest.raises(AlreadyAllocated):
        ports.allocate(30001)
    with pytest.raises(OutOfRange) as exc:
        ports.allocate(80)
    assert exc.value.detail == (
        "provided port is not in the valid range. The range of valid ports is 30000-30002"
    )
    assert {ports.allocate_next(), ports.allocate_next()} == {30000, 30002}
    with pytest.raises(RangeFull):
        ports.allocate_next()


def test_service_gets_cluster_ip_and_node_ports() -> None:
    a = allocator()
    s = svc(type="NodePort", ports=[{"port": 80, "protocol": "TCP"}, {"port": 443, "protocol": "TCP"}])
    a.reserve(s, None).commit()
    assert s["spec"]["clusterIPs"] == [s["spec"]["clusterIP"]]
    node_ports = [p["nodePort"] for p in s["spec"]["ports"]]
    assert all(30000 <= p <= 32767 for p in node_ports) and len(set(node_ports)) == 2
    assert a.ports.used == set(node_ports)


def test_headless_and_external_name_get_no_ip() -> None:
    a = allocator()
    headless = svc(clusterIP="None")
    a.reserve(headless, None).commit()
    assert headless["spec"]["clusterIPs"] == ["None"]
    ext = svc(type="ExternalName", externalName="example.com", ports=[])
    a.reserve(ext, None).commit()
    assert "clusterIP" not in ext["spec"]
    assert not a.ips.used


def test_refused_request_claims_nothing() -> None:
    a = allocator()
    first = svc("first", type="NodePort", ports=[{"port": 80, "protocol": "TCP", "nodePort": 30080}])
    a.reserve(first, None).commit()
    used_ips, used_ports = set(a.ips.used), set(a.ports.used)
    clash = svc(
        "clash",
        type="NodePort",
        ports=[{"port": 81, "protocol": "TCP"}, {"port": 82, "protocol": "TCP", "nodePort": 30080}],
    )
    with pytest.raises(StatusError) as exc:
        a.reserve(clash, None)
    assert exc.value.code == 422
    assert exc.value.message == (
        'Service "clash" is invalid: spec.ports[1].nodePort: Invalid value: 30080: provided port is already allocated'
    )
    assert a.ips.used == used_ips and a.ports.used == used_ports


def test_rollback_and_release_on_update() -> None:
    a = allocator()
    s = svc(type="NodePort")
    a.reserve(s, None).commit()
    old = {"metadata": s["metadata"], "spec": dict(s["spec"], ports=[dict(p) for p in s["spec"]["ports"]])}
    port = s["spec"]["ports"][0]["nodePort"]
    # Same ports resubmitted without nodePort (kubectl apply): the old one is kept.
    again = svc(type="NodePort", clusterIP=s["spec"]["clusterIP"])
    a.reserve(again, old).commit()
    assert again["spec"]["ports"][0]["nodePort"] == port
    # Type change to ClusterIP: the port is dropped and released after commit.
    to_cip = svc(clusterIP=s["spec"]["clusterIP"], ports=[{"port": 80, "protocol": "TCP", "nodePort": port}])
    res = a.reserve(to_cip, old)
    assert "nodePort" not in to_cip["spec"]["ports"][0]
    assert port in a.ports.used
    res.commit()
    assert port not in a.ports.used


def test_health_check_node_port_for_local_load_balancers() -> None:
    a = allocator()
    s = svc(type="LoadBalancer", externalTrafficPolicy="Local")
    a.reserve(s, None).commit()
    hc = s["spec"]["healthCheckNodePort"]
    assert hc in a.ports.used and hc != s["spec"]["ports"][0]["nodePort"]
    a.release_all(s)
    assert not a.ports.used and not a.ips.used


def test_exhausted_cluster_ip_range_is_a_clear_error() -> None:
    a = allocator("10.0.0.0/30")
    a.reserve(svc("one"), None).commit()
    a.reserve(svc("two"), None).commit()
    with pytest.raises(StatusError) as exc:
        a.reserve(svc("three"), None)
    assert exc.value.code == 500
    assert "failed to allocate a serviceIP: range is full" in exc.value.message


def test_load_rebuilds_state_from_services() -> None:
    a = allocator()
    s = svc(type="NodePort")
    a.reserve(s, None).commit()
    b = allocator()
    b.load([s])
    assert b.ips.used == a.ips.used and b.ports.used == a.ports.used
