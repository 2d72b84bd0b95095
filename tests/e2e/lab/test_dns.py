"""Cluster DNS from pods: dig and getent through kube-dns 10.96.0.10, as users query it."""

from __future__ import annotations

import pytest

from tests.e2e.lab.conftest import Lab, netexec, pod_manifest
from tests.helpers import wait_until

pytestmark = pytest.mark.e2e


def dig(lab: Lab, pod: str, *args: str) -> str:
    return lab.exec(pod, "dig", "+short", "+time=2", "+tries=1", *args, check=False).strip()


@pytest.fixture(scope="module")
def dns_client(lab: Lab) -> str:
    lab.kubectl.apply(pod_manifest("dnsc", netexec(), node="node-2"))
    lab.wait_ready("dnsc")
    return "dnsc"


def test_service_names_resolve_by_every_form(lab: Lab, dns_client: str) -> None:
    lab.kubectl.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "other"}})
    lab.kubectl.apply(
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": "far", "namespace": "other"},
            "spec": {"selector": {"app": "none"}, "ports": [{"name": "http", "port": 80}]},
        }
    )
    ip = lab.kubectl.json("get", "svc", "far", "-n", "other")["spec"]["clusterIP"]
    assert wait_until(lambda: dig(lab, dns_client, "far.other.svc.cluster.local"), timeout=5) == ip
    assert lab.exec(dns_client, "getent", "hosts", "far.other").split()[0] == ip
    assert lab.exec(dns_client, "getent", "hosts", "kubernetes").split()[0] == "10.96.0.1"
    assert (
        dig(lab, dns_client, "SRV", "_http._tcp.far.other.svc.cluster.local")
        == "0 100 80 far.other.svc.cluster.local."
    )
    assert dig(lab, dns_client, "-x", ip) == "far.other.svc.cluster.local."


def test_new_service_answers_within_a_second_and_a_deleted_one_stops(lab: Lab, dns_client: str) -> None:
    lab.kubectl.apply(
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": "fresh"},
            "spec": {"selector": {"app": "none"}, "ports": [{"port": 80}]},
        }
    )
    ip = lab.kubectl.json("get", "svc", "fresh")["spec"]["clusterIP"]
    assert (
        wait_until(lambda: dig(lab, dns_client, "fresh.default.svc.cluster.local"), timeout=1.5, interval=0.1)
        == ip
    )
    lab.kubectl("delete", "svc", "fresh")
    wait_until(
        lambda: dig(lab, dns_client, "fresh.default.svc.cluster.local") == "", timeout=1.5, interval=0.1
    )
    out = lab.exec(dns_client, "dig", "+time=2", "fresh.default.svc.cluster.local", check=False)
    assert "status: NXDOMAIN" in out and "SOA" in out


def test_headless_service_returns_ready_pods(lab: Lab, dns_client: str) -> None:
    lab.kubectl.apply(
        [
            {
                "apiVersion": "v1",
                "kind": "Service",
                "metadata": {"name": "hl"},
                "spec": {
                    "clusterIP": "None",
                    "selector": {"test": "hl-0"},
                    "ports": [{"name": "web", "port": 8080}],
                },
            },
            pod_manifest("hl-0", netexec(), hostname="hl-0", subdomain="hl"),
        ]
    )
    pod_ip = lab.wait_ready("hl-0")["status"]["podIP"]
    assert wait_until(lambda: dig(lab, dns_client, "hl.default.svc.cluster.local"), timeout=5) == pod_ip
    assert wait_until(lambda: dig(lab, dns_client, "hl-0.hl.default.svc.cluster.local"), timeout=5) == pod_ip


def test_external_names_forward_upstream_and_autopath_saves_queries(lab: Lab, dns_client: str) -> None:
    assert dig(lab, dns_client, "www.example.com") == "203.0.113.1"
    assert lab.exec(dns_client, "getent", "hosts", "www.example.com").split()[0] == "203.0.113.1"
    dashed = lab.pod(dns_client)["status"]["podIP"].replace(".", "-")
    assert (
        dig(lab, dns_client, f"{dashed}.default.pod.cluster.local") == lab.pod(dns_client)["status"]["podIP"]
    )
    assert dig(lab, dns_client, "TXT", "dns-version.cluster.local") == '"1.1.0"'


def test_host_network_pod_with_cluster_first_with_host_net(lab: Lab) -> None:
    lab.kubectl.apply(
        pod_manifest("hn-dns", netexec(port=18090), hostNetwork=True, dnsPolicy="ClusterFirstWithHostNet")
    )
    lab.wait_ready("hn-dns")
    assert lab.exec("hn-dns", "getent", "hosts", "kubernetes.default").split()[0] == "10.96.0.1"
