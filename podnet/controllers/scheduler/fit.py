"""Which nodes a pod fits on and which one to pick: pure, the scheduler's filter and score steps.

Filters (kube-scheduler plugin in brackets): node Ready [NodeReady via the
not-ready taint], not cordoned [NodeUnschedulable], every NoSchedule/NoExecute
taint tolerated [TaintToleration], spec.nodeSelector matched [NodeAffinity].
Score: the fewest pods, ties broken by node name, which spreads replicas.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

Obj = dict[str, Any]

UNSCHEDULABLE_TAINT = "node.kubernetes.io/unschedulable"
NOT_READY_TAINT = "node.kubernetes.io/not-ready"
REASON_SELECTOR = "node(s) didn't match Pod's node affinity/selector"
REASON_UNSCHEDULABLE = "node(s) were unschedulable"


def node_ready(node: Obj) -> bool:
    for cond in (node.get("status") or {}).get("conditions") or []:
        if cond.get("type") == "Ready":
            return bool(cond.get("status") == "True")
    return False


def tolerates(toleration: Obj, taint: Obj) -> bool:
    if toleration.get("effect") and toleration.get("effect") != taint.get("effect"):
        return False
    key = toleration.get("key") or ""
    if toleration.get("operator") == "Exists":
        return not key or key == taint.get("key")
    return key == taint.get("key") and (toleration.get("value") or "") == (taint.get("value") or "")


def _taint_text(taint: Obj) -> str:
    return f"node(s) had untolerated taint {{{taint.get('key', '')}: {taint.get('value', '')}}}"


def unfit_reason(pod: Obj, node: Obj) -> str:
    """Why ``pod`` cannot go to ``node``, worded as kube-scheduler; "" when it fits."""
    spec = pod.get("spec") or {}
    tolerations = spec.get("tolerations") or []
    node_spec = node.get("spec") or {}
    implicit = []
    if not node_ready(node):
        implicit.append({"key": NOT_READY_TAINT, "effect": "NoSchedule"})
    if node_spec.get("unschedulable"):
        if not any(tolerates(t, {"key": UNSCHEDULABLE_TAINT, "effect": "NoSchedule"}) for t in tolerations):
            return REASON_UNSCHEDULABLE
    for taint in implicit + list(node_spec.get("taints") or []):
        if taint.get("effect") not in ("NoSchedule", "NoExecute"):
            continue
        if not any(tolerates(t, taint) for t in tolerations):
            return _taint_text(taint)
    labels = (node.get("metadata") or {}).get("labels") or {}
    if any(labels.get(k) != v for k, v in (spec.get("nodeSelector") or {}).items()):
        return REASON_SELECTOR
    return ""


def place_of(pod: Obj) -> str:
    """The node a pod holds a place on (bound and not finished), or ""."""
    node = (pod.get("spec") or {}).get("nodeName")
    if not node or (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed"):
        return ""
    return str(node)


def schedule(pod: Obj, nodes: list[Obj], load: Counter[str]) -> tuple[str, str]:
    """(node name, "") for the best fitting node, or ("", kube-scheduler's FitError message)."""
    fits: list[str] = []
    reasons: Counter[str] = Counter()
    for node in nodes:
        reason = unfit_reason(pod, node)
        if reason:
            reasons[reason] += 1
        else:
            fits.append(node["metadata"]["name"])
    if fits:
        return min(fits, key=lambda n: (load.get(n, 0), n)), ""
    if not nodes:
        return "", "no nodes available to schedule pods"
    parts = ", ".join(sorted(f"{count} {reason}" for reason, count in reasons.items()))  # as FitError sorts
    return "", f"0/{len(nodes)} nodes are available: {parts}."
