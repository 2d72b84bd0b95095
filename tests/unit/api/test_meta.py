"""Names and ObjectMeta: DNS rules, qualified names, label values, metadata validation, update rules."""

from __future__ import annotations

import pytest

from podnet.api import meta
from tests.unit.api.helpers import DNS1035_MSG, LABEL_MSG, QNAME_MSG, SUBDOMAIN_MSG, VALUE_MSG, check, res

NS = res("v1", "Namespace")
SVC = res("v1", "Service")
CM = res("v1", "ConfigMap")
NODE = res("v1", "Node")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("a", []),
        ("my-name", []),
        ("123-abc", []),
        ("a" * 63, []),
        ("a" * 64, ["must be no more than 63 characters"]),
        ("My-Name", [LABEL_MSG]),
        ("-a", [LABEL_MSG]),
        ("a-", [LABEL_MSG]),
        ("a_b", [LABEL_MSG]),
        ("", [LABEL_MSG]),
        ("a.b", ["must not contain dots"]),
        ("a" * 64 + ".b", ["must be no more than 63 characters", "must not contain dots"]),
    ],
)
def test_dns1123_label_errors(value: str, expected: list[str]) -> None:
    assert meta.dns1123_label_errors(value) == expected
    assert meta.is_dns1123_label(value) == (expected == [])


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("example.com", []),
        ("a", []),
        ("a." * 126 + "a", []),
        ("a" * 254, ["must be no more than 253 characters"]),
        ("Example.com", [SUBDOMAIN_MSG]),
        ("a..b", [SUBDOMAIN_MSG]),
        (".a", [SUBDOMAIN_MSG]),
        ("a.", [SUBDOMAIN_MSG]),
    ],
)
def test_dns1123_subdomain_errors(value: str, expected: list[str]) -> None:
    assert meta.dns1123_subdomain_errors(value) == expected
    assert meta.is_dns1123_subdomain(value) == (expected == [])


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("web", []),
        ("abc-123", []),
        ("1abc", [DNS1035_MSG]),
        ("a" * 64, ["must be no more than 63 characters"]),
    ],
)
def test_dns1035_label_errors(value: str, expected: list[str]) -> None:
    assert meta.dns1035_label_errors(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("app", []),
        ("MyName", []),
        ("example.com/my_name", []),
        ("a" * 63, []),
        ("a" * 64, ["name part must be no more than 63 characters"]),
        ("-app", [QNAME_MSG]),
        ("", ["name part must be non-empty", QNAME_MSG]),
        ("/app", ["prefix part must be non-empty"]),
        ("Example.com/app", ["prefix part " + SUBDOMAIN_MSG]),
        (
            "a/b/c",
            [
                "a qualified name must consist of alphanumeric characters, '-', '_' or '.', and must start and end "
                "with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for "
                "validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]') with an optional DNS subdomain prefix "
                "and '/' (e.g. 'example.com/MyName')"
            ],
        ),
    ],
)
def test_qualified_name_errors(value: str, expected: list[str]) -> None:
    assert meta.qualified_name_errors(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("", []),
        ("v1.2_x-Y", []),
        ("-v", [VALUE_MSG]),
        ("v v", [VALUE_MSG]),
        ("a" * 64, ["must be no more than 63 characters"]),
    ],
)
def test_label_value_errors(value: str, expected: list[str]) -> None:
    assert meta.label_value_errors(value) == expected


def test_generate_name_appends_five_characters_from_kubernetes_alphabet() -> None:
    names = {meta.generate_name("web-") for _ in range(50)}
    assert len(names) > 40  # random, so almost never repeats
    for name in names:
        assert name.startswith("web-") and len(name) == 9
        assert set(name[4:]) <= set("bcdfghjklmnpqrstvwxz2456789")


REQUIRED_NAME = ("metadata.name", "FieldValueRequired", "Required value: name or generateName is required")


@pytest.mark.parametrize(
    ("info", "metadata", "expected"),
    [
        (CM, {"name": "ok.name", "namespace": "default"}, []),
        (CM, {"namespace": "default"}, [REQUIRED_NAME]),
        (
            CM,
            {"name": "Bad_Name", "namespace": "default"},
            [("metadata.name", "FieldValueInvalid", f'Invalid value: "Bad_Name": {SUBDOMAIN_MSG}')],
        ),
        (
            NS,
            {"name": "a.b"},
            [("metadata.name", "FieldValueInvalid", 'Invalid value: "a.b": must not contain dots')],
        ),
        (
            SVC,
            {"name": "1web", "namespace": "default"},
            [("metadata.name", "FieldValueInvalid", f'Invalid value: "1web": {DNS1035_MSG}')],
        ),
        (CM, {"name": "x"}, [("metadata.namespace", "FieldValueRequired", "Required value")]),
        (
            CM,
            {"name": "x", "namespace": "Bad"},
            [("metadata.namespace", "FieldValueInvalid", f'Invalid value: "Bad": {LABEL_MSG}')],
        ),
        (
            NODE,
            {"name": "n1", "namespace": "default"},
            [("metadata.namespace", "FieldValueForbidden", "Forbidden: not allowed on this type")],
        ),
        (
            CM,
            {"name": "web-abcde", "generateName": "web-", "namespace": "default"},
            [],
        ),
        (
            CM,
            {"name": "x", "generateName": "Web-", "namespace": "default"},
            [("metadata.generateName", "FieldValueInvalid", f'Invalid value: "Web-": {SUBDOMAIN_MSG}')],
        ),
        (
            CM,
            {"name": "x", "namespace": "default", "labels": {"-k": "v", "k": "-v"}},
            [
                ("metadata.labels", "FieldValueInvalid", f'Invalid value: "-k": {QNAME_MSG}'),
                ("metadata.labels", "FieldValueInvalid", f'Invalid value: "-v": {VALUE_MSG}'),
            ],
        ),
        (
            CM,
            {
                "name": "x",
                "namespace": "default",
                "annotations": {"Example.COM/Key": "ok", "big": "v" * 262124},
            },
            [],
        ),
        (
            CM,
            {"name": "x", "namespace": "default", "annotations": {"big": "v" * 262142}},
            [("metadata.annotations", "FieldValueTooLong", "Too long: may not be more than 262144 bytes")],
        ),
        (
            CM,
            {
                "name": "x",
                "namespace": "default",
                "finalizers": ["example.com/f", "orphan", "foregroundDeletion"],
            },
            [
                (
                    "metadata.finalizers",
                    "FieldValueInvalid",
                    'Invalid value: []string{"example.com/f", "orphan", "foregroundDeletion"}: '
                    "finalizer orphan and foregroundDeletion cannot be both set",
                )
            ],
        ),
        (
            CM,
            {"name": "x", "namespace": "default", "generation": -1},
            [
                (
                    "metadata.generation",
                    "FieldValueInvalid",
                    "Invalid value: -1: must be greater than or equal to 0",
                )
            ],
        ),
        (
            CM,
            {
                "name": "x",
                "namespace": "default",
                "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet"}],
            },
            [
                (
                    "metadata.ownerReferences.name",
                    "FieldValueInvalid",
                    'Invalid value: "": must not be empty',
                ),
                ("metadata.ownerReferences.uid", "FieldValueInvalid", 'Invalid value: "": must not be empty'),
            ],
        ),
    ],
)
def test_validate_object_meta_on_create(info, metadata, expected) -> None:  # type: ignore[no-untyped-def]
    obj = {"metadata": metadata}
    causes = meta.validate_object_meta(obj, info, is_create=True)
    assert [(c.field, c.reason, c.message) for c in causes] == expected


def test_validate_object_meta_on_update_skips_name_rules_but_checks_labels() -> None:
    obj = {"metadata": {"name": "Legacy_Name", "namespace": "default", "labels": {"a": "-"}}}
    causes = meta.validate_object_meta(obj, CM, is_create=False)
    assert [(c.field, c.message) for c in causes] == [("metadata.labels", f'Invalid value: "-": {VALUE_MSG}')]


def test_update_rules_immutable_identity_and_no_new_finalizers_while_deleting() -> None:
    old = {
        "metadata": {
            "name": "x",
            "namespace": "a",
            "uid": "u1",
            "deletionTimestamp": "t",
            "finalizers": ["f/a"],
        }
    }
    new = {
        "metadata": {
            "name": "x",
            "namespace": "b",
            "uid": "u2",
            "deletionTimestamp": "t",
            "finalizers": ["f/a", "f/b"],
        }
    }
    rows = [(c.field, c.reason, c.message) for c in meta.validate_object_meta_update(new, old)]
    assert rows == [
        (
            "metadata.finalizers",
            "FieldValueForbidden",
            'Forbidden: no new finalizers can be added if the object is being deleted, found new finalizers []string{"f/b"}',
        ),
        ("metadata.namespace", "FieldValueInvalid", 'Invalid value: "b": field is immutable'),
        ("metadata.uid", "FieldValueInvalid", 'Invalid value: "u2": field is immutable'),
    ]


def test_validate_dispatch_includes_meta_for_every_kind() -> None:
    rows = check(res("coordination.k8s.io/v1", "Lease"), {"metadata": {"namespace": "default"}})
    assert rows == [REQUIRED_NAME]
