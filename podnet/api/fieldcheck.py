"""Unknown-field detection for ``fieldValidation=Strict|Warn``, from the generated field tree.

kubectl 1.32 sends every write with ``fieldValidation=Strict`` and relies on
the server to refuse fields the schema does not declare. The tree in
``schema.json`` (see tools/gen_schema.py) gives each type's JSON fields;
"object"-typed fields (IntOrString, RawExtension, free-form) accept anything.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

_SCALARS = {"str", "int", "bool", "float", "datetime", "date", "object"}


@cache
def _schema() -> dict[str, Any]:
    data: dict[str, Any] = json.loads((Path(__file__).parent / "schema.json").read_text())
    return data


def unknown_fields(api_version: str, kind: str, obj: Any) -> list[str]:
    """Paths of fields ``obj`` carries that its kind does not declare (Kubernetes' wording)."""
    model = _schema()["kinds"].get(f"{api_version}/{kind}")
    if model is None:
        return []
    out: list[str] = []
    _walk(model, obj, "", out)
    return out


def _walk(node: Any, value: Any, path: str, out: list[str]) -> None:
    if value is None:
        return
    if isinstance(node, str):
        if node in _SCALARS:
            return
        fields = _schema()["types"].get(node)
        if fields is None or not isinstance(value, dict):
            return
        for key, child in value.items():
            sub = f"{path}.{key}" if path else key
            if key not in fields:
                out.append(sub)
            else:
                _walk(fields[key], child, sub, out)
        return
    if "list" in node and isinstance(value, list):
        for i, item in enumerate(value):
            _walk(node["list"], item, f"{path}[{i}]", out)
    elif "map" in node and isinstance(value, dict):
        for key, item in value.items():
            _walk(node["map"], item, f"{path}[{key}]", out)


def duplicate_fields(raw: bytes) -> list[str]:
    """Keys repeated within one JSON object (Go's strict decoder refuses them too)."""
    dups: list[str] = []

    def hook(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                dups.append(key)
            seen.add(key)
        return dict(pairs)

    try:
        json.loads(raw, object_pairs_hook=hook)
    except ValueError:
        return []
    return dups
