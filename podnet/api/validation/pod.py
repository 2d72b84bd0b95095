"""core/v1 Pod and PodSpec (also used by pod templates), after ``pkg/apis/core/validation``.

Objects arrive defaulted, so a field Kubernetes' defaulters always set
(restartPolicy, dnsPolicy, port protocols) is reported as required when empty.
"""

from __future__ import annotations

import copy
import json
from typing import Any

from podnet.api import errors
from podnet.api.errors import Cause
from podnet.api.meta import Go, label_value_errors, qualified_name_errors, validate_labels
from podnet.api.validation.common import (
    dicts,
    dns_label,
    dns_subdomain,
    iana_name,
    ip,
    is_int,
    non_negative,
    port_num_or_name,
    port_number,
    protocol,
    sub,
)

Obj = dict[str, Any]
RESTART_POLICIES = ["Always", "OnFailure", "Never"]
DNS_POLICIES = ["ClusterFirstWithHostNet", "ClusterFirst", "Default", "None"]
TAINT_EFFECTS = ["NoSchedule", "PreferNoSchedule", "NoExecute"]
_HANDLERS = ("exec", "httpGet", "tcpSocket", "grpc")
_MAX_INT32 = 2**31 - 1
UPDATABLE_POD_FIELDS = ",".join(
    [
        "`spec.containers[*].image`",
        "`spec.initContainers[*].image`",
        "`spec.activeDeadlineSeconds`",
        "`spec.tolerations` (only additions to existing tolerations)",
        "`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)",
    ]
)


def _container_ports(ports: Any, path: str) -> list[Cause]:
    causes: list[Cause] = []
    names: set[str] = set()
    for i, port in enumerate(dicts(ports)):
        p = f"{path}[{i}]"
        name = port.get("name")
        if name:
            problems = iana_name(f"{p}.name", name)
            if problems:
                causes += problems
            elif name in names:
                causes.append(errors.duplicate(f"{p}.name", name))
            names.add(name)
        if not port.get("containerPort"):
            causes.append(errors.required(f"{p}.containerPort"))
        else:
            causes += port_number(f"{p}.containerPort", port["containerPort"])
        if port.get("hostPort"):
            causes += port_number(f"{p}.hostPort", port["hostPort"])
        causes += protocol(f"{p}.protocol", port.get("protocol"))
    return causes


def _handler(probe: Obj, path: str) -> list[Cause]:
    causes: list[Cause] = []
    seen = 0
    for kind in _HANDLERS:
        action = probe.get(kind)
        if action is None:
            continue
        if seen:
            causes.append(errors.forbidden(f"{path}.{kind}", "may not specify more than 1 handler type"))
            continue
        seen += 1
        causes += _action(kind, action if isinstance(action, dict) else {}, f"{path}.{kind}")
    if not seen:
        causes.append(errors.required(path, "must specify a handler type"))
    return causes


def _action(kind: str, action: Obj, path: str) -> list[Cause]:
    if kind == "exec":
        return [] if action.get("command") else [errors.required(f"{path}.command")]
    if kind == "tcpSocket":
        return port_num_or_name(f"{path}.port", action.get("port"))
    if kind == "grpc":
        return port_number(f"{path}.port", action.get("port"))
    causes: list[Cause] = []
    if not action.get("path"):
        causes.append(errors.required(f"{path}.path"))
    causes += port_num_or_name(f"{path}.port", action.get("port"))
    if action.get("scheme") not in ("HTTP", "HTTPS"):
        causes.append(errors.not_supported(f"{path}.scheme", action.get("scheme") or "", ["HTTP", "HTTPS"]))
    return causes


def _probe(probe: Any, path: str, *, success_must_be_one: bool) -> list[Cause]:
    if not isinstance(probe, dict):
        return []
    causes = _handler(probe, path)
    for key in (
        "initialDelaySeconds",
        "timeoutSeconds",
        "periodSeconds",
        "successThreshold",
        "failureThreshold",
    ):
        causes += non_negative(f"{path}.{key}", probe.get(key))
    grace = probe.get("terminationGracePeriodSeconds")
    if is_int(grace) and grace <= 0:
        causes.append(
            errors.invalid(f"{path}.terminationGracePeriodSeconds", grace, "must be greater than 0")
        )
    if success_must_be_one and probe.get("successThreshold", 1) != 1:
        causes.append(errors.invalid(f"{path}.successThreshold", probe.get("successThreshold"), "must be 1"))
    return causes


def _container(c: Obj, path: str, *, is_pod: bool, init: bool) -> list[Cause]:
    causes: list[Cause] = []
    name = c.get("name")
    if not name:
        causes.append(errors.required(f"{path}.name"))
    else:
        causes += dns_label(f"{path}.name", str(name))
    image = c.get("image")
    if not image:
        causes.append(errors.required(f"{path}.image"))
    elif is_pod and image != image.strip():
        causes.append(errors.invalid(f"{path}.image", image, "must not have leading or trailing whitespace"))
    causes += _container_ports(c.get("ports"), f"{path}.ports")
    for i, env in enumerate(dicts(c.get("env"))):
        if not env.get("name"):
            causes.append(errors.required(f"{path}.env[{i}].name"))
    if not init:
        causes += _probe(c.get("livenessProbe"), f"{path}.livenessProbe", success_must_be_one=True)
        causes += _probe(c.get("readinessProbe"), f"{path}.readinessProbe", success_must_be_one=False)
        causes += _probe(c.get("startupProbe"), f"{path}.startupProbe", success_must_be_one=True)
    if not c.get("terminationMessagePolicy"):
        causes.append(errors.required(f"{path}.terminationMessagePolicy"))
    elif c["terminationMessagePolicy"] not in ("File", "FallbackToLogsOnError"):
        causes.append(
            errors.invalid(
                f"{path}.terminationMessagePolicy",
                c["terminationMessagePolicy"],
                "must be 'File' or 'FallbackToLogsOnError'",
            )
        )
    if c.get("imagePullPolicy") not in ("Always", "IfNotPresent", "Never"):
        causes.append(
            errors.not_supported(
                f"{path}.imagePullPolicy", c.get("imagePullPolicy") or "", ["Always", "IfNotPresent", "Never"]
            )
        )
    return causes


def _containers(spec: Obj, path: str, is_pod: bool) -> list[Cause]:
    causes: list[Cause] = []
    containers = dicts(spec.get("containers"))
    if not containers:
        causes.append(errors.required(f"{path}.containers"))
    names: set[str] = set()
    for i, c in enumerate(dicts(spec.get("initContainers"))):
        p = f"{path}.initContainers[{i}]"
        causes += _container(c, p, is_pod=is_pod, init=True)
        if c.get("name") in names:
            causes.append(errors.duplicate(f"{p}.name", c["name"]))
        names.add(c.get("name") or "")
    for i, c in enumerate(containers):
        p = f"{path}.containers[{i}]"
        causes += _container(c, p, is_pod=is_pod, init=False)
        if c.get("name") and c["name"] in names:
            causes.append(errors.duplicate(f"{p}.name", c["name"]))
        names.add(c.get("name") or "")
    return causes


def _policies(spec: Obj, path: str) -> list[Cause]:
    causes: list[Cause] = []
    rp = spec.get("restartPolicy")
    if not rp:
        causes.append(errors.required(f"{path}.restartPolicy"))
    elif rp not in RESTART_POLICIES:
        causes.append(errors.not_supported(f"{path}.restartPolicy", rp, RESTART_POLICIES))
    dp = spec.get("dnsPolicy")
    if not dp:
        causes.append(errors.required(f"{path}.dnsPolicy"))
    elif dp not in DNS_POLICIES:
        causes.append(errors.not_supported(f"{path}.dnsPolicy", dp, DNS_POLICIES))
    return causes + _dns_config(spec, path)


def _dns_config(spec: Obj, path: str) -> list[Cause]:
    config = spec.get("dnsConfig")
    p = f"{path}.dnsConfig"
    if spec.get("dnsPolicy") == "None":
        if not isinstance(config, dict):
            return [errors.required(p, "must provide `dnsConfig` when `dnsPolicy` is None")]
        if not config.get("nameservers"):
            return [
                errors.required(
                    f"{p}.nameservers", "must provide at least one DNS nameserver when `dnsPolicy` is None"
                )
            ]
    if not isinstance(config, dict):
        return []
    causes: list[Cause] = []
    servers = config.get("nameservers") or []
    if len(servers) > 3:
        causes.append(
            errors.invalid(
                f"{p}.nameservers", ", ".join(map(str, servers)), "must not have more than 3 nameservers"
            )
        )
    for i, server in enumerate(servers):
        causes += ip(f"{p}.nameservers[{i}]", server)
    searches = config.get("searches") or []
    if len(searches) > 32:
        causes.append(
            errors.invalid(
                f"{p}.searches", ", ".join(map(str, searches)), "must not have more than 32 search paths"
            )
        )
    for i, search in enumerate(searches):
        if search != ".":
            causes += dns_subdomain(f"{p}.searches[{i}]", str(search).rstrip("."))
    return causes


def _scheduling(spec: Obj, path: str) -> list[Cause]:
    causes: list[Cause] = []
    for key in ("nodeName", "serviceAccountName"):
        if spec.get(key):
            causes += dns_subdomain(f"{path}.{key}", str(spec[key]))
    for key in ("hostname", "subdomain"):
        if spec.get(key):
            causes += dns_label(f"{path}.{key}", str(spec[key]))
    causes += validate_labels(spec.get("nodeSelector"), f"{path}.nodeSelector")
    deadline = spec.get("activeDeadlineSeconds")
    if deadline is not None and (not is_int(deadline) or not 1 <= deadline <= _MAX_INT32):
        causes.append(
            errors.invalid(
                f"{path}.activeDeadlineSeconds", deadline, f"must be between 1 and {_MAX_INT32}, inclusive"
            )
        )
    for i, tol in enumerate(dicts(spec.get("tolerations"))):
        causes += _toleration(tol, f"{path}.tolerations[{i}]")
    return causes


def _toleration(tol: Obj, path: str) -> list[Cause]:
    causes: list[Cause] = []
    key, op, value = str(tol.get("key") or ""), str(tol.get("operator") or ""), str(tol.get("value") or "")
    if key:
        causes += [errors.invalid(f"{path}.key", key, m) for m in qualified_name_errors(key)]
    if not key and op != "Exists":
        causes.append(
            errors.invalid(
                f"{path}.operator",
                op,
                'operator must be Exists when `key` is empty, which means "match all values and all keys"',
            )
        )
    if tol.get("tolerationSeconds") is not None and tol.get("effect") != "NoExecute":
        causes.append(
            errors.invalid(
                f"{path}.effect",
                str(tol.get("effect") or ""),
                "effect must be 'NoExecute' when `tolerationSeconds` is set",
            )
        )
    if op in ("", "Equal"):
        problems = label_value_errors(value)
        if problems:
            causes.append(errors.invalid(f"{path}.operator", value, ";".join(problems)))
    elif op == "Exists":
        if value:
            causes.append(
                errors.invalid(
                    f"{path}.operator",
                    Go("core.Toleration{...}"),
                    "value must be empty when `operator` is 'Exists'",
                )
            )
    else:
        causes.append(errors.not_supported(f"{path}.operator", op, ["Equal", "Exists"]))
    effect = tol.get("effect")
    if effect and effect not in TAINT_EFFECTS:
        causes.append(errors.not_supported(f"{path}.effect", effect, TAINT_EFFECTS))
    return causes


def validate_pod_spec(spec: Any, path: str, *, is_pod: bool = False) -> list[Cause]:
    """ValidatePodSpec: containers, policies, DNS, scheduling fields."""
    if not isinstance(spec, dict):
        return [errors.required(path)]
    return _containers(spec, path, is_pod) + _policies(spec, path) + _scheduling(spec, path)


def validate_pod_template(template: Any, path: str) -> list[Cause]:
    """ValidatePodTemplateSpec: the template's labels and annotations, then its spec."""
    if not isinstance(template, dict):
        return [errors.required(path)]
    meta = sub(template, "metadata")
    causes = validate_labels(meta.get("labels"), f"{path}.metadata.labels")
    return causes + validate_pod_spec(template.get("spec"), f"{path}.spec")


def _munged_spec(new: Obj, old: Obj) -> Obj:
    """``new`` with every change a pod update may make taken back to ``old``'s value."""
    munged = copy.deepcopy(new)
    for key in ("containers", "initContainers"):
        new_list, old_list = dicts(munged.get(key)), dicts(old.get(key))
        if len(new_list) == len(old_list):
            for c, o in zip(new_list, old_list, strict=True):
                if "image" in o:
                    c["image"] = o["image"]
    if "activeDeadlineSeconds" in munged or "activeDeadlineSeconds" in old:
        new_deadline, old_deadline = munged.get("activeDeadlineSeconds"), old.get("activeDeadlineSeconds")
        # It may be set, or shortened, never removed or lengthened.
        if new_deadline is not None and (old_deadline is None or new_deadline <= old_deadline):
            _restore(munged, old, "activeDeadlineSeconds")
    old_tolerations = old.get("tolerations") or []
    if all(t in (munged.get("tolerations") or []) for t in old_tolerations):
        _restore(munged, old, "tolerations")
    old_grace = old.get("terminationGracePeriodSeconds")
    if is_int(old_grace) and old_grace < 0 and munged.get("terminationGracePeriodSeconds") == 1:
        _restore(munged, old, "terminationGracePeriodSeconds")
    if not old.get("nodeName"):
        _restore(munged, old, "nodeName")  # podnet binds through an update: "" -> node is allowed
    return munged


def _restore(munged: Obj, old: Obj, key: str) -> None:
    if key in old:
        munged[key] = copy.deepcopy(old[key])
    else:
        munged.pop(key, None)


def _spec_diff(old: Obj, new: Obj) -> str:
    """A readable stand-in for cmp.Diff: the top-level spec fields that differ."""
    lines = []
    for key in sorted(set(old) | set(new)):
        if old.get(key) != new.get(key):
            lines.append(f"-  {key}: {json.dumps(old.get(key), sort_keys=True)}")
            lines.append(f"+  {key}: {json.dumps(new.get(key), sort_keys=True)}")
    return "  core.PodSpec{\n" + "\n".join(lines) + "\n  }\n"


def validate_pod(obj: Obj, old: Obj | None) -> list[Cause]:
    spec = obj.get("spec")
    causes = validate_pod_spec(spec, "spec", is_pod=True)
    if old is None or not isinstance(spec, dict):
        return causes
    old_spec = sub(old, "spec")
    munged = _munged_spec(spec, old_spec)
    if munged != old_spec:
        causes.append(
            errors.forbidden(
                "spec",
                f"pod updates may not change fields other than {UPDATABLE_POD_FIELDS}\n{_spec_diff(old_spec, munged)}",
            )
        )
    return causes
