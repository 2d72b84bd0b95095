"""Service IP and port allocation as part of a write: reserve, write, then commit or roll back.

A reservation claims what the new object needs before the store write, so a
concurrent request for the same IP or port sees it taken; if the write fails
the claims are undone, and only after it succeeds are the old object's
no-longer-used IPs and ports released. Bad requests change nothing.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from typing import Any

from podnet.api import errors
from podnet.apiserver.allocators import AllocationError, IPAllocator, PortAllocator, RangeFull

Obj = dict[str, Any]

NODEPORT_TYPES = ("NodePort", "LoadBalancer")


@dataclass
class Reservation:
    ips: IPAllocator
    ports: PortAllocator
    claimed_ips: list[str] = field(default_factory=list)
    claimed_ports: list[int] = field(default_factory=list)
    release_ips: list[str] = field(default_factory=list)
    release_ports: list[int] = field(default_factory=list)
    seen_ports: set[int] = field(default_factory=set)

    def rollback(self) -> None:
        for ip in self.claimed_ips:
            self.ips.release(ip)
        for port in self.claimed_ports:
            self.ports.release(port)
        self.claimed_ips.clear()
        self.claimed_ports.clear()

    def commit(self) -> None:
        for ip in self.release_ips:
            self.ips.release(ip)
        for port in self.release_ports:
            self.ports.release(port)


def _cluster_ips(svc: Obj) -> list[str]:
    spec = svc.get("spec") or {}
    ips = [ip for ip in (spec.get("clusterIPs") or []) if ip and ip != "None"]
    ip = spec.get("clusterIP")
    if ip and ip != "None" and ip not in ips:
        ips.insert(0, ip)
    return ips


def _node_ports(svc: Obj) -> list[int]:
    spec = svc.get("spec") or {}
    out = [int(p["nodePort"]) for p in spec.get("ports") or [] if p.get("nodePort")]
    if spec.get("healthCheckNodePort"):
        out.append(int(spec["healthCheckNodePort"]))
    return out


def _needs_health_check_port(spec: Obj) -> bool:
    return spec.get("type") == "LoadBalancer" and spec.get("externalTrafficPolicy") == "Local"


class ServiceAllocator:
    """Owns the ClusterIP and NodePort allocators of one API server."""

    def __init__(self, ips: IPAllocator, ports: PortAllocator) -> None:
        self.ips = ips
        self.ports = ports

    def load(self, services: list[Obj]) -> None:
        """Rebuild the allocation state from the stored Services (start-up repair)."""
        for svc in services:
            for ip in _cluster_ips(svc):
                if self.ips.contains(ip):
                    self.ips.used.add(int(ipaddress.IPv4Address(ip)))
            for port in _node_ports(svc):
                if self.ports.base <= port <= self.ports.last:
                    self.ports.used.add(port)

    def release_all(self, svc: Obj) -> None:
        for ip in _cluster_ips(svc):
            self.ips.release(ip)
        for port in _node_ports(svc):
            self.ports.release(port)

    def reserve(self, svc: Obj, old: Obj | None) -> Reservation:
        """Fill in and claim the Service's ClusterIP and NodePorts, or raise 422 with nothing claimed."""
        res = Reservation(self.ips, self.ports)
        name = (svc.get("metadata") or {}).get("name", "")
        try:
            self._reserve_ip(svc, old, res)
            self._reserve_ports(svc, old, res)
        except AllocationError as exc:
            res.rollback()
            raise self._error(name, exc) from exc
        except errors.StatusError:
            res.rollback()
            raise
        return res

    def _error(self, name: str, exc: AllocationError) -> errors.StatusError:
        field_path, value = getattr(exc, "field_path", ""), getattr(exc, "value", None)
        if isinstance(exc, RangeFull) and field_path == "spec.clusterIPs" and value is None:
            return errors.internal_error("failed to allocate a serviceIP: range is full")
        return errors.invalid_object("Service", "", name, [errors.invalid(field_path, value, exc.detail)])

    def _reserve_ip(self, svc: Obj, old: Obj | None, res: Reservation) -> None:
        spec = svc.setdefault("spec", {})
        stype = spec.get("type", "ClusterIP")
        old_ips = _cluster_ips(old) if old else []
        if stype == "ExternalName":
            spec.pop("clusterIP", None)
            spec.pop("clusterIPs", None)
            res.release_ips.extend(old_ips)
            return
        requested = spec.get("clusterIP") or ""
        if not requested and spec.get("clusterIPs"):
            requested = spec["clusterIPs"][0]
        if requested == "None":
            spec["clusterIP"], spec["clusterIPs"] = "None", ["None"]
            return
        if old_ips and (not requested or requested == old_ips[0]):
            spec["clusterIP"], spec["clusterIPs"] = old_ips[0], [old_ips[0]]
            return
        if requested:
            try:
                self.ips.allocate(requested)
            except AllocationError as exc:
                exc.field_path, exc.value = "spec.clusterIPs", [requested]  # type: ignore[attr-defined]
                exc.detail = f"failed to allocate IP {requested}: {exc.detail}"
                raise
            ip = requested
        else:
            try:
                ip = self.ips.allocate_next()
            except AllocationError as exc:
                exc.field_path, exc.value = "spec.clusterIPs", None  # type: ignore[attr-defined]
                raise
        res.claimed_ips.append(ip)
        res.release_ips.extend(old_ips)
        spec["clusterIP"], spec["clusterIPs"] = ip, [ip]

    def _reserve_ports(self, svc: Obj, old: Obj | None, res: Reservation) -> None:
        spec = svc.setdefault("spec", {})
        old_spec = (old or {}).get("spec") or {}
        old_ports = set(_node_ports(old)) if old else set()
        wants_node_ports = spec.get("type") in NODEPORT_TYPES
        keep: set[int] = set()
        if wants_node_ports:
            old_by_key = {
                (p.get("port"), p.get("protocol", "TCP")): p.get("nodePort")
                for p in old_spec.get("ports") or []
                if p.get("nodePort")
            }
            for i, port in enumerate(spec.get("ports") or []):
                keep.add(self._claim_node_port(port, i, old_by_key, old_ports, res))
        else:
            for port in spec.get("ports") or []:
                # Kubernetes drops type-dependent fields on a type change (dropTypeDependentFields).
                port.pop("nodePort", None)
        if _needs_health_check_port(spec):
            hc = int(spec.get("healthCheckNodePort") or old_spec.get("healthCheckNodePort") or 0)
            value = self._claim(hc, "spec.healthCheckNodePort", old_ports, res)
            spec["healthCheckNodePort"] = value
            keep.add(value)
        else:
            spec.pop("healthCheckNodePort", None)
        res.release_ports.extend(sorted(old_ports - keep))

    def _claim_node_port(
        self, port: Obj, index: int, old_by_key: dict[Any, Any], old_ports: set[int], res: Reservation
    ) -> int:
        requested = int(port.get("nodePort") or 0)
        if not requested:
            requested = int(old_by_key.get((port.get("port"), port.get("protocol", "TCP"))) or 0)
        value = self._claim(requested, f"spec.ports[{index}].nodePort", old_ports, res)
        port["nodePort"] = value
        return value

    def _claim(self, requested: int, field_path: str, old_ports: set[int], res: Reservation) -> int:
        if requested and requested in res.seen_ports:
            exc = AllocationError("provided port is already allocated")
            exc.field_path, exc.value = field_path, requested  # type: ignore[attr-defined]
            raise exc
        if requested and requested in old_ports:
            res.seen_ports.add(requested)
            return requested
        try:
            if requested:
                self.ports.allocate(requested)
                value = requested
            else:
                value = self.ports.allocate_next()
        except AllocationError as exc:
            exc.field_path, exc.value = field_path, requested  # type: ignore[attr-defined]
            if not requested:
                exc.detail = f"failed to allocate a nodePort: {exc.detail}"
            raise
        res.claimed_ports.append(value)
        res.seen_ports.add(value)
        return value
