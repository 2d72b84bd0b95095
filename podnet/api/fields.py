"""Field selectors: ``=``, ``==``, ``!=`` on the fields each kind supports, as Kubernetes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from podnet.api.scheme import ResourceInfo

_COMMON = {"metadata.name", "metadata.namespace"}
_BY_KIND = {
    "Pod": {
        "spec.nodeName",
        "status.phase",
        "spec.restartPolicy",
        "spec.schedulerName",
        "status.podIP",
        "spec.serviceAccountName",
        "status.nominatedNodeName",
        "spec.hostNetwork",
    },
    "Secret": {"type"},
    "Node": {"spec.unschedulable"},
    "Namespace": {"status.phase"},
    "Event": {
        "involvedObject.kind",
        "involvedObject.namespace",
        "involvedObject.name",
        "involvedObject.uid",
        "involvedObject.apiVersion",
        "involvedObject.resourceVersion",
        "involvedObject.fieldPath",
        "reason",
        "reportingComponent",
        "source",
        "type",
    },
    "ReplicaSet": {"status.replicas"},
}


def supported_fields(res: ResourceInfo | None) -> set[str]:
    return _COMMON | (_BY_KIND.get(res.kind, set()) if res else set())


def _get(obj: dict[str, Any], path: str) -> str:
    if path == "source":
        src = obj.get("source") or {}
        return str(src.get("component", "")) if isinstance(src, dict) else str(src)
    cur: Any = obj
    for part in path.split("."):
        cur = cur.get(part) if isinstance(cur, dict) else None
    if cur is None:
        return "false" if path in ("spec.unschedulable", "spec.hostNetwork") else ""
    if isinstance(cur, bool):
        return "true" if cur else "false"
    return str(cur)


@dataclass(frozen=True)
class FieldSelector:
    terms: tuple[tuple[str, bool, str], ...]  # (field, equal?, value)

    def matches(self, obj: dict[str, Any]) -> bool:
        return all((_get(obj, f) == v) == eq for f, eq, v in self.terms)


def parse_field_selector(s: str, res: ResourceInfo | None = None) -> FieldSelector:
    terms = []
    for part in s.split(","):
        part = part.strip()
        if not part:
            continue
        for op in ("!=", "==", "="):
            if op in part:
                field, value = part.split(op, 1)
                break
        else:
            raise ValueError(f"invalid selector: '{part}'; can't understand '{part}'")
        field = field.strip()
        if res is not None and field not in supported_fields(res):
            raise ValueError(f"field label not supported: {field}")
        terms.append((field, op != "!=", value.strip()))
    return FieldSelector(tuple(terms))
