"""apps/v1 Deployment and ReplicaSet, after ``pkg/apis/apps/validation`` and the registry strategies.

Selector immutability is the apps/v1 registry strategy's rule (ValidateUpdate),
not the spec validation's, but users meet both as one 422.
"""

from __future__ import annotations

import re
from typing import Any

from podnet.api import errors
from podnet.api.errors import Cause
from podnet.api.labels import selector_from_label_selector, validate_label_selector
from podnet.api.meta import Go, go_quote, go_string_map
from podnet.api.validation.common import immutable, is_int, non_negative, sub
from podnet.api.validation.pod import validate_pod_template

Obj = dict[str, Any]
_PERCENT = re.compile(r"^[0-9]+%$")
PERCENT_MSG = (
    "a valid percent string must be a numeric string followed by an ending '%' (e.g. '1%',  or '93%', "
    "regex used for validation is '[0-9]+%')"
)


def go_label_selector(ls: Any) -> Go:
    """``%#v`` of a metav1.LabelSelector, as field errors print spec.selector."""
    if not isinstance(ls, dict):
        return Go("null")
    labels = (
        go_string_map(ls["matchLabels"]) if isinstance(ls.get("matchLabels"), dict) else go_string_map(None)
    )
    exprs = ls.get("matchExpressions")
    if isinstance(exprs, list):
        items = []
        for e in exprs:
            e = e if isinstance(e, dict) else {}
            values = ", ".join(go_quote(str(v)) for v in e.get("values") or [])
            items.append(
                f"v1.LabelSelectorRequirement{{Key:{go_quote(str(e.get('key', '')))}, "
                f"Operator:{go_quote(str(e.get('operator', '')))}, Values:[]string{{{values}}}}}"
            )
        shown = "[]v1.LabelSelectorRequirement{" + ", ".join(items) + "}"
    else:
        shown = "[]v1.LabelSelectorRequirement(nil)"
    return Go(f"v1.LabelSelector{{MatchLabels:{labels}, MatchExpressions:{shown}}}")


def _int_or_percent(value: Any) -> tuple[int | None, bool]:
    """(value, ok): getIntOrPercentValue, with ok False for a malformed percent string."""
    if is_int(value):
        return value, True
    if isinstance(value, str) and _PERCENT.match(value):
        return int(value[:-1]), True
    return None, False


def _positive_int_or_percent(path: str, value: Any) -> list[Cause]:
    if isinstance(value, str):
        return [] if _PERCENT.match(value) else [errors.invalid(path, Go(value), PERCENT_MSG)]
    if is_int(value):
        return non_negative(path, value)
    return [errors.invalid(path, Go(str(value)), "must be an integer or percentage (e.g '5%')")]


def _rolling_update(ru: Obj, path: str) -> list[Cause]:
    unavailable, surge = ru.get("maxUnavailable"), ru.get("maxSurge")
    causes = _positive_int_or_percent(f"{path}.maxUnavailable", unavailable)
    causes += _positive_int_or_percent(f"{path}.maxSurge", surge)
    u, _ = _int_or_percent(unavailable)
    s, _ = _int_or_percent(surge)
    if not u and not s:
        causes.append(
            errors.invalid(
                f"{path}.maxUnavailable", Go(str(unavailable)), "may not be 0 when `maxSurge` is 0"
            )
        )
    if isinstance(unavailable, str) and u is not None and u > 100:
        causes.append(
            errors.invalid(f"{path}.maxUnavailable", Go(unavailable), "must not be greater than 100%")
        )
    return causes


def _strategy(spec: Obj) -> list[Cause]:
    strategy = sub(spec, "strategy")
    stype = strategy.get("type")
    if stype == "Recreate":
        if strategy.get("rollingUpdate") is not None:
            return [
                errors.forbidden(
                    "spec.strategy.rollingUpdate", "may not be specified when strategy `type` is 'Recreate'"
                )
            ]
        return []
    if stype == "RollingUpdate":
        ru = strategy.get("rollingUpdate")
        if not isinstance(ru, dict):
            return [
                errors.required("spec.strategy.rollingUpdate", "this should be defaulted and never be nil")
            ]
        return _rolling_update(ru, "spec.strategy.rollingUpdate")
    return [errors.not_supported("spec.strategy", Go(str(strategy)), ["Recreate", "RollingUpdate"])]


def _selector_and_template(spec: Obj) -> list[Cause]:
    causes: list[Cause] = []
    selector = spec.get("selector")
    if selector is None:
        causes.append(errors.required("spec.selector"))
    else:
        causes += validate_label_selector(selector, "spec.selector")
        if isinstance(selector, dict) and not (
            selector.get("matchLabels") or selector.get("matchExpressions")
        ):
            causes.append(
                errors.invalid(
                    "spec.selector", go_label_selector(selector), "empty selector is invalid for deployment"
                )
            )
    try:
        parsed = selector_from_label_selector(
            selector if isinstance(selector, dict) or selector is None else {}
        )
    except ValueError:
        return [
            *causes,
            errors.invalid("spec.selector", go_label_selector(selector), "invalid label selector"),
        ]
    template = spec.get("template")
    if not isinstance(template, dict):
        return [*causes, errors.required("spec.template")]
    labels = (template.get("metadata") or {}).get("labels")
    if not parsed.empty() and not parsed.matches(labels if isinstance(labels, dict) else {}):
        causes.append(
            errors.invalid(
                "spec.template.metadata.labels",
                go_string_map(labels if isinstance(labels, dict) else None),
                "`selector` does not match template `labels`",
            )
        )
    causes += validate_pod_template(template, "spec.template")
    tspec = sub(template, "spec")
    if tspec.get("restartPolicy") and tspec["restartPolicy"] != "Always":
        causes.append(
            errors.not_supported("spec.template.spec.restartPolicy", tspec["restartPolicy"], ["Always"])
        )
    if tspec.get("activeDeadlineSeconds") is not None:
        causes.append(
            errors.forbidden(
                "spec.template.spec.activeDeadlineSeconds",
                "activeDeadlineSeconds in ReplicaSet is not Supported",
            )
        )
    return causes


def _counts(spec: Obj) -> list[Cause]:
    return non_negative("spec.replicas", spec.get("replicas")) + non_negative(
        "spec.minReadySeconds", spec.get("minReadySeconds")
    )


def _selector_update(spec: Obj, old: Obj | None) -> list[Cause]:
    if old is None:
        return []
    old_selector = (old.get("spec") or {}).get("selector")
    return immutable(
        "spec.selector", spec.get("selector"), old_selector, go_label_selector(spec.get("selector"))
    )


def validate_deployment(obj: Obj, old: Obj | None) -> list[Cause]:
    spec = sub(obj, "spec")
    causes = non_negative("spec.replicas", spec.get("replicas")) + _selector_and_template(spec)
    causes += _strategy(spec) + non_negative("spec.minReadySeconds", spec.get("minReadySeconds"))
    causes += non_negative("spec.revisionHistoryLimit", spec.get("revisionHistoryLimit"))
    deadline = spec.get("progressDeadlineSeconds")
    if is_int(deadline):
        causes += non_negative("spec.progressDeadlineSeconds", deadline)
        if deadline <= (spec.get("minReadySeconds") or 0):
            causes.append(
                errors.invalid(
                    "spec.progressDeadlineSeconds", deadline, "must be greater than minReadySeconds"
                )
            )
    return causes + _selector_update(spec, old)


def validate_replica_set(obj: Obj, old: Obj | None) -> list[Cause]:
    spec = sub(obj, "spec")
    return _counts(spec) + _selector_and_template(spec) + _selector_update(spec, old)
