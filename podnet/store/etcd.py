"""EtcdStore: the Store contract on a real etcd v3 cluster, through its JSON gateway.

Revisions are etcd's own (so they survive restarts of etcd and of podnet).
Compare-and-swap is one ``txn``: compare ``mod_revision`` (or
``create_revision == 0`` for create), put/delete on success, read the key on
failure to tell a conflict from a missing key.

Watches open one gateway stream each (``/v3/watch``), starting at
``from_revision + 1`` with ``prev_kv``. etcd keeps the value at the compaction
revision but drops a delete's tombstone there, so a watch starting exactly at
the compaction point could miss that delete while etcd reports no error;
every watch therefore first reads its range at ``from_revision``, which fails
exactly when ``from_revision`` is older than the compaction point. A slow
watcher simply stops reading its stream: etcd buffers and, if it must,
cancels it, which surfaces here as an error. Writers are never blocked.
"""

from __future__ import annotations

import collections
from typing import Any

import aiohttp

from podnet.store.etcd_gateway import Gateway, Json, b64, messages, num, unb64
from podnet.store.interface import (
    CompactedError,
    ConflictError,
    Event,
    EventType,
    KeyExistsError,
    KeyNotFoundError,
    KeyValue,
    ListResult,
    StoreError,
    StoreUnavailable,
)
from podnet.store.mvcc import prefix_end

_NUL = b64(b"\0")  # as range_end: "every key >= key"


def _kv(message: Json) -> KeyValue:
    return KeyValue(
        unb64(message.get("key")).decode(),
        unb64(message.get("value")),
        num(message, "create_revision"),
        num(message, "mod_revision"),
    )


def _range(prefix: str, start_after: str = "") -> Json:
    """``key``/``range_end`` of the keys under ``prefix`` that sort after ``start_after``."""
    start = start_after + "\0" if start_after and start_after >= prefix else prefix
    end = prefix_end(prefix)
    return {"key": b64(start or "\0"), "range_end": b64(end) if end is not None else _NUL}


def _compare(key: str, expected_mod_revision: int) -> Json:
    if expected_mod_revision:
        return {
            "key": b64(key),
            "target": "MOD",
            "result": "EQUAL",
            "mod_revision": str(expected_mod_revision),
        }
    return {"key": b64(key), "target": "MOD", "result": "GREATER", "mod_revision": "0"}


def _revision(reply: Json) -> int:
    return num(reply.get("header", {}), "revision")


class EtcdStore:
    def __init__(self, endpoints: list[str], *, request_timeout: float = 10.0) -> None:
        self._gw = Gateway(endpoints, request_timeout=request_timeout)
        self._watches: set[EtcdWatch] = set()
        self._compacted = 0  # the highest compaction this client made or saw; etcd's may be higher
        self._closed = False

    async def _call(self, path: str, body: Json) -> Json:
        if self._closed:
            raise StoreUnavailable("the store is closed")
        return await self._gw.call(path, body)

    async def get(self, key: str) -> KeyValue | None:
        reply = await self._call("/kv/range", {"key": b64(key)})
        kvs = reply.get("kvs") or []
        return _kv(kvs[0]) if kvs else None

    async def list(
        self, prefix: str, *, revision: int = 0, limit: int = 0, start_after: str = ""
    ) -> ListResult:
        body: Json = {**_range(prefix, start_after), "limit": str(limit), "revision": str(revision)}
        try:
            reply = await self._call("/kv/range", body)
        except CompactedError as exc:
            raise CompactedError(str(exc), self._compacted) from exc
        items = [_kv(m) for m in reply.get("kvs") or []]
        return ListResult(items, revision or _revision(reply), bool(reply.get("more")))

    async def current_revision(self) -> int:
        return _revision(await self._call("/kv/range", {"key": _NUL, "count_only": True}))

    async def create(self, key: str, value: bytes) -> KeyValue:
        reply = await self._call(
            "/kv/txn",
            {
                "compare": [{"key": b64(key), "target": "CREATE", "result": "EQUAL", "create_revision": "0"}],
                "success": [{"request_put": {"key": b64(key), "value": b64(value)}}],
            },
        )
        if not reply.get("succeeded"):
            raise KeyExistsError(f"key {key!r} already exists")
        rev = _revision(reply)
        return KeyValue(key, value, rev, rev)

    async def update(self, key: str, value: bytes, expected_mod_revision: int) -> KeyValue:
        put = {"key": b64(key), "value": b64(value), "prev_kv": True}
        reply = await self._cas(key, expected_mod_revision, {"request_put": put})
        prev = _kv(reply["responses"][0]["response_put"]["prev_kv"])
        return KeyValue(key, value, prev.create_revision, _revision(reply))

    async def delete(self, key: str, expected_mod_revision: int = 0) -> KeyValue:
        request = {"request_delete_range": {"key": b64(key), "prev_kv": True}}
        reply = await self._cas(key, expected_mod_revision, request)
        prev = _kv(reply["responses"][0]["response_delete_range"]["prev_kvs"][0])
        return KeyValue(key, prev.value, prev.create_revision, _revision(reply))

    async def _cas(self, key: str, expected_mod_revision: int, request: Json) -> Json:
        """Run ``request`` if the key exists at ``expected_mod_revision``; raise what went wrong if not."""
        reply = await self._call(
            "/kv/txn",
            {
                "compare": [_compare(key, expected_mod_revision)],
                "success": [request],
                "failure": [{"request_range": {"key": b64(key)}}],
            },
        )
        if reply.get("succeeded"):
            return reply
        kvs = reply["responses"][0]["response_range"].get("kvs") or []
        if not kvs:
            raise KeyNotFoundError(f"key {key!r} not found")
        current = _kv(kvs[0])
        raise ConflictError(
            f"key {key!r} is at revision {current.mod_revision}, not {expected_mod_revision}", current
        )

    async def compact(self, revision: int) -> None:
        """Compact etcd at ``revision``; a revision etcd already compacted past is a no-op."""
        if revision <= self._compacted:
            return
        try:
            await self._call("/kv/compaction", {"revision": str(revision)})
        except CompactedError:
            pass
        self._compacted = revision

    def watch(self, prefix: str, from_revision: int) -> EtcdWatch:
        watch = EtcdWatch(self, prefix, from_revision)
        self._watches.add(watch)
        return watch

    async def close(self) -> None:
        self._closed = True
        for watch in list(self._watches):
            await watch.close()
        await self._gw.close()


class EtcdWatch:
    """One gateway watch stream, opened on first iteration."""

    def __init__(self, store: EtcdStore, prefix: str, from_revision: int) -> None:
        self._store, self._prefix, self._from = store, prefix, from_revision
        self._resp: aiohttp.ClientResponse | None = None
        self._messages: Any = None
        self._pending: collections.deque[Event] = collections.deque()
        self._closed = False

    def __aiter__(self) -> EtcdWatch:
        return self

    async def __anext__(self) -> Event:
        if self._store._closed:
            raise StoreUnavailable("the store was closed")
        if self._resp is None and not self._closed:
            await self._open()
        for _ in range(1_000_000):  # bounded: each pass consumes one message
            if self._pending:
                return self._pending.popleft()
            if self._closed:
                raise StopAsyncIteration
            message = await self._next_message()
            if self._store._closed:
                raise StoreUnavailable("the store was closed")
            if message is None:
                await self.close()
                raise StopAsyncIteration
            self._handle(message)
        raise StoreError("etcd watch sent a million messages without events")

    async def _open(self) -> None:
        if self._from > 0:
            await self._check_not_compacted()
        request: Json = {**_range(self._prefix), "prev_kv": True}
        if self._from > 0:
            request["start_revision"] = str(self._from + 1)
        self._resp = await self._store._gw.stream("/watch", {"create_request": request})
        self._messages = messages(self._resp)

    async def _check_not_compacted(self) -> None:
        """Fail exactly when ``from_revision`` is older than etcd's compaction point (see module doc)."""
        body = {**_range(self._prefix), "revision": str(self._from), "count_only": True}
        try:
            await self._store._call("/kv/range", body)
        except CompactedError as exc:
            self._closed = True
            known = self._store._compacted
            raise CompactedError(str(exc), known if known > self._from else self._from + 1) from exc
        except StoreUnavailable:
            raise
        except StoreError:
            pass  # a future revision: etcd's watch waits for it, and so do we

    async def _next_message(self) -> Json | None:
        try:
            message: Json = await self._messages.__anext__()
            return message
        except StopAsyncIteration:
            if self._closed:
                return None
            raise StoreUnavailable("the etcd watch stream ended") from None
        except (aiohttp.ClientError, OSError) as exc:
            if self._closed:
                return None
            raise StoreUnavailable(f"the etcd watch stream broke: {exc}") from exc

    def _handle(self, message: Json) -> None:
        if "error" in message:
            raise StoreError(f"etcd watch failed: {message['error']}")
        result = message.get("result", {})
        if result.get("canceled"):
            self._closed = True
            compacted = num(result, "compact_revision")
            if compacted:
                raise CompactedError(f"required revision {self._from} has been compacted", compacted)
            raise StoreError(f"etcd canceled the watch: {result.get('cancel_reason', 'no reason given')}")
        self._pending.extend(_event(e) for e in result.get("events") or [])

    async def close(self) -> None:
        self._closed = True
        self._pending.clear()
        self._store._watches.discard(self)
        if self._resp is not None:
            self._resp.close()


def _event(message: Json) -> Event:
    kv = _kv(message["kv"])
    prev = _kv(message["prev_kv"]) if message.get("prev_kv") else None
    if message.get("type") == "DELETE":
        last = prev if prev is not None else KeyValue(kv.key, b"", 0, 0)
        return Event(
            EventType.DELETE,
            KeyValue(kv.key, last.value, last.create_revision, kv.mod_revision),
            prev,
            kv.mod_revision,
        )
    if kv.create_revision == kv.mod_revision:
        prev = None  # a create, even if etcd remembered a deleted predecessor
    return Event(EventType.PUT, kv, prev, kv.mod_revision)
