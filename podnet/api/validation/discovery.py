"""discovery.k8s.io/v1 EndpointSlice, after ``pkg/apis/discovery/validation``."""

from __future__ import annotations

from typing import Any

from podnet.api import errors
from podnet.api.errors import Cause
from podnet.api.meta import (
    dns1123_label_errors,
    dns1123_subdomain_errors,
    qualified_name_errors,
    validate_labels,
)
from podnet.api.validation.common import dicts, dns_label, immutable, non_special_ip, parse_ip

Obj = dict[str, Any]
ADDRESS_TYPES = ["FQDN", "IPv4", "IPv6"]
MAX_ADDRESSES, MAX_PORTS, MAX_ENDPOINTS, MAX_TOPOLOGY = 100, 100, 1000, 16


def too_many(path: str, actual: int, limit: int) -> Cause:
    return Cause(path, errors.TOO_MANY, f"Too many: {actual}: must have at most {limit} items")


def _fqdn(path: str, name: str) -> list[Cause]:
    """IsFullyQualifiedDomainName: a subdomain of at least two labels, trailing dot allowed."""
    if not name:
        return [errors.required(path)]
    name = name.removesuffix(".")
    problems = dns1123_subdomain_errors(name)
    if problems:
        return [errors.invalid(path, name, ",".join(problems))]
    if len(name.split(".")) < 2:
        return [errors.invalid(path, name, "should be a domain with at least two segments separated by dots")]
    for label in name.split("."):
        problems = dns1123_label_errors(label)
        if problems:
            return [errors.invalid(path, label, ",".join(problems))]
    return []


def _address(path: str, address: str, address_type: str) -> list[Cause]:
    if address_type == "FQDN":
        return _fqdn(path, address)
    parsed = parse_ip(address)
    version = 4 if address_type == "IPv4" else 6
    if parsed is None or parsed.version != version:
        return [errors.invalid(path, address, f"must be a valid {address_type} address")]
    return non_special_ip(path, address, allow_loopback=True)


def _endpoints(endpoints: list[Obj], address_type: str) -> list[Cause]:
    if len(endpoints) > MAX_ENDPOINTS:
        return [too_many("endpoints", len(endpoints), MAX_ENDPOINTS)]
    causes: list[Cause] = []
    for i, ep in enumerate(endpoints):
        path = f"endpoints[{i}]"
        addresses = ep.get("addresses") or []
        if not addresses:
            causes.append(errors.required(f"{path}.addresses", "must contain at least 1 address"))
        elif len(addresses) > MAX_ADDRESSES:
            causes.append(too_many(f"{path}.addresses", len(addresses), MAX_ADDRESSES))
        if address_type in ADDRESS_TYPES:
            for j, address in enumerate(addresses):
                causes += _address(f"{path}.addresses[{j}]", str(address), address_type)
        topology = ep.get("deprecatedTopology")
        if isinstance(topology, dict) and len(topology) > MAX_TOPOLOGY:
            causes.append(too_many(f"{path}.deprecatedTopology", len(topology), MAX_TOPOLOGY))
        causes += validate_labels(topology, f"{path}.deprecatedTopology")
        if ep.get("hostname") is not None:
            causes += dns_label(f"{path}.hostname", str(ep["hostname"]))
    return causes


def _ports(ports: list[Obj]) -> list[Cause]:
    if len(ports) > MAX_PORTS:
        return [too_many("ports", len(ports), MAX_PORTS)]
    causes: list[Cause] = []
    names: set[str] = set()
    for i, port in enumerate(ports):
        path = f"ports[{i}]"
        name = str(port.get("name") or "")
        if name:
            causes += dns_label(f"{path}.name", name)
        if name in names:
            causes.append(errors.duplicate(f"{path}.name", name))
        names.add(name)
        proto = port.get("protocol")
        if proto is None:
            causes.append(errors.required(f"{path}.protocol"))
        elif proto not in ("SCTP", "TCP", "UDP"):
            causes.append(errors.not_supported(f"{path}.protocol", proto, ["SCTP", "TCP", "UDP"]))
        if port.get("appProtocol") is not None:
            app = str(port["appProtocol"])
            causes += [errors.invalid(f"{path}.appProtocol", app, m) for m in qualified_name_errors(app)]
    return causes


def validate_endpoint_slice(obj: Obj, old: Obj | None) -> list[Cause]:
    address_type = obj.get("addressType") or ""
    causes: list[Cause] = []
    if not address_type:
        causes.append(errors.required("addressType"))
    elif address_type not in ADDRESS_TYPES:
        causes.append(errors.not_supported("addressType", address_type, ADDRESS_TYPES))
    causes += _endpoints(dicts(obj.get("endpoints")), address_type)
    causes += _ports(dicts(obj.get("ports")))
    if old is not None:
        causes += immutable("addressType", address_type, old.get("addressType") or "")
    return causes
