"""Which resources podnet serves, with their real groups, versions, kinds and scope.

This table is the single source the API server's discovery, routing and
storage keys, and kubectl's RESTMapper (through discovery) are built from.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class ResourceInfo:
    group: str  # "" for the core group
    version: str
    kind: str
    plural: str
    singular: str
    namespaced: bool
    short_names: tuple[str, ...] = ()
    subresources: tuple[str, ...] = ()  # "status", "scale"
    categories: tuple[str, ...] = ()
    verbs: tuple[str, ...] = (
        "create",
        "delete",
        "deletecollection",
        "get",
        "list",
        "patch",
        "update",
        "watch",
    )
    list_kind: str = field(default="")

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def group_version(self) -> str:
        return self.api_version

    @property
    def list_kind_name(self) -> str:
        return self.list_kind or f"{self.kind}List"

    def key_prefix(self, namespace: str | None = None) -> str:
        """Store key prefix: ``/registry/<plural>/`` or ``/registry/<plural>/<ns>/``."""
        if self.namespaced and namespace:
            return f"/registry/{self.plural}/{namespace}/"
        return f"/registry/{self.plural}/"

    def key(self, namespace: str | None, name: str) -> str:
        if self.namespaced:
            return f"/registry/{self.plural}/{namespace}/{name}"
        return f"/registry/{self.plural}/{name}"


_ALL = ("all",)

RESOURCES: tuple[ResourceInfo, ...] = (
    ResourceInfo("", "v1", "Namespace", "namespaces", "namespace", False, ("ns",), ("status",)),
    ResourceInfo("", "v1", "Node", "nodes", "node", False, ("no",), ("status",)),
    ResourceInfo("", "v1", "Pod", "pods", "pod", True, ("po",), ("status",), _ALL),
    ResourceInfo("", "v1", "Service", "services", "service", True, ("svc",), ("status",), _ALL),
    ResourceInfo("", "v1", "Endpoints", "endpoints", "endpoints", True, ("ep",), list_kind="EndpointsList"),
    ResourceInfo("", "v1", "Secret", "secrets", "secret", True),
    ResourceInfo("", "v1", "ConfigMap", "configmaps", "configmap", True, ("cm",)),
    ResourceInfo("", "v1", "Event", "events", "event", True, ("ev",)),
    ResourceInfo("", "v1", "ServiceAccount", "serviceaccounts", "serviceaccount", True, ("sa",)),
    ResourceInfo(
        "apps", "v1", "Deployment", "deployments", "deployment", True, ("deploy",), ("status", "scale"), _ALL
    ),
    ResourceInfo(
        "apps", "v1", "ReplicaSet", "replicasets", "replicaset", True, ("rs",), ("status", "scale"), _ALL
    ),
    ResourceInfo("discovery.k8s.io", "v1", "EndpointSlice", "endpointslices", "endpointslice", True),
    ResourceInfo(
        "networking.k8s.io", "v1", "NetworkPolicy", "networkpolicies", "networkpolicy", True, ("netpol",)
    ),
    ResourceInfo("networking.k8s.io", "v1", "Ingress", "ingresses", "ingress", True, ("ing",), ("status",)),
    ResourceInfo("networking.k8s.io", "v1", "IngressClass", "ingressclasses", "ingressclass", False),
    ResourceInfo("coordination.k8s.io", "v1", "Lease", "leases", "lease", True),
)

# The resource a PATCH/PUT of /scale or a subresource speaks.
SCALE_API_VERSION = "autoscaling/v1"


def by_group_version() -> dict[str, list[ResourceInfo]]:
    """Resources grouped by "group/version" ("v1" for core), in table order."""
    out: dict[str, list[ResourceInfo]] = {}
    for r in RESOURCES:
        out.setdefault(r.api_version, []).append(r)
    return out


def lookup(group: str, version: str, plural: str) -> ResourceInfo | None:
    for r in RESOURCES:
        if r.group == group and r.version == version and r.plural == plural:
            return r
    return None


def lookup_kind(api_version: str, kind: str) -> ResourceInfo | None:
    for r in RESOURCES:
        if r.api_version == api_version and r.kind == kind:
            return r
    return None


def resource(plural: str) -> ResourceInfo:
    """The served resource named by its plural (``"pods"``); KeyError for a name we do not serve."""
    found = lookup_plural(plural)
    if found is None:
        raise KeyError(f"no resource {plural!r}")
    return found


def lookup_plural(plural: str) -> ResourceInfo | None:
    for r in RESOURCES:
        if r.plural == plural:
            return r
    return None
