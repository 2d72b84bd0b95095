"""The legacy core/v1 Endpoints object a Service should have: pure, no I/O.

Kept because older clients (and ``kubectl get endpoints``) still read it. As
in Kubernetes' endpoints controller: terminating pods are left out unless the
service publishes not-ready addresses; ready pods go to ``addresses``, others
to ``notReadyAddresses``; pods are grouped into subsets by their resolved
ports, each subset's addresses sorted by IP.
"""

from __future__ import annotations

import copy

from podnet.controllers.endpointslice.model import (
    Obj,
    endpoint_ports,
    pod_hostname,
    pod_ipv4,
    pod_ready,
    ports_key,
    publish_not_ready,
    service_labels,
    service_selects,
    should_be_endpoint,
    target_ref,
)


def _address(service: Obj, pod: Obj) -> Obj:
    addr: Obj = {"ip": pod_ipv4(pod), "targetRef": target_ref(pod)}
    node = (pod.get("spec") or {}).get("nodeName")
    if node:
        addr["nodeName"] = node
    hostname = pod_hostname(service, pod)
    if hostname:
        addr["hostname"] = hostname
    return addr


def desired_subsets(service: Obj, pods: list[Obj]) -> list[Obj]:
    publish = publish_not_ready(service)
    groups: dict[str, Obj] = {}
    for pod in pods:
        if not service_selects(service, pod) or not should_be_endpoint(pod, include_terminating=publish):
            continue
        ports = endpoint_ports(service, pod)
        subset = groups.setdefault(
            ports_key(ports), {"addresses": [], "notReadyAddresses": [], "ports": ports}
        )
        bucket = "addresses" if publish or pod_ready(pod) else "notReadyAddresses"
        subset[bucket].append(_address(service, pod))
    out = []
    for _, subset in sorted(groups.items()):
        for bucket in ("addresses", "notReadyAddresses"):
            subset[bucket].sort(key=lambda a: (a["ip"], a["targetRef"]["name"]))
            if not subset[bucket]:
                del subset[bucket]
        if not subset["ports"]:
            del subset["ports"]
        out.append(subset)
    return out


def desired_endpoints(service: Obj, pods: list[Obj], existing: Obj | None) -> Obj | None:
    """The Endpoints object to write; None when ``existing`` is right or the service has no selector."""
    if not (service.get("spec") or {}).get("selector"):
        return None
    meta = service["metadata"]
    want: Obj = (
        copy.deepcopy(existing)
        if existing
        else {"metadata": {"name": meta["name"], "namespace": meta["namespace"]}}
    )
    want["apiVersion"], want["kind"] = "v1", "Endpoints"
    want["metadata"]["labels"] = service_labels(service)
    subsets = desired_subsets(service, pods)
    if subsets:
        want["subsets"] = subsets
    else:
        want.pop("subsets", None)
    if existing is not None and _same(want, existing):
        return None
    return want


def _same(a: Obj, b: Obj) -> bool:
    return (a.get("subsets") or []) == (b.get("subsets") or []) and (a["metadata"].get("labels") or {}) == (
        b["metadata"].get("labels") or {}
    )
