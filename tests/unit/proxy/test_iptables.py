"""iptables mode: kube-proxy's chain layout, and partial restores. Address plan: pods 10.244.0.0/16,
services 10.96.0.0/12."""

from podnet.agent.proxy.iptables import chain_hash, render, render_tables, restore_text
from podnet.agent.proxy.model import service_ports

READY = {"ready": True}


def svc(name: str, **spec: object) -> dict:
    spec.setdefault("clusterIP", "10.96.0.10")
    spec.setdefault("ports", [{"name": "http", "port": 80, "protocol": "TCP"}])
    status = spec.pop("status", {})
    return {"metadata": {"name": name, "namespace": "default"}, "spec": spec, "status": status}


def eps(name: str, *ips: tuple[str, str]) -> dict:
    return {
        "metadata": {
            "name": f"{name}-x",
            "namespace": "default",
            "labels": {"kubernetes.io/service-name": name},
        },
        "addressType": "IPv4",
        "ports": [{"name": "http", "port": 8080, "protocol": "TCP"}],
        "endpoints": [{"addresses": [ip], "nodeName": node, "conditions": READY} for ip, node in ips],
    }


def test_kube_proxy_layout_with_statistic_probabilities() -> None:
    ports = service_ports(
        [svc("web")], [eps("web", ("10.244.1.2", "n1"), ("10.244.2.2", "n2"), ("10.244.2.3", "n2"))]
    )
    text, chains = render(ports, "n1", "10.244.0.0/16")
    svc_chain = chain_hash("KUBE-SVC-", ports[0])
    assert svc_chain.startswith("KUBE-SVC-") and len(svc_chain) == len("KUBE-SVC-") + 16
    lines = text.splitlines()
    assert (
        f'-A KUBE-SERVICES -m comment --comment "default/web:http" -d 10.96.0.10/32 -p tcp --dport 80 -j {svc_chain}'
        in lines
    )
    assert f"-A {svc_chain} ! -s 10.244.0.0/16 -d 10.96.0.10/32 -p tcp --dport 80 -j KUBE-MARK-MASQ" in lines
    probs = [line for line in lines if line.startswith(f"-A {svc_chain} -m statistic")]
    assert [p.split("--probability ")[1].split()[0] for p in probs] == ["0.3333333333", "0.5000000000"]
    assert sum(1 for line in lines if "-j DNAT --to-destination" in line) == 3
    assert any(line.endswith("-j KUBE-MARK-MASQ") and "-s 10.244.1.2/32" in line for line in lines)  # hairpin
    assert (
        lines[-1] == "COMMIT" and "-A KUBE-SERVICES -m addrtype --dst-type LOCAL -j KUBE-NODEPORTS" in lines
    )
    assert "KUBE-POSTROUTING" in chains


def test_no_endpoints_rejected_in_filter_and_local_policy_drops_elsewhere() -> None:
    lb = svc(
        "lb",
        type="LoadBalancer",
        externalTrafficPolicy="Local",
        clusterIP="10.96.0.11",
        ports=[{"name": "http", "port": 80, "protocol": "TCP", "nodePort": 30001}],
        status={"loadBalancer": {"ingress": [{"ip": "172.18.255.200"}]}},
    )
    text, _ = render(
        service_ports([svc("empty"), lb], [eps("lb", ("10.244.2.2", "n2"))]), "n1", "10.244.0.0/16"
    )
    filt = text.split("*filter")[1]
    assert "-d 10.96.0.10/32 -p tcp --dport 80 -j REJECT" in filt
    assert "-d 172.18.255.200/32 -p tcp --dport 80 -j DROP" in filt and "--dport 30001 -j DROP" in filt
    on_n2, _ = render(service_ports([lb], [eps("lb", ("10.244.2.2", "n2"))]), "n2", "10.244.0.0/16")
    ext = chain_hash("KUBE-EXT-", service_ports([lb], [])[0])
    assert f'-A KUBE-NODEPORTS -m comment --comment "default/lb:http" -p tcp --dport 30001 -j {ext}' in on_n2
    assert f"-A {ext} -j KUBE-MARK-MASQ" not in on_n2  # Local: the client address is kept


def test_a_partial_restore_writes_only_the_chains_that_changed() -> None:
    before = render_tables(
        service_ports([svc("web")], [eps("web", ("10.244.1.2", "n1"), ("10.244.2.2", "n2"))]),
        "n1",
        "10.244.0.0/16",
    )
    after = render_tables(
        service_ports([svc("web")], [eps("web", ("10.244.1.2", "n1"), ("10.244.2.9", "n2"))]),
        "n1",
        "10.244.0.0/16",
    )
    stale = [c for c in before.nat if c not in after.nat]
    text = restore_text(after, before.nat, stale)
    sp = service_ports([svc("web")], [])[0]
    svc_chain = chain_hash("KUBE-SVC-", sp)
    old_sep, new_sep = (
        chain_hash("KUBE-SEP-", sp, "10.244.2.2:8080"),
        chain_hash("KUBE-SEP-", sp, "10.244.2.9:8080"),
    )
    nat = text.split("COMMIT")[0].splitlines()
    assert [line for line in nat if line.startswith(":")] == [
        f":{svc_chain} - [0:0]", f":{new_sep} - [0:0]", f":{old_sep} - [0:0]"
    ]  # fmt: skip
    assert nat[-1] == f"-X {old_sep}" and stale == [old_sep]
    assert not any(line.startswith("-A KUBE-SERVICES") for line in nat)  # unchanged: left as it is
    assert "*filter\n:KUBE-SERVICES - [0:0]\n:KUBE-EXTERNAL-SERVICES - [0:0]\nCOMMIT\n" in text
