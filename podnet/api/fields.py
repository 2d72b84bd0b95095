"""Field selectors: ``=``, ``==``, ``!=`` on the fields each kind lets you select on, as Kubernetes.

Grammar and errors follow ``k8s.io/apimachinery/pkg/fields/selector.go``
(terms split on unescaped commas, ``\\,`` ``\\=`` ``\\\\`` escapes, no
whitespace trimming); the per-kind field sets follow each kind's
``AddFieldLabelConversionFunc`` in ``pkg/apis/*/v1/conversion.go``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from podnet.api.scheme import ResourceInfo

_COMMON = frozenset({"metadata.name", "metadata.namespace"})
_BY_KIND: dict[str, frozenset[str]] = {
    "Pod": frozenset(
        {
            "spec.nodeName",
            "spec.restartPolicy",
            "spec.schedulerName",
            "spec.serviceAccountName",
            "spec.hostNetwork",
            "status.phase",
            "status.podIP",
            "status.nominatedNodeName",
        }
    ),
    "Secret": frozenset({"type"}),
    "Node": frozenset({"spec.unschedulable"}),
    "Namespace": frozenset({"status.phase"}),
    "ReplicaSet": frozenset({"status.replicas"}),
    "Event": frozenset(
        {
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
        }
    ),
}
# Old names a kind still accepts, rewritten to the current one (kubectl 1.0 sent spec.host).
_ALIASES: dict[str, dict[str, str]] = {"Pod": {"spec.host": "spec.nodeName"}}
# Booleans are selectable as "true"/"false", with a missing field meaning false.
_BOOL_FIELDS = frozenset({"spec.unschedulable", "spec.hostNetwork"})
_OPERATORS = ("!=", "==", "=")


def supported_fields(res: ResourceInfo | None) -> set[str]:
    return set(_COMMON | (_BY_KIND.get(res.kind, frozenset()) if res else frozenset()))


def field_value(obj: dict[str, Any], path: str) -> str:
    """The string a field selector compares: what the kind's ToSelectableFields renders."""
    if path == "source":
        src = obj.get("source")
        return str(src.get("component", "")) if isinstance(src, dict) else str(src or "")
    cur: Any = obj
    for part in path.split("."):
        cur = cur.get(part) if isinstance(cur, dict) else None
    if isinstance(cur, bool):
        return "true" if cur else "false"
    if cur is None:
        return "false" if path in _BOOL_FIELDS else ""
    return str(cur)


@dataclass(frozen=True)
class Term:
    field: str
    equal: bool  # False for !=
    value: str

    def matches(self, obj: dict[str, Any]) -> bool:
        return (field_value(obj, self.field) == self.value) == self.equal


@dataclass(frozen=True)
class FieldSelector:
    terms: tuple[Term, ...] = ()

    def matches(self, obj: dict[str, Any]) -> bool:
        return all(t.matches(obj) for t in self.terms)

    def empty(self) -> bool:
        return not self.terms

    def requires_exact(self, field: str) -> str | None:
        """The value ``field`` must equal, if a ``field=value`` term pins it (for indexed lookups)."""
        for t in self.terms:
            if t.field == field and t.equal:
                return t.value
        return None


def _split_terms(s: str) -> list[str]:
    """Split on commas not escaped by a backslash; escapes stay in the term for unescaping later."""
    terms, start, escaped = [], 0, False
    for i, ch in enumerate(s):
        if escaped:
            escaped = False
        elif ch == "\\":
            escaped = True
        elif ch == ",":
            terms.append(s[start:i])
            start = i + 1
    terms.append(s[start:])
    return terms


def _split_term(term: str) -> tuple[str, str, str] | None:
    for i in range(len(term)):
        for op in _OPERATORS:
            if term.startswith(op, i):
                return term[:i], op, term[i + len(op) :]
    return None


def unescape_value(s: str) -> str:
    if not any(c in s for c in "\\,="):
        return s
    out: list[str] = []
    in_slash = False
    for ch in s:
        if in_slash:
            if ch not in "\\,=":
                raise ValueError(f"invalid field selector: invalid escape sequence: \\{ch}")
            out.append(ch)
            in_slash = False
        elif ch == "\\":
            in_slash = True
        elif ch in ",=":
            # Go prints the rune with %v: its code point.
            raise ValueError(f"invalid field selector: unescaped character in value: {ord(ch)}")
        else:
            out.append(ch)
    if in_slash:
        raise ValueError("invalid field selector: invalid escape sequence: \\")
    return "".join(out)


def parse_field_selector(s: str, res: ResourceInfo | None = None) -> FieldSelector:
    """Parse a ``fieldSelector``; with ``res``, fields the kind cannot select on are refused.

    As in Kubernetes, the whole string is parsed before any field name is checked.
    """
    terms: list[Term] = []
    for part in sorted(_split_terms(s)):
        if not part:
            continue
        split = _split_term(part)
        if split is None:
            raise ValueError(f"invalid selector: '{s}'; can't understand '{part}'")
        field, op, raw = split
        terms.append(Term(field, op != "!=", unescape_value(raw)))
    if res is not None:
        terms = [_convert(res, t) for t in terms]
    return FieldSelector(tuple(terms))


def _convert(res: ResourceInfo, term: Term) -> Term:
    """The kind's field-label conversion: accept its fields (and old aliases), refuse the rest."""
    field = _ALIASES.get(res.kind, {}).get(term.field, term.field)
    if field not in supported_fields(res):
        raise ValueError(f"field label not supported: {term.field}")
    return Term(field, term.equal, term.value)
