"""Service traffic through real kernels, in both proxy modes: the paths Kubernetes promises.

Every test syncs its own Services and EndpointSlices (fresh VIPs per test, so conntrack entries of
one test never steer another) and asserts with real connections from pods, the node itself and an
outside client. Address plan in conftest.py.
"""

from __future__ import annotations

import errno
import json
import socket

import pytest

from tests.helpers import wait_until
from tests.integration.proxy.conftest import (
    CLIENT_IP,
    GATEWAY,
    LB_IP,
    NODE_IP,
    PODS,
    Lab,
    Proxy,
    endpoint,
    endpoint_slice,
    service,
    sh,
)

pytestmark = pytest.mark.integration
WEB_PORTS = [
    {"name": "http", "port": 80, "protocol": "TCP", "targetPort": "http"},
    {"name": "dns", "port": 53, "protocol": "UDP", "targetPort": 8081},
]
WEB_SLICE_PORTS = [
    {"name": "http", "port": 8080, "protocol": "TCP"},
    {"name": "dns", "port": 8081, "protocol": "UDP"},
]


def hostnames(lab: Lab, where: str, url: str, count: int) -> list[str]:
    return [lab.http(where, url) for _ in range(count)]


def test_cluster_ip_tcp_and_udp_on_several_ports_without_nat(lab: Lab, proxy: Proxy) -> None:
    svc = service("web", "10.96.1.10", WEB_PORTS)
    sl = endpoint_slice("web", [endpoint("pod-a"), endpoint("pod-b")], WEB_SLICE_PORTS)
    assert proxy.sync([svc], [sl], full=True) == "full"
    client = lab.pod("pod-c")
    seen = set(hostnames(lab, client, "http://10.96.1.10/hostname", 24))
    assert seen == {"pod-a", "pod-b"}  # 24 random picks of 2 miss one with probability 2^-23
    assert lab.http(client, "http://10.96.1.10/clientip").rsplit(":", 1)[0] == PODS["pod-c"]
    assert lab.udp(client, "10.96.1.10", 53) in {"pod-a", "pod-b"}
    assert lab.udp(client, "10.96.1.10", 53, "clientip").rsplit(":", 1)[0] == PODS["pod-c"]
    assert lab.http(lab.node, "http://10.96.1.10/hostname") in {"pod-a", "pod-b"}  # the node itself


def test_node_port_on_every_node_address_and_cluster_policy_masquerades(lab: Lab, proxy: Proxy) -> None:
    svc = service("np", "10.96.1.11", [{"name": "http", "port": 80, "protocol": "TCP", "nodePort": 30080}],
                  type="NodePort")  # fmt: skip
    proxy.sync([svc], [endpoint_slice("np", [endpoint("pod-a")])], full=True)
    assert lab.http(lab.ext, f"http://{NODE_IP}:30080/hostname") == "pod-a"
    assert lab.http(lab.ext, f"http://{NODE_IP}:30080/clientip").rsplit(":", 1)[0] != CLIENT_IP
    assert lab.http(lab.pod("pod-c"), f"http://{GATEWAY}:30080/hostname") == "pod-a"  # cbr0's address
    assert lab.http(lab.node, f"http://{NODE_IP}:30080/hostname") == "pod-a"  # from the node itself


def test_load_balancer_and_external_ips_local_policy_keep_the_client_ip(lab: Lab, proxy: Proxy) -> None:
    svc = service(
        "lb", "10.96.1.12", [{"name": "http", "port": 80, "protocol": "TCP", "nodePort": 30081}],
        type="LoadBalancer", externalTrafficPolicy="Local", healthCheckNodePort=32100,
        externalIPs=["198.51.100.10"], status={"loadBalancer": {"ingress": [{"ip": LB_IP}]}},
    )  # fmt: skip
    remote = endpoint("10.244.2.9", node="node-2")  # unreachable from here: must never be chosen
    proxy.sync([svc], [endpoint_slice("lb", [endpoint("pod-a"), remote])], full=True)
    for url in (f"http://{LB_IP}", "http://198.51.100.10", f"http://{NODE_IP}:30081"):
        assert hostnames(lab, lab.ext, f"{url}/hostname", 6) == ["pod-a"] * 6
        assert lab.http(lab.ext, f"{url}/clientip").rsplit(":", 1)[0] == CLIENT_IP
    health = json.loads(lab.http(lab.ext, f"http://{NODE_IP}:32100/healthz"))
    assert health["localEndpoints"] == 1 and health["service"] == {"namespace": "t", "name": "lb"}
    proxy.sync([svc], [endpoint_slice("lb", [remote])])
    code, body = lab.http_status(lab.ext, f"http://{NODE_IP}:32100/healthz")
    assert code == 503 and json.loads(body)["localEndpoints"] == 0


def test_session_affinity_sticks_to_one_endpoint(lab: Lab, proxy: Proxy) -> None:
    svc = service("aff", "10.96.1.13", sessionAffinity="ClientIP",
                  sessionAffinityConfig={"clientIP": {"timeoutSeconds": 60}})  # fmt: skip
    sl = endpoint_slice("aff", [endpoint("pod-a"), endpoint("pod-b")])
    proxy.sync([svc], [sl], full=True)
    first = hostnames(lab, lab.pod("pod-c"), "http://10.96.1.13/hostname", 12)
    assert len(set(first)) == 1
    other = hostnames(lab, lab.node, "http://10.96.1.13/hostname", 12)  # another client may differ
    assert len(set(other)) == 1


def test_hairpin_a_pod_reaches_itself_through_its_service(lab: Lab, proxy: Proxy) -> None:
    proxy.sync([service("self", "10.96.1.14")], [endpoint_slice("self", [endpoint("pod-a")])], full=True)
    assert lab.http(lab.pod("pod-a"), "http://10.96.1.14/hostname") == "pod-a"


def test_no_endpoints_rejects_at_once(lab: Lab, proxy: Proxy) -> None:
    svc = service("none", "10.96.1.15", [*WEB_PORTS[:1], {**WEB_PORTS[1]},
                                         {"name": "np", "port": 81, "protocol": "TCP", "nodePort": 30082}],
                  type="NodePort")  # fmt: skip
    proxy.sync([svc], [endpoint_slice("none", [], WEB_SLICE_PORTS)], full=True)
    with pytest.raises(ConnectionRefusedError):  # an answer (RST or ICMP), not a 3 s timeout
        lab.connect(lab.pod("pod-c"), "10.96.1.15", 80).close()
    with pytest.raises(ConnectionRefusedError):
        lab.connect(lab.ext, NODE_IP, 30082).close()
    with pytest.raises(OSError) as udp:
        lab.udp(lab.pod("pod-c"), "10.96.1.15", 53)
    assert udp.value.errno == errno.ECONNREFUSED  # ICMP port unreachable, not a timeout
    proxy.sync([svc], [endpoint_slice("none", [endpoint("pod-b")], WEB_SLICE_PORTS)])
    assert lab.http(lab.pod("pod-c"), "http://10.96.1.15/hostname") == "pod-b"


def test_terminating_endpoints_serve_only_when_no_ready_one_remains(lab: Lab, proxy: Proxy) -> None:
    svc = service("term", "10.96.1.16")
    leaving = endpoint("pod-b", ready=False, terminating=True)
    proxy.sync([svc], [endpoint_slice("term", [endpoint("pod-a"), leaving])], full=True)
    assert set(hostnames(lab, lab.pod("pod-c"), "http://10.96.1.16/hostname", 10)) == {"pod-a"}
    proxy.sync([svc], [endpoint_slice("term", [leaving])])
    assert set(hostnames(lab, lab.pod("pod-c"), "http://10.96.1.16/hostname", 4)) == {"pod-b"}
    gone = endpoint("pod-b", ready=False, serving=False, terminating=True)
    proxy.sync([svc], [endpoint_slice("term", [gone])])
    with pytest.raises(ConnectionRefusedError):
        lab.connect(lab.pod("pod-c"), "10.96.1.16", 80).close()


def test_udp_conntrack_is_cleared_when_the_endpoint_is_replaced(lab: Lab, proxy: Proxy) -> None:
    svc = service("dns", "10.96.1.17", [WEB_PORTS[1]], type="NodePort")
    svc["spec"]["ports"][0]["nodePort"] = 30053
    slice_ports = [WEB_SLICE_PORTS[1]]
    proxy.sync([svc], [endpoint_slice("dns", [endpoint("pod-a")], slice_ports)], full=True)
    client = lab.pod("pod-c")
    # one client socket port throughout: the same conntrack tuple, as a resolver's would be
    assert lab.udp(client, "10.96.1.17", 53, sock_port=40053) == "pod-a"
    assert lab.udp(lab.ext, NODE_IP, 30053, sock_port=40054) == "pod-a"
    proxy.sync([svc], [endpoint_slice("dns", [endpoint("pod-b")], slice_ports)])
    # pod-a still answers if asked: only a deleted conntrack entry sends the flow to pod-b
    assert lab.udp(client, "10.96.1.17", 53, sock_port=40053) == "pod-b"
    assert lab.udp(lab.ext, NODE_IP, 30053, sock_port=40054) == "pod-b"


def test_restart_keeps_established_connections_and_removes_stale_rules(lab: Lab, proxy: Proxy) -> None:
    keep, stale = service("keep", "10.96.1.18"), service("stale", "10.96.1.19")
    slices = [endpoint_slice("keep", [endpoint("pod-a")]), endpoint_slice("stale", [endpoint("pod-b")])]
    proxy.sync([keep, stale], slices, full=True)
    assert "10.96.1.19" in proxy.ruleset()
    conn = lab.connect(lab.pod("pod-c"), "10.96.1.18", 80)
    try:
        proxy.restart()
        assert proxy.sync([keep], slices[:1], full=True) == "full"
        conn.sendall(b"GET /hostname HTTP/1.0\r\n\r\n")
        conn.settimeout(3)
        assert recv_all(conn).endswith(b"pod-a")  # the established flow kept its NAT across the restart
    finally:
        conn.close()
    rules = proxy.ruleset()
    assert "10.96.1.18" in rules and "10.96.1.19" not in rules and PODS["pod-b"] not in rules


def recv_all(conn: socket.socket) -> bytes:
    chunks = []
    for _ in range(100):  # bounded: a short HTTP/1.0 answer, then the server closes
        data = conn.recv(4096)
        if not data:
            break
        chunks.append(data)
    return b"".join(chunks).strip()


def test_an_endpoint_change_reaches_the_kernel_by_partial_sync(lab: Lab, proxy: Proxy) -> None:
    svc = service("move", "10.96.1.20")
    proxy.sync([svc], [endpoint_slice("move", [endpoint("pod-a")])], full=True)
    kind = proxy.sync([svc], [endpoint_slice("move", [endpoint("pod-b")])])
    assert kind == "partial"
    wait_until(lambda: lab.http(lab.pod("pod-c"), "http://10.96.1.20/hostname") == "pod-b", timeout=5)
    assert proxy.sync([svc], [endpoint_slice("move", [endpoint("pod-b")])]) in ("none", "partial")


def test_pods_reach_a_local_policy_load_balancer_through_any_endpoint(lab: Lab, proxy: Proxy) -> None:
    svc = service(
        "lbp", "10.96.1.21", [{"name": "http", "port": 80, "protocol": "TCP", "nodePort": 30083}],
        type="LoadBalancer", externalTrafficPolicy="Local", healthCheckNodePort=32101,
        status={"loadBalancer": {"ingress": [{"ip": "172.18.255.201"}]}},
    )  # fmt: skip
    elsewhere = endpoint("pod-b", node="node-2")  # reachable here, but "on another node"
    proxy.sync([svc], [endpoint_slice("lbp", [endpoint("pod-a"), elsewhere])], full=True)
    lab_ext_route(lab, "172.18.255.201")
    assert set(hostnames(lab, lab.ext, "http://172.18.255.201/hostname", 6)) == {"pod-a"}
    # pods are not external clients (kube-proxy's short-circuit): every endpoint serves them
    assert set(hostnames(lab, lab.pod("pod-c"), "http://172.18.255.201/hostname", 24)) == {"pod-a", "pod-b"}
    assert set(hostnames(lab, lab.pod("pod-c"), f"http://{GATEWAY}:30083/hostname", 24)) == {"pod-a", "pod-b"}
    proxy.sync([svc], [endpoint_slice("lbp", [elsewhere])])
    assert lab.http(lab.pod("pod-c"), "http://172.18.255.201/hostname") == "pod-b"
    assert lab.http_status(lab.ext, f"http://{NODE_IP}:32101/healthz")[0] == 503


def lab_ext_route(lab: Lab, ip: str) -> None:
    """The outside client reaches ``ip`` through the node (what the L2 announcement gives on a LAN)."""
    sh("ip", "-n", lab.ext, "route", "replace", f"{ip}/32", "via", NODE_IP)


def test_unserved_cluster_ip_ports_are_refused_and_unallocated_addresses_dropped(
    lab: Lab, proxy: Proxy
) -> None:
    svc = service("web", "10.96.1.30", WEB_PORTS[:1])
    proxy.sync([svc], [endpoint_slice("web", [endpoint("pod-a")], WEB_SLICE_PORTS)], full=True)
    client = lab.pod("pod-c")
    assert lab.http(client, "http://10.96.1.30/hostname") == "pod-a"  # the served port still works
    assert lab.http(lab.node, "http://10.96.1.30/hostname") == "pod-a"
    if proxy.mode == "iptables":
        pytest.skip("kube-proxy's iptables mode has no such checks; only its nftables mode")
    for where in (client, lab.node):
        with pytest.raises(ConnectionRefusedError):  # a ClusterIP on a port it does not serve: at once
            lab.connect(where, "10.96.1.30", 81).close()
        with pytest.raises(TimeoutError):  # no Service holds this address: dropped, as kube-proxy does
            lab.connect(where, "10.96.1.31", 80, timeout=0.5).close()


def test_the_node_and_pods_reach_a_local_policy_service_through_any_endpoint(lab: Lab, proxy: Proxy) -> None:
    svc = service(
        "lbr", "10.96.1.32", [{"name": "http", "port": 80, "protocol": "TCP", "nodePort": 30085}],
        type="LoadBalancer", externalTrafficPolicy="Local", healthCheckNodePort=32105,
        externalIPs=["198.51.100.12"], status={"loadBalancer": {"ingress": [{"ip": LB_IP}]}},
    )  # fmt: skip
    # pod-b answers from this node's bridge, but the slice places it on node-2: no local endpoint
    proxy.sync([svc], [endpoint_slice("lbr", [endpoint("pod-b", node="node-2")])], full=True)
    for url in (f"http://{LB_IP}", f"http://{NODE_IP}:30085"):  # the node has no route to 198.51.100/24
        assert lab.http(lab.node, f"{url}/hostname") == "pod-b"  # the node itself: any endpoint
    for url in (f"http://{LB_IP}", "http://198.51.100.12", f"http://{NODE_IP}:30085"):
        assert lab.http(lab.pod("pod-c"), f"{url}/hostname") == "pod-b"  # a pod: any endpoint
    # (the externalIP is left out: the node has no route there, so it answers with a rate-limited ICMP)
    for ip, port in ((LB_IP, 80), (NODE_IP, 30085)):
        with pytest.raises(TimeoutError):  # an outside client: only local endpoints, and there are none
            lab.connect(lab.ext, ip, port, timeout=0.5).close()
