"""A small client for etcd v3's JSON gRPC gateway, over aiohttp.

Why the gateway and not gRPC: it needs no generated protobuf code and no
grpcio wheel; aiohttp is already a dependency. Every etcd 3.x serves it on the
client port. etcd 3.4 serves ``/v3/`` (and the deprecated ``/v3beta/``);
3.3 only ``/v3beta/``: the first call finds out and remembers.

Encoding rules of the gateway: keys and values are base64 strings, int64
fields are decimal strings, and fields equal to their zero value are omitted.
Endpoints are tried in turn on connection failure; when none answers, the
call raises ``StoreUnavailable``.
"""

from __future__ import annotations

import asyncio
import base64
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import orjson

from podnet.store.interface import CompactedError, StoreError, StoreUnavailable

Json = dict[str, Any]
_PREFIXES = ("/v3", "/v3beta")
_CONNECT_ERRORS = (aiohttp.ClientConnectionError, asyncio.TimeoutError, OSError)
_MAX_LINE = 64 * 1024 * 1024  # a watch response holds whole values; etcd caps requests at 1.5 MiB


def b64(data: str | bytes) -> str:
    raw = data.encode() if isinstance(data, str) else data
    return base64.b64encode(raw).decode("ascii")


def unb64(text: str | None) -> bytes:
    return base64.b64decode(text) if text else b""


def num(message: Json, field: str) -> int:
    """An int64 field (a string in gateway JSON, absent when 0)."""
    return int(message.get(field) or 0)


def error_from(body: Json, status: int) -> StoreError:
    """The StoreError matching an etcd error body such as ``{"error": ..., "code": 11}``."""
    message = str(body.get("message") or body.get("error") or f"etcd answered HTTP {status}")
    if "required revision has been compacted" in message:
        return CompactedError(message)
    if status == 503 or body.get("code") in (4, 14):  # DeadlineExceeded, Unavailable (no leader)
        return StoreUnavailable(message)
    return StoreError(message)


class Gateway:
    def __init__(self, endpoints: list[str], *, request_timeout: float = 10.0, connect_timeout: float = 3.0):
        if not endpoints:
            raise ValueError("no etcd endpoints given")
        self.endpoints = [e.rstrip("/") for e in endpoints]
        self._current = 0
        self._prefix: str | None = None
        self._request_timeout = aiohttp.ClientTimeout(total=request_timeout, connect=connect_timeout)
        self._stream_timeout = aiohttp.ClientTimeout(total=None, sock_connect=connect_timeout)
        self._session: aiohttp.ClientSession | None = None

    def _http(self) -> aiohttp.ClientSession:
        """The session, made on first use so that it belongs to the running loop."""
        if self._session is None:
            # No connection cap: each watch holds one streaming connection.
            # orjson: encoding and decoding every request is a good part of the gateway's cost
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=0), json_serialize=lambda obj: orjson.dumps(obj).decode()
            )
        return self._session

    async def call(self, path: str, body: Json) -> Json:
        """POST one unary request (``/kv/range`` ...); the decoded reply, or the mapped error."""
        resp = await self._post(path, body, self._request_timeout)
        async with resp:
            try:
                reply = await resp.json(content_type=None, loads=orjson.loads)
            except _CONNECT_ERRORS as exc:
                raise StoreUnavailable(f"etcd at {resp.url.origin()} dropped the request: {exc}") from exc
            except ValueError as exc:
                raise StoreError(f"etcd sent a reply that is not JSON (HTTP {resp.status})") from exc
        if resp.status != 200 or "error" in reply:
            raise error_from(reply, resp.status)
        return dict(reply)

    async def stream(self, path: str, body: Json) -> aiohttp.ClientResponse:
        """POST a streaming request (``/watch``); the caller reads it with ``messages`` and closes it."""
        resp = await self._post(path, body, self._stream_timeout)
        if resp.status != 200:
            async with resp:
                raise error_from(await _json_or_empty(resp), resp.status)
        return resp

    async def _post(self, path: str, body: Json, timeout: aiohttp.ClientTimeout) -> aiohttp.ClientResponse:
        session = self._http()
        failures = []
        for step in range(len(self.endpoints)):
            index = (self._current + step) % len(self.endpoints)
            endpoint = self.endpoints[index]
            try:
                resp = await self._post_one(session, endpoint, path, body, timeout)
            except _CONNECT_ERRORS as exc:
                failures.append(f"{endpoint}: {exc or type(exc).__name__}")
                continue
            self._current = index
            return resp
        raise StoreUnavailable(f"no etcd endpoint answered: {'; '.join(failures)}")

    async def _post_one(
        self,
        session: aiohttp.ClientSession,
        endpoint: str,
        path: str,
        body: Json,
        timeout: aiohttp.ClientTimeout,
    ) -> aiohttp.ClientResponse:
        prefixes = (self._prefix,) if self._prefix else _PREFIXES
        for prefix in prefixes:
            resp = await session.post(f"{endpoint}{prefix}{path}", json=body, timeout=timeout)
            if resp.status == 404 and self._prefix is None and prefix != prefixes[-1]:
                resp.release()
                continue  # an older etcd without this gateway prefix
            if resp.status != 404:
                self._prefix = prefix
            return resp
        raise AssertionError("unreachable: the last prefix always returns")

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


async def messages(resp: aiohttp.ClientResponse) -> AsyncIterator[Json]:
    """The JSON messages of a gateway stream, which writes one message per line."""
    buffer = b""
    async for chunk in resp.content.iter_any():
        buffer += chunk
        if len(buffer) > _MAX_LINE:
            raise StoreError("etcd watch message exceeds 64 MiB")
        *lines, buffer = buffer.split(b"\n")
        for line in lines:
            if line.strip():
                yield orjson.loads(line)


async def _json_or_empty(resp: aiohttp.ClientResponse) -> Json:
    try:
        return dict(await resp.json(content_type=None))
    except (ValueError, aiohttp.ClientError):
        return {}
