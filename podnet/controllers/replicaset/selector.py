"""Workload selectors (``metav1.LabelSelector``) as ReplicaSets and Deployments apply them.

Matching is ``podnet.api.labels``; this adds the two controller rules on
top: a selector the API would reject matches nothing (the safe side for a
controller that adopts and deletes), and an empty selector is never acted
on, since it would claim every pod in the namespace.
"""

from __future__ import annotations

from typing import Any

from podnet.api.labels import selector_from_label_selector

Selector = dict[str, Any]


def selector_matches(selector: Selector | None, labels: dict[str, str] | None) -> bool:
    """Whether ``labels`` satisfy a LabelSelector; None selects nothing, ``{}`` everything."""
    try:
        return selector_from_label_selector(selector).matches(labels)
    except ValueError:
        return False


def selector_is_empty(selector: Selector | None) -> bool:
    return not selector or (not selector.get("matchLabels") and not selector.get("matchExpressions"))
