"""Object names and metadata rules, with Kubernetes' messages."""

from __future__ import annotations

import random
import re
from typing import Any

from podnet.api import errors
from podnet.api.errors import Cause
from podnet.api.labels import _KEY, _VALUE
from podnet.api.scheme import ResourceInfo

_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"

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

# Kinds whose names are DNS-1123 labels (they become DNS names or interface-ish names).
_LABEL_NAMED = {"Namespace", "Service"}


def is_dns1123_label(s: str) -> bool:
    return len(s) <= 63 and bool(_LABEL.match(s))


def is_dns1123_subdomain(s: str) -> bool:
    return len(s) <= 253 and bool(_SUBDOMAIN.match(s))


def dns1123_label_errors(s: str) -> list[str]:
    out = []
    if len(s) > 63:
        out.append("must be no more than 63 characters")
    if not _LABEL.match(s):
        out.append(LABEL_MSG)
    return out


def dns1123_subdomain_errors(s: str) -> list[str]:
    out = []
    if len(s) > 253:
        out.append("must be no more than 253 characters")
    if not _SUBDOMAIN.match(s):
        out.append(SUBDOMAIN_MSG)
    return out


def generate_name(prefix: str) -> str:
    return prefix + "".join(random.choice(_ALPHABET) for _ in range(5))


def validate_object_meta(obj: dict[str, Any], res: ResourceInfo, *, is_create: bool) -> list[Cause]:
    meta = obj.get("metadata") or {}
    causes: list[Cause] = []
    name = meta.get("name")
    if not name:
        causes.append(errors.required("metadata.name", "name or generateName is required"))
    elif not isinstance(name, str):
        causes.append(errors.invalid("metadata.name", name, "must be a string"))
    else:
        check = dns1123_label_errors if res.kind in _LABEL_NAMED else dns1123_subdomain_errors
        causes += [errors.invalid("metadata.name", name, m) for m in check(name)]
    if res.namespaced and not meta.get("namespace"):
        causes.append(errors.required("metadata.namespace"))
    labels = meta.get("labels") or {}
    if not isinstance(labels, dict):
        causes.append(errors.invalid("metadata.labels", labels, "must be a map of string to string"))
        labels = {}
    for k, v in labels.items():
        if not _KEY.match(k) or len(k.split("/")[-1]) > 63:
            causes.append(
                errors.invalid(
                    "metadata.labels",
                    k,
                    "name part must consist of alphanumeric "
                    "characters, '-', '_' or '.', and must start and end with an "
                    "alphanumeric character",
                )
            )
        if not isinstance(v, str) or not _VALUE.match(v) or len(v) > 63:
            causes.append(
                errors.invalid(
                    "metadata.labels",
                    v,
                    "a valid label must be an empty string or "
                    "consist of alphanumeric characters, '-', '_' or '.', and must start "
                    "and end with an alphanumeric character",
                )
            )
    annotations = meta.get("annotations") or {}
    if not isinstance(annotations, dict):
        causes.append(
            errors.invalid("metadata.annotations", annotations, "must be a map of string to string")
        )
    elif sum(len(k) + len(str(v)) for k, v in annotations.items()) > 256 * 1024:
        causes.append(errors.too_long("metadata.annotations", 256 * 1024))
    return causes
