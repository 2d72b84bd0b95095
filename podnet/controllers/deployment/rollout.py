"""The rollout arithmetic of Kubernetes' deployment controller, as pure functions over API dicts.

Covers ``ResolveFenceposts`` (maxSurge rounds up, maxUnavailable down, never
both zero), ``NewRSNewReplicas``, ``reconcileOldReplicaSets`` (unhealthy old
replicas first, then scale down while availability allows), Recreate, the
proportional ``scale`` for replica changes mid-rollout, and history cleanup.
Each step returns the scalings to make, as ``{rs name: replicas}``; the
controller applies them and syncs again on the next event, as Kubernetes does.
"""

from __future__ import annotations

import math
from typing import Any

from podnet.api.timestamps import parse_time
from podnet.controllers.replicaset.pods import is_deleting, meta

Obj = dict[str, Any]
Scales = dict[str, int]

REVISION = "deployment.kubernetes.io/revision"
REVISION_HISTORY = "deployment.kubernetes.io/revision-history"
DESIRED_REPLICAS = "deployment.kubernetes.io/desired-replicas"
MAX_REPLICAS = "deployment.kubernetes.io/max-replicas"
DEFAULT_SURGE_UNAVAILABLE = "25%"
DEFAULT_HISTORY_LIMIT = 10


# ---------------------------------------------------------------- accessors


def spec_replicas(obj: Obj) -> int:
    value = (obj.get("spec") or {}).get("replicas")
    return 1 if value is None else int(value)


def status_int(obj: Obj | None, field: str) -> int:
    return int(((obj or {}).get("status") or {}).get(field) or 0)


def annotation_int(obj: Obj, key: str) -> int | None:
    try:
        return int((meta(obj).get("annotations") or {})[key])
    except (KeyError, TypeError, ValueError):
        return None


def revision(rs: Obj) -> int:
    return annotation_int(rs, REVISION) or 0


def created_at(rs: Obj) -> tuple[float, str]:
    """Creation order, ties broken by name (``ReplicaSetsByCreationTimestamp``)."""
    return (parse_time(meta(rs).get("creationTimestamp")) or 0.0, meta(rs).get("name", ""))


def is_recreate(d: Obj) -> bool:
    return ((d.get("spec") or {}).get("strategy") or {}).get("type") == "Recreate"


# ---------------------------------------------------------------- surge and unavailability


def scaled_value(value: int | str | None, total: int, round_up: bool) -> int:
    """``GetScaledValueFromIntOrPercent``: an int as is, "N%" of ``total`` rounded as asked; None is 0."""
    if value is None:
        return 0
    if isinstance(value, bool):
        raise ValueError(f"invalid value for IntOrString: {value!r}")
    if isinstance(value, int):
        return value
    if not value.endswith("%") or not value[:-1].isdigit():
        raise ValueError(
            f'invalid value for IntOrString: invalid type: string is not a percentage: "{value}"'
        )
    scaled = int(value[:-1]) * total / 100
    return math.ceil(scaled) if round_up else math.floor(scaled)


def resolve_fenceposts(
    max_surge: int | str | None, max_unavailable: int | str | None, desired: int
) -> tuple[int, int]:
    """Absolute (surge, unavailable); both zero would deadlock a rollout, so unavailable becomes 1."""
    surge = scaled_value(max_surge, desired, True)
    unavailable = scaled_value(max_unavailable, desired, False)
    if surge == 0 and unavailable == 0:
        unavailable = 1
    return surge, unavailable


def _rolling(d: Obj) -> Obj:
    """rollingUpdate with the API's defaults (25% each) for fields the server did not fill in."""
    given = ((d.get("spec") or {}).get("strategy") or {}).get("rollingUpdate") or {}
    return {
        "maxSurge": given.get("maxSurge", DEFAULT_SURGE_UNAVAILABLE),
        "maxUnavailable": given.get("maxUnavailable", DEFAULT_SURGE_UNAVAILABLE),
    }


def max_surge(d: Obj) -> int:
    if is_recreate(d):
        return 0
    r = _rolling(d)
    return resolve_fenceposts(r.get("maxSurge"), r.get("maxUnavailable"), spec_replicas(d))[0]


def max_unavailable(d: Obj) -> int:
    if is_recreate(d) or spec_replicas(d) == 0:
        return 0
    r = _rolling(d)
    unavailable = resolve_fenceposts(r.get("maxSurge"), r.get("maxUnavailable"), spec_replicas(d))[1]
    return min(unavailable, spec_replicas(d))


# ---------------------------------------------------------------- rolling update


def new_rs_new_replicas(d: Obj, all_rss: list[Obj], new_rs: Obj) -> int:
    """How big the new RS may be now: up to replicas + maxSurge pods in all (``NewRSNewReplicas``)."""
    if is_recreate(d):
        return spec_replicas(d)
    current = sum(spec_replicas(rs) for rs in all_rss)
    max_total = spec_replicas(d) + max_surge(d)
    if current >= max_total:
        return spec_replicas(new_rs)
    scale_up = min(max_total - current, spec_replicas(d) - spec_replicas(new_rs))
    return spec_replicas(new_rs) + scale_up


def reconcile_new(d: Obj, all_rss: list[Obj], new_rs: Obj) -> Scales:
    want = spec_replicas(d)
    if spec_replicas(new_rs) == want:
        return {}
    if spec_replicas(new_rs) > want:
        return {meta(new_rs)["name"]: want}
    target = new_rs_new_replicas(d, all_rss, new_rs)
    return {meta(new_rs)["name"]: target} if target != spec_replicas(new_rs) else {}


def reconcile_old(d: Obj, all_rss: list[Obj], old_rss: list[Obj], new_rs: Obj) -> Scales:
    """Scale old RSes down as far as ``maxUnavailable`` allows (``reconcileOldReplicaSets``)."""
    active_old = sorted((rs for rs in old_rss if spec_replicas(rs) > 0), key=created_at)
    if not active_old:
        return {}
    sizes = {meta(rs)["name"]: spec_replicas(rs) for rs in all_rss}
    min_available = spec_replicas(d) - max_unavailable(d)
    new_unavailable = spec_replicas(new_rs) - status_int(new_rs, "availableReplicas")
    max_scaled_down = sum(sizes.values()) - min_available - new_unavailable
    if max_scaled_down <= 0:
        return {}
    scales: Scales = {}
    # Unhealthy old replicas first: removing them cannot lower availability.
    cleaned = 0
    for rs in active_old:
        name = meta(rs)["name"]
        if cleaned >= max_scaled_down:
            break
        unhealthy = sizes[name] - status_int(rs, "availableReplicas")
        if sizes[name] == 0 or unhealthy <= 0:
            continue
        down = min(max_scaled_down - cleaned, unhealthy)
        sizes[name] -= down
        scales[name] = sizes[name]
        cleaned += down
    # Then healthy ones, while more than minAvailable pods are available.
    available = sum(status_int(rs, "availableReplicas") for rs in all_rss)
    budget = available - min_available
    for rs in active_old:
        name = meta(rs)["name"]
        if budget <= 0:
            break
        if sizes[name] == 0:
            continue
        down = min(sizes[name], budget)
        sizes[name] -= down
        scales[name] = sizes[name]
        budget -= down
    return scales


def rolling_step(d: Obj, new_rs: Obj, old_rss: list[Obj]) -> Scales:
    """One step of RollingUpdate: scale the new RS up if it may grow, else old ones down if they may shrink."""
    all_rss = [*old_rss, new_rs]
    return reconcile_new(d, all_rss, new_rs) or reconcile_old(d, all_rss, old_rss, new_rs)


# ---------------------------------------------------------------- recreate


def recreate_scale_down(old_rss: list[Obj]) -> Scales:
    return {meta(rs)["name"]: 0 for rs in old_rss if spec_replicas(rs) > 0}


def old_pods_running(new_rs: Obj | None, old_rss: list[Obj], pods_by_rs_uid: dict[str, list[Obj]]) -> bool:
    """Whether any old pod still runs: Recreate must not start new pods before (``oldPodsRunning``)."""
    if sum(status_int(rs, "replicas") for rs in old_rss) > 0:
        return True
    new_uid = meta(new_rs).get("uid") if new_rs is not None else None
    for uid, pods in pods_by_rs_uid.items():
        if uid == new_uid:
            continue
        if any((p.get("status") or {}).get("phase") not in ("Failed", "Succeeded") for p in pods):
            return True
    return False


# ---------------------------------------------------------------- scaling mid-rollout


def is_scaling_event(d: Obj, all_rss: list[Obj]) -> bool:
    """Replicas changed while RSes still carry the old desired count (``isScalingEvent``)."""
    for rs in all_rss:
        desired = annotation_int(rs, DESIRED_REPLICAS)
        if spec_replicas(rs) > 0 and desired is not None and desired != spec_replicas(d):
            return True
    return False


def _active_or_latest(new_rs: Obj | None, old_rss: list[Obj]) -> Obj | None:
    everything = ([new_rs] if new_rs is not None else []) + list(old_rss)
    active = [rs for rs in everything if spec_replicas(rs) > 0]
    if not active:
        if new_rs is not None:
            return new_rs
        return max(old_rss, key=created_at) if old_rss else None
    return active[0] if len(active) == 1 else None


def _is_saturated(d: Obj, new_rs: Obj | None) -> bool:
    if new_rs is None:
        return False
    want = spec_replicas(d)
    return (
        spec_replicas(new_rs) == want
        and annotation_int(new_rs, DESIRED_REPLICAS) == want
        and status_int(new_rs, "availableReplicas") == want
    )


def _fraction(rs: Obj, d: Obj) -> int:
    """How much this RS would change if scaled in proportion to its max-replicas annotation."""
    if spec_replicas(d) == 0:
        return -spec_replicas(rs)
    allowed = spec_replicas(d) + max_surge(d)
    annotated = annotation_int(rs, MAX_REPLICAS) or status_int(d, "replicas")
    if annotated <= 0:
        return 0
    new_size = spec_replicas(rs) * allowed / annotated
    return math.floor(new_size + 0.5) - spec_replicas(rs)  # RoundToInt32: half away from zero (>= 0 here)


def _proportion(rs: Obj, d: Obj, to_add: int, added: int) -> int:
    if spec_replicas(rs) == 0 or to_add == 0 or to_add == added:
        return 0
    fraction, allowed = _fraction(rs, d), to_add - added
    return min(fraction, allowed) if to_add > 0 else max(fraction, allowed)


def scale_step(d: Obj, new_rs: Obj | None, old_rss: list[Obj]) -> Scales:
    """Resize for a changed ``spec.replicas`` (``scale``), proportionally across RSes mid-rollout."""
    only = _active_or_latest(new_rs, old_rss)
    if only is not None:
        return {} if spec_replicas(only) == spec_replicas(d) else {meta(only)["name"]: spec_replicas(d)}
    if _is_saturated(d, new_rs):
        return recreate_scale_down(old_rss)
    if is_recreate(d):
        return {}
    everything = ([new_rs] if new_rs is not None else []) + list(old_rss)
    active = [rs for rs in everything if spec_replicas(rs) > 0]
    allowed = spec_replicas(d) + max_surge(d) if spec_replicas(d) > 0 else 0
    to_add = allowed - sum(spec_replicas(rs) for rs in active)
    newest_first = sorted(active, key=created_at, reverse=True)
    if to_add > 0:  # largest first; ties: newer first
        ordered = sorted(newest_first, key=lambda rs: -spec_replicas(rs))
    else:  # largest first; ties: older first
        ordered = sorted(sorted(active, key=created_at), key=lambda rs: -spec_replicas(rs))
    sizes: Scales = {}
    added = 0
    for rs in ordered:
        change = _proportion(rs, d, to_add, added)
        sizes[meta(rs)["name"]] = spec_replicas(rs) + change
        added += change
    if ordered and to_add != 0:  # leftovers go to the largest
        first = meta(ordered[0])["name"]
        sizes[first] = max(0, sizes[first] + to_add - added)
    return sizes


# ---------------------------------------------------------------- history


def history_to_delete(d: Obj, old_rss: list[Obj]) -> list[Obj]:
    """Old, empty RSes beyond ``revisionHistoryLimit``, lowest revision first (``cleanupDeployment``)."""
    limit = (d.get("spec") or {}).get("revisionHistoryLimit")
    limit = DEFAULT_HISTORY_LIMIT if limit is None else int(limit)
    cleanable = sorted(
        (rs for rs in old_rss if not is_deleting(rs)), key=lambda rs: (revision(rs), created_at(rs))
    )
    excess = len(cleanable) - limit
    if excess <= 0:
        return []
    out = []
    for rs in cleanable[:excess]:
        busy = status_int(rs, "replicas") != 0 or spec_replicas(rs) != 0
        stale = int(meta(rs).get("generation") or 0) > status_int(rs, "observedGeneration")
        if not busy and not stale:
            out.append(rs)
    return out
