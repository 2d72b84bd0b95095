"""HTTP ↔ registry: Kubernetes' URL layout, query parameters, bodies and response shapes."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from dataclasses import dataclass
from typing import Any

import orjson
import yaml
from aiohttp import web

from podnet.api import errors, fieldcheck, scheme
from podnet.api.fields import parse_field_selector
from podnet.api.labels import parse_selector
from podnet.api.scheme import ResourceInfo
from podnet.api.timestamps import rfc3339
from podnet.apiserver import discovery, podlogs, protobuf, table
from podnet.apiserver.registry import DeleteOptions, ListOptions, Registry, to_scale

log = logging.getLogger(__name__)
Obj = dict[str, Any]

_PATCH_TYPES = {
    "application/json-patch+json": "json",
    "application/merge-patch+json": "merge",
    "application/strategic-merge-patch+json": "strategic",
}


@dataclass(frozen=True)
class Target:
    """A parsed resource URL."""

    res: ResourceInfo
    namespace: str | None
    name: str | None
    subresource: str


def json_response(obj: Any, status: int = 200) -> web.Response:
    return web.Response(body=orjson.dumps(obj), status=status, content_type="application/json")


def status_response(err: errors.StatusError) -> web.Response:
    return json_response(err.status(), err.code)


def parse_target(prefix: str, path: str) -> Target:
    """``/api/v1/namespaces/ns/pods/name/status`` → Target; 404 for anything we do not serve."""
    parts = [p for p in path.split("/") if p]
    if prefix == "api":
        if not parts or parts[0] != "v1":
            raise errors.not_found_path(path)
        group, version, rest = "", "v1", parts[1:]
    else:
        if len(parts) < 2:
            raise errors.not_found_path(path)
        group, version, rest = parts[0], parts[1], parts[2:]
    namespace: str | None = None
    if len(rest) >= 3 and rest[0] == "namespaces":
        candidate = scheme.lookup(group, version, rest[2])
        if candidate is not None and candidate.namespaced:
            namespace, rest = rest[1], rest[2:]
    if not rest:
        raise errors.not_found_path(path)
    res = scheme.lookup(group, version, rest[0])
    if res is None or len(rest) > 3:
        raise errors.not_found_path(path)
    name = rest[1] if len(rest) >= 2 else None
    sub = rest[2] if len(rest) == 3 else ""
    allowed_subs = set(res.subresources) | ({"binding", "log"} if res.kind == "Pod" else set())
    allowed_subs |= {"finalize"} if res.kind == "Namespace" else set()
    if sub and sub not in allowed_subs:
        raise errors.not_found_path(path)
    return Target(res, namespace, name, sub)


async def read_body(request: web.Request) -> Any:
    return (await read_body_raw(request))[0]


async def read_body_raw(request: web.Request) -> tuple[Any, bytes]:
    try:
        raw = await request.read()
    except web.HTTPRequestEntityTooLarge as exc:
        raise errors.request_entity_too_large(request.app["max_body"]) from exc
    if not raw:
        raise errors.bad_request("the request body is empty")
    ctype = request.content_type
    if ctype == "application/vnd.kubernetes.protobuf" and request.method in ("POST", "PUT"):
        try:
            return protobuf.decode(raw), raw
        except protobuf.ProtobufError as exc:
            raise errors.unsupported_media_type(f"{ctype} ({exc})") from exc
    if "protobuf" in ctype or "cbor" in ctype:
        # Protobuf (kubectl's typed clients) and CBOR are not served: 415 makes client-go fall back to JSON.
        raise errors.unsupported_media_type(ctype)
    try:
        if ctype in ("application/yaml", "application/apply-patch+yaml"):
            return yaml.safe_load(raw), raw
        return orjson.loads(raw), raw
    except (orjson.JSONDecodeError, yaml.YAMLError) as exc:
        raise errors.bad_request(f"the request body could not be decoded: {exc}") from exc


def check_type(body: Any, res: ResourceInfo, kind: str | None = None, api_version: str | None = None) -> Obj:
    if not isinstance(body, dict):
        raise errors.bad_request(f"the request body must be a JSON object, got {type(body).__name__}")
    want_kind, want_version = kind or res.kind, api_version or res.api_version
    got_version = body.get("apiVersion")
    if got_version and got_version != want_version:
        raise errors.bad_request(
            f"the API version in the data ({got_version}) does not match the expected API version "
            f"({want_version})"
        )
    got_kind = body.get("kind")
    if got_kind and got_kind != want_kind:
        raise errors.bad_request(
            f"the kind in the data ({got_kind}) does not match the expected kind ({want_kind})"
        )
    meta = body.get("metadata")
    if meta is not None and not isinstance(meta, dict):
        raise errors.bad_request("metadata must be an object")
    return body


def _int_param(request: web.Request, name: str) -> int | None:
    raw = request.query.get(name)
    if raw in (None, ""):
        return None
    try:
        return int(raw)
    except ValueError as exc:
        raise errors.bad_request(f"invalid value for {name}: {raw!r}") from exc


def list_options(request: web.Request, res: ResourceInfo) -> ListOptions:
    q = request.query
    opts = ListOptions(
        limit=_int_param(request, "limit") or 0,
        continue_=q.get("continue", ""),
        resource_version=q.get("resourceVersion", ""),
        resource_version_match=q.get("resourceVersionMatch", ""),
    )
    try:
        if q.get("labelSelector"):
            opts.label_selector = parse_selector(q["labelSelector"])
        if q.get("fieldSelector"):
            opts.field_selector = parse_field_selector(q["fieldSelector"], res)
    except ValueError as exc:
        raise errors.bad_request(str(exc)) from exc
    return opts


def wants_table(request: web.Request) -> bool:
    accept = request.headers.get("Accept", "")
    first = accept.split(",")[0]
    return "as=Table" in first


def render(request: web.Request, res: ResourceInfo, obj: Obj, status: int = 200) -> web.Response:
    if wants_table(request):
        t = table.to_table(
            res,
            [obj],
            include_object=request.query.get("includeObject", "Metadata"),
            now=request.app["now"](),
        )
        t.setdefault("metadata", {})["resourceVersion"] = obj["metadata"].get("resourceVersion", "")
        return json_response(t, status)
    return json_response(obj, status)


def field_validation(request: web.Request) -> str:
    mode = request.query.get("fieldValidation", "")
    if mode not in ("", "Strict", "Warn", "Ignore"):
        raise errors.bad_request(
            f'fieldValidation must be one of "Ignore", "Warn", or "Strict", got {mode!r}'
        )
    return mode


def check_fields(mode: str, res_version: str, kind: str, obj: Any, raw: bytes | None = None) -> list[str]:
    """Unknown (and duplicate) fields: refused under Strict, returned as warnings under Warn."""
    if mode not in ("Strict", "Warn"):
        return []
    problems = [f'unknown field "{f}"' for f in fieldcheck.unknown_fields(res_version, kind, obj)]
    if raw is not None:
        problems += [f'duplicate field "{f}"' for f in fieldcheck.duplicate_fields(raw)]
    if problems and mode == "Strict":
        version = res_version.split("/")[-1]
        raise errors.bad_request(
            f'{kind} in version "{version}" cannot be handled as a {kind}: strict decoding error: '
            + ", ".join(problems)
        )
    return problems


def with_warnings(resp: web.Response, warnings: list[str]) -> web.Response:
    for w in warnings:
        resp.headers.add("Warning", '299 - "' + w.replace('"', '\\"') + '"')
    return resp


def _dry_run(request: web.Request) -> bool:
    values = request.query.getall("dryRun", [])
    for v in values:
        if v != "All":
            raise errors.bad_request(f'Invalid dry run value: {v!r}: supported values: "All"')
    return bool(values)


def delete_options(request: web.Request, body: Any) -> DeleteOptions:
    opts = DeleteOptions(
        grace_period_seconds=_int_param(request, "gracePeriodSeconds"),
        propagation_policy=request.query.get("propagationPolicy") or None,
        dry_run=_dry_run(request),
    )
    if isinstance(body, dict):
        if body.get("gracePeriodSeconds") is not None:
            opts.grace_period_seconds = int(body["gracePeriodSeconds"])
        if body.get("propagationPolicy"):
            opts.propagation_policy = body["propagationPolicy"]
        elif body.get("orphanDependents") is True:
            opts.propagation_policy = "Orphan"
        pre = body.get("preconditions") or {}
        opts.precondition_uid = pre.get("uid")
        opts.precondition_resource_version = pre.get("resourceVersion")
        if body.get("dryRun"):
            opts.dry_run = True
    return opts


class ResourceHandler:
    """The aiohttp handler for every /api and /apis resource URL."""

    def __init__(self, registry: Registry) -> None:
        self.registry = registry

    async def __call__(self, request: web.Request) -> web.StreamResponse:
        prefix = "api" if request.path.startswith("/api/") else "apis"
        tail = request.match_info.get("tail", "")
        parts = [p for p in tail.split("/") if p]
        doc = self._discovery(prefix, parts)
        if doc is not None:
            return json_response(doc)
        target = parse_target(prefix, tail)
        method = request.method
        if target.name is None:
            if method == "GET":
                return await self._list_or_watch(request, target)
            if method == "POST":
                return await self._create(request, target)
            if method == "DELETE":
                return await self._delete_collection(request, target)
        else:
            if method == "GET":
                return await self._get(request, target)
            if method == "PUT":
                return await self._update(request, target)
            if method == "PATCH":
                return await self._patch(request, target)
            if method == "DELETE":
                return await self._delete(request, target)
            if method == "POST" and target.subresource == "binding":
                return await self._bind(request, target)
        raise errors.method_not_supported(target.res, method.lower())

    @staticmethod
    def _discovery(prefix: str, parts: list[str]) -> Obj | None:
        if prefix == "api" and parts == ["v1"]:
            return discovery.api_resource_list("v1") or {}
        if prefix == "apis" and len(parts) == 1:
            doc = discovery.api_group(parts[0])
            if doc is None:
                raise errors.not_found_path("/apis/" + parts[0])
            return doc
        if prefix == "apis" and len(parts) == 2:
            doc = discovery.api_resource_list(f"{parts[0]}/{parts[1]}")
            if doc is None:
                raise errors.not_found_path("/apis/" + "/".join(parts))
            return doc
        return None

    async def _get(self, request: web.Request, t: Target) -> web.StreamResponse:
        assert t.name is not None
        if t.subresource == "log":
            return await podlogs.pod_log(request, self.registry, t.namespace or "default", t.name)
        obj = await self.registry.get(t.res, t.namespace, t.name)
        if t.subresource == "scale":
            return json_response(to_scale(t.res, obj))
        return render(request, t.res, obj)

    async def _list_or_watch(self, request: web.Request, t: Target) -> web.StreamResponse:
        opts = list_options(request, t.res)
        if request.query.get("watch") in ("1", "true", "True"):
            return await self._watch(request, t, opts)
        result = await self.registry.list(t.res, t.namespace, opts)
        meta: Obj = {"resourceVersion": str(result.resource_version)}
        if result.continue_:
            meta["continue"] = result.continue_
        if wants_table(request):
            out = table.to_table(
                t.res,
                result.items,
                include_object=request.query.get("includeObject", "Metadata"),
                now=request.app["now"](),
            )
            out.setdefault("metadata", {}).update(meta)
            return json_response(out)
        for item in result.items:
            item.pop("apiVersion", None)
            item.pop("kind", None)
            item["apiVersion"], item["kind"] = t.res.api_version, t.res.kind
        return json_response(
            {
                "kind": t.res.list_kind_name,
                "apiVersion": t.res.api_version,
                "metadata": meta,
                "items": result.items,
            }
        )

    async def _watch(self, request: web.Request, t: Target, opts: ListOptions) -> web.StreamResponse:
        timeout = _int_param(request, "timeoutSeconds")
        if timeout is None:
            timeout = random.randint(1800, 3600)
        bookmarks = request.query.get("allowWatchBookmarks") in ("1", "true", "True")
        as_table = wants_table(request)
        include = request.query.get("includeObject", "Metadata")
        rv = request.query.get("resourceVersion", "")
        events = self.registry.watch(t.res, t.namespace, rv, opts)
        resp = web.StreamResponse(status=200, headers={"Content-Type": "application/json"})
        resp.enable_chunked_encoding()
        await resp.prepare(request)
        last_rv = rv if rv not in ("", "0") else ""
        # Events are queued as bytes and written by one writer task, so everything that piled up
        # while a write was in flight goes out in a single chunk: one TLS record and one syscall
        # instead of one per event (per-event writes were ~45% of the server's CPU in a pod burst).
        pending: list[bytes] = []
        queued = asyncio.Event()

        def send(kind: str, obj: Obj) -> None:
            nonlocal last_rv
            last_rv = obj.get("metadata", {}).get("resourceVersion", last_rv)
            if as_table and kind != "BOOKMARK":
                payload = table.to_table(t.res, [obj], include_object=include, now=request.app["now"]())
                payload.setdefault("metadata", {})["resourceVersion"] = last_rv
                obj = payload
            pending.append(orjson.dumps({"type": kind, "object": obj}) + b"\n")
            queued.set()

        async def flush() -> None:
            if pending:
                data = b"".join(pending)
                pending.clear()
                await resp.write(data)

        async def writer() -> None:
            while True:
                await queued.wait()
                queued.clear()
                await flush()

        async def pump() -> None:
            async for kind, obj in events:
                send(kind, obj)

        async def bookmark_loop() -> None:
            while True:
                await asyncio.sleep(request.app["bookmark_interval"])
                if last_rv:
                    send(
                        "BOOKMARK",
                        {
                            "kind": t.res.kind,
                            "apiVersion": t.res.api_version,
                            "metadata": {"resourceVersion": last_rv},
                        },
                    )

        tasks = [asyncio.ensure_future(pump()), asyncio.ensure_future(writer())]
        if bookmarks:
            tasks.append(asyncio.ensure_future(bookmark_loop()))
        try:
            done, _ = await asyncio.wait(tasks, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
            tasks[1].cancel()  # the writer stops here; what it has not sent yet goes out below
            with contextlib.suppress(asyncio.CancelledError, Exception):  # a broken client: flush says so
                await tasks[1]
            await flush()
            for task in done:
                exc = task.exception()
                if isinstance(exc, errors.StatusError):
                    await resp.write(orjson.dumps({"type": "ERROR", "object": exc.status()}) + b"\n")
                elif exc is not None and not isinstance(exc, ConnectionResetError):
                    log.warning("watch of %s ended: %r", t.res.plural, exc)
        except (ConnectionResetError, asyncio.CancelledError):
            pass
        finally:
            for task in tasks:
                task.cancel()
            with contextlib.suppress(BaseException):
                await events.aclose()  # type: ignore[attr-defined]
        with contextlib.suppress(ConnectionResetError):
            await resp.write_eof()
        return resp

    async def _create(self, request: web.Request, t: Target) -> web.Response:
        raw_body, raw = await read_body_raw(request)
        body = check_type(raw_body, t.res)
        warnings = check_fields(field_validation(request), t.res.api_version, t.res.kind, body, raw)
        obj = await self.registry.create(t.res, t.namespace, body, dry_run=_dry_run(request))
        return with_warnings(render(request, t.res, obj, 201), warnings)

    async def _update(self, request: web.Request, t: Target) -> web.Response:
        assert t.name is not None
        dry = _dry_run(request)
        mode = field_validation(request)
        raw_body, raw = await read_body_raw(request)
        if t.subresource == "scale":
            body = check_type(raw_body, t.res, "Scale", "autoscaling/v1")
            warnings = check_fields(mode, "autoscaling/v1", "Scale", body, raw)
            scale = await self.registry.update_scale(t.res, t.namespace, t.name, body, dry)
            return with_warnings(json_response(scale), warnings)
        if t.subresource == "binding":
            raise errors.method_not_supported(t.res, "update")
        body = check_type(raw_body, t.res)
        warnings = check_fields(mode, t.res.api_version, t.res.kind, body, raw)
        obj = await self.registry.update(t.res, t.namespace, t.name, body, t.subresource, dry)
        return with_warnings(render(request, t.res, obj), warnings)

    async def _patch(self, request: web.Request, t: Target) -> web.Response:
        assert t.name is not None
        patch_type = _PATCH_TYPES.get(request.content_type)
        if patch_type is None:
            raise errors.unsupported_media_type(request.content_type)
        body = await read_body(request)
        mode = field_validation(request)
        warnings: list[str] = []

        def checker(api_version: str, kind: str, patched: Obj) -> None:
            # Called once per conflict retry: keep only the attempt that was written.
            warnings[:] = check_fields(mode, api_version, kind, patched)

        obj = await self.registry.patch(
            t.res, t.namespace, t.name, patch_type, body, t.subresource, _dry_run(request), checker
        )
        if t.subresource == "scale":
            return with_warnings(json_response(obj), warnings)
        return with_warnings(render(request, t.res, obj), warnings)

    async def _delete(self, request: web.Request, t: Target) -> web.Response:
        assert t.name is not None
        body = None
        if request.can_read_body:
            raw = await request.read()
            if raw.strip():
                try:
                    body = orjson.loads(raw)
                except orjson.JSONDecodeError as exc:
                    raise errors.bad_request(f"the request body could not be decoded: {exc}") from exc
        obj, gone = await self.registry.delete(t.res, t.namespace, t.name, delete_options(request, body))
        if gone and t.res.kind not in ("Namespace", "Pod", "Service"):
            details: Obj = {"name": t.name, "kind": t.res.plural, "uid": obj["metadata"].get("uid", "")}
            if t.res.group:
                details["group"] = t.res.group
            return json_response(
                {
                    "kind": "Status",
                    "apiVersion": "v1",
                    "metadata": {},
                    "status": "Success",
                    "details": details,
                }
            )
        return render(request, t.res, obj, 200 if gone or obj["metadata"].get("deletionTimestamp") else 202)

    async def _delete_collection(self, request: web.Request, t: Target) -> web.Response:
        opts = list_options(request, t.res)
        body = None
        if request.can_read_body:
            raw = await request.read()
            body = orjson.loads(raw) if raw.strip() else None
        dopts = delete_options(request, body)
        result = await self.registry.list(t.res, t.namespace, opts)
        deleted = []
        for item in result.items:
            meta = item["metadata"]
            try:
                obj, _ = await self.registry.delete(t.res, meta.get("namespace"), meta["name"], dopts)
            except errors.StatusError as exc:
                if exc.code == 404:
                    continue
                raise
            deleted.append(obj)
        return json_response(
            {
                "kind": t.res.list_kind_name,
                "apiVersion": t.res.api_version,
                "metadata": {"resourceVersion": str(result.resource_version)},
                "items": deleted,
            }
        )

    async def _bind(self, request: web.Request, t: Target) -> web.Response:
        assert t.name is not None
        body = await read_body(request)
        if not isinstance(body, dict):
            raise errors.bad_request("the request body must be a Binding object")
        node = ((body.get("target") or {}).get("name")) or ""
        if not node:
            raise errors.invalid_object("Binding", "", t.name, [errors.required("target.name")])
        for _attempt in range(5):
            pod = await self.registry.get(t.res, t.namespace, t.name)
            if pod["metadata"].get("deletionTimestamp"):
                raise errors.conflict(t.res, t.name, "pod is being deleted, cannot be assigned to a host")
            current = (pod.get("spec") or {}).get("nodeName")
            if current:
                raise errors.conflict(t.res, t.name, f'pod {t.name} is already assigned to node "{current}"')
            pod["spec"]["nodeName"] = node
            try:
                pod = await self.registry.update(t.res, t.namespace, t.name, pod)
            except errors.StatusError as exc:
                if exc.reason == "Conflict":
                    continue
                raise
            status = pod.setdefault("status", {})
            conds = [c for c in status.get("conditions") or [] if c.get("type") != "PodScheduled"]
            conds.append(
                {
                    "type": "PodScheduled",
                    "status": "True",
                    "lastProbeTime": None,
                    "lastTransitionTime": rfc3339(request.app["now"]().timestamp()),
                }
            )
            status["conditions"] = conds
            with contextlib.suppress(errors.StatusError):
                await self.registry.update(t.res, t.namespace, t.name, pod, "status")
            return json_response(
                {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "code": 201}, 201
            )
        raise errors.conflict(t.res, t.name, "too many conflicts binding the pod")
