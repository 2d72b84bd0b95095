"""Field selectors: parsing, per-kind supported fields, matching, and Kubernetes' error messages."""

from __future__ import annotations

import pytest

from podnet.api.fields import parse_field_selector, supported_fields
from tests.unit.api.helpers import res

POD = res("v1", "Pod")
SECRET = res("v1", "Secret")
NODE = res("v1", "Node")
CM = res("v1", "ConfigMap")

RUNNING_ON_N1 = {
    "metadata": {"name": "web-1", "namespace": "prod"},
    "spec": {"nodeName": "n1", "restartPolicy": "Always", "schedulerName": "default-scheduler"},
    "status": {"phase": "Running", "podIP": "10.244.1.5"},
}


@pytest.mark.parametrize(
    ("selector", "matches"),
    [
        ("", True),
        ("metadata.name=web-1", True),
        ("metadata.name==web-1", True),
        ("metadata.name!=web-1", False),
        ("metadata.namespace=prod,spec.nodeName=n1", True),
        ("metadata.namespace=prod,spec.nodeName=n2", False),
        ("spec.nodeName=", False),
        ("spec.nodeName!=", True),
        ("status.phase=Running", True),
        ("status.phase!=Succeeded,status.phase!=Failed", True),
        ("spec.restartPolicy=Always", True),
        ("spec.schedulerName=default-scheduler", True),
        ("status.podIP=10.244.1.5", True),
        ("spec.hostNetwork=false", True),
        ("spec.host=n1", True),
    ],
)
def test_pod_field_selectors(selector: str, matches: bool) -> None:
    assert parse_field_selector(selector, POD).matches(RUNNING_ON_N1) is matches


def test_unscheduled_pod_matches_empty_node_name() -> None:
    assert parse_field_selector("spec.nodeName=", POD).matches({"metadata": {"name": "p"}, "spec": {}})


@pytest.mark.parametrize(
    ("info", "selector", "obj", "matches"),
    [
        (SECRET, "type=Opaque", {"type": "Opaque"}, True),
        (SECRET, "type=kubernetes.io/tls", {"type": "Opaque"}, False),
        (NODE, "spec.unschedulable=false", {"spec": {}}, True),
        (NODE, "spec.unschedulable=true", {"spec": {"unschedulable": True}}, True),
        (CM, "metadata.name=a\\,b", {"metadata": {"name": "a,b"}}, True),
    ],
)
def test_other_kinds(info, selector: str, obj: dict, matches: bool) -> None:  # type: ignore[no-untyped-def,type-arg]
    assert parse_field_selector(selector, info).matches(obj) is matches


def test_supported_fields_per_kind() -> None:
    assert supported_fields(CM) == {"metadata.name", "metadata.namespace"}
    assert {"spec.nodeName", "status.phase", "spec.restartPolicy", "spec.schedulerName", "status.podIP"} <= (
        supported_fields(POD)
    )
    assert supported_fields(SECRET) == {"metadata.name", "metadata.namespace", "type"}
    assert supported_fields(NODE) == {"metadata.name", "metadata.namespace", "spec.unschedulable"}


@pytest.mark.parametrize(
    ("info", "selector", "message"),
    [
        (CM, "foo=bar", "field label not supported: foo"),
        (CM, "type=Opaque", "field label not supported: type"),
        (POD, "spec.nodeName", "invalid selector: 'spec.nodeName'; can't understand 'spec.nodeName'"),
        (POD, "a=b,spec.nodeName", "invalid selector: 'a=b,spec.nodeName'; can't understand 'spec.nodeName'"),
        (POD, "spec.nodeName=a\\b", "invalid field selector: invalid escape sequence: \\b"),
        (POD, "spec.nodeName=a\\", "invalid field selector: invalid escape sequence: \\"),
        (POD, "spec.nodeName=a=b", "invalid field selector: unescaped character in value: 61"),
        (POD, "metadata.name =x", "field label not supported: metadata.name "),
    ],
)
def test_errors(info, selector: str, message: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValueError) as err:
        parse_field_selector(selector, info)
    assert str(err.value) == message


def test_without_a_resource_any_field_parses() -> None:
    sel = parse_field_selector("anything.at.all=x")
    assert sel.matches({"anything": {"at": {"all": "x"}}})
    assert sel.requires_exact("anything.at.all") == "x"
