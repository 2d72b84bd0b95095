"""Label selectors: query-string parsing (accepted forms and Kubernetes' errors), matching, LabelSelector."""

from __future__ import annotations

import pytest

from podnet.api.labels import Selector, parse_selector, selector_from_label_selector, validate_label_selector
from tests.unit.api.helpers import QNAME_MSG, VALUE_MSG


@pytest.mark.parametrize(
    ("query", "canonical"),
    [
        ("", ""),
        ("a=b", "a=b"),
        ("a==b", "a==b"),
        ("a!=b", "a!=b"),
        ("a = b , c", "a=b,c"),
        ("a", "a"),
        ("!a", "!a"),
        ("a in (x,y)", "a in (x,y)"),
        ("a in (y, x)", "a in (x,y)"),
        ("a notin (x)", "a notin (x)"),
        ("a in ()", "a in ()"),
        ("a in (,x)", "a in (,x)"),
        ("x in (in),in notin (notin)", "in notin (notin),x in (in)"),
        ("example.com/app=web", "example.com/app=web"),
        ("a=", "a="),
        ("a=,b", "a=,b"),
        ("n>5,m<3", "m<3,n>5"),
        ("b=1,a=2", "a=2,b=1"),
    ],
)
def test_parse_accepts(query: str, canonical: str) -> None:
    assert str(parse_selector(query)) == canonical


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("a in b", "unable to parse requirement: found 'b' expected: '('"),
        ("a in (b", "unable to parse requirement: found '', expected: ',' or ')'"),
        ("a IN (b)", "unable to parse requirement: found 'IN', expected: in, notin, =, ==, !=, gt, lt"),
        ("a b", "unable to parse requirement: found 'b', expected: in, notin, =, ==, !=, gt, lt"),
        ("a=b=c", "found '=', expected: ',' or 'end of string'"),
        ("a=b,", "found '', expected: identifier after ','"),
        ("a=b,,c", "found ',', expected: identifier after ','"),
        ("=b", "found '=', expected: !, identifier, or 'end of string'"),
        ("!", "unable to parse requirement: found '', expected: identifier"),
        ("a=(b)", "unable to parse requirement: found '(', expected: identifier"),
        ("a in (b c)", "unable to parse requirement: found 'c', expected: ',' or ')'"),
        ("a in (=)", "unable to parse requirement: found '=', expected: ',', ')' or identifier"),
        ("!a=b", "found '=', expected: ',' or 'end of string'"),
        ("-a=b", f'unable to parse requirement: <nil>: Invalid value: "-a": {QNAME_MSG}'),
        ("a=-b", f'unable to parse requirement: values[0][a]: Invalid value: "-b": {VALUE_MSG}'),
        (
            "n>x",
            "unable to parse requirement: values[0]: Invalid value: \"x\": for 'Gt', 'Lt' operators, the value "
            "must be an integer",
        ),
    ],
)
def test_parse_errors_word_like_kubernetes(query: str, message: str) -> None:
    with pytest.raises(ValueError) as info:
        parse_selector(query)
    assert str(info.value) == message


@pytest.mark.parametrize(
    ("query", "labels", "matches"),
    [
        ("", {}, True),
        ("a=b", {"a": "b"}, True),
        ("a=b", {"a": "c"}, False),
        ("a=b", {}, False),
        ("a==b", {"a": "b", "x": "y"}, True),
        ("a!=b", {}, True),
        ("a!=b", {"a": "b"}, False),
        ("a!=b", {"a": "c"}, True),
        ("a in (x,y)", {"a": "y"}, True),
        ("a in (x,y)", {"a": "z"}, False),
        ("a in (x,y)", {}, False),
        ("a notin (x)", {}, True),
        ("a notin (x)", {"a": "x"}, False),
        ("a", {"a": ""}, True),
        ("a", {}, False),
        ("!a", {}, True),
        ("!a", {"a": "v"}, False),
        ("a=", {"a": ""}, True),
        ("a=b,c", {"a": "b"}, False),
        ("a=b,c", {"a": "b", "c": "1"}, True),
        ("n>5", {"n": "6"}, True),
        ("n>5", {"n": "5"}, False),
        ("n>5", {"n": "x"}, False),
        ("n<5", {"n": "4"}, True),
    ],
)
def test_matches(query: str, labels: dict[str, str], matches: bool) -> None:
    assert parse_selector(query).matches(labels) is matches


def test_label_selector_none_matches_nothing_and_empty_matches_everything() -> None:
    assert selector_from_label_selector(None) == Selector.nothing()
    assert not selector_from_label_selector(None).matches({})
    assert selector_from_label_selector({}).empty()
    assert selector_from_label_selector({}).matches({"any": "thing"})
    assert Selector.everything().matches(None)
    assert not Selector.nothing().empty()


@pytest.mark.parametrize(
    ("ls", "labels", "matches"),
    [
        ({"matchLabels": {"app": "web"}}, {"app": "web", "tier": "x"}, True),
        ({"matchLabels": {"app": "web"}}, {"app": "db"}, False),
        ({"matchExpressions": [{"key": "env", "operator": "In", "values": ["a", "b"]}]}, {"env": "b"}, True),
        ({"matchExpressions": [{"key": "env", "operator": "NotIn", "values": ["a"]}]}, {}, True),
        ({"matchExpressions": [{"key": "env", "operator": "Exists"}]}, {"env": ""}, True),
        ({"matchExpressions": [{"key": "env", "operator": "DoesNotExist"}]}, {"env": ""}, False),
        (
            {
                "matchLabels": {"app": "web"},
                "matchExpressions": [{"key": "env", "operator": "In", "values": ["p"]}],
            },
            {"app": "web", "env": "q"},
            False,
        ),
    ],
)
def test_label_selector_matching(ls: dict, labels: dict[str, str], matches: bool) -> None:  # type: ignore[type-arg]
    assert selector_from_label_selector(ls).matches(labels) is matches


@pytest.mark.parametrize(
    ("ls", "message"),
    [
        (
            {"matchExpressions": [{"key": "a", "operator": "Bogus"}]},
            '"Bogus" is not a valid label selector operator',
        ),
        (
            {"matchExpressions": [{"key": "a", "operator": "In", "values": []}]},
            "values: Invalid value: []string{}: for 'in', 'notin' operators, values set can't be empty",
        ),
        (
            {"matchExpressions": [{"key": "a", "operator": "Exists", "values": ["x"]}]},
            'values: Invalid value: []string{"x"}: values set must be empty for exists and does not exist',
        ),
    ],
)
def test_label_selector_as_selector_errors(ls: dict, message: str) -> None:  # type: ignore[type-arg]
    with pytest.raises(ValueError) as info:
        selector_from_label_selector(ls)
    assert str(info.value) == message


@pytest.mark.parametrize(
    ("ls", "expected"),
    [
        (None, []),
        ({}, []),
        (
            {
                "matchLabels": {"app": "web"},
                "matchExpressions": [{"key": "e", "operator": "In", "values": ["a"]}],
            },
            [],
        ),
        (
            {"matchLabels": {"-app": "-web"}},
            [
                ("s.matchLabels", "FieldValueInvalid", f'Invalid value: "-app": {QNAME_MSG}'),
                ("s.matchLabels", "FieldValueInvalid", f'Invalid value: "-web": {VALUE_MSG}'),
            ],
        ),
        (
            {"matchExpressions": [{"key": "e", "operator": "In"}]},
            [
                (
                    "s.matchExpressions[0].values",
                    "FieldValueRequired",
                    "Required value: must be specified when `operator` is 'In' or 'NotIn'",
                )
            ],
        ),
        (
            {"matchExpressions": [{"key": "e", "operator": "Exists", "values": ["a"]}]},
            [
                (
                    "s.matchExpressions[0].values",
                    "FieldValueForbidden",
                    "Forbidden: may not be specified when `operator` is 'Exists' or 'DoesNotExist'",
                )
            ],
        ),
        (
            {"matchExpressions": [{"key": "-e", "operator": "Equals", "values": ["-"]}]},
            [
                (
                    "s.matchExpressions[0].operator",
                    "FieldValueInvalid",
                    'Invalid value: "Equals": not a valid selector operator',
                ),
                ("s.matchExpressions[0].key", "FieldValueInvalid", f'Invalid value: "-e": {QNAME_MSG}'),
                ("s.matchExpressions[0].values[0]", "FieldValueInvalid", f'Invalid value: "-": {VALUE_MSG}'),
            ],
        ),
    ],
)
def test_validate_label_selector(ls: dict | None, expected: list[tuple[str, str, str]]) -> None:  # type: ignore[type-arg]
    rows = [(c.field, c.reason, c.message) for c in validate_label_selector(ls, "s")]
    assert rows == expected
