"""What the service proxy must program, from Services and EndpointSlices alone (pure).

One ``ServicePort`` per (service, port): its virtual addresses (ClusterIP, LoadBalancer ingress IPs,
externalIPs), its NodePort, the traffic policies, session affinity, and its endpoints. Then the
endpoint choice Kubernetes defines: ready endpoints; when none is ready, those still serving while
terminating; restricted to this node's for a ``Local`` policy (external traffic for
externalTrafficPolicy, cluster traffic for internalTrafficPolicy). Headless and ExternalName
services, and services without a cluster IP, get nothing.
"""

from __future__ import annotations

import ipaddress
import logging
import re
from dataclasses import dataclass
from typing import Any

Obj = dict[str, Any]
PROTOCOLS = {"TCP": "tcp", "UDP": "udp", "SCTP": "sctp"}
log = logging.getLogger(__name__)
# what may reach nft/iptables text: the API validates these, and the proxy does not take it on trust
DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$")


def ipv4(value: object) -> str | None:
    """``value`` as a canonical IPv4 address, or None (IPv6 and garbage are not programmed)."""
    try:
        return str(ipaddress.IPv4Address(str(value)))
    except ValueError:
        return None


def port_number(value: object) -> int:
    """A TCP/UDP port 1-65535, or 0 for anything else."""
    try:
        n = int(str(value))
    except ValueError:
        return 0
    return n if 0 < n < 65536 else 0


@dataclass(frozen=True, order=True)
class Endpoint:
    ip: str
    port: int
    node: str = ""
    ready: bool = True
    serving: bool = True
    terminating: bool = False


@dataclass(frozen=True)
class ServicePort:
    namespace: str
    name: str
    port_name: str
    protocol: str  # tcp | udp | sctp
    port: int
    cluster_ip: str
    node_port: int = 0
    external_ips: tuple[str, ...] = ()  # LoadBalancer ingress IPs and spec.externalIPs
    external_local: bool = False  # externalTrafficPolicy: Local
    internal_local: bool = False  # internalTrafficPolicy: Local
    affinity_timeout: int = 0  # sessionAffinity ClientIP: seconds; 0 for None
    health_check_node_port: int = 0
    endpoints: tuple[Endpoint, ...] = ()

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.name}:{self.port_name}"


def usable(endpoints: tuple[Endpoint, ...], node: str | None) -> tuple[Endpoint, ...]:
    """Ready endpoints (on ``node`` when given); serving-but-terminating ones only when none is ready."""
    pool = [e for e in endpoints if node is None or e.node == node]
    ready = [e for e in pool if e.ready]
    if ready:
        return tuple(sorted(ready))
    return tuple(sorted(e for e in pool if e.serving and e.terminating))


def cluster_endpoints(sp: ServicePort, node: str) -> tuple[Endpoint, ...]:
    return usable(sp.endpoints, node if sp.internal_local else None)


def external_endpoints(sp: ServicePort, node: str) -> tuple[Endpoint, ...]:
    return usable(sp.endpoints, node if sp.external_local else None)


def local_endpoint_count(sp: ServicePort, node: str) -> int:
    """What the healthCheckNodePort reports: this node's usable endpoints."""
    return len(usable(sp.endpoints, node))


def _slice_endpoints(slices: list[Obj], port_name: str, protocol: str) -> tuple[Endpoint, ...]:
    out: set[Endpoint] = set()
    for sl in slices:
        if sl.get("addressType", "IPv4") != "IPv4":
            continue
        port = next(
            (p for p in sl.get("ports") or [] if (p.get("name") or "") == port_name
             and (p.get("protocol") or "TCP") == protocol),
            None,
        )  # fmt: skip
        number = port_number(port.get("port")) if port is not None else 0
        if not number:
            continue
        for ep in sl.get("endpoints") or []:
            cond = ep.get("conditions") or {}
            ready = cond.get("ready") is not False  # nil means ready (EndpointSlice API)
            serving = cond.get("serving", ready) is not False
            terminating = bool(cond.get("terminating"))
            ip = ipv4((ep.get("addresses") or [""])[0])
            if ip is not None:
                out.add(Endpoint(ip, number, ep.get("nodeName") or "", ready, serving, terminating))
    return tuple(sorted(out))


PortCache = dict[str, tuple[tuple[str, ...], list["ServicePort"]]]


def _version(svc: Obj, slices: list[Obj]) -> tuple[str, ...]:
    """What a service's ports depend on: its resourceVersion and its slices' (empty: do not cache)."""
    rv = (svc.get("metadata") or {}).get("resourceVersion")
    rvs = [(s.get("metadata") or {}).get("resourceVersion") for s in slices]
    if not rv or not all(rvs):
        return ()
    return (str(rv), *sorted(str(r) for r in rvs))


def service_ports(
    services: list[Obj], slices: list[Obj], cache: PortCache | None = None
) -> list[ServicePort]:
    """Every programmable service port, with its endpoints from the service's EndpointSlices.

    With ``cache`` (kept by the caller between syncs), a service whose object and slices kept their
    resourceVersions is not recomputed: at 10,000 services that is most of a sync's Python time.
    """
    by_service: dict[tuple[str, str], list[Obj]] = {}
    for sl in slices:
        meta = sl.get("metadata") or {}
        svc = (meta.get("labels") or {}).get("kubernetes.io/service-name")
        if svc:
            by_service.setdefault((meta.get("namespace") or "default", svc), []).append(sl)
    out: list[ServicePort] = []
    fresh: PortCache = {}
    for svc in services:
        meta = svc.get("metadata") or {}
        key = f"{meta.get('namespace') or 'default'}/{meta.get('name') or ''}"
        own = by_service.get((meta.get("namespace") or "default", meta.get("name") or ""), [])
        version = _version(svc, own)
        if cache is not None and version and key in cache and cache[key][0] == version:
            fresh[key] = cache[key]
            out += cache[key][1]
            continue
        ports = _ports_of(svc, by_service)
        if version:
            fresh[key] = (version, ports)
        out += ports
    if cache is not None:
        cache.clear()
        cache.update(fresh)
    return out


def _ports_of(svc: Obj, by_service: dict[tuple[str, str], list[Obj]]) -> list[ServicePort]:
    out: list[ServicePort] = []
    meta, spec = svc.get("metadata") or {}, svc.get("spec") or {}
    ip = spec.get("clusterIP") or ""
    if spec.get("type") == "ExternalName" or not ip or ip == "None":
        return out
    ns, name = meta.get("namespace") or "default", meta.get("name") or ""
    if ipv4(ip) is None or not DNS_LABEL.match(ns) or not DNS_LABEL.match(name):
        log.warning("proxy: service %r/%r: not programmed (bad name or clusterIP %r)", ns, name, ip)
        return out
    lb_ips = [i.get("ip") for i in ((svc.get("status") or {}).get("loadBalancer") or {}).get("ingress") or []]
    external = tuple(
        sorted({x for x in (ipv4(y) for y in [*lb_ips, *(spec.get("externalIPs") or [])] if y) if x})
    )
    is_lb_or_np = spec.get("type") in ("NodePort", "LoadBalancer")
    affinity = 0
    if spec.get("sessionAffinity") == "ClientIP":
        cfg = (spec.get("sessionAffinityConfig") or {}).get("clientIP") or {}
        timeout = cfg.get("timeoutSeconds")
        affinity = min(max(timeout, 1), 86400) if isinstance(timeout, int) else 10800
    for p in spec.get("ports") or []:
        proto = p.get("protocol") or "TCP"
        if (
            proto not in PROTOCOLS
            or not port_number(p.get("port"))
            or not DNS_LABEL.match(p.get("name") or "x")
        ):
            continue
        out.append(ServicePort(
            namespace=ns, name=name, port_name=p.get("name") or "", protocol=PROTOCOLS[proto],
            port=port_number(p.get("port")), cluster_ip=str(ipv4(ip)),
            node_port=port_number(p.get("nodePort")) if is_lb_or_np else 0,
            external_ips=external,
            external_local=spec.get("externalTrafficPolicy") == "Local" and (is_lb_or_np or bool(external)),
            internal_local=spec.get("internalTrafficPolicy") == "Local",
            affinity_timeout=affinity,
            health_check_node_port=port_number(spec.get("healthCheckNodePort")),
            endpoints=_slice_endpoints(by_service.get((ns, name), []), p.get("name") or "", proto),
        ))  # fmt: skip
    return out
