"""What a lab runs besides the cluster: the outside world on the external host, and cluster add-ons.

The external host stands for the internet: dnsmasq answers for a few public-looking names (the
upstream the cluster DNS forwards to) and an agnhost netexec serves HTTP on the "internet" address,
so pod egress, masquerading and DNS forwarding can be tested without leaving the machine. The
cluster DNS runs the way CoreDNS does: a Deployment in kube-system behind the Service kube-dns.
"""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Any

from podnet.images.registry import agnhost_argv
from podnet.lab.hosts import spawn_in_host
from podnet.lab.state import RUN_DIR, LabState, host_dir, record_process
from podnet.lab.topology import EXTERNAL

Obj = dict[str, Any]
KUBE_DNS_IP = "10.96.0.10"
EXTERNAL_DOMAIN = "example.com"


def internet_ip(state: LabState) -> str | None:
    return str(ipaddress.ip_interface(state.internet).ip) if state.internet else None


def dnsmasq_argv(state: LabState) -> list[str]:
    """An authoritative-ish upstream on the external host: example.com names, nothing else."""
    ext = (state.host(EXTERNAL).address or "").split("/")[0]
    web = internet_ip(state) or ext
    return [
        "dnsmasq", "--keep-in-foreground", "--no-resolv", "--no-hosts", "--no-poll", "--user=root",
        "--pid-file=", f"--listen-address={ext}", "--bind-interfaces", "--port=53", "--log-facility=-",
        f"--address=/{EXTERNAL_DOMAIN}/{web}",
        f"--host-record=external.{EXTERNAL_DOMAIN},{ext}",
        f"--txt-record=lab.{EXTERNAL_DOMAIN},podnet lab {state.name}",
    ]  # fmt: skip


def start_external_services(state: LabState, run_dir: Path | None = None) -> None:
    """dnsmasq and an HTTP server on the external host, recorded so `down` stops them."""
    run = RUN_DIR if run_dir is None else run_dir
    log_dir = host_dir(state.name, EXTERNAL, run)
    services = {
        "dnsmasq": dnsmasq_argv(state),
        "web": agnhost_argv(["netexec", "--http-port=80", "--udp-port=-1"]),
    }
    for what, argv in services.items():
        with open(log_dir / f"{what}.log", "ab") as out:
            p = spawn_in_host(
                state.name, EXTERNAL, argv, run_dir=run, stdout=out, stderr=out, start_new_session=True
            )
        record_process(state.name, p.pid, EXTERNAL, argv, what=what, run_dir=run)


def kube_dns_manifests(upstream: str, replicas: int = 2) -> list[Obj]:
    """The Service kube-dns at 10.96.0.10 and the Deployment serving it (labels as kubeadm's CoreDNS)."""
    labels = {"k8s-app": "kube-dns"}
    service = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {
            "name": "kube-dns",
            "namespace": "kube-system",
            "labels": {**labels, "kubernetes.io/name": "CoreDNS"},
        },
        "spec": {
            "selector": labels,
            "clusterIP": KUBE_DNS_IP,
            "ports": [
                {"name": "dns", "port": 53, "protocol": "UDP", "targetPort": 53},
                {"name": "dns-tcp", "port": 53, "protocol": "TCP", "targetPort": 53},
            ],
        },
    }
    container = {
        "name": "dns",
        "image": "podnet/podnet:latest",
        "args": ["dns", "--listen", "0.0.0.0:53", "--upstream", upstream],
        "ports": [
            {"name": "dns", "containerPort": 53, "protocol": "UDP"},
            {"name": "dns-tcp", "containerPort": 53, "protocol": "TCP"},
        ],
        "readinessProbe": {"httpGet": {"path": "/ready", "port": 8181}, "periodSeconds": 1},
        "livenessProbe": {
            "httpGet": {"path": "/health", "port": 8080},
            "periodSeconds": 10,
            "failureThreshold": 5,
        },
    }
    deployment = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "podnet-dns", "namespace": "kube-system", "labels": labels},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {"dnsPolicy": "Default", "containers": [container]},
            },
        },
    }
    return [service, deployment]
