"""Discovery documents (/api, /apis, /api/v1, /apis/<group>/<version>) and /version.

kubectl builds its RESTMapper (kinds, short names, scope, verbs, categories)
from these, so they must list exactly what the server serves. kubectl 1.32
first asks for aggregated discovery (apidiscovery.k8s.io/v2); answering with
the legacy documents in plain application/json makes it fall back, which is
what client-go is built to do.
"""

from __future__ import annotations

import hashlib
from typing import Any

from podnet.api.scheme import RESOURCES, ResourceInfo, by_group_version

Obj = dict[str, Any]

KUBE_VERSION = {"major": "1", "minor": "32"}


def version_info() -> Obj:
    return {
        "major": KUBE_VERSION["major"],
        "minor": KUBE_VERSION["minor"],
        "gitVersion": "v1.32.0-podnet",
        "gitCommit": "podnet",
        "gitTreeState": "clean",
        "buildDate": "2026-11-22T00:00:00Z",
        "goVersion": "python3",
        "compiler": "cpython",
        "platform": "linux/amd64",
    }


def api_versions(server_address: str) -> Obj:
    return {
        "kind": "APIVersions",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": server_address}],
    }


def api_group_list() -> Obj:
    groups: dict[str, list[str]] = {}
    for r in RESOURCES:
        if r.group:
            versions = groups.setdefault(r.group, [])
            if r.version not in versions:
                versions.append(r.version)
    items = []
    for group, versions in groups.items():
        gvs = [{"groupVersion": f"{group}/{v}", "version": v} for v in versions]
        items.append({"name": group, "versions": gvs, "preferredVersion": gvs[0]})
    return {"kind": "APIGroupList", "apiVersion": "v1", "groups": items}


def api_group(group: str) -> Obj | None:
    for g in api_group_list()["groups"]:
        if g["name"] == group:
            return {"kind": "APIGroup", "apiVersion": "v1", **g}
    return None


def _storage_hash(r: ResourceInfo) -> str:
    return hashlib.sha256(f"{r.api_version}/{r.kind}".encode()).hexdigest()[:11]


def _entry(r: ResourceInfo) -> Obj:
    out: Obj = {
        "name": r.plural,
        "singularName": r.singular,
        "namespaced": r.namespaced,
        "kind": r.kind,
        "verbs": list(r.verbs),
        "storageVersionHash": _storage_hash(r),
    }
    if r.short_names:
        out["shortNames"] = list(r.short_names)
    if r.categories:
        out["categories"] = list(r.categories)
    return out


def _subresource_entries(r: ResourceInfo) -> list[Obj]:
    out: list[Obj] = []
    for sub in r.subresources:
        if sub == "scale":
            out.append(
                {
                    "name": f"{r.plural}/scale",
                    "singularName": "",
                    "namespaced": r.namespaced,
                    "group": "autoscaling",
                    "version": "v1",
                    "kind": "Scale",
                    "verbs": ["get", "patch", "update"],
                }
            )
        else:
            out.append(
                {
                    "name": f"{r.plural}/{sub}",
                    "singularName": "",
                    "namespaced": r.namespaced,
                    "kind": r.kind,
                    "verbs": ["get", "patch", "update"],
                }
            )
    if r.kind == "Pod":
        out.append(
            {
                "name": "pods/binding",
                "singularName": "",
                "namespaced": True,
                "kind": "Binding",
                "verbs": ["create"],
            }
        )
    if r.kind == "Namespace":
        out.append(
            {
                "name": "namespaces/finalize",
                "singularName": "",
                "namespaced": False,
                "kind": "Namespace",
                "verbs": ["update"],
            }
        )
    return out


def api_resource_list(group_version: str) -> Obj | None:
    resources = by_group_version().get(group_version)
    if resources is None:
        return None
    entries: list[Obj] = []
    for r in resources:
        entries.append(_entry(r))
        entries.extend(_subresource_entries(r))
    return {
        "kind": "APIResourceList",
        "apiVersion": "v1",
        "groupVersion": group_version,
        "resources": entries,
    }
