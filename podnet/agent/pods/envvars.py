"""The Kubernetes service environment variables a container starts with (pure).

kubelet gives every container, for each Service with a cluster IP that exists when the pod starts (in
the pod's namespace when enableServiceLinks is on, and always the master ``kubernetes`` Service of the
default namespace), ``FOO_SERVICE_HOST``/``FOO_SERVICE_PORT`` and the Docker-link style ``FOO_PORT*``.
The pod's own ``env`` wins over them, and ``$(VAR)`` references in env values expand as kubelet does.
"""

from __future__ import annotations

import re
from typing import Any

Obj = dict[str, Any]


def _env_name(service_name: str) -> str:
    return service_name.upper().replace("-", "_")


def service_env(service: Obj) -> dict[str, str]:
    """The variables one Service contributes (none for headless and ExternalName services)."""
    spec = service.get("spec") or {}
    ip = spec.get("clusterIP")
    ports = spec.get("ports") or []
    if not ip or ip == "None" or spec.get("type") == "ExternalName" or not ports:
        return {}
    name = _env_name((service.get("metadata") or {}).get("name", ""))
    env = {f"{name}_SERVICE_HOST": ip, f"{name}_SERVICE_PORT": str(ports[0].get("port"))}
    for port in ports:
        if port.get("name"):
            env[f"{name}_SERVICE_PORT_{_env_name(port['name'])}"] = str(port.get("port"))
    first = ports[0]
    env[f"{name}_PORT"] = f"{(first.get('protocol') or 'TCP').lower()}://{ip}:{first.get('port')}"
    for port in ports:
        proto = port.get("protocol") or "TCP"
        prefix = f"{name}_PORT_{port.get('port')}_{proto.upper()}"
        env[prefix] = f"{proto.lower()}://{ip}:{port.get('port')}"
        env[f"{prefix}_PROTO"] = proto.lower()
        env[f"{prefix}_PORT"] = str(port.get("port"))
        env[f"{prefix}_ADDR"] = ip
    return env


def services_env(pod: Obj, services: list[Obj]) -> dict[str, str]:
    """All service variables for ``pod``; services sorted by name so the result is stable."""
    namespace = (pod.get("metadata") or {}).get("namespace") or "default"
    links = (pod.get("spec") or {}).get("enableServiceLinks")
    links = True if links is None else bool(links)
    env: dict[str, str] = {}
    chosen = []
    for svc in services:
        meta = svc.get("metadata") or {}
        is_master = meta.get("namespace") == "default" and meta.get("name") == "kubernetes"
        if (links and meta.get("namespace") == namespace) or is_master:
            chosen.append(svc)
    for svc in sorted(
        chosen, key=lambda s: (s["metadata"].get("namespace") != namespace, s["metadata"]["name"])
    ):
        for key, value in service_env(svc).items():
            env.setdefault(key, value)  # a same-named service of the pod's own namespace wins
    return env


_REF = re.compile(r"\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)|\$\$")


def expand(value: str, env: dict[str, str]) -> str:
    """kubelet's $(VAR) expansion: known names expand, unknown stay as written, $$ escapes a $."""

    def sub(m: re.Match[str]) -> str:
        if m.group(0) == "$$":
            return "$"
        return env.get(m.group(1), m.group(0))

    return _REF.sub(sub, value)


def container_env(
    pod: Obj, container: Obj, service_vars: dict[str, str], pod_ip: str, node_ip: str, node_name: str
) -> dict[str, str]:
    """The container's environment: PATH and HOSTNAME, service variables, then its own env in order."""
    meta = pod.get("metadata") or {}
    env = {
        "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        "HOSTNAME": ((pod.get("spec") or {}).get("hostname") or meta.get("name") or "")[:63],
    }
    env.update(service_vars)
    field_values = {
        "metadata.name": meta.get("name") or "",
        "metadata.namespace": meta.get("namespace") or "default",
        "metadata.uid": meta.get("uid") or "",
        "spec.nodeName": node_name,
        "spec.serviceAccountName": (pod.get("spec") or {}).get("serviceAccountName") or "default",
        "status.podIP": pod_ip,
        "status.podIPs": pod_ip,
        "status.hostIP": node_ip,
        "status.hostIPs": node_ip,
    }
    for item in container.get("env") or []:
        name = item.get("name")
        if not name:
            continue
        if "value" in item:
            env[name] = expand(str(item.get("value") or ""), env)
            continue
        source = item.get("valueFrom") or {}
        field = (source.get("fieldRef") or {}).get("fieldPath")
        if field:
            env[name] = _field_value(field, meta, field_values)
    return env


def _field_value(path: str, meta: Obj, known: dict[str, str]) -> str:
    m = re.fullmatch(r"metadata\.(labels|annotations)\['([^']+)'\]", path)
    if m:
        return str((meta.get(m.group(1)) or {}).get(m.group(2), ""))
    return known.get(path, "")
