"""Generate podnet/api/schema.json: the field tree of every kind podnet serves.

The source is the official Kubernetes Python client's generated models
(themselves generated from Kubernetes' OpenAPI spec): for each type, its JSON
field names and their types. The API server uses the tree for
``fieldValidation=Strict`` (unknown and duplicate fields), exactly the check
kubectl delegates to a real apiserver. Run: .venv/bin/python tools/gen_schema.py
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

from kubernetes.client import models

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from podnet.api.scheme import RESOURCES

# Kind → the client model class name for its version.
_MODEL = {
    ("", "v1"): "V1",
    ("apps", "v1"): "V1",
    ("discovery.k8s.io", "v1"): "V1",
    ("networking.k8s.io", "v1"): "V1",
    ("coordination.k8s.io", "v1"): "V1",
}
_ALIASES = {"CoreV1Event": "CoreV1Event"}


def _type(t: str) -> object:
    """Client type string → schema node: "str" | "int" | ... | {"list": node} | {"map": node} | "Ref"."""
    m = re.fullmatch(r"List\[(.+)\]", t) or re.fullmatch(r"list\[(.+)\]", t)
    if m:
        return {"list": _type(m.group(1))}
    m = re.fullmatch(r"Dict\[str, (.+)\]", t) or re.fullmatch(r"dict\(str, (.+)\)", t)
    if m:
        return {"map": _type(m.group(1))}
    if t in ("str", "int", "bool", "float", "datetime", "object", "date"):
        return t
    return t  # a model name


def collect(name: str, out: dict[str, dict[str, object]]) -> None:
    if name in out or not hasattr(models, name):
        return
    cls = getattr(models, name)
    fields: dict[str, object] = {}
    out[name] = fields
    for attr, t in cls.openapi_types.items():
        node = _type(t)
        fields[cls.attribute_map[attr]] = node
        for ref in re.findall(r"[A-Z][A-Za-z0-9]+", t):
            if ref not in ("List", "Dict") and hasattr(models, ref):
                collect(ref, out)


def main() -> None:
    types: dict[str, dict[str, object]] = {}
    kinds: dict[str, str] = {}
    for r in RESOURCES:
        model = _MODEL[(r.group, r.version)] + r.kind
        if r.kind == "Event":
            model = "CoreV1Event"
        if not hasattr(models, model):
            raise SystemExit(f"no client model {model} for {r.api_version} {r.kind}")
        collect(model, types)
        kinds[f"{r.api_version}/{r.kind}"] = model
    collect("V1Scale", types)
    kinds["autoscaling/v1/Scale"] = "V1Scale"
    collect("V1DeleteOptions", types)
    dest = Path(__file__).resolve().parent.parent / "podnet" / "api" / "schema.json"
    dest.write_text(json.dumps({"kinds": kinds, "types": types}, sort_keys=True, separators=(",", ":")))
    print(f"wrote {dest}: {len(kinds)} kinds, {len(types)} types")


if __name__ == "__main__":
    main()
