"""core/v1 Service, after ``ValidateService`` and ``ValidateServiceUpdate`` in ``pkg/apis/core/validation``.

The Service arrives defaulted but not yet allocated: podnet's allocator
(apiserver/services.py) fills clusterIP(s) and nodePorts after validation
and keeps the old ones on update, so an empty clusterIP here means "allocate
or keep", as Kubernetes' patchAllocatedValues makes it mean before its validation.
"""

from __future__ import annotations

from typing import Any

from podnet.api import errors
from podnet.api.errors import Cause
from podnet.api.meta import Go, go_string_slice, qualified_name_errors, validate_labels
from podnet.api.validation.common import (
    cidr,
    dicts,
    dns_label,
    dns_subdomain,
    ip,
    is_int,
    port_num_or_name,
    port_number,
    protocol,
    sub,
)

Obj = dict[str, Any]
SERVICE_TYPES = ["ClusterIP", "ExternalName", "LoadBalancer", "NodePort"]
_EXTERNAL = ("NodePort", "LoadBalancer")


def _cluster_ips(spec: Obj) -> list[str]:
    """clusterIPs as the strategy normalises them: a lone clusterIP stands for [clusterIP]."""
    ips = spec.get("clusterIPs")
    if isinstance(ips, list) and ips:
        return [str(i) for i in ips]
    return [str(spec["clusterIP"])] if spec.get("clusterIP") else []


def _headless(spec: Obj) -> bool:
    return _cluster_ips(spec)[:1] == ["None"]


def _port(port: Obj, path: str, require_name: bool, names: set[str]) -> list[Cause]:
    causes: list[Cause] = []
    name = port.get("name") or ""
    if require_name and not name:
        causes.append(errors.required(f"{path}.name"))
    elif name:
        causes += dns_label(f"{path}.name", name)
        if name in names:
            causes.append(errors.duplicate(f"{path}.name", name))
        names.add(name)
    causes += port_number(f"{path}.port", port.get("port"))
    causes += protocol(f"{path}.protocol", port.get("protocol"))
    causes += port_num_or_name(f"{path}.targetPort", port.get("targetPort"))
    if port.get("appProtocol") is not None:
        app = str(port["appProtocol"])
        causes += [errors.invalid(f"{path}.appProtocol", app, m) for m in qualified_name_errors(app)]
    return causes


def _ports(spec: Obj, stype: str) -> list[Cause]:
    causes: list[Cause] = []
    ports = dicts(spec.get("ports"))
    if not ports and not _headless(spec) and stype != "ExternalName":
        causes.append(errors.required("spec.ports"))
    names: set[str] = set()
    for i, port in enumerate(ports):
        causes += _port(port, f"spec.ports[{i}]", len(ports) > 1, names)
    if stype == "ClusterIP":
        causes += [
            errors.forbidden(f"spec.ports[{i}].nodePort", "may not be used when `type` is 'ClusterIP'")
            for i, p in enumerate(ports)
            if p.get("nodePort")
        ]
    node_ports: set[tuple[Any, Any]] = set()
    pairs: set[tuple[Any, Any]] = set()
    for i, port in enumerate(ports):
        if port.get("nodePort"):
            key = (port.get("protocol"), port["nodePort"])
            if key in node_ports:
                causes.append(errors.duplicate(f"spec.ports[{i}].nodePort", port["nodePort"]))
            node_ports.add(key)
    for i, port in enumerate(ports):
        key = (port.get("protocol"), port.get("port"))
        if key in pairs:
            shown = f'core.ServicePort{{Name:"", Protocol:"{key[0]}", AppProtocol:(*string)(nil), Port:{key[1]}, TargetPort:intstr.IntOrString{{Type:0, IntVal:0, StrVal:""}}, NodePort:0}}'
            causes.append(errors.duplicate(f"spec.ports[{i}]", Go(shown)))
        pairs.add(key)
    return causes


def _by_type(spec: Obj, stype: str) -> list[Cause]:
    ips = _cluster_ips(spec)
    if stype in _EXTERNAL and ips[:1] == ["None"]:
        return [
            errors.invalid("spec.clusterIPs[0]", "None", f"may not be set to 'None' for {stype} services")
        ]
    if stype != "ExternalName":
        return []
    causes: list[Cause] = []
    for key in ("clusterIPs", "ipFamilies", "ipFamilyPolicy"):
        present = ips if key == "clusterIPs" else spec.get(key)
        if present:
            causes.append(errors.forbidden(f"spec.{key}", "may not be set for ExternalName services"))
    cname = str(spec.get("externalName") or "").removesuffix(".")
    if cname:
        causes += dns_subdomain("spec.externalName", cname)
    else:
        causes.append(errors.required("spec.externalName"))
    return causes


def _affinity(spec: Obj) -> list[Cause]:
    affinity = spec.get("sessionAffinity")
    if not affinity:
        return [errors.required("spec.sessionAffinity")]
    if affinity not in ("ClientIP", "None"):
        return [errors.not_supported("spec.sessionAffinity", affinity, ["ClientIP", "None"])]
    config = spec.get("sessionAffinityConfig")
    if affinity == "None":
        if config is not None:
            return [
                errors.forbidden(
                    "spec.sessionAffinityConfig", "must not be set when session affinity is None"
                )
            ]
        return []
    client_ip = config.get("clientIP") if isinstance(config, dict) else None
    if not isinstance(client_ip, dict):
        return [
            errors.required("spec.sessionAffinityConfig.clientIP", "when session affinity type is ClientIP")
        ]
    timeout = client_ip.get("timeoutSeconds")
    if timeout is None:
        return [
            errors.required(
                "spec.sessionAffinityConfig.clientIP.timeoutSeconds", "when session affinity type is ClientIP"
            )
        ]
    if not is_int(timeout) or not 0 < timeout <= 86400:
        return [
            errors.invalid(
                "spec.sessionAffinityConfig.clientIP.timeoutSeconds",
                timeout,
                "must be greater than 0 and less than 86400",
            )
        ]
    return []


def _cluster_ip_fields(spec: Obj, stype: str) -> list[Cause]:
    if stype == "ExternalName":
        return []
    causes: list[Cause] = []
    ips = _cluster_ips(spec)
    if spec.get("clusterIP") and ips[0] != spec["clusterIP"]:
        causes.append(
            errors.invalid("spec.clusterIPs", go_string_slice(ips), "first value must match `clusterIP`")
        )
    elif not spec.get("clusterIP") and spec.get("clusterIPs"):
        causes.append(
            errors.invalid(
                "spec.clusterIPs", go_string_slice(ips), "must be empty when `clusterIP` is not specified"
            )
        )
    seen: set[str] = set()
    for i, family in enumerate(spec.get("ipFamilies") or []):
        if family not in ("IPv4", "IPv6"):
            causes.append(errors.not_supported(f"spec.ipFamilies[{i}]", family, ["IPv4", "IPv6"]))
        if family in seen:
            causes.append(errors.duplicate(f"spec.ipFamilies[{i}]", family))
        seen.add(family)
    policy = spec.get("ipFamilyPolicy")
    policies = ["PreferDualStack", "RequireDualStack", "SingleStack"]
    if policy is not None and policy not in policies:
        causes.append(errors.not_supported("spec.ipFamilyPolicy", policy, policies))
    for i, cluster_ip in enumerate(ips):
        if i == 0 and cluster_ip == "None":
            if len(ips) > 1:
                causes.append(
                    errors.invalid(
                        "spec.clusterIPs", go_string_slice(ips), "'None' must be the first and only value"
                    )
                )
            continue
        causes += ip(f"spec.clusterIPs[{i}]", cluster_ip)
    return causes


def _traffic_policies(spec: Obj, stype: str) -> list[Cause]:
    causes: list[Cause] = []
    etp = spec.get("externalTrafficPolicy")
    accessible = stype in _EXTERNAL or (stype == "ClusterIP" and bool(spec.get("externalIPs")))
    if not accessible:
        if etp:
            causes.append(
                errors.invalid(
                    "spec.externalTrafficPolicy", etp, "may only be set for externally-accessible services"
                )
            )
    elif not etp:
        causes.append(errors.required("spec.externalTrafficPolicy"))
    elif etp not in ("Cluster", "Local"):
        causes.append(errors.not_supported("spec.externalTrafficPolicy", etp, ["Cluster", "Local"]))
    hc = spec.get("healthCheckNodePort")
    needs_hc = stype == "LoadBalancer" and etp == "Local"
    if not needs_hc and hc:
        causes.append(
            errors.invalid(
                "spec.healthCheckNodePort",
                hc,
                "may only be set when `type` is 'LoadBalancer' and `externalTrafficPolicy` is 'Local'",
            )
        )
    elif needs_hc and hc:
        causes += port_number("spec.healthCheckNodePort", hc)
    itp = spec.get("internalTrafficPolicy")
    if itp is None and stype in ("ClusterIP", "NodePort", "LoadBalancer"):
        causes.append(errors.required("spec.internalTrafficPolicy"))
    elif itp is not None and itp not in ("Cluster", "Local"):
        causes.append(errors.not_supported("spec.internalTrafficPolicy", itp, ["Cluster", "Local"]))
    return causes


def _load_balancer(spec: Obj, stype: str) -> list[Cause]:
    causes: list[Cause] = []
    ranges = spec.get("loadBalancerSourceRanges") or []
    if ranges and stype != "LoadBalancer":
        causes.append(
            errors.forbidden(
                "spec.LoadBalancerSourceRanges", "may only be used when `type` is 'LoadBalancer'"
            )
        )
    for i, value in enumerate(ranges):
        causes += cidr(f"spec.LoadBalancerSourceRanges[{i}]", str(value).strip())
    allocate = spec.get("allocateLoadBalancerNodePorts")
    if allocate is not None and stype != "LoadBalancer":
        causes.append(
            errors.forbidden(
                "spec.allocateLoadBalancerNodePorts", "may only be used when `type` is 'LoadBalancer'"
            )
        )
    if stype == "LoadBalancer" and allocate is None:
        causes.append(errors.required("allocateLoadBalancerNodePorts"))  # sic: Kubernetes omits "spec."
    return causes


def _patched_cluster_ips(spec: Obj, old_spec: Obj) -> list[str]:
    """normalizeClusterIPs on update: a client that changed only clusterIP means to move the whole list."""
    ips = _cluster_ips(spec)
    if (spec.get("clusterIP") or "") != (old_spec.get("clusterIP") or "") and ips == _cluster_ips(old_spec):
        return [str(spec["clusterIP"])] if spec.get("clusterIP") else []
    return ips


def _cluster_ips_update(spec: Obj, old_spec: Obj, stype: str) -> list[Cause]:
    """validateUpgradeDowngradeClusterIPs, for podnet's single-stack services."""
    old_type = old_spec.get("type") or "ClusterIP"
    if "ExternalName" in (stype, old_type) or (_headless(spec) and _headless(old_spec)):
        return []
    new_ips, old_ips = _patched_cluster_ips(spec, old_spec), _cluster_ips(old_spec)
    if not new_ips or not old_ips:
        return []  # unset: the allocator keeps (or assigns) the address
    return [
        errors.invalid(f"spec.clusterIPs[{i}]", go_string_slice(new_ips), "may not change once set")
        for i, old_ip in enumerate(old_ips)
        if i < len(new_ips) and new_ips[i] != old_ip
    ]


def validate_service(obj: Obj, old: Obj | None) -> list[Cause]:
    spec = sub(obj, "spec")
    stype = spec.get("type") or ""
    causes: list[Cause] = []
    if old is not None:
        old_spec = sub(old, "spec")
        causes += _cluster_ips_update(spec, old_spec, stype)
        if _patched_cluster_ips(spec, old_spec) != _cluster_ips(spec):
            spec = {**spec, "clusterIPs": _patched_cluster_ips(spec, old_spec)}
        old_hc = old_spec.get("healthCheckNodePort")
        if old_hc and spec.get("healthCheckNodePort") and old_hc != spec["healthCheckNodePort"]:
            causes.append(errors.forbidden("spec.healthCheckNodePort", "field is immutable"))
    causes += _ports(spec, stype) + _by_type(spec, stype)
    causes += validate_labels(spec.get("selector"), "spec.selector")
    causes += _affinity(spec) + _cluster_ip_fields(spec, stype)
    for i, external_ip in enumerate(spec.get("externalIPs") or []):
        causes += ip(f"spec.externalIPs[{i}]", external_ip)
    if not stype:
        causes.append(errors.required("spec.type"))
    elif stype not in SERVICE_TYPES:
        causes.append(errors.not_supported("spec.type", stype, SERVICE_TYPES))
    return causes + _load_balancer(spec, stype) + _traffic_policies(spec, stype)
