"""Service validation rows (after defaulting), including update rules for clusterIP."""

from __future__ import annotations

from typing import Any

import pytest

from tests.unit.api.helpers import LABEL_MSG, PORT_RANGE, SUBDOMAIN_MSG, check, meta, res

SVC = res("v1", "Service")
INVALID, REQUIRED, DUP, UNSUP, FORBID = (
    "FieldValueInvalid",
    "FieldValueRequired",
    "FieldValueDuplicate",
    "FieldValueNotSupported",
    "FieldValueForbidden",
)


def svc(**spec: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"ports": [{"port": 80}]}
    base.update(spec)
    return {"metadata": meta("web"), "spec": base}


@pytest.mark.parametrize(
    ("obj", "expected"),
    [
        (svc(), []),
        (svc(ports=[]), [("spec.ports", REQUIRED, "Required value")]),
        (svc(ports=[], clusterIP="None"), []),
        (
            svc(ports=[{"port": 0}]),
            [
                ("spec.ports[0].port", INVALID, f"Invalid value: 0: {PORT_RANGE}"),
                ("spec.ports[0].targetPort", INVALID, f"Invalid value: 0: {PORT_RANGE}"),
            ],
        ),
        (
            svc(ports=[{"port": 65536, "targetPort": 8080}]),
            [("spec.ports[0].port", INVALID, f"Invalid value: 65536: {PORT_RANGE}")],
        ),
        (
            svc(ports=[{"port": 80, "protocol": "HTTP"}]),
            [
                (
                    "spec.ports[0].protocol",
                    UNSUP,
                    'Unsupported value: "HTTP": supported values: "SCTP", "TCP", "UDP"',
                )
            ],
        ),
        (
            svc(ports=[{"port": 80}, {"port": 81}]),
            [
                ("spec.ports[0].name", REQUIRED, "Required value"),
                ("spec.ports[1].name", REQUIRED, "Required value"),
            ],
        ),
        (
            svc(ports=[{"name": "a", "port": 80}, {"name": "a", "port": 81}]),
            [("spec.ports[1].name", DUP, 'Duplicate value: "a"')],
        ),
        (
            svc(ports=[{"name": "Web", "port": 80}]),
            [("spec.ports[0].name", INVALID, f'Invalid value: "Web": {LABEL_MSG}')],
        ),
        (
            svc(ports=[{"name": "a", "port": 80}, {"name": "b", "port": 80}]),
            [
                (
                    "spec.ports[1]",
                    DUP,
                    'Duplicate value: core.ServicePort{Name:"", Protocol:"TCP", AppProtocol:(*string)(nil), Port:80, '
                    'TargetPort:intstr.IntOrString{Type:0, IntVal:0, StrVal:""}, NodePort:0}',
                )
            ],
        ),
        (svc(ports=[{"name": "a", "port": 53}, {"name": "b", "port": 53, "protocol": "UDP"}]), []),
        (
            svc(ports=[{"port": 80, "targetPort": 70000}]),
            [("spec.ports[0].targetPort", INVALID, f"Invalid value: 70000: {PORT_RANGE}")],
        ),
        (svc(ports=[{"port": 80, "targetPort": "http"}]), []),
        (
            svc(ports=[{"port": 80, "targetPort": "http_x"}]),
            [
                (
                    "spec.ports[0].targetPort",
                    INVALID,
                    'Invalid value: "http_x": must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)',
                )
            ],
        ),
        (
            svc(ports=[{"port": 80, "nodePort": 30080}]),
            [("spec.ports[0].nodePort", FORBID, "Forbidden: may not be used when `type` is 'ClusterIP'")],
        ),
        (
            svc(
                type="NodePort",
                ports=[
                    {"name": "a", "port": 80, "nodePort": 30080},
                    {"name": "b", "port": 81, "nodePort": 30080},
                ],
            ),
            [("spec.ports[1].nodePort", DUP, "Duplicate value: 30080")],
        ),
        (
            svc(type="Balanced"),
            [
                (
                    "spec.type",
                    UNSUP,
                    'Unsupported value: "Balanced": supported values: "ClusterIP", "ExternalName", "LoadBalancer", '
                    '"NodePort"',
                )
            ],
        ),
        (
            svc(clusterIP="10.96.0.300"),
            [
                (
                    "spec.clusterIPs[0]",
                    INVALID,
                    'Invalid value: "10.96.0.300": must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)',
                )
            ],
        ),
        (svc(clusterIP="10.96.0.10"), []),
        (svc(clusterIP=""), []),
        (
            svc(type="NodePort", clusterIP="None"),
            [
                (
                    "spec.clusterIPs[0]",
                    INVALID,
                    "Invalid value: \"None\": may not be set to 'None' for NodePort services",
                )
            ],
        ),
        (
            svc(clusterIP="10.96.0.10", clusterIPs=["10.96.0.11"]),
            [
                (
                    "spec.clusterIPs",
                    INVALID,
                    'Invalid value: []string{"10.96.0.11"}: first value must match `clusterIP`',
                )
            ],
        ),
        (
            svc(sessionAffinity="Sticky"),
            [
                (
                    "spec.sessionAffinity",
                    UNSUP,
                    'Unsupported value: "Sticky": supported values: "ClientIP", "None"',
                )
            ],
        ),
        (svc(sessionAffinity="ClientIP"), []),
        (
            svc(sessionAffinity="ClientIP", sessionAffinityConfig={"clientIP": {"timeoutSeconds": 86401}}),
            [
                (
                    "spec.sessionAffinityConfig.clientIP.timeoutSeconds",
                    INVALID,
                    "Invalid value: 86401: must be greater than 0 and less than 86400",
                )
            ],
        ),
        (
            svc(sessionAffinity="ClientIP", sessionAffinityConfig={"clientIP": {"timeoutSeconds": 0}}),
            [
                (
                    "spec.sessionAffinityConfig.clientIP.timeoutSeconds",
                    INVALID,
                    "Invalid value: 0: must be greater than 0 and less than 86400",
                )
            ],
        ),
        (
            svc(externalTrafficPolicy="Local"),
            [
                (
                    "spec.externalTrafficPolicy",
                    INVALID,
                    'Invalid value: "Local": may only be set for externally-accessible services',
                )
            ],
        ),
        (svc(type="NodePort", externalTrafficPolicy="Local"), []),
        (svc(externalIPs=["203.0.113.5"], externalTrafficPolicy="Local"), []),
        (
            svc(type="LoadBalancer", externalTrafficPolicy="Nearest"),
            [
                (
                    "spec.externalTrafficPolicy",
                    UNSUP,
                    'Unsupported value: "Nearest": supported values: "Cluster", "Local"',
                )
            ],
        ),
        (
            svc(internalTrafficPolicy="Node"),
            [
                (
                    "spec.internalTrafficPolicy",
                    UNSUP,
                    'Unsupported value: "Node": supported values: "Cluster", "Local"',
                )
            ],
        ),
        (
            svc(externalIPs=["nope"]),
            [
                (
                    "spec.externalIPs[0]",
                    INVALID,
                    'Invalid value: "nope": must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)',
                )
            ],
        ),
        (
            svc(selector={"app": "-x"}),
            [
                (
                    "spec.selector",
                    INVALID,
                    'Invalid value: "-x": a valid label must be an empty string or consist of alphanumeric '
                    "characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. "
                    "'MyValue',  or 'my_value',  or '12345', regex used for validation is "
                    "'(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')",
                )
            ],
        ),
        (
            svc(loadBalancerSourceRanges=["10.0.0.0/8"]),
            [
                (
                    "spec.LoadBalancerSourceRanges",
                    FORBID,
                    "Forbidden: may only be used when `type` is 'LoadBalancer'",
                )
            ],
        ),
        (svc(type="LoadBalancer", loadBalancerSourceRanges=[" 10.0.0.0/8 "]), []),
    ],
)
def test_service_rules(obj: dict[str, Any], expected: list[tuple[str, str, str]]) -> None:
    assert check(SVC, obj) == expected


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ({"type": "ExternalName", "externalName": "db.example.com."}, []),
        ({"type": "ExternalName"}, [("spec.externalName", REQUIRED, "Required value")]),
        (
            {"type": "ExternalName", "externalName": "Bad_Host"},
            [("spec.externalName", INVALID, f'Invalid value: "Bad_Host": {SUBDOMAIN_MSG}')],
        ),
        (
            {"type": "ExternalName", "externalName": "x.io", "clusterIP": "10.96.0.5"},
            [("spec.clusterIPs", FORBID, "Forbidden: may not be set for ExternalName services")],
        ),
    ],
)
def test_external_name(spec: dict[str, Any], expected: list[tuple[str, str, str]]) -> None:
    assert check(SVC, {"metadata": meta("db"), "spec": spec}) == expected


def test_updates_keep_cluster_ip() -> None:
    old = svc(clusterIP="10.96.0.10", clusterIPs=["10.96.0.10"])
    assert check(SVC, svc(), old) == []  # unset: the allocator keeps the old address
    assert check(SVC, svc(clusterIP="10.96.0.10"), old) == []
    assert check(SVC, svc(clusterIP="10.96.0.11"), old) == [
        ("spec.clusterIPs[0]", INVALID, 'Invalid value: []string{"10.96.0.11"}: may not change once set')
    ]
    external = {"metadata": meta("web"), "spec": {"type": "ExternalName", "externalName": "x.io"}}
    assert check(SVC, svc(clusterIP="10.96.0.11"), external) == []


def test_patching_only_cluster_ip_moves_the_list_and_is_refused() -> None:
    stored = svc(clusterIP="10.96.100.100", clusterIPs=["10.96.100.100"])
    patched = svc(clusterIP="10.96.100.101", clusterIPs=["10.96.100.100"])
    assert check(SVC, patched, stored) == [
        ("spec.clusterIPs[0]", INVALID, 'Invalid value: []string{"10.96.100.101"}: may not change once set')
    ]
