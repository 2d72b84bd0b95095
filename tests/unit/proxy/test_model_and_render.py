import pytest

from podnet.agent.proxy import nftables
from podnet.agent.proxy.config import check_algorithm
from podnet.agent.proxy.conntrack import stale_udp_flows
from podnet.agent.proxy.model import Endpoint, service_ports, usable


def svc(name: str, **spec: object) -> dict:
    spec.setdefault("clusterIP", "10.96.0.10")
    spec.setdefault("ports", [{"name": "http", "port": 80, "protocol": "TCP"}])
    status = spec.pop("status", {})
    return {"metadata": {"name": name, "namespace": "default"}, "spec": spec, "status": status}


def eps(name: str, *endpoints: tuple[str, str, dict], port: int = 8080, proto: str = "TCP") -> dict:
    return {
        "metadata": {
            "name": f"{name}-x",
            "namespace": "default",
            "labels": {"kubernetes.io/service-name": name},
        },
        "addressType": "IPv4",
        "ports": [{"name": "http", "port": port, "protocol": proto}],
        "endpoints": [
            {"addresses": [ip], "nodeName": node, "conditions": cond} for ip, node, cond in endpoints
        ],
    }


READY = {"ready": True, "serving": True, "terminating": False}
TERMINATING = {"ready": False, "serving": True, "terminating": True}


def test_terminating_endpoints_only_when_none_is_ready() -> None:
    a, b = (
        Endpoint("10.244.1.2", 80, "n1"),
        Endpoint("10.244.1.3", 80, "n1", ready=False, serving=True, terminating=True),
    )
    assert usable((a, b), None) == (a,)
    assert usable((b,), None) == (b,)
    assert usable((a, b), "n2") == ()


def test_cluster_ip_service_renders_flat_maps() -> None:
    ports = service_ports(
        [svc("web")], [eps("web", ("10.244.1.2", "n1", READY), ("10.244.2.2", "n2", READY))]
    )
    st = nftables.build_state(ports, "n1")
    assert st.services == {("10.96.0.10", "tcp", 80): "goto sel-2"}
    assert st.backends == {
        ("10.96.0.10", "tcp", 80, 0): ("10.244.1.2", 8080),
        ("10.96.0.10", "tcp", 80, 1): ("10.244.2.2", 8080),
    }
    text = nftables.render_full(st, "10.244.0.0/16")
    assert (
        "dnat ip addr . port to ip daddr . meta l4proto . th dport . numgen random mod 2 map @backends"
        in text
    )
    assert "add element ip podnet-proxy services { 10.96.0.10 . tcp . 80 : goto sel-2 }" in text
    assert "ip daddr @cluster-ips ip saddr != 10.244.0.0/16 meta mark set meta mark | 0x4000" in text
    assert "jhash ip saddr mod 2" in nftables.render_full(st, "10.244.0.0/16", "source-hash")
    assert "@cluster-ips reject" not in text  # no service CIDR given: no range checks
    checked = nftables.render_full(st, "10.244.0.0/16", service_cidr="10.96.0.0/12")
    chains = {c.split(" {")[0]: c for c in checked.split("\tchain ")[1:]}
    for hook in ("filter-forward", "filter-output"):  # after DNAT, so a served port never gets here
        assert (
            "ct state new ip daddr @cluster-ips reject\n\t\tct state new ip daddr 10.96.0.0/12 drop"
            in chains[hook]
        )
    assert "10.96.0.0/12" not in chains["filter-input"]  # no ClusterIP is local to the node


def test_no_endpoints_reject_and_local_policy_drop() -> None:
    lb = svc(
        "lb",
        type="LoadBalancer",
        externalTrafficPolicy="Local",
        ports=[{"name": "http", "port": 80, "protocol": "TCP", "nodePort": 30001}],
        status={"loadBalancer": {"ingress": [{"ip": "172.18.255.200"}]}},
    )
    st = nftables.build_state(
        service_ports([lb, svc("empty", clusterIP="10.96.0.11")], [eps("lb", ("10.244.2.2", "n2", READY))]),
        "n1",
    )
    assert ("10.96.0.11", "tcp", 80) in st.reject
    assert ("172.18.255.200", "tcp", 80) in st.drop and ("tcp", 30001) in st.np_drop
    assert st.services[("10.96.0.10", "tcp", 80)] == "goto sel-1"  # in-cluster traffic: any endpoint
    on_n2 = nftables.build_state(service_ports([lb], [eps("lb", ("10.244.2.2", "n2", READY))]), "n2")
    assert on_n2.services[("172.18.255.200", "tcp", 80)] == "goto sel-1"  # Local: no masquerade mark
    assert on_n2.nodeports[("tcp", 30001)] == "goto np-sel-1"


def test_cluster_policy_external_traffic_is_marked_and_affinity_has_its_chain() -> None:
    s = svc(
        "np",
        type="NodePort",
        sessionAffinity="ClientIP",
        sessionAffinityConfig={"clientIP": {"timeoutSeconds": 60}},
        ports=[{"name": "http", "port": 80, "protocol": "TCP", "nodePort": 30002}],
    )
    st = nftables.build_state(service_ports([s], [eps("np", ("10.244.1.2", "n1", READY))]), "n1")
    assert st.nodeports[("tcp", 30002)] == "goto ext-aff-60-np-sel-1"  # NodePorts keep affinity too
    assert st.services[("10.96.0.10", "tcp", 80)] == "goto aff-60-sel-1"
    assert st.aff_backends == {("10.96.0.10", "tcp", 80, 1): ("10.244.1.2", 8080)}
    text = nftables.render_full(st, "10.244.0.0/16")
    # per client and service port, with the service's own timeout, as kube-proxy's recent lists
    assert "update @affinity { ip saddr . ip daddr . meta l4proto . th dport timeout 60s : ct mark }" in text
    assert "dnat ip addr . port to ip daddr . meta l4proto . th dport . ct mark map @aff-backends" in text


def test_udp_flows_to_removed_endpoints_are_flushed() -> None:
    u = svc("dns", ports=[{"name": "http", "port": 53, "protocol": "UDP"}])
    a = nftables.build_state(service_ports([u], [eps("dns", ("10.244.1.2", "n1", READY), proto="UDP")]), "n1")
    b = nftables.build_state(service_ports([u], [eps("dns", ("10.244.1.3", "n1", READY), proto="UDP")]), "n1")
    assert stale_udp_flows(a, b) == [
        ["-D", "-p", "udp", "--orig-dst", "10.96.0.10", "--orig-port-dst", "53", "--reply-src", "10.244.1.2"]
    ]
    empty = nftables.build_state(service_ports([u], []), "n1")
    assert stale_udp_flows(empty, a) == [
        ["-D", "-p", "udp", "--orig-dst", "10.96.0.10", "--orig-port-dst", "53"]
    ]


def test_headless_and_external_name_are_skipped() -> None:
    assert service_ports([svc("h", clusterIP="None"), svc("e", type="ExternalName", clusterIP="")], []) == []


def test_algorithms_say_what_needs_ipvs() -> None:
    with pytest.raises(ValueError, match="needs IPVS"):
        check_algorithm("nftables", "lc")
    with pytest.raises(ValueError, match="needs --proxy-mode nftables"):
        check_algorithm("iptables", "round-robin")
    check_algorithm("nftables", "source-hash")


def test_unchanged_services_come_from_the_cache() -> None:
    s1, s2 = svc("a", clusterIP="10.96.0.1"), svc("b", clusterIP="10.96.0.2")
    e1, e2 = eps("a", ("10.244.1.2", "n1", READY)), eps("b", ("10.244.1.3", "n1", READY))
    for i, obj in enumerate((s1, s2, e1, e2)):
        obj["metadata"]["resourceVersion"] = str(i + 1)
    cache: dict = {}
    first = service_ports([s1, s2], [e1, e2], cache)
    kept = cache["default/a"][1]
    e2["endpoints"][0]["addresses"] = ["10.244.1.9"]
    e2["metadata"]["resourceVersion"] = "9"
    second = service_ports([s1, s2], [e1, e2], cache)
    assert second[0] is kept[0]  # the same object: not recomputed
    assert second[1].endpoints[0].ip == "10.244.1.9" and first[1].endpoints[0].ip == "10.244.1.3"


def test_bad_input_is_not_programmed_and_spoils_nothing_else() -> None:
    services = [
        svc("good", clusterIP="10.96.0.20"),
        svc("badip", clusterIP="10.96.0.300"),
        svc('quo"te', clusterIP="10.96.0.21"),
        svc("badport", clusterIP="10.96.0.22", ports=[{"name": "http", "port": 70000, "protocol": "TCP"}]),
        svc("aff", clusterIP="10.96.0.23", sessionAffinity="ClientIP",
            sessionAffinityConfig={"clientIP": {"timeoutSeconds": "x; drop"}}),
    ]  # fmt: skip
    slices = [
        eps("good", ("10.244.1.2", "n1", READY), ("fe80::1", "n1", READY), ("1.2.3.4 } x", "n1", READY))
    ]
    ports = service_ports(services, slices)
    assert [(p.name, p.cluster_ip) for p in ports] == [("good", "10.96.0.20"), ("aff", "10.96.0.23")]
    assert [e.ip for e in ports[0].endpoints] == ["10.244.1.2"]
    assert ports[1].affinity_timeout == 10800
