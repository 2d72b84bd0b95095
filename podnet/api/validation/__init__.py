"""Validation by kind: ``validate(res, obj, old)`` → field causes worded as Kubernetes' (empty: valid).

``old is None`` means create; otherwise it is an update and each kind adds its
immutability rules. Objects are expected defaulted (``podnet.api.defaults``),
as Kubernetes validates only after defaulting.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from podnet.api.errors import Cause
from podnet.api.meta import validate_object_meta, validate_object_meta_update
from podnet.api.scheme import ResourceInfo
from podnet.api.validation import apps, coordination, core, discovery, networking, pod, service

Obj = dict[str, Any]
Validator = Callable[[Obj, Obj | None], list[Cause]]

_BY_KIND: dict[str, Validator] = {
    "Pod": pod.validate_pod,
    "Service": service.validate_service,
    "Node": core.validate_node,
    "Namespace": core.validate_namespace,
    "ConfigMap": core.validate_config_map,
    "Secret": core.validate_secret,
    "Endpoints": core.validate_endpoints,
    "Deployment": apps.validate_deployment,
    "ReplicaSet": apps.validate_replica_set,
    "EndpointSlice": discovery.validate_endpoint_slice,
    "NetworkPolicy": networking.validate_network_policy,
    "Ingress": networking.validate_ingress,
    "IngressClass": networking.validate_ingress_class,
    "Lease": coordination.validate_lease,
}


def validate(res: ResourceInfo, obj: Obj, old: Obj | None) -> list[Cause]:
    causes = validate_object_meta(obj, res, is_create=old is None)
    if old is not None:
        causes += validate_object_meta_update(obj, old)
    check = _BY_KIND.get(res.kind)
    if check is not None:
        causes += check(obj, old)
    return causes
