"""networking.k8s.io/v1 NetworkPolicy, Ingress and IngressClass, after ``pkg/apis/networking/validation``."""

from __future__ import annotations

from typing import Any

from podnet.api import errors
from podnet.api.errors import Cause
from podnet.api.labels import validate_label_selector
from podnet.api.meta import Go, dns1035_label_errors, dns1123_subdomain_errors, go_string_slice
from podnet.api.validation.common import (
    cidr,
    dicts,
    dns_subdomain,
    iana_name,
    immutable,
    is_int,
    parse_cidr,
    parse_ip,
    port_number,
    sub,
)

Obj = dict[str, Any]
PATH_TYPES = ["Exact", "ImplementationSpecific", "Prefix"]
_INVALID_PATH_SEQUENCES = ("//", "/./", "/../", "%2f", "%2F")
_INVALID_PATH_SUFFIXES = ("/..", "/.")


def _policy_port(port: Obj, path: str) -> list[Cause]:
    causes: list[Cause] = []
    proto = port.get("protocol")
    if proto is not None and proto not in ("TCP", "UDP", "SCTP"):
        causes.append(errors.not_supported(f"{path}.protocol", proto, ["TCP", "UDP", "SCTP"]))
    value, end = port.get("port"), port.get("endPort")
    if value is None:
        if end is not None:
            causes.append(
                errors.invalid(f"{path}.endPort", end, "may not be specified when `port` is not specified")
            )
    elif is_int(value):
        causes += port_number(f"{path}.port", value)
        if end is not None:
            if is_int(end) and end < value:
                causes.append(
                    errors.invalid(f"{path}.endPort", end, "must be greater than or equal to `port`")
                )
            causes += port_number(f"{path}.endPort", end)
    else:
        if end is not None:
            causes.append(
                errors.invalid(f"{path}.endPort", end, "may not be specified when `port` is non-numeric")
            )
        causes += iana_name(f"{path}.port", str(value))
    return causes


def _ip_block(block: Obj, path: str) -> list[Cause]:
    value = block.get("cidr") or ""
    if not value:
        return [errors.required(f"{path}.cidr")]
    causes = cidr(f"{path}.cidr", value)
    net = parse_cidr(value)
    if net is None:
        return causes
    for i, ex in enumerate(block.get("except") or []):
        ex_path = f"{path}.except[{i}]"
        problems = cidr(ex_path, ex)
        causes += problems
        ex_net = parse_cidr(ex)
        if ex_net is None:
            continue
        # Contains(except.IP) and a strictly longer prefix: a strict subset of cidr.
        if (
            ex_net.version != net.version
            or ex_net.network_address not in net
            or ex_net.prefixlen <= net.prefixlen
        ):
            causes.append(errors.invalid(ex_path, ex, "must be a strict subset of `cidr`"))
    return causes


def _peer(peer: Obj, path: str) -> list[Cause]:
    causes: list[Cause] = []
    count = 0
    for key in ("podSelector", "namespaceSelector"):
        if peer.get(key) is not None:
            count += 1
            causes += validate_label_selector(peer[key], f"{path}.{key}")
    if peer.get("ipBlock") is not None:
        count += 1
        causes += _ip_block(peer["ipBlock"] if isinstance(peer["ipBlock"], dict) else {}, f"{path}.ipBlock")
    if count == 0:
        causes.append(errors.required(path, "must specify a peer"))
    elif count > 1 and peer.get("ipBlock") is not None:
        causes.append(errors.forbidden(path, "may not specify both ipBlock and another peer"))
    return causes


def validate_network_policy(obj: Obj, old: Obj | None) -> list[Cause]:
    spec = sub(obj, "spec")
    causes = validate_label_selector(spec.get("podSelector") or {}, "spec.podSelector")
    for direction, peers in (("ingress", "from"), ("egress", "to")):
        for i, rule in enumerate(dicts(spec.get(direction))):
            path = f"spec.{direction}[{i}]"
            for j, port in enumerate(dicts(rule.get("ports"))):
                causes += _policy_port(port, f"{path}.ports[{j}]")
            for j, peer in enumerate(dicts(rule.get(peers))):
                causes += _peer(peer, f"{path}.{peers}[{j}]")
    types = spec.get("policyTypes") or []
    if len(types) > 2:
        return [
            *causes,
            errors.invalid(
                "spec.policyTypes",
                Go("&" + str(go_string_slice(types))),
                "may not specify more than two policyTypes",
            ),
        ]
    for i, ptype in enumerate(types):
        if ptype not in ("Ingress", "Egress"):
            causes.append(errors.not_supported(f"spec.policyTypes[{i}]", ptype, ["Ingress", "Egress"]))
    return causes


def _backend(backend: Obj, path: str) -> list[Cause]:
    service, resource = backend.get("service"), backend.get("resource")
    if service is not None and resource is not None:
        return [errors.invalid(path, "", "cannot set both resource and service backends")]
    if resource is not None:
        resource = resource if isinstance(resource, dict) else {}
        return [errors.required(f"{path}.resource.{k}") for k in ("kind", "name") if not resource.get(k)]
    if service is None:
        return [errors.invalid(path, "", "resource or service backend is required")]
    service = service if isinstance(service, dict) else {}
    causes: list[Cause] = []
    name = str(service.get("name") or "")
    if not name:
        causes.append(errors.required(f"{path}.service.name"))
    else:
        causes += [errors.invalid(f"{path}.service.name", name, m) for m in dns1035_label_errors(name)]
    port = sub(service, "port")
    port_name, number = port.get("name") or "", port.get("number") or 0
    if port_name and number:
        causes.append(errors.invalid(path, "", "cannot set both port name & port number"))
    elif port_name:
        causes += iana_name(f"{path}.service.port.name", port_name)
    elif number:
        causes += port_number(f"{path}.service.port.number", number)
    else:
        causes.append(errors.required(path, "port name or number is required"))
    return causes


def _http_path(item: Obj, path: str) -> list[Cause]:
    ptype = item.get("pathType")
    if ptype is None:
        return [errors.required(f"{path}.pathType", "pathType must be specified")]
    value = str(item.get("path") or "")
    causes: list[Cause] = []
    if ptype in ("Exact", "Prefix"):
        if not value.startswith("/"):
            causes.append(errors.invalid(f"{path}.path", value, "must be an absolute path"))
        if value:
            causes += [
                errors.invalid(f"{path}.path", value, f"must not contain '{seq}'")
                for seq in _INVALID_PATH_SEQUENCES
                if seq in value
            ]
            causes += [
                errors.invalid(f"{path}.path", value, f"cannot end with '{suffix}'")
                for suffix in _INVALID_PATH_SUFFIXES
                if value.endswith(suffix)
            ]
    elif ptype == "ImplementationSpecific":
        if value and not value.startswith("/"):
            causes.append(errors.invalid(f"{path}.path", value, "must be an absolute path"))
    else:
        causes.append(errors.not_supported(f"{path}.pathType", ptype, PATH_TYPES))
    backend = item.get("backend")
    return causes + _backend(backend if isinstance(backend, dict) else {}, f"{path}.backend")


def _host(host: str, path: str) -> list[Cause]:
    causes: list[Cause] = []
    if parse_ip(host) is not None:
        causes.append(errors.invalid(path, host, "must be a DNS name, not an IP address"))
    if "*" in host:
        if not (host.startswith("*.") and not dns1123_subdomain_errors(host[2:])):
            causes.append(
                errors.invalid(
                    path,
                    host,
                    "a wildcard DNS-1123 subdomain must start with '*.', followed by a valid DNS subdomain, which "
                    "must consist of lower case alphanumeric characters, '-' or '.' and end with an alphanumeric "
                    "character (e.g. '*.example.com', regex used for validation is "
                    "'\\*\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')",
                )
            )
        return causes
    return causes + dns_subdomain(path, host)


def validate_ingress(obj: Obj, old: Obj | None) -> list[Cause]:
    spec = sub(obj, "spec")
    causes: list[Cause] = []
    rules = dicts(spec.get("rules"))
    if not rules and spec.get("defaultBackend") is None:
        causes.append(
            errors.invalid(
                "spec",
                Go("[]networking.IngressRule(nil)"),
                "either `defaultBackend` or `rules` must be specified",
            )
        )
    if isinstance(spec.get("defaultBackend"), dict):
        causes += _backend(spec["defaultBackend"], "spec.defaultBackend")
    for i, rule in enumerate(rules):
        if rule.get("host"):
            causes += _host(str(rule["host"]), f"spec.rules[{i}].host")
        http = rule.get("http")
        if isinstance(http, dict):
            paths = dicts(http.get("paths"))
            if not paths:
                causes.append(errors.required(f"spec.rules[{i}].http.paths"))
            for j, item in enumerate(paths):
                causes += _http_path(item, f"spec.rules[{i}].http.paths[{j}]")
    for i, tls in enumerate(dicts(spec.get("tls"))):
        for j, host in enumerate(tls.get("hosts") or []):
            causes += (
                _host(str(host), f"spec.tls[{i}].hosts[{j}]")
                if "*" in str(host)
                else dns_subdomain(f"spec.tls[{i}].hosts[{j}]", str(host))
            )
        if tls.get("secretName"):
            causes += dns_subdomain(f"spec.tls[{i}].secretName", str(tls["secretName"]))
    if spec.get("ingressClassName") is not None:
        causes += dns_subdomain("spec.ingressClassName", str(spec["ingressClassName"]))
    return causes


def validate_ingress_class(obj: Obj, old: Obj | None) -> list[Cause]:
    spec = sub(obj, "spec")
    causes: list[Cause] = []
    controller = str(spec.get("controller") or "")
    if not controller:
        causes.append(errors.required("spec.controller"))
    else:
        if len(controller) > 250:
            causes.append(errors.too_long("spec.controller", 250))
        prefix, _, rest = controller.partition("/")
        if not prefix or not rest:
            causes.append(
                errors.invalid(
                    "spec.controller", controller, 'must be a domain-prefixed path (such as "acme.io/foo")'
                )
            )
        else:
            causes += dns_subdomain("spec.controller", prefix) if dns1123_subdomain_errors(prefix) else []
    params = spec.get("parameters")
    if isinstance(params, dict):
        causes += _ingress_class_parameters(params, "spec.parameters")
    if old is not None:
        causes += immutable(
            "spec.controller", controller, str((old.get("spec") or {}).get("controller") or "")
        )
    return causes


def _ingress_class_parameters(params: Obj, path: str) -> list[Cause]:
    causes: list[Cause] = [errors.required(f"{path}.{k}") for k in ("kind", "name") if not params.get(k)]
    scope = params.get("scope")
    if scope is None:
        return [*causes, errors.required(f"{path}.scope")]
    if scope not in ("Cluster", "Namespace"):
        return [*causes, errors.not_supported(f"{path}.scope", scope, ["Cluster", "Namespace"])]
    if scope == "Namespace" and params.get("namespace") is None:
        causes.append(errors.required(f"{path}.namespace", "`parameters.scope` is set to 'Namespace'"))
    if scope == "Cluster" and params.get("namespace") is not None:
        causes.append(errors.forbidden(f"{path}.namespace", "`parameters.scope` is set to 'Cluster'"))
    return causes
