"""networking.k8s.io/v1 and discovery.k8s.io/v1: NetworkPolicy, Ingress, EndpointSlice."""

from __future__ import annotations

import ipaddress
from typing import Any

from podnet.api import errors
from podnet.api.errors import Cause
from podnet.api.labels import validate_label_selector
from podnet.api.validation.common import cidr, int_or_name_port, ip, port_number, protocol

Obj = dict[str, Any]


def _peer(peer: Obj, path: str) -> list[Cause]:
    causes: list[Cause] = []
    if "podSelector" in peer:
        causes += validate_label_selector(peer["podSelector"], f"{path}.podSelector")
    if "namespaceSelector" in peer:
        causes += validate_label_selector(peer["namespaceSelector"], f"{path}.namespaceSelector")
    block = peer.get("ipBlock")
    if block is not None:
        if len(peer) > 1:
            causes.append(errors.forbidden(path, "may not specify more than 1 peer type"))
        c = cidr(f"{path}.ipBlock.cidr", block.get("cidr"))
        causes += c
        if not c:
            net = ipaddress.ip_network(block["cidr"], strict=False)
            for i, ex in enumerate(block.get("except") or []):
                ce = cidr(f"{path}.ipBlock.except[{i}]", ex)
                causes += ce
                if not ce:
                    exnet = ipaddress.ip_network(ex, strict=False)
                    if exnet.version != net.version or not exnet.subnet_of(net) or exnet == net:  # type: ignore[arg-type]
                        causes.append(
                            errors.invalid(
                                f"{path}.ipBlock.except[{i}]", ex, "must be a strict subset of `cidr`"
                            )
                        )
    elif not peer:
        causes.append(errors.required(path, "must specify a peer"))
    return causes


def _ports(ports: list[Obj], path: str) -> list[Cause]:
    causes: list[Cause] = []
    for i, p in enumerate(ports):
        pp = f"{path}[{i}]"
        causes += protocol(f"{pp}.protocol", p.get("protocol", "TCP"))
        if "port" in p:
            causes += int_or_name_port(f"{pp}.port", p["port"])
        end = p.get("endPort")
        if end is not None:
            if "port" not in p:
                causes.append(errors.required(f"{pp}.port", "must specify a port when endPort is set"))
            elif isinstance(p["port"], str):
                causes.append(
                    errors.forbidden(f"{pp}.endPort", "may not be specified when `port` is non-numeric")
                )
            elif isinstance(end, int) and end < p["port"]:
                causes.append(errors.invalid(f"{pp}.endPort", end, "must be greater than or equal to `port`"))
            else:
                causes += port_number(f"{pp}.endPort", end)
    return causes


def validate_network_policy(obj: Obj, old: Obj | None) -> list[Cause]:
    spec = obj.get("spec") or {}
    causes = validate_label_selector(spec.get("podSelector", {}), "spec.podSelector")
    for direction, peers in (("ingress", "from"), ("egress", "to")):
        for i, rule in enumerate(spec.get(direction) or []):
            rule = rule or {}
            causes += _ports(rule.get("ports") or [], f"spec.{direction}[{i}].ports")
            for j, peer in enumerate(rule.get(peers) or []):
                causes += _peer(peer or {}, f"spec.{direction}[{i}].{peers}[{j}]")
    for i, t in enumerate(spec.get("policyTypes") or []):
        if t not in ("Ingress", "Egress"):
            causes.append(errors.not_supported(f"spec.policyTypes[{i}]", t, ["Ingress", "Egress"]))
    return causes


def validate_ingress(obj: Obj, old: Obj | None) -> list[Cause]:
    spec = obj.get("spec") or {}
    causes: list[Cause] = []
    for i, rule in enumerate(spec.get("rules") or []):
        for j, path in enumerate(((rule or {}).get("http") or {}).get("paths") or []):
            pp = f"spec.rules[{i}].http.paths[{j}]"
            pt = path.get("pathType")
            if pt not in ("Exact", "Prefix", "ImplementationSpecific"):
                causes.append(
                    errors.not_supported(f"{pp}.pathType", pt, ["Exact", "ImplementationSpecific", "Prefix"])
                )
            if pt in ("Exact", "Prefix") and not str(path.get("path", "")).startswith("/"):
                causes.append(errors.invalid(f"{pp}.path", path.get("path"), "must be an absolute path"))
    return causes


def validate_endpoint_slice(obj: Obj, old: Obj | None) -> list[Cause]:
    causes: list[Cause] = []
    at = obj.get("addressType")
    if at not in ("IPv4", "IPv6", "FQDN"):
        causes.append(errors.not_supported("addressType", at, ["FQDN", "IPv4", "IPv6"]))
    endpoints = obj.get("endpoints") or []
    if len(endpoints) > 1000:
        causes.append(errors.Cause("endpoints", errors.TOO_MANY, "Too many: must have at most 1000 items"))
    for i, ep in enumerate(endpoints):
        addrs = (ep or {}).get("addresses") or []
        if not 1 <= len(addrs) <= 100:
            causes.append(
                errors.invalid(f"endpoints[{i}].addresses", addrs, "must contain at least 1 address")
            )
        if at in ("IPv4", "IPv6"):
            for j, a in enumerate(addrs):
                causes += ip(f"endpoints[{i}].addresses[{j}]", a)
    for i, p in enumerate(obj.get("ports") or []):
        if p.get("port") is not None:
            causes += port_number(f"ports[{i}].port", p["port"])
    if old is not None and old.get("addressType") != at:
        causes.append(errors.invalid("addressType", at, "field is immutable"))
    return causes
