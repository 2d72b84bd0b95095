"""Names and ObjectMeta rules, with the messages Kubernetes' apimachinery validation prints.

kubectl users read these strings verbatim (``The Service "x" is invalid: ...``),
so each message is copied from ``k8s.io/apimachinery/pkg/util/validation``
and ``pkg/api/validation/objectmeta.go`` rather than paraphrased.
"""

from __future__ import annotations

import random
import re
from typing import Any

from podnet.api import errors
from podnet.api.errors import Cause
from podnet.api.scheme import ResourceInfo

Obj = dict[str, Any]

DNS1123_LABEL_FMT = "[a-z0-9]([-a-z0-9]*[a-z0-9])?"
DNS1123_SUBDOMAIN_FMT = DNS1123_LABEL_FMT + "(\\." + DNS1123_LABEL_FMT + ")*"
DNS1035_LABEL_FMT = "[a-z]([-a-z0-9]*[a-z0-9])?"
QUALIFIED_NAME_FMT = "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]"
LABEL_VALUE_FMT = "(" + QUALIFIED_NAME_FMT + ")?"

_LABEL_RE = re.compile(f"^{DNS1123_LABEL_FMT}$")
_SUBDOMAIN_RE = re.compile(f"^{DNS1123_SUBDOMAIN_FMT}$")
_DNS1035_RE = re.compile(f"^{DNS1035_LABEL_FMT}$")
_QNAME_RE = re.compile(f"^{QUALIFIED_NAME_FMT}$")
_VALUE_RE = re.compile(f"^{LABEL_VALUE_FMT}$")

# Kubernetes' name-generation alphabet: no vowels (no accidental words), no 0/1/3 (look like letters).
NAME_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"
TOTAL_ANNOTATION_SIZE_LIMIT = 256 * 1024
FIELD_IMMUTABLE = "field is immutable"


class Go:
    """A value printed as Go's ``%v``/``%#v`` would print it in a field error (no quotes added)."""

    def __init__(self, text: str) -> None:
        self.text = text

    def __str__(self) -> str:
        return self.text

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Go) and other.text == self.text

    def __hash__(self) -> int:
        return hash(self.text)

    def __repr__(self) -> str:
        return f"Go({self.text!r})"


def go_quote(s: str) -> str:
    """Go's ``%q`` for the printable ASCII strings API fields carry."""
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def go_string_map(m: dict[str, Any] | None) -> Go:
    """``%#v`` of a ``map[string]string``: keys sorted, as fmt prints maps."""
    if m is None:
        return Go("map[string]string(nil)")
    body = ", ".join(f"{go_quote(k)}:{go_quote(str(v))}" for k, v in sorted(m.items()))
    return Go("map[string]string{" + body + "}")


def go_string_slice(items: list[Any] | None) -> Go:
    if items is None:
        return Go("[]string(nil)")
    return Go("[]string{" + ", ".join(go_quote(str(s)) for s in items) + "}")


def max_len_error(n: int) -> str:
    return f"must be no more than {n} characters"


def regex_error(msg: str, fmt: str, *examples: str) -> str:
    """apimachinery's RegexError, including its doubled space before each ``or``."""
    if not examples:
        return f"{msg} (regex used for validation is '{fmt}')"
    shown = " or ".join(f"'{e}', " for e in examples)
    return f"{msg} (e.g. {shown}regex used for validation is '{fmt}')"


LABEL_MSG = regex_error(
    "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start "
    "and end with an alphanumeric character",
    DNS1123_LABEL_FMT,
    "my-name",
    "123-abc",
)
SUBDOMAIN_MSG = regex_error(
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must "
    "start and end with an alphanumeric character",
    DNS1123_SUBDOMAIN_FMT,
    "example.com",
)
DNS1035_MSG = regex_error(
    "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic "
    "character, and end with an alphanumeric character",
    DNS1035_LABEL_FMT,
    "my-name",
    "abc-123",
)
_QNAME_MSG = regex_error(
    "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric "
    "character",
    QUALIFIED_NAME_FMT,
    "MyName",
    "my.name",
    "123-abc",
)
LABEL_VALUE_MSG = regex_error(
    "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must "
    "start and end with an alphanumeric character",
    LABEL_VALUE_FMT,
    "MyValue",
    "my_value",
    "12345",
)


def is_dns1123_label(s: str) -> bool:
    return isinstance(s, str) and len(s) <= 63 and bool(_LABEL_RE.match(s))


def is_dns1123_subdomain(s: str) -> bool:
    return isinstance(s, str) and len(s) <= 253 and bool(_SUBDOMAIN_RE.match(s))


def dns1123_label_errors(s: str) -> list[str]:
    out = []
    if len(s) > 63:
        out.append(max_len_error(63))
    if not _LABEL_RE.match(s):
        # A valid subdomain of the right length can only be failing for its dots.
        out.append("must not contain dots" if _SUBDOMAIN_RE.match(s) else LABEL_MSG)
    return out


def dns1123_subdomain_errors(s: str) -> list[str]:
    out = []
    if len(s) > 253:
        out.append(max_len_error(253))
    if not _SUBDOMAIN_RE.match(s):
        out.append(SUBDOMAIN_MSG)
    return out


def dns1035_label_errors(s: str) -> list[str]:
    out = []
    if len(s) > 63:
        out.append(max_len_error(63))
    if not _DNS1035_RE.match(s):
        out.append(DNS1035_MSG)
    return out


def qualified_name_errors(value: str) -> list[str]:
    """IsQualifiedName: label keys, annotation keys, finalizers, appProtocol."""
    parts = value.split("/")
    errs: list[str] = []
    if len(parts) == 1:
        name = parts[0]
    elif len(parts) == 2:
        prefix, name = parts
        if not prefix:
            errs.append("prefix part must be non-empty")
        else:
            errs += ["prefix part " + m for m in dns1123_subdomain_errors(prefix)]
    else:
        return [
            "a qualified name "
            + _QNAME_MSG
            + " with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')"
        ]
    if not name:
        errs.append("name part must be non-empty")
    elif len(name) > 63:
        errs.append("name part " + max_len_error(63))
    if not _QNAME_RE.match(name):
        errs.append("name part " + _QNAME_MSG)
    return errs


def label_value_errors(value: str) -> list[str]:
    errs = []
    if len(value) > 63:
        errs.append(max_len_error(63))
    if not _VALUE_RE.match(value):
        errs.append(LABEL_VALUE_MSG)
    return errs


def _mask_trailing_dash(name: str) -> str:
    """generateName may end in '-': validate it as if a generated character followed."""
    return name[:-1] + "a" if len(name) > 1 and name.endswith("-") else name


def name_errors(res: ResourceInfo, name: str, *, prefix: bool = False) -> list[str]:
    """The kind's ValidateNameFunc: Namespace a DNS-1123 label, Service DNS-1035, the rest subdomains."""
    if prefix:
        name = _mask_trailing_dash(name)
    if res.kind == "Namespace":
        return dns1123_label_errors(name)
    if res.kind == "Service":
        return dns1035_label_errors(name)
    return dns1123_subdomain_errors(name)


def generate_name(prefix: str) -> str:
    return prefix + "".join(random.choice(NAME_ALPHABET) for _ in range(5))


def validate_labels(labels: Any, path: str) -> list[Cause]:
    """metav1 ValidateLabels: each key a qualified name, each value a label value."""
    if labels is None:
        return []
    if not isinstance(labels, dict):
        return [errors.invalid(path, Go(str(labels)), "must be a map of string to string")]
    causes: list[Cause] = []
    for key in sorted(labels):
        value = labels[key]
        causes += [errors.invalid(path, key, m) for m in qualified_name_errors(key)]
        if not isinstance(value, str):
            causes.append(errors.invalid(path, Go(str(value)), "must be a string"))
            continue
        causes += [errors.invalid(path, value, m) for m in label_value_errors(value)]
    return causes


def validate_annotations(annotations: Any, path: str) -> list[Cause]:
    if annotations is None:
        return []
    if not isinstance(annotations, dict):
        return [errors.invalid(path, Go(str(annotations)), "must be a map of string to string")]
    causes: list[Cause] = []
    for key in sorted(annotations):
        # The rule is QualifiedName, except that case doesn't matter.
        causes += [errors.invalid(path, key, m) for m in qualified_name_errors(key.lower())]
    size = sum(len(k.encode()) + len(str(v).encode()) for k, v in annotations.items())
    if size > TOTAL_ANNOTATION_SIZE_LIMIT:
        causes.append(errors.too_long(path, TOTAL_ANNOTATION_SIZE_LIMIT))
    return causes


def validate_finalizers(finalizers: Any, path: str) -> list[Cause]:
    causes: list[Cause] = []
    names = [str(f) for f in finalizers or []]
    for f in names:
        causes += [errors.invalid(path, f, m) for m in qualified_name_errors(f)]
    if "orphan" in names and "foregroundDeletion" in names:
        causes.append(
            errors.invalid(
                path, go_string_slice(names), "finalizer orphan and foregroundDeletion cannot be both set"
            )
        )
    return causes


def validate_owner_references(refs: Any, path: str) -> list[Cause]:
    causes: list[Cause] = []
    first_controller = ""
    for ref in refs or []:
        ref = ref if isinstance(ref, dict) else {}
        api_version = str(ref.get("apiVersion") or "")
        if not api_version.split("/")[-1]:
            causes.append(errors.invalid(f"{path}.apiVersion", api_version, "version must not be empty"))
        for key in ("kind", "name", "uid"):
            if not ref.get(key):
                causes.append(errors.invalid(f"{path}.{key}", str(ref.get(key) or ""), "must not be empty"))
        if ref.get("controller") is True:
            current = f"{ref.get('kind', '')}/{ref.get('name', '')}"
            if first_controller:
                causes.append(
                    errors.invalid(
                        path,
                        Go("[]v1.OwnerReference{...}"),
                        'Only one reference can have Controller set to true. Found "true" in references for '
                        f"{first_controller} and {current}",
                    )
                )
            else:
                first_controller = current
    return causes


def _validate_name(meta: Obj, res: ResourceInfo) -> list[Cause]:
    causes: list[Cause] = []
    generate = meta.get("generateName")
    if generate:
        causes += [
            errors.invalid("metadata.generateName", generate, m)
            for m in name_errors(res, str(generate), prefix=True)
        ]
    name = meta.get("name")
    if not name:
        causes.append(errors.required("metadata.name", "name or generateName is required"))
    elif not isinstance(name, str):
        causes.append(errors.invalid("metadata.name", Go(str(name)), "must be a string"))
    else:
        causes += [errors.invalid("metadata.name", name, m) for m in name_errors(res, name)]
    return causes


def _validate_namespace(meta: Obj, res: ResourceInfo) -> list[Cause]:
    namespace = meta.get("namespace") or ""
    if res.namespaced:
        if not namespace:
            return [errors.required("metadata.namespace")]
        return [errors.invalid("metadata.namespace", namespace, m) for m in dns1123_label_errors(namespace)]
    if namespace:
        return [errors.forbidden("metadata.namespace", "not allowed on this type")]
    return []


def validate_object_meta(obj: Obj, res: ResourceInfo, *, is_create: bool) -> list[Cause]:
    """ValidateObjectMeta: on create the name and namespace too; always labels, annotations, owners."""
    meta = obj.get("metadata")
    if not isinstance(meta, dict):
        meta = {}
    causes: list[Cause] = []
    if is_create:
        causes += _validate_name(meta, res)
        causes += _validate_namespace(meta, res)
    generation = meta.get("generation")
    if isinstance(generation, int) and generation < 0:
        causes.append(errors.invalid("metadata.generation", generation, "must be greater than or equal to 0"))
    causes += validate_labels(meta.get("labels"), "metadata.labels")
    causes += validate_annotations(meta.get("annotations"), "metadata.annotations")
    causes += validate_owner_references(meta.get("ownerReferences"), "metadata.ownerReferences")
    causes += validate_finalizers(meta.get("finalizers"), "metadata.finalizers")
    return causes


def validate_object_meta_update(new: Obj, old: Obj) -> list[Cause]:
    """ValidateObjectMetaUpdate's immutability rules (resourceVersion preconditions are the registry's)."""
    meta, old_meta = new.get("metadata") or {}, old.get("metadata") or {}
    causes: list[Cause] = []
    if old_meta.get("deletionTimestamp"):
        extra = sorted(set(meta.get("finalizers") or []) - set(old_meta.get("finalizers") or []))
        if extra:
            listed = go_string_slice(extra)
            causes.append(
                errors.forbidden(
                    "metadata.finalizers",
                    f"no new finalizers can be added if the object is being deleted, found new finalizers {listed}",
                )
            )
    for key in ("name", "namespace", "uid", "creationTimestamp"):
        if (meta.get(key) or "") != (old_meta.get(key) or ""):
            causes.append(errors.invalid(f"metadata.{key}", meta.get(key) or "", FIELD_IMMUTABLE))
    return causes
