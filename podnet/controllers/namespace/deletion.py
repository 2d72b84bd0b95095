"""What remains in a terminating namespace, and the status conditions that say so (Kubernetes' namespace deleter).

Pure. The controller deletes every namespaced object it can list, then
summarises what is still there (objects in graceful deletion or held by
finalizers) with the same five conditions and wording Kubernetes shows in
``kubectl describe namespace``.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from podnet.api.scheme import RESOURCES, ResourceInfo

Obj = dict[str, Any]
FINALIZER = "kubernetes"


def content_resources() -> list[ResourceInfo]:
    """Every namespaced resource that can be listed and deleted: all of it goes with the namespace."""
    return [r for r in RESOURCES if r.namespaced and "list" in r.verbs and "delete" in r.verbs]


def group_resource(res: ResourceInfo) -> str:
    """``schema.GroupResource.String()``: "pods", "deployments.apps"."""
    return f"{res.plural}.{res.group}" if res.group else res.plural


@dataclass
class Remaining:
    """Objects still present after a deletion pass, by group-resource, and the finalizers holding them."""

    resources: Counter[str] = field(default_factory=Counter)
    finalizers: Counter[str] = field(default_factory=Counter)
    failures: list[str] = field(default_factory=list)

    def add(self, res: ResourceInfo, obj: Obj) -> None:
        self.resources[group_resource(res)] += 1
        for f in (obj.get("metadata") or {}).get("finalizers") or []:
            self.finalizers[f] += 1

    @property
    def empty(self) -> bool:
        return not self.resources and not self.failures


def has_finalizer(ns: Obj) -> bool:
    return FINALIZER in ((ns.get("spec") or {}).get("finalizers") or [])


def without_finalizer(ns: Obj) -> Obj:
    """The Namespace to PUT to ``/finalize``: spec.finalizers minus ``kubernetes``."""
    spec = dict(ns.get("spec") or {})
    spec["finalizers"] = [f for f in spec.get("finalizers") or [] if f != FINALIZER]
    return {**ns, "spec": spec}


def _cond(kind: str, true: bool, reason: str, message: str) -> Obj:
    return {"type": kind, "status": "True" if true else "False", "reason": reason, "message": message}


def deletion_conditions(remaining: Remaining) -> list[Obj]:
    """The namespace deleter's conditions, without timestamps (``with_transition_times`` adds them)."""
    if remaining.failures:
        content = _cond(
            "NamespaceDeletionContentFailure",
            True,
            "ContentDeletionFailed",
            f"Failed to delete all resource types, {len(remaining.failures)} remaining: "
            + ", ".join(sorted(remaining.failures)),
        )
    else:
        content = _cond(
            "NamespaceDeletionContentFailure",
            False,
            "ContentDeleted",
            "All content successfully deleted, may be waiting on finalization",
        )
    if remaining.resources:
        parts = [f"{gr} has {n} resource instances" for gr, n in sorted(remaining.resources.items())]
        left = _cond(
            "NamespaceContentRemaining",
            True,
            "SomeResourcesRemain",
            "Some resources are remaining: " + ", ".join(parts),
        )
    else:
        left = _cond("NamespaceContentRemaining", False, "ContentRemoved", "All content successfully removed")
    if remaining.finalizers:
        parts = [f"{f} in {n} resource instances" for f, n in sorted(remaining.finalizers.items())]
        message = "Some content in the namespace has finalizers remaining: " + ", ".join(parts)
        fins = _cond("NamespaceFinalizersRemaining", True, "SomeFinalizersRemain", message)
    else:
        fins = _cond(
            "NamespaceFinalizersRemaining",
            False,
            "ContentHasNoFinalizers",
            "All content-preserving finalizers finished",
        )
    return [
        _cond(
            "NamespaceDeletionDiscoveryFailure",
            False,
            "ResourcesDiscovered",
            "All resources successfully discovered",
        ),
        _cond(
            "NamespaceDeletionGroupVersionParsingFailure",
            False,
            "ParsedGroupVersions",
            "All legacy kube types successfully parsed",
        ),
        content,
        left,
        fins,
    ]


def with_transition_times(new: list[Obj], old: list[Obj], now_rfc3339: str) -> list[Obj]:
    """Keep a condition's lastTransitionTime while its status is unchanged."""
    before = {c.get("type"): c for c in old}
    out = []
    for cond in new:
        prev = before.get(cond["type"])
        same = prev is not None and prev.get("status") == cond["status"]
        out.append(
            {**cond, "lastTransitionTime": prev.get("lastTransitionTime") if same and prev else now_rfc3339}
        )
    return out


def conditions_changed(new: list[Obj], old: list[Obj]) -> bool:
    return _without_times(new) != _without_times(old)


def _without_times(conditions: list[Obj]) -> list[Obj]:
    return [{k: v for k, v in c.items() if k != "lastTransitionTime"} for c in conditions]
