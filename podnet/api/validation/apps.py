"""apps/v1: Deployment and ReplicaSet."""

from __future__ import annotations

import re
from typing import Any

from podnet.api import errors
from podnet.api.errors import Cause
from podnet.api.labels import selector_from_label_selector, validate_label_selector
from podnet.api.validation.common import immutable
from podnet.api.validation.core import validate_pod_spec

Obj = dict[str, Any]
_PERCENT = re.compile(r"^[0-9]+%$")


def _int_or_percent(path: str, value: Any) -> tuple[list[Cause], bool]:
    """(causes, is_zero)."""
    if isinstance(value, int) and not isinstance(value, bool):
        if value < 0:
            return [errors.invalid(path, value, "must be greater than or equal to 0")], False
        return [], value == 0
    if isinstance(value, str) and _PERCENT.match(value):
        pct = int(value[:-1])
        if pct > 100:
            return [errors.invalid(path, value, "must not be greater than 100%")], False
        return [], pct == 0
    return [
        errors.invalid(
            path,
            value,
            "a valid percent string must be a numeric string followed by an ending "
            "'%' (e.g. '1%',  or '93%', regex used for validation is '[0-9]+%')",
        )
    ], False


def validate_workload(obj: Obj, old: Obj | None) -> list[Cause]:
    spec = obj.get("spec") or {}
    causes: list[Cause] = []
    replicas = spec.get("replicas", 1)
    if not isinstance(replicas, int) or replicas < 0:
        causes.append(errors.invalid("spec.replicas", replicas, "must be greater than or equal to 0"))
    selector = spec.get("selector")
    if not selector or not (selector.get("matchLabels") or selector.get("matchExpressions")):
        causes.append(errors.required("spec.selector"))
        causes.append(
            errors.invalid("spec.selector", selector or {}, "empty selector is invalid for deployment")
        )
    else:
        causes += validate_label_selector(selector, "spec.selector")
        labels = ((spec.get("template") or {}).get("metadata") or {}).get("labels") or {}
        try:
            matches = selector_from_label_selector(selector).matches(labels)
        except ValueError:
            matches = True  # already reported by validate_label_selector
        if not matches:
            causes.append(
                errors.invalid(
                    "spec.template.metadata.labels", labels, "`selector` does not match template `labels`"
                )
            )
    causes += validate_pod_spec((spec.get("template") or {}).get("spec"), "spec.template.spec")
    strategy = spec.get("strategy") or {}
    if obj.get("kind") == "Deployment" and strategy.get("type", "RollingUpdate") == "RollingUpdate":
        ru = strategy.get("rollingUpdate") or {}
        c1, surge_zero = _int_or_percent("spec.strategy.rollingUpdate.maxSurge", ru.get("maxSurge", "25%"))
        c2, unavail_zero = _int_or_percent(
            "spec.strategy.rollingUpdate.maxUnavailable", ru.get("maxUnavailable", "25%")
        )
        causes += c1 + c2
        if surge_zero and unavail_zero:
            causes.append(
                errors.invalid(
                    "spec.strategy.rollingUpdate.maxUnavailable",
                    ru.get("maxUnavailable"),
                    "may not be 0 when `maxSurge` is 0",
                )
            )
    elif obj.get("kind") == "Deployment" and strategy.get("type") not in ("Recreate", "RollingUpdate"):
        causes.append(
            errors.not_supported("spec.strategy.type", strategy.get("type"), ["Recreate", "RollingUpdate"])
        )
    if old is not None:
        causes += immutable("spec.selector", spec.get("selector"), (old.get("spec") or {}).get("selector"))
    return causes
