"""The files a pod sees at /etc: resolv.conf by dnsPolicy and hosts, as kubelet writes them (pure)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

Obj = dict[str, Any]

MAX_SEARCH = 32  # kubelet's limit on search domains (MaxDNSSearchPaths in 1.28+)


@dataclass(frozen=True)
class DnsSettings:
    """The node's view of cluster DNS: kubelet's --cluster-dns / --cluster-domain and the host's resolv.conf."""

    cluster_dns: tuple[str, ...] = ("10.96.0.10",)
    cluster_domain: str = "cluster.local"
    host_nameservers: tuple[str, ...] = ()
    host_search: tuple[str, ...] = ()


def resolv_conf(pod: Obj, dns: DnsSettings) -> str:
    """resolv.conf for ``pod`` following its dnsPolicy (ClusterFirst, Default, None, ClusterFirstWithHostNet)."""
    spec = pod.get("spec") or {}
    policy = spec.get("dnsPolicy") or "ClusterFirst"
    host_network = bool(spec.get("hostNetwork"))
    namespace = (pod.get("metadata") or {}).get("namespace") or "default"
    nameservers: list[str]
    search: list[str]
    options: list[str] = []
    cluster = policy == "ClusterFirstWithHostNet" or (policy == "ClusterFirst" and not host_network)
    if policy == "None":
        nameservers, search = [], []
    elif cluster and dns.cluster_dns:
        d = dns.cluster_domain
        nameservers = list(dns.cluster_dns)
        search = [f"{namespace}.svc.{d}", f"svc.{d}", d, *dns.host_search]
        options = ["ndots:5"]
    else:  # Default, or ClusterFirst for a hostNetwork pod: the node's own resolver settings
        nameservers, search = list(dns.host_nameservers), list(dns.host_search)
    config = spec.get("dnsConfig") or {}
    nameservers += [s for s in config.get("nameservers") or [] if s not in nameservers]
    search += [s for s in config.get("searches") or [] if s not in search]
    options = _merge_options(options, config.get("options") or [])
    lines = [f"nameserver {s}" for s in nameservers[:3]]  # the resolver reads at most three (MAXNS)
    if search:
        lines.append("search " + " ".join(_dedupe(search)[:MAX_SEARCH]))
    if options:
        lines.append("options " + " ".join(options))
    return "\n".join(lines) + "\n"


def _merge_options(base: list[str], extra: list[Obj]) -> list[str]:
    """dnsConfig options override same-named defaults (ndots:2 replaces ndots:5), as kubelet merges them."""
    merged: dict[str, str] = {}
    for opt in base:
        name, _, value = opt.partition(":")
        merged[name] = opt
    for opt in extra:
        name = str(opt.get("name") or "")
        if name:
            value = opt.get("value")
            merged[name] = f"{name}:{value}" if value not in (None, "") else name
    return list(merged.values())


def _dedupe(items: list[str]) -> list[str]:
    seen: set[str] = set()
    return [i for i in items if not (i in seen or seen.add(i))]


def pod_hostname(pod: Obj) -> str:
    """spec.hostname or the pod name, cut to 63 characters as kubelet does."""
    spec = pod.get("spec") or {}
    return (spec.get("hostname") or (pod.get("metadata") or {}).get("name") or "pod")[:63].rstrip("-.")


def pod_fqdn(pod: Obj, cluster_domain: str) -> str | None:
    """hostname.subdomain.ns.svc.domain when the pod names a subdomain (headless service DNS)."""
    spec = pod.get("spec") or {}
    sub = spec.get("subdomain")
    if not sub:
        return None
    namespace = (pod.get("metadata") or {}).get("namespace") or "default"
    return f"{pod_hostname(pod)}.{sub}.{namespace}.svc.{cluster_domain}"


def hosts_file(pod: Obj, pod_ips: list[str], cluster_domain: str) -> str:
    """/etc/hosts as kubelet's managed file: localhost lines, the pod's own names, then hostAliases."""
    lines = [
        "# Kubernetes-managed hosts file (podnet).",
        "127.0.0.1\tlocalhost",
        "::1\tlocalhost ip6-localhost ip6-loopback",
        "fe00::0\tip6-localnet",
        "fe00::0\tip6-mcastprefix",
        "fe00::1\tip6-allnodes",
        "fe00::2\tip6-allrouters",
    ]
    hostname = pod_hostname(pod)
    fqdn = pod_fqdn(pod, cluster_domain)
    names = f"{fqdn}\t{hostname}" if fqdn else hostname
    lines += [f"{ip}\t{names}" for ip in pod_ips]
    aliases = (pod.get("spec") or {}).get("hostAliases") or []
    if aliases:
        lines.append("")
        lines.append("# Entries added by HostAliases.")
        lines += [f"{a.get('ip')}\t{chr(9).join(a.get('hostnames') or [])}" for a in aliases if a.get("ip")]
    return "\n".join(lines) + "\n"


def parse_resolv_conf(text: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(nameservers, search) of a resolv.conf: what ``Default`` pods inherit from the node."""
    servers: list[str] = []
    search: list[str] = []
    for line in text.splitlines():
        parts = line.split("#", 1)[0].split()
        if len(parts) >= 2 and parts[0] == "nameserver":
            servers.append(parts[1])
        elif parts and parts[0] in ("search", "domain"):
            search = parts[1:]
    return tuple(servers), tuple(search)
