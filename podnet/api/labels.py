"""Label selectors: the query-string grammar and metav1.LabelSelector, as Kubernetes parses them."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from podnet.api import errors
from podnet.api.errors import Cause


@dataclass(frozen=True)
class Requirement:
    key: str
    op: str  # "=", "!=", "in", "notin", "exists", "!"
    values: tuple[str, ...] = ()

    def matches(self, labels: dict[str, str]) -> bool:
        has = self.key in labels
        if self.op == "=":
            return has and labels[self.key] == self.values[0]
        if self.op == "!=":
            return not has or labels[self.key] != self.values[0]
        if self.op == "in":
            return has and labels[self.key] in self.values
        if self.op == "notin":
            return not has or labels[self.key] not in self.values
        if self.op == "exists":
            return has
        return not has


@dataclass(frozen=True)
class Selector:
    """AND of requirements; ``nothing`` is the selector that matches no object."""

    requirements: tuple[Requirement, ...] = ()
    nothing: bool = False

    def matches(self, labels: dict[str, str] | None) -> bool:
        if self.nothing:
            return False
        labels = labels or {}
        return all(r.matches(labels) for r in self.requirements)

    def empty(self) -> bool:
        return not self.nothing and not self.requirements


_TOKEN = re.compile(r"\s*(!=|==|=|\(|\)|,|!|[^\s!=(),]+)")


def _tokens(s: str) -> list[str]:
    out, pos = [], 0
    while pos < len(s):
        m = _TOKEN.match(s, pos)
        if m is None:
            if s[pos:].strip() == "":
                break
            raise ValueError(f"unable to parse requirement: found '{s[pos:]}'")
        out.append(m.group(1))
        pos = m.end()
        while pos < len(s) and s[pos].isspace():
            pos += 1
    return out


def parse_selector(s: str) -> Selector:
    """``a=b,c!=d,e in (x,y),f notin (z),g,!h``; ValueError on bad input."""
    toks = _tokens(s)
    reqs: list[Requirement] = []
    i = 0
    while i < len(toks):
        if toks[i] == "!":
            if i + 1 >= len(toks):
                raise ValueError("unable to parse requirement: found '', expected: identifier")
            reqs.append(Requirement(_key(toks[i + 1]), "!"))
            i += 2
        else:
            key = _key(toks[i])
            nxt = toks[i + 1] if i + 1 < len(toks) else ","
            if nxt == ",":
                reqs.append(Requirement(key, "exists"))
                i += 1
            elif nxt in ("=", "==", "!="):
                if i + 2 >= len(toks) or toks[i + 2] in (",", "(", ")"):
                    value = ""
                    i += 2
                else:
                    value = toks[i + 2]
                    i += 3
                reqs.append(Requirement(key, "!=" if nxt == "!=" else "=", (_value(value),)))
            elif nxt in ("in", "notin"):
                if i + 2 >= len(toks) or toks[i + 2] != "(":
                    raise ValueError(
                        f"unable to parse requirement: found '{toks[i + 2] if i + 2 < len(toks) else ''}', expected: '('"
                    )
                j, values = i + 3, []
                while j < len(toks) and toks[j] != ")":
                    if toks[j] != ",":
                        values.append(_value(toks[j]))
                    j += 1
                if j >= len(toks):
                    raise ValueError("unable to parse requirement: found '', expected: ')'")
                reqs.append(Requirement(key, nxt, tuple(values)))
                i = j + 1
            else:
                raise ValueError(
                    f"unable to parse requirement: found '{nxt}', expected: in, notin, =, ==, !="
                )
        if i < len(toks):
            if toks[i] != ",":
                raise ValueError(f"unable to parse requirement: found '{toks[i]}', expected: ','")
            i += 1
    return Selector(tuple(reqs))


_KEY = re.compile(r"^([a-z0-9]([-a-z0-9.]*[a-z0-9])?/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$")
_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")


def _key(k: str) -> str:
    if not _KEY.match(k) or len(k.split("/")[-1]) > 63:
        raise ValueError(f'invalid label key "{k}": name part must consist of alphanumeric characters')
    return k


def _value(v: str) -> str:
    if not _VALUE.match(v) or len(v) > 63:
        raise ValueError(
            f'invalid label value: "{v}": a valid label must be an empty string or consist of '
            "alphanumeric characters, '-', '_' or '.'"
        )
    return v


def selector_from_label_selector(ls: dict[str, Any] | None) -> Selector:
    """metav1.LabelSelector: None matches nothing, {} matches everything."""
    if ls is None:
        return Selector(nothing=True)
    reqs = [Requirement(k, "=", (str(v),)) for k, v in sorted((ls.get("matchLabels") or {}).items())]
    ops = {"In": "in", "NotIn": "notin", "Exists": "exists", "DoesNotExist": "!"}
    for expr in ls.get("matchExpressions") or []:
        op = ops.get(expr.get("operator", ""))
        if op is None:
            raise ValueError(f"{expr.get('operator')!r} is not a valid label selector operator")
        reqs.append(Requirement(expr.get("key", ""), op, tuple(expr.get("values") or ())))
    return Selector(tuple(reqs))


def validate_label_selector(ls: Any, path: str) -> list[Cause]:
    if ls is None:
        return []
    if not isinstance(ls, dict):
        return [errors.invalid(path, ls, "must be an object")]
    causes: list[Cause] = []
    for k, v in (ls.get("matchLabels") or {}).items():
        try:
            _key(k)
        except ValueError as exc:
            causes.append(errors.invalid(f"{path}.matchLabels", k, str(exc)))
        try:
            _value(str(v))
        except ValueError as exc:
            causes.append(errors.invalid(f"{path}.matchLabels", v, str(exc)))
    for i, expr in enumerate(ls.get("matchExpressions") or []):
        op = expr.get("operator")
        p = f"{path}.matchExpressions[{i}]"
        if op not in ("In", "NotIn", "Exists", "DoesNotExist"):
            causes.append(errors.invalid(f"{p}.operator", op, "not a valid selector operator"))
        elif op in ("In", "NotIn") and not expr.get("values"):
            causes.append(
                errors.required(f"{p}.values", "must be specified when `operator` is 'In' or 'NotIn'")
            )
        elif op in ("Exists", "DoesNotExist") and expr.get("values"):
            causes.append(
                errors.forbidden(
                    f"{p}.values", "may not be specified when `operator` is 'Exists' or 'DoesNotExist'"
                )
            )
    return causes
