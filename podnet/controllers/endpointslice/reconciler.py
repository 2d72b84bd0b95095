"""EndpointSlices a Service should have, as a diff against those it has: pure, no I/O.

``reconcile(service, pods, existing, max_per_slice)`` returns ``Plan(to_create,
to_update, to_delete)``. Like Kubernetes' reconciler, it keeps churn low:

- endpoints are grouped by their resolved port list; each group has its own slices;
- an existing slice keeps the endpoints it already holds that are still wanted
  (updated in place), and is rewritten only when something in it changed;
- new endpoints fill spare room in slices being rewritten anyway, then in other
  slices with room, and only then go into new slices of at most ``max_per_slice``;
- a slice left empty is deleted, except one placeholder (no ports, no
  endpoints) kept while the service has no endpoints at all, as Kubernetes does.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field

from podnet.controllers.endpointslice.model import (
    MANAGED_BY,
    MANAGED_BY_LABEL,
    SERVICE_NAME_LABEL,
    Obj,
    endpoint_ports,
    is_terminating,
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


@dataclass
class Plan:
    to_create: list[Obj] = field(default_factory=list)
    to_update: list[Obj] = field(default_factory=list)
    to_delete: list[Obj] = field(default_factory=list)

    def empty(self) -> bool:
        return not (self.to_create or self.to_update or self.to_delete)


def pod_endpoint(service: Obj, pod: Obj) -> Obj:
    """One pod as a discovery/v1 Endpoint with Kubernetes' ready/serving/terminating rules."""
    serving = pod_ready(pod)
    terminating = is_terminating(pod)
    # Ready is never true for a terminating endpoint unless the service publishes not-ready addresses.
    ready = publish_not_ready(service) or (serving and not terminating)
    ep: Obj = {
        "addresses": [pod_ipv4(pod)],
        "conditions": {"ready": ready, "serving": serving, "terminating": terminating},
        "targetRef": target_ref(pod),
    }
    node = (pod.get("spec") or {}).get("nodeName")
    if node:
        ep["nodeName"] = node
    hostname = pod_hostname(service, pod)
    if hostname:
        ep["hostname"] = hostname
    return ep


def endpoint_id(ep: Obj) -> str:
    """Which pod an endpoint stands for: its UID, else namespace/name, else its address."""
    ref = ep.get("targetRef") or {}
    if not ref:
        return str(ep["addresses"][0])
    return str(ref.get("uid") or f"{ref.get('namespace')}/{ref.get('name')}")


def desired_groups(service: Obj, pods: list[Obj]) -> dict[str, tuple[list[Obj], list[Obj]]]:
    """Port-list key → (ports, endpoints sorted by address) for the pods the service selects."""
    groups: dict[str, tuple[list[Obj], list[Obj]]] = {}
    for pod in pods:
        if not service_selects(service, pod) or not should_be_endpoint(pod, include_terminating=True):
            continue
        ports = endpoint_ports(service, pod)
        key = ports_key(ports)
        groups.setdefault(key, (ports, []))[1].append(pod_endpoint(service, pod))
    for _, eps in groups.values():
        eps.sort(key=lambda e: (e["addresses"][0], endpoint_id(e)))
    return groups


def slice_labels(service: Obj) -> dict[str, str]:
    labels = service_labels(service)
    labels[SERVICE_NAME_LABEL] = service["metadata"]["name"]
    labels[MANAGED_BY_LABEL] = MANAGED_BY
    return labels


def owner_reference(service: Obj) -> Obj:
    meta = service["metadata"]
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "name": meta["name"],
        "uid": meta.get("uid", ""),
        "controller": True,
        "blockOwnerDeletion": True,
    }


def new_slice(service: Obj, ports: list[Obj], endpoints: list[Obj]) -> Obj:
    meta = service["metadata"]
    return {
        "apiVersion": "discovery.k8s.io/v1",
        "kind": "EndpointSlice",
        "metadata": {
            "generateName": f"{meta['name']}-",
            "namespace": meta["namespace"],
            "labels": slice_labels(service),
            "ownerReferences": [owner_reference(service)],
        },
        "addressType": "IPv4",
        "endpoints": endpoints,
        "ports": ports,
    }


def _with_metadata(service: Obj, sl: Obj) -> Obj:
    """The slice with the labels and owner it must carry (other metadata kept as is)."""
    out = copy.deepcopy(sl)
    meta = out.setdefault("metadata", {})
    meta["labels"] = slice_labels(service)
    others = [r for r in meta.get("ownerReferences") or [] if r.get("kind") != "Service"]
    meta["ownerReferences"] = [owner_reference(service), *others]
    return out


def _reconcile_group(
    service: Obj,
    ports: list[Obj],
    wanted: list[Obj],
    existing: list[Obj],
    max_per_slice: int,
    plan: Plan,
    keep_empty: bool = False,
) -> None:
    wanted_by_id = {endpoint_id(e): e for e in wanted}
    placed: set[str] = set()
    changed: list[Obj] = []
    unchanged: list[Obj] = []
    for sl in existing:
        kept = []
        for ep in sl.get("endpoints") or []:
            eid = endpoint_id(ep)
            if eid in wanted_by_id and eid not in placed:
                kept.append(wanted_by_id[eid])
                placed.add(eid)
        target = _with_metadata(service, sl)
        target["endpoints"], target["ports"] = kept, ports
        if not kept and not keep_empty:
            plan.to_delete.append(sl)
        elif target != sl:
            changed.append(target)
        else:
            unchanged.append(sl)
    pending = [e for e in wanted if endpoint_id(e) not in placed]
    # Fill slices being rewritten anyway first, so unchanged slices stay untouched when possible.
    for sl in [*changed, *unchanged]:
        if not pending:
            break
        room = max_per_slice - len(sl["endpoints"])
        if room <= 0:
            continue
        if not any(sl is c for c in changed):
            sl = copy.deepcopy(sl)
            changed.append(sl)
        sl["endpoints"] = sl["endpoints"] + pending[:room]
        pending = pending[room:]
    plan.to_update.extend(changed)
    for i in range(0, len(pending), max_per_slice):
        plan.to_create.append(new_slice(service, ports, pending[i : i + max_per_slice]))


def reconcile(service: Obj, pods: list[Obj], existing: list[Obj], max_per_slice: int = 100) -> Plan:
    """The slice writes that make ``existing`` (this service's managed slices) match its pods."""
    plan = Plan()
    if not (service.get("spec") or {}).get("selector"):
        return plan  # selector-less services are managed by their users
    groups = desired_groups(service, pods)
    by_key: dict[str, list[Obj]] = {}
    for sl in sorted(existing, key=lambda s: s["metadata"].get("name", "")):
        by_key.setdefault(ports_key(sl.get("ports") or []), []).append(sl)
    if not groups:
        placeholder_key = ports_key([])
        keep = [s for s in by_key.pop(placeholder_key, []) if not s.get("endpoints")]
        others = [s for s in existing if s not in keep]
        plan.to_delete.extend(others)
        if keep:
            _reconcile_group(service, [], [], keep[:1], max_per_slice, plan, keep_empty=True)
            plan.to_delete.extend(keep[1:])
        else:
            plan.to_create.append(new_slice(service, [], []))
        return plan
    for key, (ports, wanted) in sorted(groups.items()):
        _reconcile_group(service, ports, wanted, by_key.pop(key, []), max_per_slice, plan)
    for stale in by_key.values():
        plan.to_delete.extend(stale)
    return plan
