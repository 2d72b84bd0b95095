"""``ApiClient`` over HTTP(S) or the server's unix socket, speaking Kubernetes' wire format.

One aiohttp session (a keep-alive connection pool) per client, created on
first use inside the running loop. TLS is verified against the kubeconfig's
CA; authentication is a bearer token or a client certificate. Non-2xx answers
become ``StatusError`` from the server's ``Status`` body (or from the HTTP
code when the body is not a Status).

Beyond ``ApiClient``: ``bind()`` (POST pods/{name}/binding, what the scheduler
uses) and ``wait_ready()`` (polls /readyz).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import ssl
import tempfile
import time
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import quote

import aiohttp

from podnet.api.errors import StatusError
from podnet.api.scheme import ResourceInfo
from podnet.client.interface import Obj, PatchType, WatchEvent
from podnet.client.kubeconfig import ClientConfig

log = logging.getLogger(__name__)

PATCH_CONTENT_TYPES: dict[str, str] = {
    "merge": "application/merge-patch+json",
    "strategic": "application/strategic-merge-patch+json",
    "json": "application/json-patch+json",
}
_REASONS = {
    400: "BadRequest",
    401: "Unauthorized",
    403: "Forbidden",
    404: "NotFound",
    405: "MethodNotAllowed",
    409: "Conflict",
    410: "Expired",
    415: "UnsupportedMediaType",
    422: "Invalid",
    429: "TooManyRequests",
    500: "InternalError",
    503: "ServiceUnavailable",
    504: "Timeout",
}
_REQUEST_TIMEOUT = aiohttp.ClientTimeout(total=60, sock_connect=10)
_WATCH_TIMEOUT = aiohttp.ClientTimeout(total=None, sock_connect=10, sock_read=None)


def resource_path(res: ResourceInfo, namespace: str | None, name: str = "", subresource: str = "") -> str:
    """The Kubernetes URL path of a collection, an object or a subresource."""
    path = f"/apis/{res.group}/{res.version}" if res.group else f"/api/{res.version}"
    if res.namespaced and namespace:
        path += f"/namespaces/{quote(namespace, safe='')}"
    path += f"/{res.plural}"
    if name:
        path += f"/{quote(name, safe='')}"
        if subresource:
            path += f"/{subresource}"
    return path


def status_error(code: int, body: bytes) -> StatusError:
    """The StatusError an error response carries, falling back to the HTTP code's reason."""
    try:
        doc = json.loads(body)
    except ValueError:
        doc = None
    if isinstance(doc, dict) and doc.get("kind") == "Status":
        return StatusError(
            int(doc.get("code") or code),
            str(doc.get("reason") or _REASONS.get(code, "Unknown")),
            str(doc.get("message") or ""),
            doc.get("details"),
        )
    text = body.decode("utf-8", "replace").strip()[:500]
    return StatusError(code, _REASONS.get(code, "Unknown"), text or f"the server responded with HTTP {code}")


def _still_present(obj: Obj) -> bool:
    """After DELETE: does the returned object still exist (held by finalizers or a pod's grace)?"""
    meta = obj.get("metadata") or {}
    if not meta.get("deletionTimestamp"):
        return False
    if meta.get("finalizers"):
        return True
    if obj.get("kind") == "Namespace":
        return bool((obj.get("spec") or {}).get("finalizers"))
    return obj.get("kind") == "Pod" and int(meta.get("deletionGracePeriodSeconds") or 0) > 0


def ssl_context(config: ClientConfig) -> ssl.SSLContext | bool:
    if config.unix_socket or not config.server.startswith("https"):
        return False
    if config.insecure_skip_tls_verify:
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    elif config.ca_data:
        ctx = ssl.create_default_context(cadata=config.ca_data.decode())
    else:
        ctx = ssl.create_default_context()
    if config.client_cert_data and config.client_key_data:
        # ssl can only load a key pair from files: a private temporary folder, removed at once.
        with tempfile.TemporaryDirectory() as tmp:
            cert, key = os.path.join(tmp, "tls.crt"), os.path.join(tmp, "tls.key")
            for path, data in ((cert, config.client_cert_data), (key, config.client_key_data)):
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                with os.fdopen(fd, "wb") as f:
                    f.write(data)
            ctx.load_cert_chain(cert, key)
    return ctx


class RestWatch:
    """A watch response read as newline-delimited JSON events; the request starts on iteration."""

    def __init__(self, client: RestClient, path: str, params: dict[str, str]) -> None:
        self._client, self._path, self._params = client, path, params
        self._resp: aiohttp.ClientResponse | None = None
        self._closed = False

    def __aiter__(self) -> AsyncIterator[WatchEvent]:
        return self._events()

    async def _events(self) -> AsyncIterator[WatchEvent]:
        session = await self._client.session()
        self._resp = await session.get(
            self._client.url(self._path),
            params=self._params,
            headers=self._client.headers(),
            timeout=_WATCH_TIMEOUT,
        )
        try:
            if self._resp.status >= 300:
                raise status_error(self._resp.status, await self._resp.read())
            buf = b""
            async for chunk in self._resp.content.iter_any():
                buf += chunk
                while b"\n" in buf:
                    line, buf = buf.split(b"\n", 1)
                    if line.strip():
                        yield _decode_event(line)
        except (aiohttp.ClientPayloadError, aiohttp.ClientConnectionError):
            if not self._closed:
                raise
        finally:
            await self.close()

    async def close(self) -> None:
        self._closed = True
        if self._resp is not None:
            self._resp.close()


def _decode_event(line: bytes) -> WatchEvent:
    doc = json.loads(line)
    typ, obj = doc.get("type"), doc.get("object") or {}
    if typ == "ERROR":
        code = int(obj.get("code") or 500)
        raise StatusError(
            code, str(obj.get("reason") or _REASONS.get(code, "Unknown")), str(obj.get("message") or "")
        )
    if typ not in ("ADDED", "MODIFIED", "DELETED", "BOOKMARK"):
        raise ValueError(f"unknown watch event type {typ!r}")
    return WatchEvent(typ, obj)


class RestClient:
    def __init__(self, config: ClientConfig, user_agent: str = "podnet") -> None:
        self.config = config
        self.user_agent = user_agent
        self._session: aiohttp.ClientSession | None = None

    async def session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            connector: aiohttp.BaseConnector
            if self.config.unix_socket:
                connector = aiohttp.UnixConnector(path=self.config.unix_socket)
            else:
                # 32 connections, kept alive: a burst of writes reuses them instead of opening a TLS
                # handshake per request (watches hold one each; a client needs far fewer than 32)
                connector = aiohttp.TCPConnector(ssl=ssl_context(self.config), limit=32)
            self._session = aiohttp.ClientSession(connector=connector, timeout=_REQUEST_TIMEOUT)
        return self._session

    def url(self, path: str) -> str:
        return self.config.base_url + path

    def headers(self, content_type: str = "") -> dict[str, str]:
        h = {"Accept": "application/json", "User-Agent": self.user_agent}
        if self.config.token and not self.config.unix_socket:
            h["Authorization"] = f"Bearer {self.config.token}"
        if content_type:
            h["Content-Type"] = content_type
        return h

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, str] | None = None,
        body: Any = None,
        content_type: str = "application/json",
    ) -> Any:
        """One call; the decoded JSON answer, or StatusError for a non-2xx answer."""
        session = await self.session()
        data = None if body is None else json.dumps(body).encode()
        async with session.request(
            method,
            self.url(path),
            params=params,
            data=data,
            headers=self.headers(content_type if data is not None else ""),
        ) as resp:
            raw = await resp.read()
            if resp.status >= 300:
                raise status_error(resp.status, raw)
            return json.loads(raw) if raw.strip() else None

    async def get(
        self, res: ResourceInfo, namespace: str | None, name: str, subresource: str = ""
    ) -> Obj | None:
        try:
            out: Obj = await self.request("GET", resource_path(res, namespace, name, subresource))
        except StatusError as exc:
            if exc.code == 404:
                return None
            raise
        return out

    async def list(
        self,
        res: ResourceInfo,
        namespace: str | None = None,
        *,
        label_selector: str = "",
        field_selector: str = "",
        limit: int = 0,
        continue_: str = "",
        resource_version: str = "",
    ) -> Obj:
        params = {
            k: v
            for k, v in (
                ("labelSelector", label_selector),
                ("fieldSelector", field_selector),
                ("limit", str(limit) if limit else ""),
                ("continue", continue_),
                ("resourceVersion", resource_version),
            )
            if v
        }
        out: Obj = await self.request("GET", resource_path(res, namespace), params=params)
        return out

    async def create(self, res: ResourceInfo, namespace: str | None, obj: Obj) -> Obj:
        out: Obj = await self.request("POST", resource_path(res, namespace), body=_with_type(res, obj))
        return out

    async def update(self, res: ResourceInfo, namespace: str | None, obj: Obj, subresource: str = "") -> Obj:
        name = obj["metadata"]["name"]
        path = resource_path(res, namespace, name, subresource)
        out: Obj = await self.request("PUT", path, body=_with_type(res, obj))
        return out

    async def patch(
        self,
        res: ResourceInfo,
        namespace: str | None,
        name: str,
        patch: Any,
        patch_type: PatchType = "merge",
        subresource: str = "",
    ) -> Obj:
        path = resource_path(res, namespace, name, subresource)
        out: Obj = await self.request("PATCH", path, body=patch, content_type=PATCH_CONTENT_TYPES[patch_type])
        return out

    async def delete(
        self,
        res: ResourceInfo,
        namespace: str | None,
        name: str,
        *,
        grace_period_seconds: int | None = None,
        propagation_policy: str | None = None,
        precondition_uid: str | None = None,
        precondition_resource_version: str | None = None,
    ) -> Obj | None:
        body: Obj = {"kind": "DeleteOptions", "apiVersion": "v1"}
        if grace_period_seconds is not None:
            body["gracePeriodSeconds"] = grace_period_seconds
        if propagation_policy:
            body["propagationPolicy"] = propagation_policy
        pre = {"uid": precondition_uid, "resourceVersion": precondition_resource_version}
        if any(pre.values()):
            body["preconditions"] = {k: v for k, v in pre.items() if v}
        try:
            out = await self.request("DELETE", resource_path(res, namespace, name), body=body)
        except StatusError as exc:
            if exc.code == 404:
                return None
            raise
        if isinstance(out, dict) and out.get("kind") != "Status" and _still_present(out):
            return out
        return None

    def watch(
        self,
        res: ResourceInfo,
        namespace: str | None = None,
        *,
        resource_version: str = "",
        label_selector: str = "",
        field_selector: str = "",
        allow_bookmarks: bool = True,
        timeout_seconds: int | None = None,
    ) -> RestWatch:
        params = {"watch": "1"}
        if resource_version:
            params["resourceVersion"] = resource_version
        if allow_bookmarks:
            params["allowWatchBookmarks"] = "true"
        if label_selector:
            params["labelSelector"] = label_selector
        if field_selector:
            params["fieldSelector"] = field_selector
        if timeout_seconds is not None:
            params["timeoutSeconds"] = str(timeout_seconds)
        return RestWatch(self, resource_path(res, namespace), params)

    async def bind(self, namespace: str, name: str, node: str) -> None:
        """Assign a pod to a node through the pods/binding subresource, as kube-scheduler does."""
        binding = {
            "kind": "Binding",
            "apiVersion": "v1",
            "metadata": {"name": name, "namespace": namespace},
            "target": {"kind": "Node", "apiVersion": "v1", "name": node},
        }
        await self.request(
            "POST",
            f"/api/v1/namespaces/{quote(namespace, safe='')}/pods/{quote(name, safe='')}/binding",
            body=binding,
        )

    async def wait_ready(self, timeout: float) -> None:
        """Poll /readyz until it answers 200; raises TimeoutError with the last failure."""
        deadline = time.monotonic() + timeout
        last: object = None
        while time.monotonic() < deadline:
            try:
                session = await self.session()
                async with session.get(self.url("/readyz"), headers=self.headers()) as resp:
                    if resp.status == 200:
                        return
                    last = f"HTTP {resp.status}"
            except (aiohttp.ClientError, OSError) as exc:
                last = exc
            await asyncio.sleep(0.2)
        raise TimeoutError(f"API server at {self.config.base_url} not ready after {timeout}s: {last}")

    async def close(self) -> None:
        if self._session is not None:
            with contextlib.suppress(Exception):
                await self._session.close()
            self._session = None


def _with_type(res: ResourceInfo, obj: Obj) -> Obj:
    """The body with apiVersion/kind set, as the server requires them on writes."""
    out = dict(obj)
    out.setdefault("apiVersion", res.api_version)
    out.setdefault("kind", res.kind)
    return out
