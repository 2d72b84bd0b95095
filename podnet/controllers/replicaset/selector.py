"""``metav1.LabelSelector`` matching (matchLabels + matchExpressions), as ``metav1.LabelSelectorAsSelector``.

Workload selectors are structured objects, unlike a Service's plain map, so
ReplicaSets and Deployments need the full operator set. An empty selector
matches everything and a missing one matches nothing, as in Kubernetes;
an unknown operator matches nothing rather than everything, the safe side
for a controller that adopts and deletes.
"""

from __future__ import annotations

from typing import Any

Selector = dict[str, Any]


def _expression_matches(expr: dict[str, Any], labels: dict[str, str]) -> bool:
    key, op = expr.get("key", ""), expr.get("operator", "")
    values = expr.get("values") or []
    if op == "In":
        return key in labels and labels[key] in values
    if op == "NotIn":
        return key not in labels or labels[key] not in values
    if op == "Exists":
        return key in labels
    if op == "DoesNotExist":
        return key not in labels
    return False


def selector_matches(selector: Selector | None, labels: dict[str, str] | None) -> bool:
    """Whether ``labels`` satisfy a LabelSelector; None selects nothing, ``{}`` everything."""
    if selector is None:
        return False
    labels = labels or {}
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    return all(_expression_matches(e, labels) for e in selector.get("matchExpressions") or [])


def selector_is_empty(selector: Selector | None) -> bool:
    """An empty selector would claim every pod in the namespace: controllers refuse to act on it."""
    return not selector or (not selector.get("matchLabels") and not selector.get("matchExpressions"))


def selector_to_string(selector: Selector) -> str:
    """The selector in the ``labelSelector`` query grammar (the scale subresource's status.selector)."""
    parts = [f"{k}={v}" for k, v in sorted((selector.get("matchLabels") or {}).items())]
    for e in selector.get("matchExpressions") or []:
        key, op, values = e.get("key", ""), e.get("operator", ""), sorted(e.get("values") or [])
        if op in ("In", "NotIn"):
            parts.append(f"{key} {op.lower()} ({','.join(values)})")
        elif op == "Exists":
            parts.append(key)
        elif op == "DoesNotExist":
            parts.append(f"!{key}")
    return ",".join(parts)
