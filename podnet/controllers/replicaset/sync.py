"""What a ReplicaSet sync should do, as pure functions of the RS and its pods (no I/O, no clock).

Mirrors Kubernetes' replica_set.go: ``manageReplicas`` (how many pods to
create or which to delete, in slow-start batches capped by ``burstReplicas``),
``getPodsToDelete`` (the ranking that prefers unscheduled, pending, unready,
doubled-up and newest pods) and ``calculateStatus``.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field

from podnet.api.timestamps import parse_time, rfc3339
from podnet.controllers.replicaset.pods import (
    Obj,
    is_pod_available,
    is_pod_ready,
    meta,
    new_controller_ref,
    ready_since,
)

# Kubernetes' BurstReplicas: at most this many creates or deletes per sync.
BURST_REPLICAS = 500
DELETION_COST_ANNOTATION = "controller.kubernetes.io/pod-deletion-cost"
_PHASE_ORDINAL = {"Pending": 0, "Unknown": 1, "Running": 2}


@dataclass(frozen=True)
class ReplicaPlan:
    create: int = 0
    delete: list[Obj] = field(default_factory=list)


def desired_replicas(rs: Obj) -> int:
    replicas = (rs.get("spec") or {}).get("replicas")
    return 1 if replicas is None else int(replicas)


def min_ready_seconds(obj: Obj) -> int:
    return int((obj.get("spec") or {}).get("minReadySeconds") or 0)


def plan_replicas(rs: Obj, active: list[Obj], burst: int = BURST_REPLICAS) -> ReplicaPlan:
    """Close the gap between ``spec.replicas`` and the active pods, at most ``burst`` at a time."""
    diff = len(active) - desired_replicas(rs)
    if diff < 0:
        return ReplicaPlan(create=min(-diff, burst))
    if diff > 0:
        return ReplicaPlan(delete=pods_to_delete(active, min(diff, burst)))
    return ReplicaPlan()


def slow_start_batches(count: int, initial: int = 1) -> list[int]:
    """Batch sizes 1, 2, 4, ... summing to ``count``: a failing quota or webhook costs one call, not N."""
    out: list[int] = []
    remaining, size = count, min(count, initial)
    while remaining > 0 and size > 0:
        out.append(size)
        remaining -= size
        size = min(2 * size, remaining)
    return out


def _zero_first_newest(t: float | None) -> tuple[int, float]:
    """``afterOrZero``: unknown times sort first, then later before earlier."""
    return (0, 0.0) if t is None else (1, -t)


def _deletion_cost(pod: Obj) -> int:
    try:
        return int((meta(pod).get("annotations") or {}).get(DELETION_COST_ANNOTATION, 0))
    except (TypeError, ValueError):
        return 0


def _max_restarts(pod: Obj) -> int:
    statuses = (pod.get("status") or {}).get("containerStatuses") or []
    return max((int(s.get("restartCount") or 0) for s in statuses), default=0)


def _node(pod: Obj) -> str:
    return str((pod.get("spec") or {}).get("nodeName") or "")


def deletion_rank_key(pod: Obj, colocated: int) -> tuple[object, ...]:
    """Sort key of ``ActivePodsWithRanks``: the pods sorting first are deleted first.

    ``colocated`` is how many of the related pods share this pod's node
    (doubled-up pods go first). Ready time compares linearly, as with the
    LogarithmicScaleDown gate off.
    """
    ready = is_pod_ready(pod)
    return (
        1 if _node(pod) else 0,
        _PHASE_ORDINAL.get(str((pod.get("status") or {}).get("phase")), 0),
        1 if ready else 0,
        _deletion_cost(pod),
        -colocated,
        _zero_first_newest(ready_since(pod)) if ready else (0, 0.0),
        -_max_restarts(pod),
        _zero_first_newest(parse_time(meta(pod).get("creationTimestamp"))),
    )


def pods_to_delete(pods: list[Obj], count: int, related: list[Obj] | None = None) -> list[Obj]:
    """The ``count`` pods Kubernetes would delete first; ``related`` (default: ``pods``) sets the ranks."""
    per_node: dict[str, int] = {}
    for p in related if related is not None else pods:
        if _node(p):
            per_node[_node(p)] = per_node.get(_node(p), 0) + 1
    ranked = sorted(pods, key=lambda p: deletion_rank_key(p, per_node.get(_node(p), 0) if _node(p) else 0))
    return ranked[:count]


def new_pod(rs: Obj) -> Obj:
    """A pod from the RS's template, controlled by it (``GetPodFromTemplate``)."""
    template = (rs.get("spec") or {}).get("template") or {}
    tmeta = template.get("metadata") or {}
    pod_meta: Obj = {
        "generateName": f"{meta(rs)['name']}-",
        "namespace": meta(rs).get("namespace", ""),
        "ownerReferences": [new_controller_ref(rs)],
    }
    for key in ("labels", "annotations", "finalizers"):
        if tmeta.get(key):
            pod_meta[key] = copy.deepcopy(tmeta[key])
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": pod_meta,
        "spec": copy.deepcopy(template.get("spec") or {}),
    }


def _fully_labeled(pod: Obj, template_labels: dict[str, str]) -> bool:
    labels = meta(pod).get("labels") or {}
    return all(labels.get(k) == v for k, v in template_labels.items())


def calculate_status(rs: Obj, active: list[Obj], now: float, failure: str | None = None) -> Obj:
    """The RS status for its active pods; ``failure`` (a create/delete error) sets ReplicaFailure."""
    template_labels = (((rs.get("spec") or {}).get("template") or {}).get("metadata") or {}).get(
        "labels"
    ) or {}
    mrs = min_ready_seconds(rs)
    status: Obj = {
        "replicas": len(active),
        "fullyLabeledReplicas": sum(1 for p in active if _fully_labeled(p, template_labels)),
        "readyReplicas": sum(1 for p in active if is_pod_ready(p)),
        "availableReplicas": sum(1 for p in active if is_pod_available(p, mrs, now)),
        "observedGeneration": int(meta(rs).get("generation") or 0),
    }
    old_conditions = [c for c in (rs.get("status") or {}).get("conditions") or []]
    failure_cond = next((c for c in old_conditions if c.get("type") == "ReplicaFailure"), None)
    if failure is not None:
        reason = "FailedCreate" if failure.startswith("create") else "FailedDelete"
        if failure_cond is None or failure_cond.get("message") != failure:
            failure_cond = {
                "type": "ReplicaFailure",
                "status": "True",
                "reason": reason,
                "message": failure,
                "lastTransitionTime": rfc3339(now),
            }
        status["conditions"] = [failure_cond]
    elif failure_cond is not None and len(active) != desired_replicas(rs):
        status["conditions"] = [failure_cond]  # cleared only once the RS reaches its size, like Kubernetes
    return status


def status_differs(old: Obj | None, new: Obj) -> bool:
    old = old or {}
    return any(old.get(k, 0 if k != "conditions" else None) != v for k, v in new.items()) or (
        "conditions" in old and "conditions" not in new
    )


def available_requeue_after(rs: Obj, active: list[Obj], now: float) -> float | None:
    """Seconds until the next ready pod turns available (Kubernetes re-syncs after minReadySeconds)."""
    mrs = min_ready_seconds(rs)
    if mrs <= 0:
        return None
    waits = [
        since + mrs - now
        for p in active
        if (since := ready_since(p)) is not None and not is_pod_available(p, mrs, now)
    ]
    if not waits:
        return None
    return max(0.001, min(waits))
