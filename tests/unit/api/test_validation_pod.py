"""Pod validation rows: object → causes (field, reason, exact message), after defaulting as the API does."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from podnet.api.defaults import apply_defaults
from tests.unit.api.helpers import LABEL_MSG, PORT_RANGE, SUBDOMAIN_MSG, check, meta, res

POD = res("v1", "Pod")


def pod(**spec: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"containers": [{"name": "c", "image": "busybox"}]}
    base.update(spec)
    return {"metadata": meta("p"), "spec": base}


def ctr(**fields: Any) -> dict[str, Any]:
    return {"name": "c", "image": "busybox", **fields}


C0 = "spec.containers[0]"
INVALID, REQUIRED, DUP, UNSUP, FORBID = (
    "FieldValueInvalid",
    "FieldValueRequired",
    "FieldValueDuplicate",
    "FieldValueNotSupported",
    "FieldValueForbidden",
)


@pytest.mark.parametrize(
    ("obj", "expected"),
    [
        (pod(), []),
        (pod(containers=[]), [("spec.containers", REQUIRED, "Required value")]),
        (pod(containers=[{"image": "x"}]), [(f"{C0}.name", REQUIRED, "Required value")]),
        (pod(containers=[ctr(name="Web")]), [(f"{C0}.name", INVALID, f'Invalid value: "Web": {LABEL_MSG}')]),
        (
            pod(containers=[ctr(), ctr()]),
            [("spec.containers[1].name", DUP, 'Duplicate value: "c"')],
        ),
        (
            pod(initContainers=[ctr()]),
            [("spec.containers[0].name", DUP, 'Duplicate value: "c"')],
        ),
        (pod(containers=[{"name": "c"}]), [(f"{C0}.image", REQUIRED, "Required value")]),
        (
            pod(containers=[ctr(image=" busybox")]),
            [
                (
                    f"{C0}.image",
                    INVALID,
                    'Invalid value: " busybox": must not have leading or trailing whitespace',
                )
            ],
        ),
        (
            pod(containers=[ctr(ports=[{"containerPort": 0}])]),
            [(f"{C0}.ports[0].containerPort", REQUIRED, "Required value")],
        ),
        (
            pod(containers=[ctr(ports=[{"containerPort": 70000}])]),
            [(f"{C0}.ports[0].containerPort", INVALID, f"Invalid value: 70000: {PORT_RANGE}")],
        ),
        (
            pod(containers=[ctr(ports=[{"containerPort": 80, "hostPort": -1}])]),
            [(f"{C0}.ports[0].hostPort", INVALID, f"Invalid value: -1: {PORT_RANGE}")],
        ),
        (
            pod(containers=[ctr(ports=[{"containerPort": 80, "protocol": "ICMP"}])]),
            [
                (
                    f"{C0}.ports[0].protocol",
                    UNSUP,
                    'Unsupported value: "ICMP": supported values: "SCTP", "TCP", "UDP"',
                )
            ],
        ),
        (
            pod(
                containers=[
                    ctr(ports=[{"containerPort": 80, "name": "http"}, {"containerPort": 81, "name": "http"}])
                ]
            ),
            [(f"{C0}.ports[1].name", DUP, 'Duplicate value: "http"')],
        ),
        (
            pod(containers=[ctr(ports=[{"containerPort": 80, "name": "a-very-long-port-name"}])]),
            [
                (
                    f"{C0}.ports[0].name",
                    INVALID,
                    'Invalid value: "a-very-long-port-name": must be no more than 15 characters',
                )
            ],
        ),
        (
            pod(containers=[ctr(ports=[{"containerPort": 80, "name": "Http"}])]),
            [
                (
                    f"{C0}.ports[0].name",
                    INVALID,
                    'Invalid value: "Http": must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)',
                )
            ],
        ),
        (
            pod(containers=[ctr(ports=[{"containerPort": 80, "name": "8080"}])]),
            [
                (
                    f"{C0}.ports[0].name",
                    INVALID,
                    'Invalid value: "8080": must contain at least one letter (a-z)',
                )
            ],
        ),
        (
            pod(containers=[ctr(ports=[{"containerPort": 80, "name": "-a--b"}])]),
            [
                (
                    f"{C0}.ports[0].name",
                    INVALID,
                    'Invalid value: "-a--b": must not contain consecutive hyphens',
                ),
                (
                    f"{C0}.ports[0].name",
                    INVALID,
                    'Invalid value: "-a--b": must not begin or end with a hyphen',
                ),
            ],
        ),
        (
            pod(restartPolicy="Sometimes"),
            [
                (
                    "spec.restartPolicy",
                    UNSUP,
                    'Unsupported value: "Sometimes": supported values: "Always", "OnFailure", "Never"',
                )
            ],
        ),
        (
            pod(dnsPolicy="Custom"),
            [
                (
                    "spec.dnsPolicy",
                    UNSUP,
                    'Unsupported value: "Custom": supported values: "ClusterFirstWithHostNet", "ClusterFirst", '
                    '"Default", "None"',
                )
            ],
        ),
        (
            pod(dnsPolicy="None"),
            [
                (
                    "spec.dnsConfig",
                    REQUIRED,
                    "Required value: must provide `dnsConfig` when `dnsPolicy` is None",
                )
            ],
        ),
        (
            pod(dnsPolicy="None", dnsConfig={"searches": ["svc.local"]}),
            [
                (
                    "spec.dnsConfig.nameservers",
                    REQUIRED,
                    "Required value: must provide at least one DNS nameserver when `dnsPolicy` is None",
                )
            ],
        ),
        (pod(dnsPolicy="None", dnsConfig={"nameservers": ["10.96.0.10"]}), []),
        (
            pod(dnsConfig={"nameservers": ["1.1.1.1", "2.2.2.2", "3.3.3.3", "4.4.4.4"]}),
            [
                (
                    "spec.dnsConfig.nameservers",
                    INVALID,
                    'Invalid value: "1.1.1.1, 2.2.2.2, 3.3.3.3, 4.4.4.4": must not have more than 3 nameservers',
                )
            ],
        ),
        (
            pod(nodeName="Node_1"),
            [("spec.nodeName", INVALID, f'Invalid value: "Node_1": {SUBDOMAIN_MSG}')],
        ),
        (
            pod(activeDeadlineSeconds=0),
            [
                (
                    "spec.activeDeadlineSeconds",
                    INVALID,
                    "Invalid value: 0: must be between 1 and 2147483647, inclusive",
                )
            ],
        ),
        (
            pod(tolerations=[{"operator": "Equal", "value": "x"}]),
            [
                (
                    "spec.tolerations[0].operator",
                    INVALID,
                    'Invalid value: "Equal": operator must be Exists when `key` is empty, which means "match all '
                    'values and all keys"',
                )
            ],
        ),
        (
            pod(tolerations=[{"key": "k", "operator": "Exists", "effect": "Sometimes"}]),
            [
                (
                    "spec.tolerations[0].effect",
                    UNSUP,
                    'Unsupported value: "Sometimes": supported values: "NoSchedule", "PreferNoSchedule", "NoExecute"',
                )
            ],
        ),
        (pod(tolerations=[{"operator": "Exists"}, {"key": "k", "value": "v", "effect": "NoSchedule"}]), []),
    ],
)
def test_pod_spec_rules(obj: dict[str, Any], expected: list[tuple[str, str, str]]) -> None:
    assert check(POD, obj) == expected


@pytest.mark.parametrize(
    ("probe", "expected"),
    [
        ({"httpGet": {"port": 8080}}, []),
        ({"httpGet": {"port": "http"}}, []),
        (
            {"tcpSocket": {"port": 0}},
            [("livenessProbe.tcpSocket.port", INVALID, f"Invalid value: 0: {PORT_RANGE}")],
        ),
        (
            {"tcpSocket": {"port": "8080"}},
            [
                (
                    "livenessProbe.tcpSocket.port",
                    INVALID,
                    'Invalid value: "8080": must contain at least one letter (a-z)',
                )
            ],
        ),
        ({"exec": {}}, [("livenessProbe.exec.command", REQUIRED, "Required value")]),
        (
            {"grpc": {"port": 70000}},
            [("livenessProbe.grpc.port", INVALID, f"Invalid value: 70000: {PORT_RANGE}")],
        ),
        ({}, [("livenessProbe", REQUIRED, "Required value: must specify a handler type")]),
        (
            {"exec": {"command": ["true"]}, "httpGet": {"port": 80}},
            [("livenessProbe.httpGet", FORBID, "Forbidden: may not specify more than 1 handler type")],
        ),
        (
            {"httpGet": {"port": 80, "scheme": "FTP"}},
            [
                (
                    "livenessProbe.httpGet.scheme",
                    UNSUP,
                    'Unsupported value: "FTP": supported values: "HTTP", "HTTPS"',
                )
            ],
        ),
        (
            {"exec": {"command": ["true"]}, "periodSeconds": -1},
            [
                (
                    "livenessProbe.periodSeconds",
                    INVALID,
                    "Invalid value: -1: must be greater than or equal to 0",
                )
            ],
        ),
        (
            {"exec": {"command": ["true"]}, "successThreshold": 2},
            [("livenessProbe.successThreshold", INVALID, "Invalid value: 2: must be 1")],
        ),
    ],
)
def test_liveness_probe_rules(probe: dict[str, Any], expected: list[tuple[str, str, str]]) -> None:
    rows = check(POD, pod(containers=[ctr(livenessProbe=probe)]))
    assert rows == [(f"{C0}.{f}", r, m) for f, r, m in expected]


def test_readiness_probe_may_need_several_successes() -> None:
    probe = {"exec": {"command": ["true"]}, "successThreshold": 3}
    assert check(POD, pod(containers=[ctr(readinessProbe=probe)])) == []


def stored(obj: dict[str, Any]) -> dict[str, Any]:
    """The object as the API stored it: defaulted, so an update starts from what clients read back."""
    apply_defaults(POD, obj)
    return obj


BOUND = stored(pod(nodeName="n1", tolerations=[{"key": "a", "operator": "Exists"}]))


@pytest.mark.parametrize(
    ("change", "allowed"),
    [
        (lambda s: s["containers"][0].update(image="busybox:2"), True),
        (lambda s: s.update(activeDeadlineSeconds=30), True),
        (lambda s: s["tolerations"].append({"key": "b", "operator": "Exists"}), True),
        (lambda s: s.update(tolerations=[]), False),
        (lambda s: s.update(restartPolicy="Never"), False),
        (lambda s: s["containers"][0].update(ports=[{"containerPort": 80}]), False),
        (lambda s: s["containers"].append(ctr(name="d")), False),
        (lambda s: s.update(nodeName="n2"), False),
    ],
)
def test_pod_update_rules(change: Any, allowed: bool) -> None:
    new = copy.deepcopy(BOUND)
    change(new["spec"])
    rows = check(POD, new, BOUND)
    if allowed:
        assert rows == []
    else:
        assert len(rows) == 1
        field, reason, message = rows[0]
        assert (field, reason) == ("spec", FORBID)
        assert message.startswith(
            "Forbidden: pod updates may not change fields other than `spec.containers[*].image`,"
            "`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to "
            "existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was "
            "previously negative)\n"
        )


def test_binding_sets_node_name_once() -> None:
    unbound = pod()
    bound = copy.deepcopy(unbound)
    bound["spec"]["nodeName"] = "n1"
    assert check(POD, bound, unbound) == []
