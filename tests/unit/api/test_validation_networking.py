"""NetworkPolicy, Ingress and IngressClass validation rows."""

from __future__ import annotations

from typing import Any

import pytest

from tests.unit.api.helpers import DNS1035_MSG, PORT_RANGE, check, meta, res

NETPOL = res("networking.k8s.io/v1", "NetworkPolicy")
ING = res("networking.k8s.io/v1", "Ingress")
ING_CLASS = res("networking.k8s.io/v1", "IngressClass")
INVALID, REQUIRED, UNSUP, FORBID = (
    "FieldValueInvalid",
    "FieldValueRequired",
    "FieldValueNotSupported",
    "FieldValueForbidden",
)
CIDR_MSG = "must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)"


def policy(**spec: Any) -> dict[str, Any]:
    return {"metadata": meta("np"), "spec": {"podSelector": {}, **spec}}


def ingress_from(*peers: dict[str, Any], ports: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    rule: dict[str, Any] = {"from": list(peers)}
    if ports is not None:
        rule["ports"] = ports
    return policy(ingress=[rule])


F0 = "spec.ingress[0].from[0]"
P0 = "spec.ingress[0].ports[0]"


@pytest.mark.parametrize(
    ("obj", "expected"),
    [
        (policy(), []),
        (ingress_from({"ipBlock": {"cidr": "10.0.0.0/8", "except": ["10.1.0.0/16"]}}), []),
        (ingress_from({"ipBlock": {"cidr": "10.0.0.1/8"}}), []),
        (
            ingress_from({"ipBlock": {"cidr": "10.0.0.0"}}),
            [(f"{F0}.ipBlock.cidr", INVALID, f'Invalid value: "10.0.0.0": {CIDR_MSG}')],
        ),
        (ingress_from({"ipBlock": {"cidr": ""}}), [(f"{F0}.ipBlock.cidr", REQUIRED, "Required value")]),
        (
            ingress_from({"ipBlock": {"cidr": "10.0.0.0/8", "except": ["10.0.0.0/8"]}}),
            [
                (
                    f"{F0}.ipBlock.except[0]",
                    INVALID,
                    'Invalid value: "10.0.0.0/8": must be a strict subset of `cidr`',
                )
            ],
        ),
        (
            ingress_from({"ipBlock": {"cidr": "10.0.0.0/16", "except": ["10.2.0.0/24"]}}),
            [
                (
                    f"{F0}.ipBlock.except[0]",
                    INVALID,
                    'Invalid value: "10.2.0.0/24": must be a strict subset of `cidr`',
                )
            ],
        ),
        (
            ingress_from({"ipBlock": {"cidr": "10.0.0.0/16", "except": ["nope"]}}),
            [(f"{F0}.ipBlock.except[0]", INVALID, f'Invalid value: "nope": {CIDR_MSG}')],
        ),
        (ingress_from({}), [(F0, REQUIRED, "Required value: must specify a peer")]),
        (
            ingress_from({"ipBlock": {"cidr": "10.0.0.0/8"}, "podSelector": {}}),
            [(F0, FORBID, "Forbidden: may not specify both ipBlock and another peer")],
        ),
        (ingress_from({"podSelector": {}, "namespaceSelector": {"matchLabels": {"team": "a"}}}), []),
        (
            ingress_from({"podSelector": {"matchLabels": {"a": "-"}}}),
            [
                (
                    f"{F0}.podSelector.matchLabels",
                    INVALID,
                    'Invalid value: "-": a valid label must be an empty string or consist of alphanumeric characters, '
                    "'-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or "
                    "'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')",
                )
            ],
        ),
        (ingress_from(ports=[{"port": 80, "endPort": 90}]), []),
        (
            ingress_from(ports=[{"port": 90, "endPort": 80}]),
            [(f"{P0}.endPort", INVALID, "Invalid value: 80: must be greater than or equal to `port`")],
        ),
        (
            ingress_from(ports=[{"port": "http", "endPort": 90}]),
            [
                (
                    f"{P0}.endPort",
                    INVALID,
                    "Invalid value: 90: may not be specified when `port` is non-numeric",
                )
            ],
        ),
        (
            ingress_from(ports=[{"endPort": 90}]),
            [
                (
                    f"{P0}.endPort",
                    INVALID,
                    "Invalid value: 90: may not be specified when `port` is not specified",
                )
            ],
        ),
        (ingress_from(ports=[{"port": 0}]), [(f"{P0}.port", INVALID, f"Invalid value: 0: {PORT_RANGE}")]),
        (
            ingress_from(ports=[{"port": 80, "endPort": 70000}]),
            [(f"{P0}.endPort", INVALID, f"Invalid value: 70000: {PORT_RANGE}")],
        ),
        (
            ingress_from(ports=[{"port": 80, "protocol": "ICMP"}]),
            [(f"{P0}.protocol", UNSUP, 'Unsupported value: "ICMP": supported values: "TCP", "UDP", "SCTP"')],
        ),
        (
            policy(policyTypes=["Ingress", "Sideways"]),
            [
                (
                    "spec.policyTypes[1]",
                    UNSUP,
                    'Unsupported value: "Sideways": supported values: "Ingress", "Egress"',
                )
            ],
        ),
        (
            policy(podSelector={"matchExpressions": [{"key": "a", "operator": "In"}]}),
            [
                (
                    "spec.podSelector.matchExpressions[0].values",
                    REQUIRED,
                    "Required value: must be specified when `operator` is 'In' or 'NotIn'",
                )
            ],
        ),
    ],
)
def test_network_policy_rules(obj: dict[str, Any], expected: list[tuple[str, str, str]]) -> None:
    assert check(NETPOL, obj) == expected


def ing_path(path: str | None = "/", path_type: str | None = "Prefix", backend: Any = None) -> dict[str, Any]:
    item: dict[str, Any] = {"backend": backend or {"service": {"name": "web", "port": {"number": 80}}}}
    if path is not None:
        item["path"] = path
    if path_type is not None:
        item["pathType"] = path_type
    return {"metadata": meta("i"), "spec": {"rules": [{"host": "a.example.com", "http": {"paths": [item]}}]}}


IP0 = "spec.rules[0].http.paths[0]"


@pytest.mark.parametrize(
    ("obj", "expected"),
    [
        (ing_path(), []),
        (ing_path("/api", "Exact"), []),
        (ing_path(None, "ImplementationSpecific"), []),
        (ing_path("api"), [(f"{IP0}.path", INVALID, 'Invalid value: "api": must be an absolute path')]),
        (ing_path("/a//b"), [(f"{IP0}.path", INVALID, "Invalid value: \"/a//b\": must not contain '//'")]),
        (ing_path("/a/.."), [(f"{IP0}.path", INVALID, "Invalid value: \"/a/..\": cannot end with '/..'")]),
        (
            ing_path(path_type=None),
            [(f"{IP0}.pathType", REQUIRED, "Required value: pathType must be specified")],
        ),
        (
            ing_path(path_type="Regex"),
            [
                (
                    f"{IP0}.pathType",
                    UNSUP,
                    'Unsupported value: "Regex": supported values: "Exact", "ImplementationSpecific", "Prefix"',
                )
            ],
        ),
        (
            ing_path(backend={"service": {"name": "1web", "port": {"number": 80}}}),
            [(f"{IP0}.backend.service.name", INVALID, f'Invalid value: "1web": {DNS1035_MSG}')],
        ),
        (
            ing_path(backend={"service": {"name": "web", "port": {}}}),
            [(f"{IP0}.backend", REQUIRED, "Required value: port name or number is required")],
        ),
        (
            ing_path(backend={"service": {"name": "web", "port": {"name": "http", "number": 80}}}),
            [(f"{IP0}.backend", INVALID, 'Invalid value: "": cannot set both port name & port number')],
        ),
        (
            ing_path(backend={"service": {"name": "web", "port": {"number": 70000}}}),
            [(f"{IP0}.backend.service.port.number", INVALID, f"Invalid value: 70000: {PORT_RANGE}")],
        ),
        (
            ing_path(backend={"service": {"port": {"number": 80}}}),
            [(f"{IP0}.backend.service.name", REQUIRED, "Required value")],
        ),
        (
            {"metadata": meta("i"), "spec": {}},
            [
                (
                    "spec",
                    INVALID,
                    "Invalid value: []networking.IngressRule(nil): either `defaultBackend` or `rules` must be specified",
                )
            ],
        ),
        (
            {"metadata": meta("i"), "spec": {"rules": [{"host": "10.0.0.1"}]}},
            [
                (
                    "spec.rules[0].host",
                    INVALID,
                    'Invalid value: "10.0.0.1": must be a DNS name, not an IP address',
                )
            ],
        ),
        ({"metadata": meta("i"), "spec": {"rules": [{"host": "*.example.com"}]}}, []),
    ],
)
def test_ingress_rules(obj: dict[str, Any], expected: list[tuple[str, str, str]]) -> None:
    assert check(ING, obj) == expected


def test_ingress_class() -> None:
    ok = {"metadata": {"name": "podnet"}, "spec": {"controller": "podnet.io/ingress"}}
    assert check(ING_CLASS, ok) == []
    assert check(ING_CLASS, {"metadata": {"name": "c"}, "spec": {}}) == [
        ("spec.controller", REQUIRED, "Required value")
    ]
    assert check(ING_CLASS, {"metadata": {"name": "c"}, "spec": {"controller": "nginx"}}) == [
        (
            "spec.controller",
            INVALID,
            'Invalid value: "nginx": must be a domain-prefixed path (such as "acme.io/foo")',
        )
    ]
    changed = {"metadata": {"name": "podnet"}, "spec": {"controller": "other.io/x"}}
    assert check(ING_CLASS, changed, ok) == [
        ("spec.controller", INVALID, 'Invalid value: "other.io/x": field is immutable')
    ]
