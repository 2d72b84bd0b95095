"""Strategic merge patch support: the built-in types' patch metadata, Go's value semantics, list order.

Patch metadata says which lists merge, and by which key.
Kubernetes reads this from Go struct tags (``patchStrategy:"merge" patchMergeKey:"name"``); a list
without a tag is replaced whole by a patch. The table below is transcribed from the tags in
k8s.io/api ``core/v1``, ``apps/v1`` and k8s.io/apimachinery ``meta/v1`` ``types.go``, keyed by the
type names of ``podnet/api/schema.json`` (the official Python client's model names), which also
gives the field tree the lookups walk. Types not listed here have no tagged fields.

The rest mirrors what apimachinery's ``strategicpatch`` leans on from Go: ``%v`` formatting and
interface equality (its error messages and comparisons), and the rules that order a merged list
(patch order first, server-only items interleaved where the live list had them).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

import podnet.api

# (type, field) -> (patchStrategy tag, patchMergeKey tag)
PATCH_META: dict[str, dict[str, tuple[str, str]]] = {
    "V1ObjectMeta": {"ownerReferences": ("merge", "uid"), "finalizers": ("merge", "")},
    "V1PodSpec": {
        "volumes": ("merge,retainKeys", "name"),
        "initContainers": ("merge", "name"),
        "containers": ("merge", "name"),
        "ephemeralContainers": ("merge", "name"),
        "imagePullSecrets": ("merge", "name"),
        "hostAliases": ("merge", "ip"),
        "topologySpreadConstraints": ("merge", "topologyKey"),
        "schedulingGates": ("merge", "name"),
        "resourceClaims": ("merge,retainKeys", "name"),
        "evictionResponders": ("merge", "name"),
    },
    "V1Container": {
        "ports": ("merge", "containerPort"),
        "env": ("merge", "name"),
        "volumeMounts": ("merge", "mountPath"),
        "volumeDevices": ("merge", "devicePath"),
    },
    "V1EphemeralContainer": {
        "ports": ("merge", "containerPort"),
        "env": ("merge", "name"),
        "volumeMounts": ("merge", "mountPath"),
        "volumeDevices": ("merge", "devicePath"),
    },
    "V1ContainerStatus": {
        "volumeMounts": ("merge", "mountPath"),
        "allocatedResourcesStatus": ("merge", "name"),
    },
    "V1PodStatus": {
        "conditions": ("merge", "type"),
        "hostIPs": ("merge", "ip"),
        "podIPs": ("merge", "ip"),
        "resourceClaimStatuses": ("merge,retainKeys", "name"),
        "nodeAllocatableResourceClaimStatuses": ("merge", "resourceClaimName"),
    },
    "V1NodeAllocatableResourceClaimStatus": {"mapping": ("merge", "name"), "overhead": ("merge", "name")},
    "V1PodVolumeHealth": {"healthConditions": ("merge", "status")},
    "V1ServiceSpec": {"ports": ("merge", "port")},
    "V1ServiceStatus": {"conditions": ("merge", "type")},
    "V1ServiceAccount": {"secrets": ("merge", "name")},
    "V1NodeSpec": {"podCIDRs": ("merge", "")},
    "V1NodeStatus": {"conditions": ("merge", "type"), "addresses": ("merge", "type")},
    "V1NamespaceStatus": {"conditions": ("merge", "type")},
    "V1DeploymentSpec": {"strategy": ("retainKeys", "")},
    "V1DeploymentStatus": {"conditions": ("merge", "type")},
    "V1ReplicaSetStatus": {"conditions": ("merge", "type")},
}


@dataclass(frozen=True)
class PatchMeta:
    """A field's patch strategies (the tag split on commas, as Go does) and merge key."""

    strategies: tuple[str, ...] = ("",)
    merge_key: str = ""


_NO_META = PatchMeta()


@cache
def _schema() -> dict[str, Any]:
    data: dict[str, Any] = json.loads((Path(podnet.api.__file__).parent / "schema.json").read_text())
    return data


@dataclass(frozen=True)
class TypeSchema:
    """One node of the field tree: a model name, ``{"list": ...}``, ``{"map": ...}``, a scalar, or None.

    None stands for a field the tree does not know; it carries no metadata, so its maps merge and
    its lists are replaced, which is what Kubernetes does for untagged fields.
    """

    ref: Any = None

    @property
    def name(self) -> str:
        """The Go reflect kind Kubernetes names in "cannot merge lists without merge key for %s"."""
        if isinstance(self.ref, dict):
            return "slice" if "list" in self.ref else "map"
        if isinstance(self.ref, str) and self.ref in _schema()["types"]:
            return "struct"
        return "interface"

    def _fields(self) -> dict[str, Any]:
        if isinstance(self.ref, str):
            fields: dict[str, Any] = _schema()["types"].get(self.ref, {})
            return fields
        return {}

    def _meta(self, key: str) -> PatchMeta:
        if not isinstance(self.ref, str):
            return _NO_META
        tag = PATCH_META.get(self.ref, {}).get(key)
        if tag is None:
            return _NO_META
        return PatchMeta(tuple(tag[0].split(",")), tag[1])

    def lookup_struct(self, key: str) -> tuple[TypeSchema, PatchMeta]:
        """The schema of field ``key`` and its patch metadata."""
        return TypeSchema(self._fields().get(key)), self._meta(key)

    def lookup_slice(self, key: str) -> tuple[TypeSchema, PatchMeta]:
        """The schema of the elements of list field ``key`` and the field's patch metadata."""
        field = self._fields().get(key)
        elem = field.get("list") if isinstance(field, dict) else None
        return TypeSchema(elem), self._meta(key)


def schema_for(api_version: str, kind: str) -> TypeSchema | None:
    """The root of ``kind``'s field tree, or None for a kind the tree does not describe."""
    model = _schema()["kinds"].get(f"{api_version}/{kind}")
    return TypeSchema(model) if model is not None else None


# ---------------------------------------------------------------- Go's view of decoded JSON values
# Kubernetes' error messages print values with Go's %v and compare them with Go's interface equality.


def _go_float(f: float) -> str:
    """strconv.FormatFloat(f, 'g', -1, 64): shortest digits, exponent form outside [1e-4, 1e6)."""
    if f == 0:
        return "0"
    sign, digits, exp = Decimal(repr(f)).normalize().as_tuple()
    text = "".join(map(str, digits))
    point = len(text) + int(exp)  # position of the decimal point within the digits
    e = point - 1
    minus = "-" if sign else ""
    if e < -4 or e >= 21 or (e >= 6 and len(text) <= e + 1 and e >= 6):
        mant = text[0] + ("." + text[1:] if len(text) > 1 else "")
        return f"{minus}{mant}e{'+' if e >= 0 else '-'}{abs(e):02d}"
    if point <= 0:
        return f"{minus}0.{'0' * -point}{text}"
    if point >= len(text):
        return f"{minus}{text}{'0' * (point - len(text))}"
    return f"{minus}{text[:point]}.{text[point:]}"


def go_fmt(value: Any) -> str:
    """Go's ``%v`` of a decoded JSON value (maps print with sorted keys)."""
    if value is None:
        return "<nil>"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return _go_float(value)
    if isinstance(value, list):
        return "[" + " ".join(go_fmt(v) for v in value) + "]"
    if isinstance(value, dict):
        return "map[" + " ".join(f"{k}:{go_fmt(value[k])}" for k in sorted(value)) + "]"
    return str(value)


def go_type(value: Any) -> str:
    """reflect.TypeOf(value).String() for a decoded JSON value."""
    if value is None:
        return "%!s(<nil>)"
    for py, go in ((bool, "bool"), (int, "int64"), (float, "float64"), (str, "string")):
        if isinstance(value, py):
            return go
    return "[]interface {}" if isinstance(value, list) else "map[string]interface {}"


def same(a: Any, b: Any) -> bool:
    """Go's interface equality: same dynamic type and equal value (so 1 != 1.0 and true != 1)."""
    return type(a) is type(b) and a == b


def hkey(v: Any) -> Any:
    """A hashable key with Go's equality, for sets of scalars."""
    return (type(v).__name__, v) if isinstance(v, (str, int, float, bool)) or v is None else (id(v),)


# ---------------------------------------------------------------- merged lists: partition and order

_DIRECTIVE = "$patch"
ERR_LIST_OF_LISTS = "lists of lists are not supported"


class PatchFailure(Exception):
    """A strategic merge error and the HTTP code Kubernetes' interpretStrategicMergePatchError gives it."""

    def __init__(self, message: str, code: int = 500) -> None:
        super().__init__(message)
        self.message = message
        self.code = code


def bad_arg(expected: str, actual: Any) -> PatchFailure:
    return PatchFailure(f"expected a {expected}, but received a {go_type(actual)}")


def no_merge_key(m: Any, key: str) -> PatchFailure:
    return PatchFailure(f"map: {go_fmt(m)} does not contain declared merge key: {key}")


# ---------------------------------------------------------------- JSON patch and merge patch


def element_kind(*lists: list[Any]) -> str:
    """The one kind all elements share ("map", or a scalar's type name); Go's sliceElementType."""
    kind: str | None = None
    for items in lists:
        for item in items:
            this = "map" if isinstance(item, dict) else type(item).__name__
            if kind is None:
                if isinstance(item, list):
                    raise PatchFailure(ERR_LIST_OF_LISTS, 422)
                kind = this
            elif kind != this:
                raise PatchFailure(f"list element types are not identical: {go_fmt(list(lists))}")
    if kind is None:
        raise PatchFailure("no elements in any of the given slices")
    return kind


def dedupe_scalars(items: list[Any]) -> list[Any]:
    """Go's in-place dedupe (a later duplicate is overwritten by the last item); order is fixed later."""
    s = list(items)
    last = len(s) - 1
    i = 0
    while i < last:
        j = i + 1
        while j <= last:
            if same(s[i], s[j]):
                s[j] = s[last]
                s.pop()
                last -= 1
                j -= 1
            j += 1
        i += 1
    return s


def key_matches(item: Any, merge_key: str, value: Any) -> bool:
    if not isinstance(item, dict):
        raise PatchFailure("value for key is not a map")
    return merge_key in item and same(item[merge_key], value)


def find_by_key(items: list[Any], merge_key: str, value: Any) -> int:
    for i, item in enumerate(items):
        if key_matches(item, merge_key, value):
            return i
    return -1


def partition(merged: list[Any], by: list[Any], merge_key: str) -> tuple[list[Any], list[Any]]:
    """Split ``merged`` into the items ``by`` names and the ones only the server has."""
    present: list[Any] = []
    server_only: list[Any] = []
    if not merge_key:
        keys = {hkey(v) for v in by}
        for v in merged:
            (present if hkey(v) in keys else server_only).append(v)
        return present, server_only
    for v in merged:
        if not isinstance(v, dict):
            raise bad_arg("map[string]interface {}", v)
        if merge_key not in v:
            raise no_merge_key(v, merge_key)
        (present if find_by_key(by, merge_key, v[merge_key]) >= 0 else server_only).append(v)
    return present, server_only


def index_of(items: list[Any], value: Any, merge_key: str, is_map: bool) -> int:
    def key(v: Any) -> Any:
        if not is_map:
            return v
        return v.get(merge_key) if isinstance(v, dict) else None

    wanted = key(value)
    for i, item in enumerate(items):
        if same(key(item), wanted):
            return i
    return -1


def sort_by(items: list[Any], order: list[Any], merge_key: str, is_map: bool) -> list[Any]:
    """Order ``items`` as they appear in ``order``; ``$patch: delete`` items go last.

    An insertion sort with Go's comparator (an item missing from ``order`` sorts before anything),
    which is what sort.SliceStable runs for lists of up to 20 items.
    """
    deletions: list[Any] = []
    if is_map:
        for m in [*items, *order]:
            if not isinstance(m, dict):
                raise bad_arg("map[string]interface {}", m)
            if merge_key not in m:
                raise no_merge_key(m, merge_key)
        items, deletions = split_deletions(items)

    def less(a: Any, b: Any) -> bool:
        ia, ib = index_of(order, a, merge_key, is_map), index_of(order, b, merge_key, is_map)
        return ia < ib if ia >= 0 and ib >= 0 else True

    out = list(items)
    for i in range(1, len(out)):
        j = i
        while j > 0 and less(out[j], out[j - 1]):
            out[j], out[j - 1] = out[j - 1], out[j]
            j -= 1
    return out + deletions


def split_deletions(items: list[Any]) -> tuple[list[Any], list[Any]]:
    keep: list[Any] = []
    doomed: list[Any] = []
    for m in items:
        if not isinstance(m, dict):
            raise bad_arg("map[string]interface {}", m)
        (doomed if m.get(_DIRECTIVE) == "delete" else keep).append(m)
    return keep, doomed


def normalize_order(
    in_patch: list[Any],
    server_only: list[Any],
    patch_order: list[Any],
    server_order: list[Any],
    merge_key: str,
    is_map: bool,
) -> list[Any]:
    """Patch items in the patch's order, server-only items interleaved where the live list had them."""
    right = sort_by(in_patch, patch_order, merge_key, is_map)
    left = sort_by(server_only, server_order, merge_key, is_map)
    out: list[Any] = []
    i = j = 0
    while i < len(left) or j < len(right):
        if i >= len(left):
            out.append(right[j])
            j += 1
        elif j >= len(right):
            out.append(left[i])
            i += 1
        else:
            li = index_of(server_order, left[i], merge_key, is_map)
            ri = index_of(server_order, right[j], merge_key, is_map)
            if li >= 0 and ri >= 0 and li < ri:
                out.append(left[i])
                i += 1
            else:
                out.append(right[j])
                j += 1
    return out
