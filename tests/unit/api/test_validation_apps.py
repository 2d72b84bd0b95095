"""Deployment and ReplicaSet validation rows (after defaulting), including selector immutability."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from tests.unit.api.helpers import check, meta, res

DEPLOY = res("apps/v1", "Deployment")
RS = res("apps/v1", "ReplicaSet")
INVALID, REQUIRED, UNSUP, FORBID = (
    "FieldValueInvalid",
    "FieldValueRequired",
    "FieldValueNotSupported",
    "FieldValueForbidden",
)
NOT_MATCH = "`selector` does not match template `labels`"


def workload(**spec: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "selector": {"matchLabels": {"app": "web"}},
        "template": {
            "metadata": {"labels": {"app": "web"}},
            "spec": {"containers": [{"name": "c", "image": "x:1"}]},
        },
    }
    base.update(spec)
    return {"metadata": meta("web"), "spec": base}


def with_labels(labels: dict[str, str] | None) -> dict[str, Any]:
    obj = workload()
    obj["spec"]["template"]["metadata"] = {} if labels is None else {"labels": labels}
    return obj


def rolling(surge: Any, unavailable: Any) -> dict[str, Any]:
    return workload(
        strategy={
            "type": "RollingUpdate",
            "rollingUpdate": {"maxSurge": surge, "maxUnavailable": unavailable},
        }
    )


RU = "spec.strategy.rollingUpdate"


@pytest.mark.parametrize("info", [DEPLOY, RS])
@pytest.mark.parametrize(
    ("obj", "expected"),
    [
        (workload(), []),
        (
            with_labels({"app": "db"}),
            [
                (
                    "spec.template.metadata.labels",
                    INVALID,
                    f'Invalid value: map[string]string{{"app":"db"}}: {NOT_MATCH}',
                )
            ],
        ),
        (
            with_labels(None),
            [
                (
                    "spec.template.metadata.labels",
                    INVALID,
                    f"Invalid value: map[string]string(nil): {NOT_MATCH}",
                )
            ],
        ),
        (
            # A missing selector selects nothing, so Kubernetes reports the mismatch too.
            workload(selector=None),
            [
                ("spec.selector", REQUIRED, "Required value"),
                (
                    "spec.template.metadata.labels",
                    INVALID,
                    f'Invalid value: map[string]string{{"app":"web"}}: {NOT_MATCH}',
                ),
            ],
        ),
        (
            workload(selector={}),
            [
                (
                    "spec.selector",
                    INVALID,
                    "Invalid value: v1.LabelSelector{MatchLabels:map[string]string(nil), "
                    "MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: empty selector is invalid for deployment",
                )
            ],
        ),
        (
            workload(
                selector={"matchExpressions": [{"key": "app", "operator": "In", "values": ["web", "api"]}]}
            ),
            [],
        ),
        (
            workload(replicas=-1),
            [("spec.replicas", INVALID, "Invalid value: -1: must be greater than or equal to 0")],
        ),
        (
            workload(
                template={
                    "metadata": {"labels": {"app": "web"}},
                    "spec": {"restartPolicy": "Never", "containers": [{"name": "c", "image": "x"}]},
                }
            ),
            [
                (
                    "spec.template.spec.restartPolicy",
                    UNSUP,
                    'Unsupported value: "Never": supported values: "Always"',
                )
            ],
        ),
        (
            workload(template={"metadata": {"labels": {"app": "web"}}, "spec": {"containers": []}}),
            [("spec.template.spec.containers", REQUIRED, "Required value")],
        ),
    ],
)
def test_workload_rules(info, obj: dict[str, Any], expected: list[tuple[str, str, str]]) -> None:  # type: ignore[no-untyped-def]
    assert check(info, obj) == expected


@pytest.mark.parametrize(
    ("obj", "expected"),
    [
        (rolling(0, 1), []),
        (rolling("0%", "10%"), []),
        (
            rolling(0, 0),
            [(f"{RU}.maxUnavailable", INVALID, "Invalid value: 0: may not be 0 when `maxSurge` is 0")],
        ),
        (
            rolling("0%", 0),
            [(f"{RU}.maxUnavailable", INVALID, "Invalid value: 0: may not be 0 when `maxSurge` is 0")],
        ),
        (
            rolling(1, "110%"),
            [(f"{RU}.maxUnavailable", INVALID, "Invalid value: 110%: must not be greater than 100%")],
        ),
        (
            rolling("20Percent", 1),
            [
                (
                    f"{RU}.maxSurge",
                    INVALID,
                    "Invalid value: 20Percent: a valid percent string must be a numeric string followed by an ending "
                    "'%' (e.g. '1%',  or '93%', regex used for validation is '[0-9]+%')",
                )
            ],
        ),
        (
            rolling(-1, 1),
            [(f"{RU}.maxSurge", INVALID, "Invalid value: -1: must be greater than or equal to 0")],
        ),
        (
            workload(strategy={"type": "Recreate", "rollingUpdate": {"maxSurge": 1}}),
            [
                (
                    "spec.strategy.rollingUpdate",
                    FORBID,
                    "Forbidden: may not be specified when strategy `type` is 'Recreate'",
                )
            ],
        ),
        (
            workload(progressDeadlineSeconds=10, minReadySeconds=10),
            [
                (
                    "spec.progressDeadlineSeconds",
                    INVALID,
                    "Invalid value: 10: must be greater than minReadySeconds",
                )
            ],
        ),
    ],
)
def test_deployment_strategy_rules(obj: dict[str, Any], expected: list[tuple[str, str, str]]) -> None:
    assert check(DEPLOY, obj) == expected


@pytest.mark.parametrize("info", [DEPLOY, RS])
def test_selector_is_immutable(info) -> None:  # type: ignore[no-untyped-def]
    old = workload()
    new = copy.deepcopy(old)
    new["spec"]["selector"] = {"matchLabels": {"app": "web", "v": "2"}}
    new["spec"]["template"]["metadata"]["labels"]["v"] = "2"
    assert check(info, new, old) == [
        (
            "spec.selector",
            INVALID,
            'Invalid value: v1.LabelSelector{MatchLabels:map[string]string{"app":"web", "v":"2"}, '
            "MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: field is immutable",
        )
    ]
    scaled = copy.deepcopy(old)
    scaled["spec"]["replicas"] = 5
    assert check(info, scaled, old) == []
