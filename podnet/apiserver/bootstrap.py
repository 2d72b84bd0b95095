"""What every cluster has from its first start: the system namespaces and the ``kubernetes`` Service.

Idempotent: run at every start, it creates only what is missing, and keeps
the ``kubernetes`` endpoints pointing at this server (Kubernetes' endpoint
reconciler for the master service).
"""

from __future__ import annotations

import ipaddress
from typing import Any

from podnet.api import errors, scheme
from podnet.apiserver.registry import Registry

Obj = dict[str, Any]
SYSTEM_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")


def _res(plural: str, group: str = "", version: str = "v1") -> scheme.ResourceInfo:
    res = scheme.lookup(group, version, plural)
    assert res is not None
    return res


async def _ensure(registry: Registry, res: scheme.ResourceInfo, ns: str | None, obj: Obj) -> None:
    name = obj["metadata"]["name"]
    try:
        current = await registry.get(res, ns, name)
    except errors.StatusError as exc:
        if exc.code != 404:
            raise
        await registry.create(res, ns, obj)
        return
    if res.kind in ("Endpoints", "EndpointSlice"):
        obj["metadata"]["resourceVersion"] = current["metadata"]["resourceVersion"]
        obj["metadata"]["labels"] = current["metadata"].get("labels") or obj["metadata"].get("labels", {})
        await registry.update(res, ns, name, obj)


async def ensure_defaults(registry: Registry, service_cidr: str, address: str, port: int) -> None:
    for ns in SYSTEM_NAMESPACES:
        await _ensure(registry, _res("namespaces"), None, {"metadata": {"name": ns}})
    first_ip = str(ipaddress.ip_network(service_cidr, strict=False)[1])
    await _ensure(
        registry,
        _res("services"),
        "default",
        {
            "metadata": {
                "name": "kubernetes",
                "labels": {"component": "apiserver", "provider": "kubernetes"},
            },
            "spec": {
                "type": "ClusterIP",
                "clusterIP": first_ip,
                "ports": [{"name": "https", "port": 443, "protocol": "TCP", "targetPort": port}],
                "sessionAffinity": "None",
            },
        },
    )
    if address in ("", "0.0.0.0"):
        address = "127.0.0.1"
    await _ensure(
        registry,
        _res("endpoints"),
        "default",
        {
            "metadata": {"name": "kubernetes", "labels": {"endpointslice.kubernetes.io/skip-mirror": "true"}},
            "subsets": [
                {
                    "addresses": [{"ip": address}],
                    "ports": [{"name": "https", "port": port, "protocol": "TCP"}],
                }
            ],
        },
    )
    await _ensure(
        registry,
        _res("endpointslices", "discovery.k8s.io"),
        "default",
        {
            "metadata": {"name": "kubernetes", "labels": {"kubernetes.io/service-name": "kubernetes"}},
            "addressType": "IPv4",
            "endpoints": [{"addresses": [address], "conditions": {"ready": True}}],
            "ports": [{"name": "https", "port": port, "protocol": "TCP"}],
        },
    )
