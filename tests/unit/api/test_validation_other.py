"""Validation rows for Node, Namespace, ConfigMap, Secret, Endpoints, EndpointSlice and Lease."""

from __future__ import annotations

from typing import Any

import pytest

from tests.unit.api.helpers import LABEL_MSG, PORT_RANGE, check, meta, res

NODE = res("v1", "Node")
NS = res("v1", "Namespace")
CM = res("v1", "ConfigMap")
SECRET = res("v1", "Secret")
EP = res("v1", "Endpoints")
SLICE = res("discovery.k8s.io/v1", "EndpointSlice")
LEASE = res("coordination.k8s.io/v1", "Lease")
INVALID, REQUIRED, DUP, UNSUP, FORBID, TOO_LONG, TOO_MANY = (
    "FieldValueInvalid",
    "FieldValueRequired",
    "FieldValueDuplicate",
    "FieldValueNotSupported",
    "FieldValueForbidden",
    "FieldValueTooLong",
    "FieldValueTooMany",
)
CIDR_MSG = "must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)"
KEY_MSG = (
    "a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or "
    "'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')"
)


def node(**spec: Any) -> dict[str, Any]:
    return {"metadata": {"name": "node-1"}, "spec": spec}


@pytest.mark.parametrize(
    ("obj", "old", "expected"),
    [
        (node(podCIDR="10.244.1.0/24"), None, []),
        (node(podCIDR="10.244.1.0/24", podCIDRs=["10.244.1.0/24", "fd00::/64"]), None, []),
        (
            node(podCIDR="10.244.1.0"),
            None,
            [("spec.podCIDRs[0]", INVALID, f'Invalid value: "10.244.1.0": {CIDR_MSG}')],
        ),
        (
            node(podCIDRs=["10.244.1.0/24", "10.244.2.0/24"]),
            None,
            [
                (
                    "spec.podCIDRs",
                    INVALID,
                    'Invalid value: []string{"10.244.1.0/24", "10.244.2.0/24"}: may specify no more than one CIDR '
                    "for each IP family",
                )
            ],
        ),
        (node(podCIDR="10.244.1.0/24"), node(), []),
        (
            node(podCIDR="10.244.2.0/24"),
            node(podCIDR="10.244.1.0/24"),
            [
                (
                    "spec.podCIDRs",
                    FORBID,
                    'Forbidden: node updates may not change podCIDR except from "" to valid',
                )
            ],
        ),
        (
            node(taints=[{"key": "k", "effect": "Maybe"}]),
            None,
            [
                (
                    "spec.taints[0].effect",
                    UNSUP,
                    'Unsupported value: "Maybe": supported values: "NoSchedule", "PreferNoSchedule", "NoExecute"',
                )
            ],
        ),
        (node(taints=[{"key": "k"}]), None, [("spec.taints[0].effect", REQUIRED, "Required value")]),
    ],
)
def test_node(obj: dict[str, Any], old: dict[str, Any] | None, expected: list[tuple[str, str, str]]) -> None:
    assert check(NODE, obj, old) == expected


def test_namespace() -> None:
    assert check(NS, {"metadata": {"name": "dev"}}) == []
    assert check(NS, {"metadata": {"name": "Dev"}}) == [
        ("metadata.name", INVALID, f'Invalid value: "Dev": {LABEL_MSG}')
    ]
    assert check(NS, {"metadata": {"name": "dev"}, "spec": {"finalizers": ["custom"]}}) == [
        (
            "spec.finalizers",
            INVALID,
            'Invalid value: "custom": name is neither a standard finalizer name nor is it fully qualified',
        )
    ]


@pytest.mark.parametrize(
    ("obj", "old", "expected"),
    [
        ({"data": {"app.conf": "x", "KEY_1": "y"}}, None, []),
        ({"data": {"a b": "x"}}, None, [("data[a b]", INVALID, f'Invalid value: "a b": {KEY_MSG}')]),
        ({"data": {"..": "x"}}, None, [("data[..]", INVALID, "Invalid value: \"..\": must not be '..'")]),
        (
            {"data": {"..a": "x"}},
            None,
            [("data[..a]", INVALID, "Invalid value: \"..a\": must not start with '..'")],
        ),
        (
            {"data": {"k": "x"}, "binaryData": {"k": "eA=="}},
            None,
            [("data[k]", INVALID, 'Invalid value: "k": duplicate of key present in binaryData')],
        ),
        (
            {"data": {"k": "x" * (1024 * 1024 + 1)}},
            None,
            [("", TOO_LONG, "Too long: may not be more than 1048576 bytes")],
        ),
        (
            {"immutable": True, "data": {"k": "new"}},
            {"immutable": True, "data": {"k": "old"}},
            [("data", FORBID, "Forbidden: field is immutable when `immutable` is set")],
        ),
        (
            {"data": {"k": "old"}},
            {"immutable": True, "data": {"k": "old"}},
            [("immutable", FORBID, "Forbidden: field is immutable when `immutable` is set")],
        ),
    ],
)
def test_config_map(
    obj: dict[str, Any], old: dict[str, Any] | None, expected: list[tuple[str, str, str]]
) -> None:
    obj = {"metadata": meta("c"), **obj}
    old = None if old is None else {"metadata": meta("c"), **old}
    assert check(CM, obj, old) == expected


@pytest.mark.parametrize(
    ("obj", "old", "expected"),
    [
        ({"data": {"password": "cw=="}}, None, []),
        (
            {"stringData": {"bad key": "s"}},
            None,
            [("data[bad key]", INVALID, f'Invalid value: "bad key": {KEY_MSG}')],
        ),
        (
            {"type": "kubernetes.io/tls", "data": {"tls.crt": "eA=="}},
            None,
            [("data[tls.key]", REQUIRED, "Required value")],
        ),
        (
            {"type": "kubernetes.io/basic-auth"},
            None,
            [("data[username]", REQUIRED, "Required value"), ("data[password]", REQUIRED, "Required value")],
        ),
        (
            {"type": "example.com/custom"},
            {"type": "Opaque"},
            [("type", INVALID, 'Invalid value: "example.com/custom": field is immutable')],
        ),
    ],
)
def test_secret(
    obj: dict[str, Any], old: dict[str, Any] | None, expected: list[tuple[str, str, str]]
) -> None:
    obj = {"metadata": meta("s"), **obj}
    old = None if old is None else {"metadata": meta("s"), **old}
    assert check(SECRET, obj, old) == expected


def endpoints(*subsets: dict[str, Any]) -> dict[str, Any]:
    return {"metadata": meta("web"), "subsets": list(subsets)}


@pytest.mark.parametrize(
    ("obj", "expected"),
    [
        (endpoints({"addresses": [{"ip": "10.244.1.5"}], "ports": [{"port": 80}]}), []),
        (
            endpoints({"ports": [{"port": 80}]}),
            [("subsets[0]", REQUIRED, "Required value: must specify `addresses` or `notReadyAddresses`")],
        ),
        # Loopback is podnet's deliberate deviation: the API server's own endpoints on a single host.
        (endpoints({"addresses": [{"ip": "127.0.0.1"}]}), []),
        (
            endpoints({"addresses": [{"ip": "0.0.0.0"}]}),
            [
                (
                    "subsets[0].addresses[0].ip",
                    INVALID,
                    'Invalid value: "0.0.0.0": may not be unspecified (0.0.0.0)',
                )
            ],
        ),
        (
            endpoints({"notReadyAddresses": [{"ip": "x"}]}),
            [
                (
                    "subsets[0].notReadyAddresses[0].ip",
                    INVALID,
                    'Invalid value: "x": must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)',
                )
            ],
        ),
        (
            endpoints(
                {"addresses": [{"ip": "10.244.1.5"}], "ports": [{"port": 80}, {"port": 0, "name": "b"}]}
            ),
            [
                ("subsets[0].ports[0].name", REQUIRED, "Required value"),
                ("subsets[0].ports[1].port", INVALID, f"Invalid value: 0: {PORT_RANGE}"),
            ],
        ),
    ],
)
def test_endpoints(obj: dict[str, Any], expected: list[tuple[str, str, str]]) -> None:
    assert check(EP, obj) == expected


def eps(address_type: str, *addresses: str, **extra: Any) -> dict[str, Any]:
    return {
        "metadata": meta("web-abc"),
        "addressType": address_type,
        "endpoints": [{"addresses": list(addresses)}],
        **extra,
    }


@pytest.mark.parametrize(
    ("obj", "expected"),
    [
        (eps("IPv4", "10.244.1.5", ports=[{"name": "http", "port": 80}]), []),
        (eps("IPv6", "fd00::5"), []),
        (eps("FQDN", "db.example.com"), []),
        (
            eps("IPv4", "fd00::5"),
            [
                (
                    "endpoints[0].addresses[0]",
                    INVALID,
                    'Invalid value: "fd00::5": must be a valid IPv4 address',
                )
            ],
        ),
        (
            eps("IPv4", "169.254.1.1"),
            [
                (
                    "endpoints[0].addresses[0]",
                    INVALID,
                    'Invalid value: "169.254.1.1": may not be in the link-local range (169.254.0.0/16, fe80::/10)',
                )
            ],
        ),
        (
            eps("FQDN", "localhost"),
            [
                (
                    "endpoints[0].addresses[0]",
                    INVALID,
                    'Invalid value: "localhost": should be a domain with at least two segments separated by dots',
                )
            ],
        ),
        (
            eps("IP", "10.0.0.1"),
            [("addressType", UNSUP, 'Unsupported value: "IP": supported values: "FQDN", "IPv4", "IPv6"')],
        ),
        (
            eps("IPv4"),
            [("endpoints[0].addresses", REQUIRED, "Required value: must contain at least 1 address")],
        ),
        (
            eps("IPv4", *[f"10.0.0.{i}" for i in range(1, 102)]),
            [("endpoints[0].addresses", TOO_MANY, "Too many: 101: must have at most 100 items")],
        ),
        (
            eps(
                "IPv4",
                "10.0.0.1",
                ports=[{"name": "a", "port": 80}, {"name": "a", "port": 81, "protocol": "ICMP"}],
            ),
            [
                ("ports[1].name", DUP, 'Duplicate value: "a"'),
                (
                    "ports[1].protocol",
                    UNSUP,
                    'Unsupported value: "ICMP": supported values: "SCTP", "TCP", "UDP"',
                ),
            ],
        ),
    ],
)
def test_endpoint_slice(obj: dict[str, Any], expected: list[tuple[str, str, str]]) -> None:
    assert check(SLICE, obj) == expected


def test_endpoint_slice_address_type_is_immutable() -> None:
    assert check(SLICE, eps("IPv6", "fd00::1"), eps("IPv4", "10.0.0.1")) == [
        ("addressType", INVALID, 'Invalid value: "IPv6": field is immutable')
    ]


def test_lease() -> None:
    lease = {"metadata": meta("node-1", "kube-node-lease")}
    assert check(LEASE, {**lease, "spec": {"holderIdentity": "node-1", "leaseDurationSeconds": 40}}) == []
    assert check(LEASE, {**lease, "spec": {"leaseDurationSeconds": 0, "leaseTransitions": -1}}) == [
        ("spec.leaseDurationSeconds", INVALID, "Invalid value: 0: must be greater than 0"),
        ("spec.leaseTransitions", INVALID, "Invalid value: -1: must be greater than or equal to 0"),
    ]
