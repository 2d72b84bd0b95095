"""Core v1 kinds: Pod, Service, Node, ConfigMap/Secret."""

from __future__ import annotations

import re
from typing import Any

from podnet.api import errors
from podnet.api.errors import Cause
from podnet.api.meta import dns1123_label_errors, dns1123_subdomain_errors
from podnet.api.validation.common import (
    cidr,
    iana_name,
    immutable,
    int_or_name_port,
    ip,
    port_number,
    protocol,
)

Obj = dict[str, Any]
SERVICE_TYPES = ["ClusterIP", "ExternalName", "LoadBalancer", "NodePort"]


def _containers(spec: Obj, path: str) -> list[Cause]:
    causes: list[Cause] = []
    containers = spec.get("containers")
    if not containers:
        return [errors.required(f"{path}.containers")]
    names: set[str] = set()
    for i, c in enumerate(containers):
        p = f"{path}.containers[{i}]"
        if not isinstance(c, dict):
            causes.append(errors.invalid(p, c, "must be an object"))
            continue
        name = c.get("name", "")
        if not name:
            causes.append(errors.required(f"{p}.name"))
        else:
            causes += [errors.invalid(f"{p}.name", name, m) for m in dns1123_label_errors(name)]
            if name in names:
                causes.append(errors.duplicate(f"{p}.name", name))
            names.add(name)
        if not c.get("image"):
            causes.append(errors.required(f"{p}.image"))
        port_names: set[str] = set()
        for j, port in enumerate(c.get("ports") or []):
            pp = f"{p}.ports[{j}]"
            causes += port_number(f"{pp}.containerPort", port.get("containerPort"))
            causes += protocol(f"{pp}.protocol", port.get("protocol", "TCP"))
            if port.get("name"):
                causes += iana_name(f"{pp}.name", port["name"])
                if port["name"] in port_names:
                    causes.append(errors.duplicate(f"{pp}.name", port["name"]))
                port_names.add(port["name"])
    return causes


def validate_pod_spec(spec: Any, path: str) -> list[Cause]:
    if not isinstance(spec, dict):
        return [errors.required(path)]
    causes = _containers(spec, path)
    rp = spec.get("restartPolicy", "Always")
    if rp not in ("Always", "OnFailure", "Never"):
        causes.append(errors.not_supported(f"{path}.restartPolicy", rp, ["Always", "OnFailure", "Never"]))
    dp = spec.get("dnsPolicy", "ClusterFirst")
    allowed = ["ClusterFirst", "ClusterFirstWithHostNet", "Default", "None"]
    if dp not in allowed:
        causes.append(errors.not_supported(f"{path}.dnsPolicy", dp, allowed))
    if dp == "None" and not spec.get("dnsConfig"):
        causes.append(
            errors.required(f"{path}.dnsConfig", "must provide `dnsConfig` when `dnsPolicy` is None")
        )
    return causes


def validate_pod(obj: Obj, old: Obj | None) -> list[Cause]:
    causes = validate_pod_spec(obj.get("spec"), "spec")
    if old is not None:
        new_spec, old_spec = dict(obj.get("spec") or {}), dict(old.get("spec") or {})
        # Only container images (and a few others) may change; nodeName only from empty (binding).
        strip = ("containers", "initContainers", "activeDeadlineSeconds", "tolerations", "nodeName")
        if {k: v for k, v in new_spec.items() if k not in strip} != {
            k: v for k, v in old_spec.items() if k not in strip
        } or (old_spec.get("nodeName") and new_spec.get("nodeName") != old_spec.get("nodeName")):
            causes.append(
                errors.forbidden(
                    "spec",
                    "pod updates may not change fields other than "
                    "`spec.containers[*].image`, `spec.initContainers[*].image`, "
                    "`spec.activeDeadlineSeconds`, `spec.tolerations` (only additions "
                    "to existing tolerations) or `spec.terminationGracePeriodSeconds`",
                )
            )
    return causes


def _service_ports(spec: Obj, stype: str) -> list[Cause]:
    causes: list[Cause] = []
    ports = spec.get("ports") or []
    headless = spec.get("clusterIP") == "None"
    if not ports and stype != "ExternalName" and not headless:
        causes.append(errors.required("spec.ports"))
    names: set[str] = set()
    keys: set[tuple[Any, Any]] = set()
    node_ports: set[tuple[Any, Any]] = set()
    for i, p in enumerate(ports):
        pp = f"spec.ports[{i}]"
        name = p.get("name", "")
        if len(ports) > 1 and not name:
            causes.append(errors.required(f"{pp}.name"))
        elif name:
            causes += [errors.invalid(f"{pp}.name", name, m) for m in dns1123_label_errors(name)]
            if name in names:
                causes.append(errors.duplicate(f"{pp}.name", name))
            names.add(name)
        causes += port_number(f"{pp}.port", p.get("port"))
        proto = p.get("protocol", "TCP")
        causes += protocol(f"{pp}.protocol", proto)
        key = (p.get("port"), proto)
        if key in keys:
            causes.append(errors.duplicate(pp, {"port": p.get("port"), "protocol": proto}))
        keys.add(key)
        if "targetPort" in p and p["targetPort"] not in (0, None):
            causes += int_or_name_port(f"{pp}.targetPort", p["targetPort"])
        np = p.get("nodePort")
        if np:
            if stype not in ("NodePort", "LoadBalancer"):
                causes.append(errors.forbidden(f"{pp}.nodePort", f"may not be used when `type` is '{stype}'"))
            elif (np, proto) in node_ports:
                causes.append(errors.duplicate(f"{pp}.nodePort", np))
            node_ports.add((np, proto))
    return causes


def validate_service(obj: Obj, old: Obj | None) -> list[Cause]:
    spec = obj.get("spec") or {}
    stype = spec.get("type", "ClusterIP")
    if stype not in SERVICE_TYPES:
        return [errors.not_supported("spec.type", stype, SERVICE_TYPES)]
    causes = _service_ports(spec, stype)
    cip = spec.get("clusterIP")
    if cip not in (None, "", "None"):
        causes += ip("spec.clusterIP", cip)
    if stype == "ExternalName":
        ext = spec.get("externalName", "")
        if not ext:
            causes.append(errors.required("spec.externalName"))
        else:
            causes += [
                errors.invalid("spec.externalName", ext, m) for m in dns1123_subdomain_errors(ext.rstrip("."))
            ]
    aff = spec.get("sessionAffinity", "None")
    if aff not in ("None", "ClientIP"):
        causes.append(errors.not_supported("spec.sessionAffinity", aff, ["ClientIP", "None"]))
    timeout = ((spec.get("sessionAffinityConfig") or {}).get("clientIP") or {}).get("timeoutSeconds")
    if aff == "ClientIP" and timeout is not None and not 0 < int(timeout) <= 86400:
        causes.append(
            errors.invalid(
                "spec.sessionAffinityConfig.clientIP.timeoutSeconds",
                timeout,
                "must be greater than 0 and less than 86400",
            )
        )
    etp = spec.get("externalTrafficPolicy")
    if etp is not None:
        if stype not in ("NodePort", "LoadBalancer"):
            causes.append(
                errors.invalid(
                    "spec.externalTrafficPolicy",
                    etp,
                    "may only be set when `type` is 'NodePort' or 'LoadBalancer'",
                )
            )
        elif etp not in ("Cluster", "Local"):
            causes.append(errors.not_supported("spec.externalTrafficPolicy", etp, ["Cluster", "Local"]))
    itp = spec.get("internalTrafficPolicy")
    if itp is not None and itp not in ("Cluster", "Local"):
        causes.append(errors.not_supported("spec.internalTrafficPolicy", itp, ["Cluster", "Local"]))
    for i, eip in enumerate(spec.get("externalIPs") or []):
        causes += ip(f"spec.externalIPs[{i}]", eip)
    if old is not None:
        old_spec = old.get("spec") or {}
        old_type = old_spec.get("type", "ClusterIP")
        if "ExternalName" not in (stype, old_type) and cip not in (None, ""):
            causes += immutable("spec.clusterIP", cip, old_spec.get("clusterIP"))
    return causes


def validate_node(obj: Obj, old: Obj | None) -> list[Cause]:
    spec = obj.get("spec") or {}
    causes: list[Cause] = []
    if spec.get("podCIDR"):
        causes += cidr("spec.podCIDR", spec["podCIDR"])
    if old is not None:
        old_cidr = (old.get("spec") or {}).get("podCIDR")
        if old_cidr and spec.get("podCIDR") != old_cidr:
            causes.append(
                errors.forbidden(
                    "spec.podCIDRs", 'node updates may not change podCIDR except from "" to valid'
                )
            )
    return causes


_CONFIG_KEY = re.compile(r"^[-._a-zA-Z0-9]+$")


def validate_config_map(obj: Obj, old: Obj | None) -> list[Cause]:
    causes: list[Cause] = []
    for field in ("data", "binaryData", "stringData"):
        for k in obj.get(field) or {}:
            if not _CONFIG_KEY.match(k) or len(k) > 253:
                causes.append(
                    errors.invalid(
                        f"{field}[{k}]",
                        k,
                        "a valid config key must consist of "
                        "alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or "
                        "'KEY_NAME',  or 'key-name', regex used for validation is "
                        "'[-._a-zA-Z0-9]+')",
                    )
                )
    return causes
