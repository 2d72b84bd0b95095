"""Decoding the Kubernetes protobuf encoding for the objects kubectl's typed generators send.

``kubectl create namespace|deployment|service|configmap`` use client-go typed
clients, which send ``application/vnd.kubernetes.protobuf`` and do not fall
back to JSON. The envelope is ``k8s\\x00`` + ``runtime.Unknown{typeMeta, raw}``
and ``raw`` is the object in the field numbering of k8s.io/api's
generated.proto. We decode only the fields those generators fill (the table
below, checked against captured kubectl 1.32 requests); Go zero values are
how proto2 encodes unset non-pointer fields, so they are dropped. Anything
else is refused with 415, which is what a server without the type would say.
"""

from __future__ import annotations

import base64
from typing import Any

MAGIC = b"k8s\x00"

# A schema node: "str" | "int" | "int0" (keep zero) | "bytes" | ("map", value_kind) | [node] (repeated) | dict
_MAP_STR = ("map", "str")
META: dict[int, tuple[str, Any]] = {
    1: ("name", "str"),
    2: ("generateName", "str"),
    3: ("namespace", "str"),
    11: ("labels", _MAP_STR),
    12: ("annotations", _MAP_STR),
    14: ("finalizers", ["str"]),
}
INT_OR_STRING = {1: ("type", "int"), 2: ("intVal", "int"), 3: ("strVal", "str")}
CONTAINER: dict[int, tuple[str, Any]] = {
    1: ("name", "str"),
    2: ("image", "str"),
    3: ("command", ["str"]),
    4: ("args", ["str"]),
    6: ("ports", [{1: ("name", "str"), 3: ("containerPort", "int"), 4: ("protocol", "str")}]),
    7: ("env", [{1: ("name", "str"), 2: ("value", "str")}]),
}
POD_SPEC = {2: ("containers", [CONTAINER]), 3: ("restartPolicy", "str")}
INGRESS_BACKEND = {
    4: ("service", {1: ("name", "str"), 2: ("port", {1: ("name", "str"), 2: ("number", "int")})}),
}
HTTP_PATH = {1: ("path", "str"), 2: ("backend", INGRESS_BACKEND), 3: ("pathType", "str")}
INGRESS_SPEC = {
    1: ("defaultBackend", INGRESS_BACKEND),
    2: ("tls", [{1: ("hosts", ["str"]), 2: ("secretName", "str")}]),
    # IngressRuleValue is inlined in JSON: its one field, http, lands beside host (see decode).
    3: ("rules", [{1: ("host", "str"), 2: ("ingressRuleValue", {1: ("http", {1: ("paths", [HTTP_PATH])})})}]),
    4: ("ingressClassName", "str"),
}
SCHEMAS: dict[tuple[str, str], dict[int, tuple[str, Any]]] = {
    ("v1", "Namespace"): {1: ("metadata", META), 2: ("spec", {1: ("finalizers", ["str"])})},
    ("v1", "ConfigMap"): {1: ("metadata", META), 2: ("data", _MAP_STR)},
    ("v1", "Service"): {
        1: ("metadata", META),
        2: (
            "spec",
            {
                1: (
                    "ports",
                    [
                        {
                            1: ("name", "str"),
                            2: ("protocol", "str"),
                            3: ("port", "int"),
                            4: ("targetPort", INT_OR_STRING),
                            5: ("nodePort", "int"),
                        }
                    ],
                ),
                2: ("selector", _MAP_STR),
                3: ("clusterIP", "str"),
                4: ("type", "str"),
                10: ("externalName", "str"),
            },
        ),
    },
    ("v1", "Secret"): {
        1: ("metadata", META),
        2: ("data", ("map", "bytes")),
        3: ("type", "str"),
        4: ("stringData", _MAP_STR),
    },
    ("v1", "ServiceAccount"): {1: ("metadata", META)},
    ("networking.k8s.io/v1", "Ingress"): {1: ("metadata", META), 2: ("spec", INGRESS_SPEC)},
    ("apps/v1", "Deployment"): {
        1: ("metadata", META),
        2: (
            "spec",
            {
                1: ("replicas", "int0"),
                2: ("selector", {1: ("matchLabels", _MAP_STR)}),
                3: ("template", {1: ("metadata", META), 2: ("spec", POD_SPEC)}),
                4: ("strategy", {1: ("type", "str")}),
            },
        ),
    },
}


class ProtobufError(ValueError):
    pass


def _varint(b: bytes, i: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if i >= len(b):
            raise ProtobufError("truncated varint")
        c = b[i]
        i += 1
        result |= (c & 0x7F) << shift
        shift += 7
        if c < 0x80:
            return result, i


def _fields(b: bytes) -> list[tuple[int, int | bytes]]:
    out: list[tuple[int, int | bytes]] = []
    i = 0
    while i < len(b):
        key, i = _varint(b, i)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, i = _varint(b, i)
            out.append((number, value))
        elif wire == 2:
            n, i = _varint(b, i)
            if i + n > len(b):
                raise ProtobufError("truncated field")
            out.append((number, b[i : i + n]))
            i += n
        else:
            raise ProtobufError(f"unsupported wire type {wire}")
    return out


def _scalar(kind: str, raw: int | bytes) -> Any:
    if kind in ("int", "int0"):
        if not isinstance(raw, int):
            raise ProtobufError("expected an integer")
        return raw
    if not isinstance(raw, bytes):
        raise ProtobufError("expected bytes")
    if kind == "bytes":
        return base64.b64encode(raw).decode()
    try:
        return raw.decode()
    except UnicodeDecodeError as exc:
        raise ProtobufError("a string field is not valid UTF-8") from exc


def _message(b: bytes, schema: dict[int, tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for number, raw in _fields(b):
        if number not in schema:
            continue
        name, node = schema[number]
        if isinstance(node, list):
            item = node[0]
            value = _message(raw, item) if isinstance(item, dict) else _scalar(item, raw)  # type: ignore[arg-type]
            out.setdefault(name, []).append(value)
        elif isinstance(node, tuple):
            entry = dict((n, v) for n, v in _fields(raw))  # type: ignore[arg-type]
            key = entry.get(1, b"")
            out.setdefault(name, {})[_scalar("str", key)] = _scalar(node[1], entry.get(2, b""))
        elif isinstance(node, dict):
            out[name] = _message(raw, node)  # type: ignore[arg-type]
        else:
            value = _scalar(node, raw)
            if value in ("", 0) and node != "int0":
                continue
            out[name] = value
    return {k: v for k, v in out.items() if v not in ({}, [])}


def decode(body: bytes) -> dict[str, Any]:
    """The JSON form of a protobuf-encoded object, or ProtobufError."""
    if not body.startswith(MAGIC):
        raise ProtobufError("missing the k8s protobuf magic prefix")
    envelope = dict(_fields(body[len(MAGIC) :]))
    type_meta = dict(_fields(envelope.get(1, b"")))  # type: ignore[arg-type]
    api_version = _scalar("str", type_meta.get(1, b""))
    kind = _scalar("str", type_meta.get(2, b""))
    schema = SCHEMAS.get((api_version, kind))
    if schema is None:
        raise ProtobufError(f"protobuf encoding of {api_version} {kind} is not supported; send JSON")
    obj = _message(envelope.get(2, b""), schema)  # type: ignore[arg-type]
    for port in (obj.get("spec") or {}).get("ports") or []:
        tp = port.get("targetPort")
        if isinstance(tp, dict):
            port["targetPort"] = tp.get("strVal") if tp.get("type") == 1 else tp.get("intVal", 0)
    for rule in (obj.get("spec") or {}).get("rules") or []:
        rule.update(rule.pop("ingressRuleValue", {}))
    return {"apiVersion": api_version, "kind": kind, **obj}
