"""Per-kind rules the API server applies around a write, as Kubernetes' registry strategies do.

Pure functions over JSON dicts: what a create fills in (uid, timestamps,
generation, initial status), what an update may change (status only through
/status, spec only through the main resource, generation bumped on spec
changes) and what a delete does (immediate, graceful, or blocked by
finalizers).
"""

from __future__ import annotations

import copy
import uuid
from typing import Any

from podnet.api.scheme import ResourceInfo
from podnet.api.timestamps import rfc3339

Obj = dict[str, Any]

NAMESPACE_LABEL = "kubernetes.io/metadata.name"

# Kinds whose metadata.generation tracks spec changes (observedGeneration users).
_GENERATION_KINDS = {"Deployment", "ReplicaSet", "NetworkPolicy", "Ingress", "IngressClass"}

# Metadata an update through the main resource may never change.
_IMMUTABLE_META = (
    "uid",
    "creationTimestamp",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
    "generation",
)


def _spec_part(obj: Obj) -> Obj:
    """Everything but metadata and status: what a generation counts."""
    return {k: v for k, v in obj.items() if k not in ("metadata", "status", "apiVersion", "kind")}


def prepare_for_create(res: ResourceInfo, obj: Obj, now: float) -> None:
    meta = obj.setdefault("metadata", {})
    for key in ("uid", "resourceVersion", "deletionTimestamp", "deletionGracePeriodSeconds", "selfLink"):
        meta.pop(key, None)
    meta.pop("managedFields", None)
    meta["uid"] = str(uuid.uuid4())
    meta["creationTimestamp"] = rfc3339(now)
    if res.kind in _GENERATION_KINDS:
        meta["generation"] = 1
    else:
        meta.pop("generation", None)
    obj["apiVersion"], obj["kind"] = res.api_version, res.kind
    _initial_status(res, obj)


def _initial_status(res: ResourceInfo, obj: Obj) -> None:
    if res.kind == "Namespace":
        obj["metadata"].setdefault("labels", {})[NAMESPACE_LABEL] = obj["metadata"]["name"]
        spec = obj.setdefault("spec", {})
        if "kubernetes" not in spec.setdefault("finalizers", []):
            spec["finalizers"].append("kubernetes")
        obj["status"] = {"phase": "Active"}
    elif res.kind == "Pod":
        obj["status"] = {"phase": "Pending", "qosClass": _qos_class(obj)}
    elif res.kind == "Service":
        obj["status"] = {"loadBalancer": {}}
    elif res.kind in ("Deployment", "ReplicaSet", "Ingress"):
        obj["status"] = {} if res.kind != "Ingress" else {"loadBalancer": {}}
    # Nodes (registered by their agent) may carry status on create, as in Kubernetes.


def _qos_class(pod: Obj) -> str:
    containers = (pod.get("spec") or {}).get("containers") or []
    requests = [c.get("resources") or {} for c in containers]
    if not any(r.get("requests") or r.get("limits") for r in requests):
        return "BestEffort"
    guaranteed = all(
        r.get("limits")
        and set((r.get("limits") or {}).keys()) >= {"cpu", "memory"}
        and all((r.get("requests") or {}).get(k, v) == v for k, v in (r.get("limits") or {}).items())
        for r in requests
    )
    return "Guaranteed" if guaranteed else "Burstable"


def prepare_for_update(res: ResourceInfo, new: Obj, old: Obj, subresource: str) -> Obj:
    """The object to store: ``new`` with what this kind of update may not change taken from ``old``."""
    old_meta = old.get("metadata") or {}
    if subresource == "status":
        out = copy.deepcopy(old)
        if "status" in new:
            out["status"] = new["status"]
        else:
            out.pop("status", None)
        return out
    if subresource == "finalize":
        out = copy.deepcopy(old)
        out.setdefault("spec", {})["finalizers"] = list((new.get("spec") or {}).get("finalizers") or [])
        return out
    out = copy.deepcopy(new)
    meta = out.setdefault("metadata", {})
    for key in _IMMUTABLE_META:
        if key in old_meta:
            meta[key] = old_meta[key]
        else:
            meta.pop(key, None)
    meta.pop("managedFields", None)
    out["apiVersion"], out["kind"] = res.api_version, res.kind
    if "status" in res.subresources and res.kind != "Node":
        if "status" in old:
            out["status"] = old["status"]
        else:
            out.pop("status", None)
    if res.kind == "Namespace":
        out.setdefault("spec", {})["finalizers"] = list((old.get("spec") or {}).get("finalizers") or [])
        meta.setdefault("labels", {})[NAMESPACE_LABEL] = meta.get("name", "")
    if res.kind == "Service":
        _drop_type_dependent_fields(out, old)
    if res.kind in _GENERATION_KINDS and _spec_part(out) != _spec_part(old):
        meta["generation"] = int(old_meta.get("generation") or 1) + 1
    return out


def has_finalizers(obj: Obj) -> bool:
    meta = obj.get("metadata") or {}
    if meta.get("finalizers"):
        return True
    return obj.get("kind") == "Namespace" and bool((obj.get("spec") or {}).get("finalizers"))


def default_grace_period(res: ResourceInfo, obj: Obj) -> int:
    """Pods bound to a node wait for their kubelet; everything else goes at once."""
    if res.kind != "Pod":
        return 0
    spec = obj.get("spec") or {}
    if not spec.get("nodeName"):
        return 0  # never scheduled: nothing on a node to stop
    phase = (obj.get("status") or {}).get("phase")
    if phase in ("Succeeded", "Failed"):
        return 0
    grace = spec.get("terminationGracePeriodSeconds")
    return 30 if grace is None else int(grace)


def mark_deleting(obj: Obj, now: float, grace: int, extra_finalizers: list[str]) -> Obj:
    """The object with deletionTimestamp (+grace) set and propagation finalizers added."""
    out = copy.deepcopy(obj)
    meta = out.setdefault("metadata", {})
    # A shorter grace period may shorten a deletion already under way, never lengthen it.
    if not meta.get("deletionTimestamp") or grace < int(meta.get("deletionGracePeriodSeconds") or 0):
        meta["deletionTimestamp"] = rfc3339(now + grace)
        meta["deletionGracePeriodSeconds"] = grace
    finalizers = meta.setdefault("finalizers", [])
    for f in extra_finalizers:
        if f not in finalizers:
            finalizers.append(f)
    if not finalizers:
        meta.pop("finalizers")
    if out.get("kind") == "Namespace":
        out.setdefault("status", {})["phase"] = "Terminating"
    return out


def _drop_type_dependent_fields(new: Obj, old: Obj) -> None:
    """On a Service type change, clear what the old type needed and the user did not change (Kubernetes 1.20+)."""
    spec, old_spec = new.get("spec") or {}, old.get("spec") or {}
    stype = spec.get("type", "ClusterIP")
    if stype == old_spec.get("type", "ClusterIP"):
        return
    if stype not in ("NodePort", "LoadBalancer"):
        old_ports = {
            (p.get("port"), p.get("protocol", "TCP")): p.get("nodePort") for p in old_spec.get("ports") or []
        }
        for p in spec.get("ports") or []:
            if p.get("nodePort") and p["nodePort"] == old_ports.get(
                (p.get("port"), p.get("protocol", "TCP"))
            ):
                p.pop("nodePort")
        if spec.get("externalTrafficPolicy") == old_spec.get("externalTrafficPolicy"):
            spec.pop("externalTrafficPolicy", None)
    if stype != "LoadBalancer":
        if spec.get("healthCheckNodePort") == old_spec.get("healthCheckNodePort"):
            spec.pop("healthCheckNodePort", None)
    if stype == "ExternalName" and old_spec.get("type", "ClusterIP") != "ExternalName":
        # An ExternalName service has no cluster IP: what the old type was given goes, unless the
        # user changed it in this very request (then validation tells them it must be empty).
        for key in ("clusterIP", "clusterIPs", "ipFamilies", "ipFamilyPolicy", "internalTrafficPolicy"):
            if key in spec and spec.get(key) == old_spec.get(key):
                spec.pop(key)
