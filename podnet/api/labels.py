"""Label selectors: the query-string grammar and metav1.LabelSelector, as apimachinery parses them.

The lexer and the recursive-descent parser follow ``k8s.io/apimachinery/pkg/labels/selector.go``
token for token, so a selector kubectl accepts here is accepted there and a bad
one fails with the same message (``unable to parse requirement: found ...``).

Two selectors that matter to controllers and policy are explicit:
``Selector.everything()`` (the empty LabelSelector ``{}``) and ``Selector.nothing()``
(a missing/None LabelSelector).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from podnet.api import errors
from podnet.api.errors import Cause
from podnet.api.meta import Go, go_string_slice, label_value_errors, qualified_name_errors, validate_labels

# Operators, spelled as selection.Operator values.
EXISTS, DOES_NOT_EXIST = "exists", "!"
EQUALS, DOUBLE_EQUALS, NOT_EQUALS = "=", "==", "!="
IN, NOT_IN, GT, LT = "in", "notin", "gt", "lt"
_BINARY_OPERATORS = "in, notin, =, ==, !=, gt, lt"


@dataclass(frozen=True)
class Requirement:
    key: str
    op: str
    values: tuple[str, ...] = ()

    def matches(self, labels: dict[str, str]) -> bool:
        has = self.key in labels
        if self.op in (EQUALS, DOUBLE_EQUALS, IN):
            return has and labels[self.key] in self.values
        if self.op in (NOT_EQUALS, NOT_IN):
            return not has or labels[self.key] not in self.values
        if self.op == EXISTS:
            return has
        if self.op == DOES_NOT_EXIST:
            return not has
        if not has:
            return False
        try:
            have, want = int(labels[self.key]), int(self.values[0])
        except ValueError:
            return False
        return have > want if self.op == GT else have < want

    def __str__(self) -> str:
        if self.op == EXISTS:
            return self.key
        if self.op == DOES_NOT_EXIST:
            return "!" + self.key
        if self.op in (IN, NOT_IN):
            return f"{self.key} {self.op} ({','.join(self.values)})"
        op = {GT: ">", LT: "<"}.get(self.op, self.op)
        return f"{self.key}{op}{self.values[0]}"


@dataclass(frozen=True)
class Selector:
    """An AND of requirements; ``matches_nothing`` is the selector built from a missing LabelSelector."""

    requirements: tuple[Requirement, ...] = ()
    matches_nothing: bool = False

    @classmethod
    def everything(cls) -> Selector:
        return cls()

    @classmethod
    def nothing(cls) -> Selector:
        return cls(matches_nothing=True)

    def matches(self, labels: dict[str, str] | None) -> bool:
        if self.matches_nothing:
            return False
        labels = labels or {}
        return all(r.matches(labels) for r in self.requirements)

    def empty(self) -> bool:
        """True for the selector that matches everything (labels.Selector.Empty)."""
        return not self.matches_nothing and not self.requirements

    def __str__(self) -> str:
        return ",".join(str(r) for r in self.requirements)


# ---- lexer ------------------------------------------------------------------------------------------

_IDENT, _END, _ERROR = "identifier", "end", "error"
_SPECIAL = set("=!(),><")
_WHITESPACE = set(" \t\r\n")
_SYMBOLS = {")": ")", ",": ",", "!": "!", "==": "==", "=": "=", ">": ">", "<": "<", "!=": "!=", "(": "("}
_KEYWORDS = {"in": IN, "notin": NOT_IN}


def _scan_special(s: str, pos: int) -> tuple[str, str, int]:
    """Longest run of special characters that is still a token (``!=`` before ``!``)."""
    best: tuple[str, str, int] | None = None
    end = pos
    while end < len(s) and s[end] in _SPECIAL:
        end += 1
        text = s[pos:end]
        if text in _SYMBOLS:
            best = (_SYMBOLS[text], text, end)
        elif best is not None:
            break
    if best is None:
        return _ERROR, f"error expected: keyword found '{s[pos:end]}'", end
    return best


def _lex(s: str) -> list[tuple[str, str]]:
    items: list[tuple[str, str]] = []
    pos = 0
    for _ in range(len(s) + 1):
        while pos < len(s) and s[pos] in _WHITESPACE:
            pos += 1
        if pos >= len(s):
            break
        if s[pos] in _SPECIAL:
            tok, lit, pos = _scan_special(s, pos)
        else:
            start = pos
            while pos < len(s) and s[pos] not in _SPECIAL and s[pos] not in _WHITESPACE:
                pos += 1
            lit = s[start:pos]
            tok = _KEYWORDS.get(lit, _IDENT)
        items.append((tok, lit))
    items.append((_END, ""))
    return items


# ---- parser -----------------------------------------------------------------------------------------


class _Parser:
    def __init__(self, s: str) -> None:
        self.items = _lex(s)
        self.pos = 0

    def _at(self, i: int, values: bool) -> tuple[str, str]:
        tok, lit = self.items[min(i, len(self.items) - 1)]
        if values and tok in (IN, NOT_IN):
            tok = _IDENT  # in a value position the keywords are ordinary identifiers
        return tok, lit

    def lookahead(self, values: bool = True) -> tuple[str, str]:
        return self._at(self.pos, values)

    def consume(self, values: bool = True) -> tuple[str, str]:
        self.pos += 1
        return self._at(self.pos - 1, values)

    def parse(self) -> list[Requirement]:
        reqs: list[Requirement] = []
        for _ in range(len(self.items) + 1):
            tok, lit = self.lookahead()
            if tok == _END:
                return reqs
            if tok not in (_IDENT, "!"):
                raise ValueError(f"found '{lit}', expected: !, identifier, or 'end of string'")
            try:
                reqs.append(self.requirement())
            except ValueError as exc:
                raise ValueError(f"unable to parse requirement: {exc}") from None
            tok, lit = self.consume()
            if tok == _END:
                return reqs
            if tok != ",":
                raise ValueError(f"found '{lit}', expected: ',' or 'end of string'")
            tok2, lit2 = self.lookahead()
            if tok2 not in (_IDENT, "!"):
                raise ValueError(f"found '{lit2}', expected: identifier after ','")
        return reqs

    def requirement(self) -> Requirement:
        key, op = self.key_and_inferred_operator()
        if op in (EXISTS, DOES_NOT_EXIST):
            return new_requirement(key, op, [])
        op = self.operator()
        values = self.values() if op in (IN, NOT_IN) else self.exact_value()
        return new_requirement(key, op, sorted(values))

    def key_and_inferred_operator(self) -> tuple[str, str]:
        op = ""
        tok, lit = self.consume()
        if tok == "!":
            op = DOES_NOT_EXIST
            tok, lit = self.consume()
        if tok != _IDENT:
            raise ValueError(f"found '{lit}', expected: identifier")
        _check_key(lit, "<nil>")
        if self.lookahead()[0] in (_END, ",") and op != DOES_NOT_EXIST:
            op = EXISTS
        return lit, op

    def operator(self) -> str:
        tok, lit = self.consume(values=False)
        ops = {IN: IN, NOT_IN: NOT_IN, "=": EQUALS, "==": DOUBLE_EQUALS, "!=": NOT_EQUALS, ">": GT, "<": LT}
        if tok not in ops:
            raise ValueError(f"found '{lit}', expected: {_BINARY_OPERATORS}")
        return ops[tok]

    def values(self) -> set[str]:
        tok, lit = self.consume()
        if tok != "(":
            raise ValueError(f"found '{lit}' expected: '('")
        tok, lit = self.lookahead()
        if tok == ")":
            self.consume()
            return {""}
        if tok not in (_IDENT, ","):
            raise ValueError(f"found '{lit}', expected: ',', ')' or identifier")
        out = self.identifiers()
        if self.consume()[0] != ")":
            raise ValueError(f"found '{lit}', expected: ')'")
        return out

    def identifiers(self) -> set[str]:
        out: set[str] = set()
        for _ in range(len(self.items) + 1):
            tok, lit = self.consume()
            if tok == _IDENT:
                out.add(lit)
                tok2, lit2 = self.lookahead()
                if tok2 == ")":
                    return out
                if tok2 != ",":
                    raise ValueError(f"found '{lit2}', expected: ',' or ')'")
            elif tok == ",":
                # "(,", ",," and ",)" each stand for an empty value.
                if not out:
                    out.add("")
                tok2 = self.lookahead()[0]
                if tok2 == ")":
                    out.add("")
                    return out
                if tok2 == ",":
                    self.consume()
                    out.add("")
            else:
                raise ValueError(f"found '{lit}', expected: ',', or identifier")
        return out

    def exact_value(self) -> set[str]:
        tok, _ = self.lookahead()
        if tok in (_END, ","):
            return {""}
        tok, lit = self.consume()
        if tok == _IDENT:
            return {lit}
        raise ValueError(f"found '{lit}', expected: identifier")


def _check_key(key: str, path: str) -> None:
    errs = qualified_name_errors(key)
    if errs:
        raise ValueError(f'{path}: Invalid value: "{key}": ' + "; ".join(errs))


def new_requirement(key: str, op: str, values: list[str]) -> Requirement:
    """labels.NewRequirement: the checks that tie operator and values together."""
    problems: list[str] = []
    key_errs = qualified_name_errors(key)
    if key_errs:
        problems.append(f'key: Invalid value: "{key}": ' + "; ".join(key_errs))
    shown = go_string_slice(values)
    if op in (IN, NOT_IN) and not values:
        problems.append(
            f"values: Invalid value: {shown}: for 'in', 'notin' operators, values set can't be empty"
        )
    elif op in (EQUALS, DOUBLE_EQUALS, NOT_EQUALS) and len(values) != 1:
        problems.append(
            f"values: Invalid value: {shown}: exact-match compatibility requires one single value"
        )
    elif op in (EXISTS, DOES_NOT_EXIST) and values:
        problems.append(
            f"values: Invalid value: {shown}: values set must be empty for exists and does not exist"
        )
    elif op in (GT, LT):
        if len(values) != 1:
            problems.append(
                f"values: Invalid value: {shown}: for 'Gt', 'Lt' operators, exactly one value is required"
            )
        for i, v in enumerate(values):
            if not _is_int(v):
                problems.append(
                    f"values[{i}]: Invalid value: \"{v}\": for 'Gt', 'Lt' operators, the value must be an integer"
                )
    for i, v in enumerate(values):
        errs = label_value_errors(v)
        if errs:
            problems.append(f'values[{i}][{key}]: Invalid value: "{v}": ' + "; ".join(errs))
    if problems:
        raise ValueError(problems[0] if len(problems) == 1 else "[" + ", ".join(problems) + "]")
    return Requirement(key, op, tuple(values))


def _is_int(v: str) -> bool:
    try:
        int(v, 10)
    except ValueError:
        return False
    return True


def parse_selector(s: str) -> Selector:
    """Parse a ``labelSelector`` query string; ValueError carries Kubernetes' message."""
    reqs = _Parser(s).parse()
    return Selector(tuple(sorted(reqs, key=lambda r: r.key)))


# ---- metav1.LabelSelector ---------------------------------------------------------------------------

_LS_OPERATORS = {"In": IN, "NotIn": NOT_IN, "Exists": EXISTS, "DoesNotExist": DOES_NOT_EXIST}


def selector_from_label_selector(ls: dict[str, Any] | None) -> Selector:
    """metav1.LabelSelectorAsSelector: None matches nothing, ``{}`` matches everything.

    Raises ValueError (with Kubernetes' message) on an invalid selector.
    """
    if ls is None:
        return Selector.nothing()
    reqs = [new_requirement(k, EQUALS, [str(v)]) for k, v in sorted((ls.get("matchLabels") or {}).items())]
    for expr in ls.get("matchExpressions") or []:
        expr = expr or {}
        op = _LS_OPERATORS.get(expr.get("operator", ""))
        if op is None:
            raise ValueError(f'"{expr.get("operator", "")}" is not a valid label selector operator')
        values = [str(v) for v in expr.get("values") or []]
        reqs.append(new_requirement(str(expr.get("key", "")), op, values))
    return Selector(tuple(sorted(reqs, key=lambda r: r.key)))


def validate_label_selector(ls: Any, field_path: str) -> list[Cause]:
    """metav1 validation.ValidateLabelSelector (strict label values)."""
    if ls is None:
        return []
    if not isinstance(ls, dict):
        return [errors.invalid(field_path, Go(str(ls)), "must be an object")]
    causes = validate_labels(ls.get("matchLabels"), f"{field_path}.matchLabels")
    for i, expr in enumerate(ls.get("matchExpressions") or []):
        causes += _validate_requirement(
            expr if isinstance(expr, dict) else {}, f"{field_path}.matchExpressions[{i}]"
        )
    return causes


def _validate_requirement(expr: dict[str, Any], path: str) -> list[Cause]:
    causes: list[Cause] = []
    op = expr.get("operator", "")
    values = expr.get("values") or []
    if op in ("In", "NotIn"):
        if not values:
            causes.append(
                errors.required(f"{path}.values", "must be specified when `operator` is 'In' or 'NotIn'")
            )
    elif op in ("Exists", "DoesNotExist"):
        if values:
            causes.append(
                errors.forbidden(
                    f"{path}.values", "may not be specified when `operator` is 'Exists' or 'DoesNotExist'"
                )
            )
    else:
        causes.append(errors.invalid(f"{path}.operator", str(op), "not a valid selector operator"))
    key = str(expr.get("key", ""))
    causes += [errors.invalid(f"{path}.key", key, m) for m in qualified_name_errors(key)]
    for j, v in enumerate(values):
        causes += [errors.invalid(f"{path}.values[{j}]", str(v), m) for m in label_value_errors(str(v))]
    return causes
