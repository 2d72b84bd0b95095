from podnet.agent.pods.files import DnsSettings, hosts_file, parse_resolv_conf, pod_fqdn, resolv_conf

DNS = DnsSettings(
    cluster_dns=("10.96.0.10",), host_nameservers=("172.18.0.250",), host_search=("lab.example",)
)


def pod(**spec: object) -> dict:
    return {"metadata": {"name": "web-1", "namespace": "shop"}, "spec": dict(spec)}


def test_cluster_first_searches_namespace_then_cluster_with_ndots5() -> None:
    text = resolv_conf(pod(), DNS)
    assert text.splitlines() == [
        "nameserver 10.96.0.10",
        "search shop.svc.cluster.local svc.cluster.local cluster.local lab.example",
        "options ndots:5",
    ]


def test_default_policy_inherits_the_node_resolver() -> None:
    assert resolv_conf(pod(dnsPolicy="Default"), DNS) == "nameserver 172.18.0.250\nsearch lab.example\n"


def test_cluster_first_on_host_network_falls_back_to_default_but_with_host_net_variant_does_not() -> None:
    assert resolv_conf(pod(hostNetwork=True), DNS).startswith("nameserver 172.18.0.250")
    host_net = resolv_conf(pod(hostNetwork=True, dnsPolicy="ClusterFirstWithHostNet"), DNS)
    assert host_net.startswith("nameserver 10.96.0.10")


def test_none_uses_only_dns_config_and_options_override() -> None:
    p = pod(
        dnsPolicy="None",
        dnsConfig={
            "nameservers": ["1.2.3.4"],
            "searches": ["a.b"],
            "options": [{"name": "ndots", "value": "2"}],
        },
    )
    assert resolv_conf(p, DNS) == "nameserver 1.2.3.4\nsearch a.b\noptions ndots:2\n"
    merged = resolv_conf(
        pod(dnsConfig={"options": [{"name": "ndots", "value": "1"}, {"name": "edns0"}]}), DNS
    )
    assert merged.splitlines()[-1] == "options ndots:1 edns0"


def test_hosts_file_names_the_pod_and_its_subdomain_fqdn_and_aliases() -> None:
    p = pod(hostname="db-0", subdomain="db", hostAliases=[{"ip": "10.0.0.9", "hostnames": ["foo", "bar"]}])
    text = hosts_file(p, ["10.244.1.7"], "cluster.local")
    assert "10.244.1.7\tdb-0.db.shop.svc.cluster.local\tdb-0" in text
    assert text.rstrip().endswith("10.0.0.9\tfoo\tbar")
    assert "127.0.0.1\tlocalhost" in text
    assert pod_fqdn(pod(), "cluster.local") is None


def test_parse_resolv_conf_ignores_comments_and_keeps_last_search() -> None:
    assert parse_resolv_conf("# x\nnameserver 1.1.1.1\nsearch a b\nnameserver 8.8.8.8 # c\n") == (
        ("1.1.1.1", "8.8.8.8"),
        ("a", "b"),
    )
