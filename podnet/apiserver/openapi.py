"""OpenAPI documents: what kubectl reads before it writes.

kubectl (1.27+) validates with ``--validate=strict`` by default. It asks
``/openapi/v3`` whether each resource's PATCH operation takes the
``fieldValidation`` query parameter; if so it leaves unknown-field checking
to the server (``fieldValidation=Strict``, see ``fieldcheck``) instead of
validating client side. It still loads ``/openapi/v2`` (protobuf only) to
build its client-side validator; we serve a minimal, valid v2 document with
no definitions, which makes that validator skip every kind, so the server's
strict check is the one that decides — the same outcome as against a real
apiserver, from one source of truth.
"""

from __future__ import annotations

import hashlib
from functools import cache
from typing import Any

import orjson
from aiohttp import web

from podnet.api.scheme import ResourceInfo, by_group_version

Obj = dict[str, Any]

_QUERY_PARAMS = ("dryRun", "fieldManager", "fieldValidation", "force")
# What kube-openapi answers with (the Accept header spells it with "@v1.0"; Go cannot parse that back)
_PROTOBUF_V2 = "application/com.github.proto-openapi.spec.v2.v1.0+protobuf"


def _gvk(r: ResourceInfo) -> Obj:
    return {"group": r.group, "version": r.version, "kind": r.kind}


def _op(r: ResourceInfo, action: str, params: tuple[str, ...] = ()) -> Obj:
    return {
        "operationId": f"{action}{r.kind}",
        "parameters": [
            {"name": p, "in": "query", "schema": {"type": "string"}, "uniqueItems": True} for p in params
        ],
        "responses": {"200": {"description": "OK"}},
        "x-kubernetes-action": action,
        "x-kubernetes-group-version-kind": _gvk(r),
    }


def _paths_for(r: ResourceInfo) -> dict[str, Obj]:
    base = f"/api/{r.version}" if not r.group else f"/apis/{r.group}/{r.version}"
    coll = f"{base}/namespaces/{{namespace}}/{r.plural}" if r.namespaced else f"{base}/{r.plural}"
    item = f"{coll}/{{name}}"
    paths: dict[str, Obj] = {
        coll: {"get": _op(r, "list"), "post": _op(r, "post", _QUERY_PARAMS)},
        item: {
            "get": _op(r, "get"),
            "put": _op(r, "put", _QUERY_PARAMS),
            "patch": _op(r, "patch", _QUERY_PARAMS),
            "delete": _op(r, "delete"),
        },
    }
    for sub in r.subresources:
        paths[f"{item}/{sub}"] = {
            "get": _op(r, "get"),
            "put": _op(r, "put", _QUERY_PARAMS),
            "patch": _op(r, "patch", _QUERY_PARAMS),
        }
    return paths


@cache
def group_version_document(group_version: str) -> bytes:
    resources = by_group_version()[group_version]
    paths: dict[str, Obj] = {}
    for r in resources:
        paths.update(_paths_for(r))
    doc = {
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes", "version": "v1.32.0-podnet"},
        "paths": paths,
        "components": {"schemas": {}},
    }
    return orjson.dumps(doc)


def _url_path(group_version: str) -> str:
    return f"api/{group_version}" if "/" not in group_version else f"apis/{group_version}"


@cache
def root_document() -> bytes:
    paths = {}
    for gv in by_group_version():
        digest = hashlib.sha512(group_version_document(gv)).hexdigest()[:64].upper()
        paths[_url_path(gv)] = {"serverRelativeURL": f"/openapi/v3/{_url_path(gv)}?hash={digest}"}
    return orjson.dumps({"paths": paths})


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte = n & 0x7F
        n >>= 7
        if n:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _field(number: int, payload: bytes) -> bytes:
    """A length-delimited protobuf field (wire type 2)."""
    return _varint(number << 3 | 2) + _varint(len(payload)) + payload


@cache
def v2_protobuf() -> bytes:
    """gnostic ``openapi_v2.Document{swagger: "2.0", info: {title, version}}``, nothing else.

    Hand-encoded because it is three fields of the protobuf wire format; a
    protobuf toolchain for that would be heavier than the document.
    """
    info = _field(1, b"Kubernetes") + _field(2, b"v1.32.0-podnet")
    return _field(1, b"2.0") + _field(2, info)


def add_routes(app: web.Application) -> None:
    async def v3_root(_: web.Request) -> web.Response:
        return web.Response(body=root_document(), content_type="application/json")

    async def v3_doc(request: web.Request) -> web.Response:
        tail = request.match_info["tail"]
        gv = tail[len("api/") :] if tail.startswith("api/") else tail[len("apis/") :]
        if gv not in by_group_version() or _url_path(gv) != tail:
            raise web.HTTPNotFound()
        return web.Response(
            body=group_version_document(gv),
            content_type="application/json",
            headers={"Cache-Control": "public, immutable", "Expires": "Thu, 01 Jan 2099 00:00:00 GMT"},
        )

    async def v2(_: web.Request) -> web.Response:
        return web.Response(body=v2_protobuf(), headers={"Content-Type": _PROTOBUF_V2})

    app.router.add_get("/openapi/v3", v3_root)
    app.router.add_get("/openapi/v3/{tail:.*}", v3_doc)
    app.router.add_get("/openapi/v2", v2)
