"""coordination.k8s.io/v1 Lease: the leader-election and node-heartbeat record."""

from __future__ import annotations

from typing import Any

from podnet.api import errors
from podnet.api.errors import Cause
from podnet.api.validation.common import is_int, sub

Obj = dict[str, Any]


def validate_lease(obj: Obj, old: Obj | None) -> list[Cause]:
    spec = sub(obj, "spec")
    causes: list[Cause] = []
    duration = spec.get("leaseDurationSeconds")
    if is_int(duration) and duration <= 0:
        causes.append(errors.invalid("spec.leaseDurationSeconds", duration, "must be greater than 0"))
    transitions = spec.get("leaseTransitions")
    if is_int(transitions) and transitions < 0:
        causes.append(
            errors.invalid("spec.leaseTransitions", transitions, "must be greater than or equal to 0")
        )
    return causes
