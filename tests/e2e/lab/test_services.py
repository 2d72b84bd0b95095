"""Services end to end in a lab: ClusterIP, NodePort, LoadBalancer, policies, affinity, hairpin, reject,
UDP conntrack cleanup, restart. Clients are agnhost and curl inside pods, nodes and the external host."""

from __future__ import annotations

import itertools
import os
import secrets
import shutil
import time
from collections.abc import Iterator
from typing import Any

import pytest

from podnet.lab import cluster
from podnet.lab.state import load_state
from tests.e2e.lab.conftest import Lab, lab_leftovers, make_lab, netexec, pod_manifest, podnet
from tests.helpers import wait_until

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module", params=["nftables", "iptables"])
def svc_lab(request: pytest.FixtureRequest) -> Iterator[Lab]:
    if os.geteuid() != 0 or shutil.which("kubectl") is None:
        pytest.skip("needs root and kubectl")
    name = "s" + secrets.token_hex(3)
    lab = make_lab(name, "--nodes", "2", "--proxy-mode", request.param)
    try:  # set up inside the try: a failing setup still removes the lab
        lab.backend = request.param  # (reused as the proxy mode of this module's lab)
        lab.kubectl.apply(
            [
                pod_manifest(
                    "web-1", netexec(ports=[{"name": "http", "containerPort": 8080}]), node="node-1"
                ),
                pod_manifest(
                    "web-2", netexec(ports=[{"name": "http", "containerPort": 8080}]), node="node-2"
                ),
                pod_manifest("client", netexec(), node="node-1"),
            ]
        )
        for p in ("web-1", "web-2"):
            lab.kubectl("label", "pod", p, "app=web", "--overwrite")
        for p in ("web-1", "web-2", "client"):
            lab.wait_ready(p)
        yield lab
    finally:
        podnet("down", "--name", name)
        assert lab_leftovers(name) == []


def service(name: str, **spec: Any) -> dict[str, Any]:
    spec.setdefault("selector", {"app": "web"})
    spec.setdefault("ports", [{"name": "http", "port": 80, "targetPort": "http"}])
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name}, "spec": spec}


def get(lab: Lab, src: str, url: str) -> str:
    return lab.exec(src, "curl", "-s", "--max-time", "2", url, check=False)


def wait_answer(lab: Lab, src: str, url: str, timeout: float = 10) -> str:
    return wait_until(lambda: get(lab, src, url), timeout=timeout, interval=0.2, what=url)


def from_host(lab: Lab, host: str, url: str) -> str:
    return lab.host(host, "curl", "-s", "--max-time", "2", url, check=False)


def test_cluster_ip_reaches_every_endpoint_without_nat(svc_lab: Lab) -> None:
    svc_lab.kubectl.apply(service("web"))
    vip = svc_lab.kubectl.json("get", "svc", "web")["spec"]["clusterIP"]
    wait_answer(svc_lab, "client", f"http://{vip}/hostname")
    seen = {get(svc_lab, "client", f"http://{vip}/hostname") for _ in range(30)}
    assert seen == {"web-1", "web-2"}
    client_ip = svc_lab.pod("client")["status"]["podIP"]
    assert get(svc_lab, "client", f"http://{vip}/clientip").rsplit(":", 1)[0] == client_ip


def test_multiple_ports_udp_and_target_port_by_number(svc_lab: Lab) -> None:
    ports = [
        {"name": "http", "port": 80, "targetPort": 8080},
        {"name": "alt", "port": 8000, "targetPort": "http"},
        {"name": "udp", "port": 53, "targetPort": 8081, "protocol": "UDP"},
    ]
    svc_lab.kubectl.apply(service("multi", ports=ports))
    vip = svc_lab.kubectl.json("get", "svc", "multi")["spec"]["clusterIP"]
    assert wait_answer(svc_lab, "client", f"http://{vip}:8000/hostname") in ("web-1", "web-2")
    assert get(svc_lab, "client", f"http://{vip}/hostname") in ("web-1", "web-2")
    out = svc_lab.exec(
        "client", "/agnhost", "connect", f"{vip}:53", "--protocol=udp", "--timeout=2s", check=False
    )
    assert out == ""  # agnhost connect prints nothing and exits 0 on success


def test_node_port_on_every_node_and_from_outside(svc_lab: Lab) -> None:
    svc_lab.kubectl.apply(
        service(
            "np", type="NodePort", ports=[{"name": "http", "port": 80, "targetPort": 8080, "nodePort": 30555}]
        )
    )
    for node_ip in ("172.18.0.3", "172.18.0.4"):
        out = wait_until(
            lambda ip=node_ip: from_host(svc_lab, "external", f"http://{ip}:30555/hostname"), timeout=10
        )
        assert out in ("web-1", "web-2")
    # Cluster policy: the endpoint sees a node address, not the client's
    seen = from_host(svc_lab, "external", "http://172.18.0.3:30555/clientip").rsplit(":", 1)[0]
    assert seen != "172.18.0.250"


def test_load_balancer_local_policy_keeps_the_client_ip_and_health_checks(svc_lab: Lab) -> None:
    svc_lab.kubectl.apply(service("lb", type="LoadBalancer", externalTrafficPolicy="Local"))
    svc = wait_until(
        lambda: (
            (s := svc_lab.kubectl.json("get", "svc", "lb"))["status"].get("loadBalancer", {}).get("ingress")
            and s
        ),
        timeout=10,
    )
    ip = svc["status"]["loadBalancer"]["ingress"][0]["ip"]
    out = wait_until(
        lambda: from_host(svc_lab, "external", f"http://{ip}/clientip"), timeout=15, interval=0.3
    )
    assert out.rsplit(":", 1)[0] == "172.18.0.250"
    hc = svc["spec"]["healthCheckNodePort"]
    body = from_host(svc_lab, "external", f"http://172.18.0.3:{hc}/healthz")
    assert '"localEndpoints": 1' in body


def test_external_ips(svc_lab: Lab) -> None:
    svc_lab.kubectl.apply(
        service("ext", externalIPs=["172.18.0.3"], ports=[{"port": 8088, "targetPort": 8080}])
    )
    out = wait_until(lambda: from_host(svc_lab, "external", "http://172.18.0.3:8088/hostname"), timeout=10)
    assert out in ("web-1", "web-2")


def test_session_affinity_client_ip(svc_lab: Lab) -> None:
    svc_lab.kubectl.apply(
        service(
            "sticky", sessionAffinity="ClientIP", sessionAffinityConfig={"clientIP": {"timeoutSeconds": 60}}
        )
    )
    vip = svc_lab.kubectl.json("get", "svc", "sticky")["spec"]["clusterIP"]
    wait_answer(svc_lab, "client", f"http://{vip}/hostname")
    assert len({get(svc_lab, "client", f"http://{vip}/hostname") for _ in range(12)}) == 1
    # NodePort traffic keeps its affinity too (per client and node address)
    svc_lab.kubectl.apply(service("sticky-np", type="NodePort", sessionAffinity="ClientIP",
                                  sessionAffinityConfig={"clientIP": {"timeoutSeconds": 60}}))  # fmt: skip
    np = svc_lab.kubectl.json("get", "svc", "sticky-np")["spec"]["ports"][0]["nodePort"]
    url = f"http://172.18.0.3:{np}/hostname"
    wait_until(lambda: from_host(svc_lab, "external", url), timeout=10)
    assert len({from_host(svc_lab, "external", url) for _ in range(10)}) == 1


def test_hairpin_a_pod_reaches_itself_through_its_service(svc_lab: Lab) -> None:
    svc_lab.kubectl.apply(service("self", selector={"test": "web-1"}))
    vip = svc_lab.kubectl.json("get", "svc", "self")["spec"]["clusterIP"]
    assert wait_answer(svc_lab, "web-1", f"http://{vip}/hostname") == "web-1"


def test_no_endpoints_rejects_at_once(svc_lab: Lab) -> None:
    svc_lab.kubectl.apply(service("nobody", selector={"app": "nobody"}))
    vip = svc_lab.kubectl.json("get", "svc", "nobody")["spec"]["clusterIP"]
    time.sleep(0.5)  # let the agents program the new service (a bounded wait: the assertion is about speed)
    t0 = time.monotonic()
    proc = podnet(
        "exec", "--name", svc_lab.name, "client", "--", "/agnhost", "connect", f"{vip}:80", "--timeout=5s"
    )
    assert proc.returncode != 0 and "REFUSED" in proc.stdout + proc.stderr
    assert time.monotonic() - t0 < 4  # refused, not timed out


def test_headless_and_external_name_get_no_rules(svc_lab: Lab) -> None:
    svc_lab.kubectl.apply(
        [
            service("headless", clusterIP="None"),
            {
                "apiVersion": "v1",
                "kind": "Service",
                "metadata": {"name": "extname"},
                "spec": {"type": "ExternalName", "externalName": "example.com"},
            },
        ]
    )
    if svc_lab.backend == "iptables":
        rules = svc_lab.host("node-1", "iptables-legacy-save", "-t", "nat")
    else:
        rules = svc_lab.host("node-1", "nft", "list", "map", "ip", "podnet-proxy", "services")
    assert (
        "None" not in rules
        and "example.com" not in rules
        and "headless" not in rules
        and "extname" not in rules
    )


def test_udp_conntrack_is_cleared_when_an_endpoint_goes(svc_lab: Lab) -> None:
    svc_lab.kubectl.apply([pod_manifest("dns-a", netexec(), node="node-2")])
    svc_lab.kubectl("label", "pod", "dns-a", "role=dns", "--overwrite")
    svc_lab.wait_ready("dns-a")
    svc_lab.kubectl.apply(
        service("udp", selector={"role": "dns"}, ports=[{"port": 53, "targetPort": 8081, "protocol": "UDP"}])
    )
    vip = svc_lab.kubectl.json("get", "svc", "udp")["spec"]["clusterIP"]
    # a long-lived UDP flow (same source port each time) as a resolver keeps
    probe = [
        "python3",
        "-c",
        "import socket,sys; s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM); s.bind(('',5353)); "
        "s.settimeout(1.5); s.sendto(b'hostname',(sys.argv[1],53)); print(s.recv(100).decode())",
        vip,
    ]
    assert wait_until(lambda: svc_lab.exec("client", *probe, check=False).strip(), timeout=10) == "dns-a"
    svc_lab.kubectl("delete", "pod", "dns-a", "--wait=true")
    svc_lab.kubectl.apply([pod_manifest("dns-b", netexec(), node="node-2")])
    svc_lab.kubectl("label", "pod", "dns-b", "role=dns", "--overwrite")
    svc_lab.wait_ready("dns-b")
    assert wait_until(lambda: svc_lab.exec("client", *probe, check=False).strip(), timeout=10) == "dns-b"


def test_agent_restart_keeps_established_connections_and_removes_stale_rules(svc_lab: Lab) -> None:
    svc_lab.kubectl.apply(service("keep"))
    vip = svc_lab.kubectl.json("get", "svc", "keep")["spec"]["clusterIP"]
    wait_answer(svc_lab, "client", f"http://{vip}/hostname")
    # a foreign table (chain) on node-1 must survive; a stale entry (chain) of ours must go
    iptables = svc_lab.backend == "iptables"
    if iptables:
        svc_lab.host("node-1", "iptables-legacy", "-t", "nat", "-N", "SOMEONE-ELSE")
        svc_lab.host("node-1", "iptables-legacy", "-t", "nat", "-N", "KUBE-SVC-STALE000000000000")
    else:
        svc_lab.host("node-1", "nft", "add", "table", "ip", "someone-else")
        svc_lab.host(
            "node-1", "nft", "add", "element", "ip", "podnet-proxy", "cluster-ips", "{ 10.96.255.254 }"
        )
    state = load_state(svc_lab.name)
    assert state is not None
    old = [p for p in state.processes if p.name == "agent" and p.host == "node-1"][-1]
    os.kill(old.pid, 9)
    cluster.start_agent(
        state, "node-1", cluster.ClusterOptions(restart_backoff=1, proxy_mode=svc_lab.backend)
    )
    if iptables:
        wait_until(
            lambda: "STALE" not in svc_lab.host("node-1", "iptables-legacy", "-t", "nat", "-S"), timeout=15
        )
        assert "SOMEONE-ELSE" in svc_lab.host("node-1", "iptables-legacy", "-t", "nat", "-S")
    else:
        sets = ("nft", "list", "set", "ip", "podnet-proxy", "cluster-ips")
        wait_until(lambda: "10.96.255.254" not in svc_lab.host("node-1", *sets), timeout=15)
        assert "someone-else" in svc_lab.host("node-1", "nft", "list", "tables")
    assert get(svc_lab, "client", f"http://{vip}/hostname") in ("web-1", "web-2")


def test_internal_traffic_policy_local_uses_only_this_nodes_endpoints(svc_lab: Lab) -> None:
    svc_lab.kubectl.apply(service("itp", internalTrafficPolicy="Local"))
    vip = svc_lab.kubectl.json("get", "svc", "itp")["spec"]["clusterIP"]
    wait_answer(svc_lab, "client", f"http://{vip}/hostname")
    # the client runs on node-1: only web-1 (node-1) may answer
    assert {get(svc_lab, "client", f"http://{vip}/hostname") for _ in range(10)} == {"web-1"}


def test_load_balancer_ip_fails_over_when_its_node_dies(svc_lab: Lab) -> None:
    svc_lab.kubectl.apply(service("failover", type="LoadBalancer"))
    svc = wait_until(
        lambda: (
            (s := svc_lab.kubectl.json("get", "svc", "failover"))["status"]
            .get("loadBalancer", {})
            .get("ingress")
            and s
        ),
        timeout=10,
    )
    ip = svc["status"]["loadBalancer"]["ingress"][0]["ip"]
    lease = "podnet-lb-" + ip.replace(".", "-")
    wait_until(lambda: from_host(svc_lab, "external", f"http://{ip}/hostname"), timeout=15, interval=0.3)
    holder = svc_lab.kubectl.json("get", "lease", lease, "-n", "kube-system")["spec"]["holderIdentity"]
    state = load_state(svc_lab.name)
    assert state is not None
    agent = [p for p in state.processes if p.name == "agent" and p.host == holder][-1]
    os.kill(agent.pid, 9)
    t0 = time.monotonic()
    new = wait_until(
        lambda: (h := svc_lab.kubectl.json("get", "lease", lease, "-n", "kube-system")["spec"]["holderIdentity"])
        != holder and h,
        timeout=15, interval=0.2, what="another node takes the IP",
    )  # fmt: skip
    took = time.monotonic() - t0
    assert new != holder and took < 10
    # the external host now reaches the service through the new holder (gratuitous ARP moved it)
    wait_until(lambda: from_host(svc_lab, "external", f"http://{ip}/hostname"), timeout=10, interval=0.3)
    neigh = svc_lab.host("external", "ip", "neigh", "show", ip)
    new_mac = svc_lab.host(new, "cat", "/sys/class/net/eth0/address").strip()
    assert new_mac in neigh
    cluster.start_agent(state, holder, cluster.ClusterOptions(restart_backoff=1, proxy_mode=svc_lab.backend))


@pytest.mark.parametrize("algorithm", ["round-robin", "source-hash"])
def test_lb_algorithms_and_terminating_endpoints_serve_only_as_a_fallback(algorithm: str) -> None:
    if os.geteuid() != 0 or shutil.which("kubectl") is None:
        pytest.skip("needs root and kubectl")
    name = "r" + secrets.token_hex(3)
    lab = make_lab(name, "--nodes", "1", "--no-dns", "--lb-algorithm", algorithm)
    try:
        stubborn = {"name": "c", "image": "busybox",
                    "command": ["sh", "-c", "trap '' TERM; python3 -m http.server 8080 --bind 0.0.0.0"]}  # fmt: skip
        lab.kubectl.apply(
            [
                pod_manifest("rr-1", netexec(ports=[{"name": "http", "containerPort": 8080}]), node="node-1"),
                pod_manifest("rr-2", netexec(ports=[{"name": "http", "containerPort": 8080}]), node="node-1"),
                pod_manifest("client", netexec(), node="node-1"),
            ]
        )
        for p in ("rr-1", "rr-2"):
            lab.kubectl("label", "pod", p, "app=web", "--overwrite")
        for p in ("rr-1", "rr-2", "client"):
            lab.wait_ready(p)
        lab.kubectl.apply(service("rr"))
        vip = lab.kubectl.json("get", "svc", "rr")["spec"]["clusterIP"]
        wait_answer(lab, "client", f"http://{vip}/hostname")
        seen = [get(lab, "client", f"http://{vip}/hostname") for _ in range(8)]
        if algorithm == "round-robin":
            assert all(a != b for a, b in itertools.pairwise(seen)), seen  # strict alternation
        else:
            assert len(set(seen)) == 1, seen  # one client address, one endpoint (IPVS sh)
        # terminating-but-serving: the only endpoint left is still used while it terminates
        lab.kubectl.apply([pod_manifest("slow", stubborn, node="node-1", terminationGracePeriodSeconds=60)])
        lab.kubectl("label", "pod", "slow", "role=slow", "--overwrite")
        lab.wait_ready("slow")
        lab.kubectl.apply(
            service("slowsvc", selector={"role": "slow"}, ports=[{"port": 80, "targetPort": 8080}])
        )
        svip = lab.kubectl.json("get", "svc", "slowsvc")["spec"]["clusterIP"]
        wait_until(lambda: get(lab, "client", f"http://{svip}/"), timeout=10)
        lab.kubectl("delete", "pod", "slow", "--wait=false")

        def terminating() -> bool:
            slices = lab.kubectl.json("get", "endpointslices", "-l", "kubernetes.io/service-name=slowsvc")[
                "items"
            ]
            conds = [e.get("conditions") or {} for sl in slices for e in sl.get("endpoints") or []]
            return bool(conds) and all(
                c.get("terminating") and c.get("serving") and not c.get("ready") for c in conds
            )

        wait_until(terminating, timeout=10, what="the endpoint is serving but terminating")
        assert wait_until(lambda: get(lab, "client", f"http://{svip}/"), timeout=5)  # the fallback answers
    finally:
        podnet("down", "--name", name)
    assert lab_leftovers(name) == []


def test_trace_from_the_external_host_follows_a_node_port_across_nodes(svc_lab: Lab) -> None:
    """podnet trace --from-host: NodePort on node-1, backend on node-2, masqueraded in between;
    the probe's packets are found on both nodes (DSCP-marked) and so are the replies."""
    svc_lab.kubectl("label", "pod", "web-2", "only=web-2", "--overwrite")
    svc_lab.kubectl.apply(service("np-trace", type="NodePort", selector={"only": "web-2"},
                                  ports=[{"name": "http", "port": 80, "targetPort": 8080, "nodePort": 30556}]))  # fmt: skip
    wait_until(lambda: from_host(svc_lab, "external", "http://172.18.0.3:30556/hostname") == "web-2", 10)
    web2 = svc_lab.pod("web-2")["status"]["podIP"]
    out = podnet("trace", "--name", svc_lab.name, "--from-host", "external", "--to", "172.18.0.3:30556")
    assert out.returncode == 0, out.stderr
    assert "external (172.18.0.250) -> 172.18.0.3:30556/tcp: connected" in out.stdout
    node1, node2 = out.stdout.split("node-1:", 1)[1].split("node-2:", 1)
    assert "172.18.0.250:" in node1 and f"-> {web2}:8080 tcp syn" in node1  # DNAT seen on node-1
    assert "172.18.0.3:" in node2 and f"-> {web2}:8080 tcp syn" in node2  # arrives masqueraded
    assert "syn,ack" in node1 and "syn,ack" in node2  # the reply traced back through both
    bad = podnet("trace", "--name", svc_lab.name, "--from-host", "nowhere", "--to", "172.18.0.3:30556")
    assert bad.returncode == 2 and "no host 'nowhere'" in bad.stderr
