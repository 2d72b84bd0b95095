"""Pod and owner-reference facts shared by workload controllers (Kubernetes' podutil, controller_utils).

Timestamps are RFC 3339 strings in the API; ``parse_time`` turns them into
epoch seconds so availability (ready for ``minReadySeconds``) is computed
against an injected ``now`` instead of the clock.
"""

from __future__ import annotations

from typing import Any

from podnet.api.timestamps import parse_time

Obj = dict[str, Any]

TERMINAL_PHASES = ("Succeeded", "Failed")


def meta(obj: Obj) -> Obj:
    return obj.get("metadata") or {}


def is_deleting(obj: Obj) -> bool:
    return bool(meta(obj).get("deletionTimestamp"))


def is_pod_active(pod: Obj) -> bool:
    """Counts toward replicas: not finished and not on its way out (``controller.IsPodActive``)."""
    phase = (pod.get("status") or {}).get("phase")
    return phase not in TERMINAL_PHASES and not is_deleting(pod)


def ready_condition(pod: Obj) -> Obj | None:
    for cond in (pod.get("status") or {}).get("conditions") or []:
        if cond.get("type") == "Ready":
            return dict(cond)
    return None


def is_pod_ready(pod: Obj) -> bool:
    cond = ready_condition(pod)
    return cond is not None and cond.get("status") == "True"


def ready_since(pod: Obj) -> float | None:
    """When the pod last became Ready; None if not ready or the time is unknown."""
    cond = ready_condition(pod)
    if cond is None or cond.get("status") != "True":
        return None
    return parse_time(cond.get("lastTransitionTime"))


def is_pod_available(pod: Obj, min_ready_seconds: int, now: float) -> bool:
    """Ready for at least ``min_ready_seconds`` (``podutil.IsPodAvailable``)."""
    if not is_pod_ready(pod):
        return False
    if min_ready_seconds <= 0:
        return True
    since = ready_since(pod)
    return since is not None and since + min_ready_seconds <= now


# ---------------------------------------------------------------- owner references


def controller_ref(obj: Obj) -> Obj | None:
    """The ownerReference with ``controller: true``, if any."""
    for ref in meta(obj).get("ownerReferences") or []:
        if ref.get("controller"):
            return dict(ref)
    return None


def new_controller_ref(owner: Obj) -> Obj:
    """An ownerReference that makes ``owner`` the controller, blocking its foreground deletion."""
    m = meta(owner)
    return {
        "apiVersion": owner.get("apiVersion", ""),
        "kind": owner.get("kind", ""),
        "name": m.get("name", ""),
        "uid": m.get("uid", ""),
        "controller": True,
        "blockOwnerDeletion": True,
    }


def refs_with(obj: Obj, ref: Obj) -> list[Obj]:
    """``obj``'s ownerReferences with ``ref`` added (replacing any to the same uid)."""
    others = [r for r in meta(obj).get("ownerReferences") or [] if r.get("uid") != ref.get("uid")]
    return [*others, ref]


def refs_without(obj: Obj, uid: str) -> list[Obj]:
    return [r for r in meta(obj).get("ownerReferences") or [] if r.get("uid") != uid]


def owner_refs_patch(obj: Obj, refs: list[Obj]) -> Obj:
    """A merge patch setting ownerReferences, guarded by resourceVersion so a racing writer gets a 409."""
    return {
        "metadata": {
            "ownerReferences": refs or None,
            "resourceVersion": meta(obj).get("resourceVersion"),
        }
    }
