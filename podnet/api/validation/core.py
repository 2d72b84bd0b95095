"""core/v1 kinds other than Pod and Service: Node, Namespace, ConfigMap, Secret, Endpoints."""

from __future__ import annotations

import base64
import binascii
from typing import Any

from podnet.api import errors
from podnet.api.errors import Cause
from podnet.api.meta import go_string_slice, qualified_name_errors
from podnet.api.validation.common import (
    cidr,
    config_key_errors,
    dicts,
    dns_label,
    dns_subdomain,
    ip,
    non_special_ip,
    parse_cidr,
    port_number,
    protocol,
    sub,
)
from podnet.api.validation.pod import TAINT_EFFECTS

Obj = dict[str, Any]
MAX_SECRET_SIZE = 1024 * 1024
_PODCIDR_CHANGE = 'node updates may not change podCIDR except from "" to valid'
_IMMUTABLE_SET = "field is immutable when `immutable` is set"
_STANDARD_FINALIZERS = {"kubernetes", "orphan", "foregroundDeletion"}


def _pod_cidrs(spec: Obj) -> list[str]:
    """podCIDRs as the v1→internal conversion makes them: podCIDR alone stands for [podCIDR]."""
    cidrs = spec.get("podCIDRs")
    if isinstance(cidrs, list) and cidrs:
        return [str(c) for c in cidrs]
    return [str(spec["podCIDR"])] if spec.get("podCIDR") else []


def validate_node(obj: Obj, old: Obj | None) -> list[Cause]:
    spec = sub(obj, "spec")
    causes: list[Cause] = []
    cidrs = _pod_cidrs(spec)
    for i, value in enumerate(cidrs):
        causes += cidr(f"spec.podCIDRs[{i}]", value)
    if len(cidrs) > 1:
        versions = [n.version for n in map(parse_cidr, cidrs) if n is not None]
        if len(cidrs) > 2 or len(set(versions)) != len(versions):
            causes.append(
                errors.invalid(
                    "spec.podCIDRs",
                    go_string_slice(cidrs),
                    "may specify no more than one CIDR for each IP family",
                )
            )
    for i, taint in enumerate(dicts(spec.get("taints"))):
        causes += _taint(taint, f"spec.taints[{i}]")
    if old is not None:
        old_cidrs = _pod_cidrs(sub(old, "spec"))
        if old_cidrs and old_cidrs != cidrs:
            causes.append(errors.forbidden("spec.podCIDRs", _PODCIDR_CHANGE))
    return causes


def _taint(taint: Obj, path: str) -> list[Cause]:
    key = str(taint.get("key") or "")
    causes = [errors.invalid(f"{path}.key", key, m) for m in qualified_name_errors(key)]
    effect = taint.get("effect")
    if not effect:
        causes.append(errors.required(f"{path}.effect"))
    elif effect not in TAINT_EFFECTS:
        causes.append(errors.not_supported(f"{path}.effect", effect, TAINT_EFFECTS))
    return causes


def validate_namespace(obj: Obj, old: Obj | None) -> list[Cause]:
    causes: list[Cause] = []
    for f in (obj.get("spec") or {}).get("finalizers") or []:
        f = str(f)
        problems = qualified_name_errors(f)
        causes += [errors.invalid("spec.finalizers", f, m) for m in problems]
        if not problems and "/" not in f and f not in _STANDARD_FINALIZERS:
            causes.append(
                errors.invalid(
                    "spec.finalizers",
                    f,
                    "name is neither a standard finalizer name nor is it fully qualified",
                )
            )
    return causes


def _data_keys(data: Any, path: str) -> list[Cause]:
    causes: list[Cause] = []
    for key in sorted(data or {}):
        causes += [errors.invalid(f"{path}[{key}]", key, m) for m in config_key_errors(key)]
    return causes


def _decoded_size(value: Any) -> int:
    try:
        return len(base64.b64decode(str(value), validate=True))
    except (binascii.Error, ValueError):
        return len(str(value))


def _immutable_data(obj: Obj, old: Obj | None, fields: tuple[str, ...]) -> list[Cause]:
    if old is None or old.get("immutable") is not True:
        return []
    causes: list[Cause] = []
    if obj.get("immutable") is not True:
        causes.append(errors.forbidden("immutable", _IMMUTABLE_SET))
    for field in fields:
        if (obj.get(field) or {}) != (old.get(field) or {}):
            causes.append(errors.forbidden(field, _IMMUTABLE_SET))
    return causes


def validate_config_map(obj: Obj, old: Obj | None) -> list[Cause]:
    data, binary = obj.get("data") or {}, obj.get("binaryData") or {}
    causes = _data_keys(data, "data") + _data_keys(binary, "binaryData")
    for key in sorted(set(data) & set(binary)):
        causes.append(errors.invalid(f"data[{key}]", key, "duplicate of key present in binaryData"))
    size = sum(len(str(v).encode()) for v in data.values()) + sum(_decoded_size(v) for v in binary.values())
    if size > MAX_SECRET_SIZE:
        causes.append(errors.too_long("", MAX_SECRET_SIZE))
    return causes + _immutable_data(obj, old, ("data", "binaryData"))


def validate_secret(obj: Obj, old: Obj | None) -> list[Cause]:
    data, string_data = obj.get("data") or {}, obj.get("stringData") or {}
    # stringData is merged into data before Kubernetes validates, so its keys report as data[...].
    keys = {
        **{k: _decoded_size(v) for k, v in data.items()},
        **{k: len(str(v).encode()) for k, v in string_data.items()},
    }
    causes = _data_keys(keys, "data")
    if sum(keys.values()) > MAX_SECRET_SIZE:
        causes.append(errors.too_long("data", MAX_SECRET_SIZE))
    stype = obj.get("type")
    if stype == "kubernetes.io/tls":
        causes += [errors.required(f"data[{k}]") for k in ("tls.crt", "tls.key") if k not in keys]
    elif stype == "kubernetes.io/basic-auth" and "username" not in keys and "password" not in keys:
        causes.append(errors.required("data[username]"))
        causes.append(errors.required("data[password]"))
    elif stype == "kubernetes.io/ssh-auth" and "ssh-privatekey" not in keys:
        causes.append(errors.required("data[ssh-privatekey]"))
    if old is not None:
        if (obj.get("type") or "") != (old.get("type") or ""):
            causes.append(errors.invalid("type", obj.get("type") or "", "field is immutable"))
        causes += _immutable_data(obj, old, ("data",))
    return causes


def _endpoint_address(addr: Obj, path: str) -> list[Cause]:
    causes = ip(f"{path}.ip", addr.get("ip") or "")
    if addr.get("hostname"):
        causes += dns_label(f"{path}.hostname", str(addr["hostname"]))
    if addr.get("nodeName") is not None:
        causes += dns_subdomain(f"{path}.nodeName", str(addr["nodeName"]))
    if not causes:
        causes += non_special_ip(f"{path}.ip", addr["ip"], allow_loopback=True)
    return causes


def validate_endpoints(obj: Obj, old: Obj | None) -> list[Cause]:
    causes: list[Cause] = []
    for i, subset in enumerate(dicts(obj.get("subsets"))):
        path = f"subsets[{i}]"
        if not subset.get("addresses") and not subset.get("notReadyAddresses"):
            causes.append(errors.required(path, "must specify `addresses` or `notReadyAddresses`"))
        for key in ("addresses", "notReadyAddresses"):
            for j, addr in enumerate(dicts(subset.get(key))):
                causes += _endpoint_address(addr, f"{path}.{key}[{j}]")
        ports = dicts(subset.get("ports"))
        for j, port in enumerate(ports):
            p = f"{path}.ports[{j}]"
            if len(ports) > 1 and not port.get("name"):
                causes.append(errors.required(f"{p}.name"))
            elif port.get("name"):
                causes += dns_label(f"{p}.name", str(port["name"]))
            causes += port_number(f"{p}.port", port.get("port"))
            causes += protocol(f"{p}.protocol", port.get("protocol"))
    return causes
