"""Deciding a node's health from its Lease: pure functions of (node, lease, first seen, now)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from podnet.api.timestamps import parse_time
from podnet.api.timestamps import rfc3339 as format_time

Obj = dict[str, Any]

UNKNOWN_REASON = "NodeStatusUnknown"
UNKNOWN_MESSAGE = "Kubelet stopped posting node status."


def ready_condition(node: Obj) -> Obj | None:
    for cond in (node.get("status") or {}).get("conditions") or []:
        if cond.get("type") == "Ready":
            return dict(cond)
    return None


def last_heartbeat(node: Obj, lease: Obj | None, first_seen: float) -> float:
    """The newest sign of life: the Lease's renewTime, the Ready heartbeat, or when we first saw the node."""
    candidates = [first_seen]
    if lease is not None:
        renew = parse_time((lease.get("spec") or {}).get("renewTime"))
        if renew is not None:
            candidates.append(renew)
    cond = ready_condition(node)
    if cond is not None:
        beat = parse_time(cond.get("lastHeartbeatTime"))
        if beat is not None:
            candidates.append(beat)
    return max(candidates)


@dataclass(frozen=True)
class Verdict:
    mark_unknown: bool  # set Ready=Unknown now
    unhealthy: bool  # Ready is (or becomes) Unknown: its pods must not be Ready
    evict: bool  # Unknown for longer than the eviction timeout: delete its pods


def judge(
    node: Obj, lease: Obj | None, first_seen: float, now: float, grace: float, eviction: float
) -> Verdict:
    cond = ready_condition(node)
    stale = now - last_heartbeat(node, lease, first_seen) > grace
    if not stale:
        return Verdict(False, False, False)
    if cond is None or cond.get("status") != "Unknown":
        return Verdict(True, True, False)
    since = parse_time(cond.get("lastTransitionTime")) or now
    return Verdict(False, True, now - since >= eviction)


def unknown_conditions(node: Obj, now: float) -> list[Obj]:
    """The node's conditions with every one set to Unknown, as the node lifecycle controller does."""
    out = []
    conds = list((node.get("status") or {}).get("conditions") or [])
    if not any(c.get("type") == "Ready" for c in conds):
        conds.append({"type": "Ready"})
    for cond in conds:
        c = dict(cond)
        if c.get("status") != "Unknown":
            c["lastTransitionTime"] = format_time(now)
        c.update(status="Unknown", reason=UNKNOWN_REASON, message=UNKNOWN_MESSAGE)
        c["lastHeartbeatTime"] = cond.get("lastHeartbeatTime") or format_time(now)
        out.append(c)
    return out


def not_ready_conditions(pod: Obj, now: float) -> list[Obj] | None:
    """The pod's conditions with Ready False, or None when it is not Ready already."""
    conds = list((pod.get("status") or {}).get("conditions") or [])
    changed = False
    out = []
    for cond in conds:
        c = dict(cond)
        if c.get("type") == "Ready" and c.get("status") != "False":
            c.update(status="False", lastTransitionTime=format_time(now))
            changed = True
        out.append(c)
    return out if changed else None
