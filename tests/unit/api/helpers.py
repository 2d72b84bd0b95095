"""Shared test helpers: run defaulting then validation, as the API server does, and flatten causes."""

from __future__ import annotations

import copy
from typing import Any

from podnet.api.defaults import apply_defaults
from podnet.api.scheme import ResourceInfo, lookup_kind
from podnet.api.validation import validate

Obj = dict[str, Any]

LABEL_MSG = (
    "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and "
    "end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is "
    "'[a-z0-9]([-a-z0-9]*[a-z0-9])?')"
)
SUBDOMAIN_MSG = (
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must "
    "start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is "
    "'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
)
DNS1035_MSG = (
    "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic "
    "character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for "
    "validation is '[a-z]([-a-z0-9]*[a-z0-9])?')"
)
QNAME_MSG = (
    "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an "
    "alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is "
    "'([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')"
)
VALUE_MSG = (
    "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must "
    "start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used "
    "for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')"
)
PORT_RANGE = "must be between 1 and 65535, inclusive"


def res(api_version: str, kind: str) -> ResourceInfo:
    info = lookup_kind(api_version, kind)
    assert info is not None
    return info


def check(info: ResourceInfo, obj: Obj, old: Obj | None = None) -> list[tuple[str, str, str]]:
    """Default (a copy of) obj and old, then validate: (field, reason, message) rows."""
    obj = copy.deepcopy(obj)
    apply_defaults(info, obj)
    if old is not None:
        old = copy.deepcopy(old)
        apply_defaults(info, old)
    return [(c.field, c.reason, c.message) for c in validate(info, obj, old)]


def meta(name: str = "x", namespace: str | None = "default", **extra: Any) -> Obj:
    out: Obj = {"name": name, **extra}
    if namespace is not None:
        out["namespace"] = namespace
    return out
