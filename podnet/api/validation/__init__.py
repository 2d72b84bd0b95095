"""Validation by kind: ``validate(res, obj, old)`` → field causes worded as Kubernetes (empty: valid)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from podnet.api.errors import Cause
from podnet.api.meta import validate_object_meta
from podnet.api.scheme import ResourceInfo
from podnet.api.validation import apps, core, networking

Obj = dict[str, Any]
Validator = Callable[[Obj, Obj | None], list[Cause]]

_BY_KIND: dict[str, Validator] = {
    "Pod": core.validate_pod,
    "Service": core.validate_service,
    "Node": core.validate_node,
    "ConfigMap": core.validate_config_map,
    "Secret": core.validate_config_map,
    "EndpointSlice": networking.validate_endpoint_slice,
    "Deployment": apps.validate_workload,
    "ReplicaSet": apps.validate_workload,
    "NetworkPolicy": networking.validate_network_policy,
    "Ingress": networking.validate_ingress,
}


def validate(res: ResourceInfo, obj: Obj, old: Obj | None) -> list[Cause]:
    causes = validate_object_meta(obj, res, is_create=old is None)
    check = _BY_KIND.get(res.kind)
    if check is not None:
        causes += check(obj, old)
    return causes
