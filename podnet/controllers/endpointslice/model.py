"""Which pods back a Service, and how each one becomes an endpoint: pure rules shared by both controllers.

Follows Kubernetes' endpointslice utilities: a pod is an endpoint when it has
an IP and is not terminal; readiness comes from its Ready condition; a named
targetPort is resolved against each pod's own container ports, so pods of one
Service may expose different port numbers.
"""

from __future__ import annotations

import ipaddress
import json
from typing import Any

Obj = dict[str, Any]

SERVICE_NAME_LABEL = "kubernetes.io/service-name"
MANAGED_BY_LABEL = "endpointslice.kubernetes.io/managed-by"
MANAGED_BY = "endpointslice-controller.k8s.io"
HEADLESS_LABEL = "service.kubernetes.io/headless"


def selector_matches(selector: dict[str, str], labels: dict[str, str]) -> bool:
    """A Service's equality-based selector (never empty here: selector-less services are skipped)."""
    return all(labels.get(k) == v for k, v in selector.items())


def service_selects(service: Obj, pod: Obj) -> bool:
    selector = (service.get("spec") or {}).get("selector") or {}
    if not selector:
        return False
    if (pod.get("metadata") or {}).get("namespace") != (service.get("metadata") or {}).get("namespace"):
        return False
    return selector_matches(selector, (pod.get("metadata") or {}).get("labels") or {})


def pod_ipv4(pod: Obj) -> str:
    """The pod's IPv4 address from status.podIPs (or podIP); "" when it has none yet."""
    status = pod.get("status") or {}
    candidates = [p.get("ip", "") for p in status.get("podIPs") or []] + [status.get("podIP") or ""]
    for ip in candidates:
        try:
            if ip and ipaddress.ip_address(ip).version == 4:
                return str(ip)
        except ValueError:
            continue
    return ""


def pod_ready(pod: Obj) -> bool:
    for cond in (pod.get("status") or {}).get("conditions") or []:
        if cond.get("type") == "Ready":
            return bool(cond.get("status") == "True")
    return False


def is_terminating(pod: Obj) -> bool:
    return bool((pod.get("metadata") or {}).get("deletionTimestamp"))


def should_be_endpoint(pod: Obj, include_terminating: bool) -> bool:
    """Kubernetes' ShouldPodBeInEndpoints: an IP, not terminal, terminating only if asked."""
    if not pod_ipv4(pod):
        return False
    if not include_terminating and is_terminating(pod):
        return False
    return (pod.get("status") or {}).get("phase") not in ("Succeeded", "Failed")


def _find_port(pod: Obj, target: Any, protocol: str) -> int | None:
    """A named targetPort resolved against the pod's container ports (name and protocol must match)."""
    for container in (pod.get("spec") or {}).get("containers") or []:
        for port in container.get("ports") or []:
            if port.get("name") == target and (port.get("protocol") or "TCP") == protocol:
                return int(port["containerPort"])
    return None


def endpoint_ports(service: Obj, pod: Obj) -> list[Obj]:
    """The service's ports as this pod serves them; a port whose name the pod lacks is left out."""
    out: list[Obj] = []
    for sp in (service.get("spec") or {}).get("ports") or []:
        protocol = sp.get("protocol") or "TCP"
        target = sp.get("targetPort", sp.get("port"))
        number: int | None
        if isinstance(target, int) or (isinstance(target, str) and target.isdigit()):
            number = int(target)
        else:
            number = _find_port(pod, target, protocol)
        if number is None:
            continue
        port: Obj = {"name": sp.get("name") or "", "port": number, "protocol": protocol}
        if sp.get("appProtocol"):
            port["appProtocol"] = sp["appProtocol"]
        out.append(port)
    return out


def ports_key(ports: list[Obj]) -> str:
    """A canonical key for a port list, so pods resolving ports alike share slices."""
    return json.dumps(sorted(ports, key=lambda p: (p.get("name", ""), p.get("protocol", ""))), sort_keys=True)


def pod_hostname(service: Obj, pod: Obj) -> str:
    """The endpoint hostname: set only when the pod's subdomain is this service's name."""
    spec = pod.get("spec") or {}
    if spec.get("hostname") and spec.get("subdomain") == (service.get("metadata") or {}).get("name"):
        return str(spec["hostname"])
    return ""


def target_ref(pod: Obj) -> Obj:
    meta = pod.get("metadata") or {}
    return {
        "kind": "Pod",
        "namespace": meta.get("namespace", ""),
        "name": meta.get("name", ""),
        "uid": meta.get("uid", ""),
    }


def service_labels(service: Obj) -> dict[str, str]:
    """Labels every object derived from the service carries: its own, plus headless when it is."""
    labels = dict((service.get("metadata") or {}).get("labels") or {})
    if (service.get("spec") or {}).get("clusterIP") == "None":
        labels[HEADLESS_LABEL] = ""
    else:
        labels.pop(HEADLESS_LABEL, None)
    return labels


def publish_not_ready(service: Obj) -> bool:
    return bool((service.get("spec") or {}).get("publishNotReadyAddresses"))
