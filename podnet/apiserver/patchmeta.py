"""Strategic-merge-patch metadata of the built-in types: which lists merge, and by which key.

Kubernetes reads this from Go struct tags (``patchStrategy:"merge" patchMergeKey:"name"``); a list
without a tag is replaced whole by a patch. The table below is transcribed from the tags in
k8s.io/api ``core/v1``, ``apps/v1`` and k8s.io/apimachinery ``meta/v1`` ``types.go``, keyed by the
type names of ``podnet/api/schema.json`` (the official Python client's model names), which also
gives the field tree the lookups walk. Types not listed here have no tagged fields.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
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
