"""Deployment status and its Available/Progressing conditions, worded as Kubernetes' deployment controller.

``kubectl rollout status`` reads observedGeneration, updatedReplicas,
replicas, availableReplicas and a ProgressDeadlineExceeded Progressing
condition, so these follow ``calculateStatus`` and ``syncRolloutStatus``
field for field. ``now`` is passed in: conditions carry timestamps and the
progress deadline is a duration.
"""

from __future__ import annotations

import copy
from typing import Any

from podnet.api.timestamps import parse_time, rfc3339
from podnet.controllers.deployment.rollout import max_unavailable, spec_replicas, status_int
from podnet.controllers.replicaset.pods import meta

Obj = dict[str, Any]

AVAILABLE, PROGRESSING = "Available", "Progressing"
MINIMUM_REPLICAS_AVAILABLE = "MinimumReplicasAvailable"
MINIMUM_REPLICAS_UNAVAILABLE = "MinimumReplicasUnavailable"
NEW_RS_AVAILABLE = "NewReplicaSetAvailable"
RS_UPDATED = "ReplicaSetUpdated"
NEW_RS_CREATED = "NewReplicaSetCreated"
FOUND_NEW_RS = "FoundNewReplicaSet"
TIMED_OUT = "ProgressDeadlineExceeded"
PAUSED, RESUMED = "DeploymentPaused", "DeploymentResumed"
DEFAULT_PROGRESS_DEADLINE = 600
NO_PROGRESS_DEADLINE = 2**31 - 1  # math.MaxInt32: "never time out"


def condition(kind: str, status: str, reason: str, message: str, now: float) -> Obj:
    ts = rfc3339(now)
    return {
        "type": kind,
        "status": status,
        "lastUpdateTime": ts,
        "lastTransitionTime": ts,
        "reason": reason,
        "message": message,
    }


def get_condition(status: Obj | None, kind: str) -> Obj | None:
    return next((c for c in (status or {}).get("conditions") or [] if c.get("type") == kind), None)


def set_condition(status: Obj, cond: Obj) -> None:
    """``SetDeploymentCondition``: same status and reason is no change; same status keeps the transition time."""
    current = get_condition(status, cond["type"])
    if (
        current is not None
        and current.get("status") == cond["status"]
        and current.get("reason") == cond["reason"]
    ):
        return
    if current is not None and current.get("status") == cond["status"]:
        cond = {**cond, "lastTransitionTime": current.get("lastTransitionTime")}
    others = [c for c in status.get("conditions") or [] if c.get("type") != cond["type"]]
    status["conditions"] = [*others, cond]


def remove_condition(status: Obj, kind: str) -> None:
    status["conditions"] = [c for c in status.get("conditions") or [] if c.get("type") != kind]


def progress_deadline(d: Obj) -> int | None:
    value = (d.get("spec") or {}).get("progressDeadlineSeconds")
    value = DEFAULT_PROGRESS_DEADLINE if value is None else int(value)
    return None if value == NO_PROGRESS_DEADLINE else value


def calculate_status(d: Obj, all_rss: list[Obj], new_rs: Obj | None, now: float) -> Obj:
    """Counts over the RSes plus the Available condition; other conditions are carried over."""
    available = sum(status_int(rs, "availableReplicas") for rs in all_rss)
    total = sum(spec_replicas(rs) for rs in all_rss)
    old = d.get("status") or {}
    status: Obj = {
        "observedGeneration": int(meta(d).get("generation") or 0),
        "replicas": sum(status_int(rs, "replicas") for rs in all_rss),
        "updatedReplicas": status_int(new_rs, "replicas") if new_rs is not None else 0,
        "readyReplicas": sum(status_int(rs, "readyReplicas") for rs in all_rss),
        "availableReplicas": available,
        "unavailableReplicas": max(0, total - available),
        "conditions": copy.deepcopy(old.get("conditions") or []),
    }
    if old.get("collisionCount") is not None:
        status["collisionCount"] = old["collisionCount"]
    if available >= spec_replicas(d) - max_unavailable(d):
        cond = condition(
            AVAILABLE, "True", MINIMUM_REPLICAS_AVAILABLE, "Deployment has minimum availability.", now
        )
    else:
        cond = condition(
            AVAILABLE,
            "False",
            MINIMUM_REPLICAS_UNAVAILABLE,
            "Deployment does not have minimum availability.",
            now,
        )
    set_condition(status, cond)
    return status


def deployment_complete(d: Obj, status: Obj) -> bool:
    want = spec_replicas(d)
    return (
        int(status.get("updatedReplicas") or 0) == want
        and int(status.get("replicas") or 0) == want
        and int(status.get("availableReplicas") or 0) == want
        and int(status.get("observedGeneration") or 0) >= int(meta(d).get("generation") or 0)
    )


def _progressing(d: Obj, new: Obj) -> bool:
    old = d.get("status") or {}
    old_old = int(old.get("replicas") or 0) - int(old.get("updatedReplicas") or 0)
    new_old = int(new.get("replicas") or 0) - int(new.get("updatedReplicas") or 0)
    return (
        int(new.get("updatedReplicas") or 0) > int(old.get("updatedReplicas") or 0)
        or new_old < old_old
        or int(new.get("readyReplicas") or 0) > int(old.get("readyReplicas") or 0)
        or int(new.get("availableReplicas") or 0) > int(old.get("availableReplicas") or 0)
    )


def _timed_out(d: Obj, status: Obj, now: float) -> bool:
    deadline = progress_deadline(d)
    cond = get_condition(status, PROGRESSING)
    if deadline is None or cond is None or cond.get("reason") == NEW_RS_AVAILABLE:
        return False
    if cond.get("reason") == TIMED_OUT:
        return True
    since = parse_time(cond.get("lastUpdateTime"))
    return since is not None and since + deadline < now


def rollout_status(d: Obj, all_rss: list[Obj], new_rs: Obj | None, now: float) -> Obj:
    """``syncRolloutStatus``: the status plus a Progressing condition that tracks progress and its deadline."""
    status = calculate_status(d, all_rss, new_rs, now)
    if progress_deadline(d) is None:
        remove_condition(status, PROGRESSING)
        return status
    current = get_condition(d.get("status"), PROGRESSING)
    complete = (
        status["replicas"] == status["updatedReplicas"]
        and current is not None
        and current.get("reason") == NEW_RS_AVAILABLE
    )
    if complete:
        return status
    rs_name = meta(new_rs).get("name") if new_rs is not None else None
    if deployment_complete(d, status):
        message = f'ReplicaSet "{rs_name}" has successfully progressed.'
        set_condition(status, condition(PROGRESSING, "True", NEW_RS_AVAILABLE, message, now))
    elif _progressing(d, status):
        message = (
            f'ReplicaSet "{rs_name}" is progressing.'
            if rs_name
            else f'Deployment "{meta(d)["name"]}" is progressing.'
        )
        cond = condition(PROGRESSING, "True", RS_UPDATED, message, now)
        if current is not None:
            if current.get("status") == "True":
                cond["lastTransitionTime"] = current.get("lastTransitionTime")
            remove_condition(status, PROGRESSING)
        set_condition(status, cond)
    elif _timed_out(d, status, now):
        what = f'ReplicaSet "{rs_name}"' if rs_name else f'Deployment "{meta(d)["name"]}"'
        set_condition(
            status, condition(PROGRESSING, "False", TIMED_OUT, f"{what} has timed out progressing.", now)
        )
    return status


def requeue_for_deadline(d: Obj, status: Obj, now: float) -> float | None:
    """Seconds until a stuck rollout should be checked against its deadline (``requeueStuckDeployment``)."""
    deadline = progress_deadline(d)
    cond = get_condition(status, PROGRESSING)
    if deadline is None or cond is None or cond.get("reason") in (NEW_RS_AVAILABLE, TIMED_OUT):
        return None
    if deployment_complete(d, status):
        return None
    since = parse_time(cond.get("lastUpdateTime"))
    if since is None:
        return None
    return max(1.0, since + deadline - now + 1)


def paused_condition(d: Obj, now: float) -> Obj | None:
    """The Progressing condition to set when a Deployment is paused or resumed, if it changed."""
    if progress_deadline(d) is None:
        return None
    current = get_condition(d.get("status"), PROGRESSING)
    if current is not None and current.get("reason") == TIMED_OUT:
        return None
    paused_now = bool((d.get("spec") or {}).get("paused"))
    was_paused = current is not None and current.get("reason") == PAUSED
    if paused_now and not was_paused:
        return condition(PROGRESSING, "Unknown", PAUSED, "Deployment is paused", now)
    if not paused_now and was_paused:
        return condition(PROGRESSING, "Unknown", RESUMED, "Deployment is resumed", now)
    return None


def status_changed(old: Obj | None, new: Obj) -> bool:
    """Write only on a real change: every status write wakes every watcher of Deployments."""
    return (old or {}) != new
