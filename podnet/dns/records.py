"""The cluster zone as records, from Services, EndpointSlices and Pods (pure).

Kubernetes DNS-Based Service Discovery, schema 1.1.0 (kubernetes/dns docs/specification.md):

- ``<svc>.<ns>.svc.<zone>``: A for a ClusterIP service; for a headless one, A for each ready
  endpoint, plus ``<hostname>.<svc>.<ns>.svc.<zone>`` for endpoints with a hostname;
- ``_<port>._<proto>.<svc>.<ns>.svc.<zone>``: SRV per named port (per endpoint for headless);
- PTR for cluster IPs and headless endpoint addresses; ExternalName as a CNAME;
- ``<a-b-c-d>.<ns>.pod.<zone>``: A for pod IPs (verified: only addresses a pod in that namespace has);
- ``dns-version.<zone>``: TXT "1.1.0".

Every name that exists (with or without records) is in ``names``, so an empty answer (NOERROR,
the name exists) is told apart from NXDOMAIN.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from typing import Any

Obj = dict[str, Any]
SCHEMA_VERSION = "1.1.0"


@dataclass
class Zone:
    origin: str  # "cluster.local." (absolute, lower case)
    records: dict[tuple[str, str], list[str]] = field(default_factory=dict)  # (name, type) -> rdata text
    names: set[str] = field(default_factory=set)

    def add(self, name: str, rtype: str, rdata: str) -> None:
        name = name.lower()
        values = self.records.setdefault((name, rtype), [])
        if rdata not in values:
            values.append(rdata)
        self._exists(name)

    def _exists(self, name: str) -> None:
        """The name and every ancestor up to the origin exist (empty non-terminals included)."""
        while name.endswith(self.origin) and name not in self.names:
            self.names.add(name)
            if name == self.origin:
                break
            name = name.split(".", 1)[1]


def reverse_name(ip: str) -> str:
    return ipaddress.ip_address(ip).reverse_pointer + "."


def _dashed(ip: str) -> str:
    return ip.replace(".", "-").replace(":", "-")


def _ready_endpoints(slices: list[Obj]) -> list[Obj]:
    out = []
    for sl in slices:
        for ep in sl.get("endpoints") or []:
            if (ep.get("conditions") or {}).get("ready") is not False:
                out.append(ep)
    return out


def build_zone(
    services: list[Obj], slices: list[Obj], pods: list[Obj], domain: str = "cluster.local"
) -> Zone:
    origin = domain.strip(".").lower() + "."
    zone = Zone(origin)
    zone.add(f"dns-version.{origin}", "TXT", f'"{SCHEMA_VERSION}"')
    zone._exists(f"svc.{origin}")
    zone._exists(f"pod.{origin}")
    by_service: dict[tuple[str, str], list[Obj]] = {}
    for sl in slices:
        meta = sl.get("metadata") or {}
        name = (meta.get("labels") or {}).get("kubernetes.io/service-name")
        if name:
            by_service.setdefault((meta.get("namespace") or "default", name), []).append(sl)
    for svc in services:
        _service(zone, svc, by_service)
    for pod in pods:
        ns = (pod.get("metadata") or {}).get("namespace") or "default"
        for entry in (pod.get("status") or {}).get("podIPs") or []:
            ip = entry.get("ip")
            if ip:
                rtype = "AAAA" if ":" in ip else "A"
                zone.add(f"{_dashed(ip)}.{ns}.pod.{origin}", rtype, ip)
    return zone


def _service(zone: Zone, svc: Obj, by_service: dict[tuple[str, str], list[Obj]]) -> None:
    meta, spec = svc.get("metadata") or {}, svc.get("spec") or {}
    ns, name = meta.get("namespace") or "default", meta.get("name") or ""
    fqdn = f"{name}.{ns}.svc.{zone.origin}"
    zone._exists(fqdn)
    if spec.get("type") == "ExternalName":
        target = (spec.get("externalName") or "").rstrip(".") + "."
        if target != ".":
            zone.add(fqdn, "CNAME", target)
        return
    ports = [p for p in spec.get("ports") or [] if p.get("name")]
    cluster_ips = [ip for ip in (spec.get("clusterIPs") or [spec.get("clusterIP")]) if ip and ip != "None"]
    if cluster_ips:
        for ip in cluster_ips:
            zone.add(fqdn, "AAAA" if ":" in ip else "A", ip)
            zone.add(reverse_name(ip), "PTR", fqdn)
        for p in ports:
            proto = (p.get("protocol") or "TCP").lower()
            zone.add(f"_{p['name']}._{proto}.{fqdn}", "SRV", f"0 100 {p.get('port')} {fqdn}")
        return
    # headless: the ready endpoints themselves
    slices = by_service.get((ns, name), [])
    slice_ports = {(p.get("name") or "", (p.get("protocol") or "TCP").lower()): p.get("port")
                   for sl in slices for p in sl.get("ports") or []}  # fmt: skip
    for ep in _ready_endpoints(slices):
        for ip in (ep.get("addresses") or [])[:1]:
            rtype = "AAAA" if ":" in ip else "A"
            zone.add(fqdn, rtype, ip)
            host = ep.get("hostname") or _dashed(ip)
            target = f"{host}.{fqdn}"
            zone.add(target, rtype, ip)
            if ep.get("hostname"):
                zone.add(reverse_name(ip), "PTR", target)
            for (pname, proto), port in slice_ports.items():
                if pname and port:
                    zone.add(f"_{pname}._{proto}.{fqdn}", "SRV", f"0 100 {port} {target}")
