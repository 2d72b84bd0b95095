"""List+watch caches, like client-go's reflector + indexer + shared informer.

An ``Informer`` lists a resource, then watches from the list's
resourceVersion, keeping a local cache that handlers and controllers read
instead of the API. A watch that ends cleanly is resumed from the last seen
resourceVersion; a 410 Expired or a broken watch makes it list again (with a
bounded, growing back-off on errors), and objects that vanished meanwhile are
reported to ``on_delete`` with their last known state.

``InformerFactory`` hands out one shared informer per (resource, namespace,
selectors), so several controllers watch each resource once.
"""

from __future__ import annotations

import asyncio
import builtins
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass

from podnet.api.errors import StatusError
from podnet.api.scheme import ResourceInfo
from podnet.client.interface import ApiClient, Obj, WatchEvent, WatchStream

log = logging.getLogger(__name__)

NAMESPACE_INDEX = "namespace"

AddHandler = Callable[[Obj], None]
UpdateHandler = Callable[[Obj, Obj], None]
DeleteHandler = Callable[[Obj], None]
IndexFunc = Callable[[Obj], list[str]]


def object_key(obj: Obj) -> str:
    """The cache key: "namespace/name", or "name" for cluster-scoped objects."""
    meta = obj.get("metadata") or {}
    ns, name = meta.get("namespace") or "", meta.get("name") or ""
    return f"{ns}/{name}" if ns else name


def split_key(key: str) -> tuple[str | None, str]:
    ns, sep, name = key.partition("/")
    return (ns, name) if sep else (None, ns)


def _namespace_index(obj: Obj) -> list[str]:
    return [(obj.get("metadata") or {}).get("namespace") or ""]


@dataclass
class _Handler:
    on_add: AddHandler | None
    on_update: UpdateHandler | None
    on_delete: DeleteHandler | None


class Informer:
    def __init__(
        self,
        client: ApiClient,
        res: ResourceInfo,
        namespace: str | None = None,
        *,
        label_selector: str = "",
        field_selector: str = "",
        resync_period: float | None = None,
        backoff_initial: float = 0.5,
        backoff_max: float = 30.0,
    ) -> None:
        self.client, self.res, self.namespace = client, res, namespace
        self.label_selector, self.field_selector = label_selector, field_selector
        self.resync_period = resync_period
        self._backoff_initial, self._backoff_max = backoff_initial, backoff_max
        self._items: dict[str, Obj] = {}
        self._indexers: dict[str, IndexFunc] = {NAMESPACE_INDEX: _namespace_index}
        self._indices: dict[str, dict[str, set[str]]] = {NAMESPACE_INDEX: {}}
        self._handlers: list[_Handler] = []
        self._synced = asyncio.Event()
        self._stop = asyncio.Event()
        self._watch: WatchStream | None = None
        self.last_resource_version = ""
        self.list_count = 0  # how many times it listed: tests assert relists with it

    # ------------------------------------------------------------ cache reads

    def get(self, key: str) -> Obj | None:
        return self._items.get(key)

    def list(self) -> list[Obj]:
        return list(self._items.values())

    def keys(self) -> builtins.list[str]:
        return list(self._items)

    def by_index(self, index_name: str, value: str) -> builtins.list[Obj]:
        keys = self._indices[index_name].get(value, set())
        return [self._items[k] for k in sorted(keys)]

    def index_count(self, index_name: str, value: str) -> int:
        """How many cached objects the index files under ``value``: O(1), no list built."""
        return len(self._indices[index_name].get(value, ()))

    def has_index(self, name: str) -> bool:
        return name in self._indexers

    def add_index(self, name: str, fn: IndexFunc) -> None:
        self._indexers[name] = fn
        index: dict[str, set[str]] = {}
        for key, obj in self._items.items():
            for value in fn(obj):
                index.setdefault(value, set()).add(key)
        self._indices[name] = index

    def add_handler(
        self,
        on_add: AddHandler | None = None,
        on_update: UpdateHandler | None = None,
        on_delete: DeleteHandler | None = None,
    ) -> None:
        """Register callbacks; a handler added after sync is told about every cached object."""
        handler = _Handler(on_add, on_update, on_delete)
        self._handlers.append(handler)
        if on_add:
            for obj in list(self._items.values()):
                self._call(on_add, obj)

    def has_synced(self) -> bool:
        return self._synced.is_set()

    async def wait_synced(self) -> None:
        await self._synced.wait()

    # ------------------------------------------------------------ running

    async def run(self) -> None:
        """List and watch until ``stop()``."""
        resync = asyncio.ensure_future(self._resync_loop()) if self.resync_period else None
        backoff = self._backoff_initial
        try:
            while not self._stop.is_set():
                try:
                    await self._list_and_replace()
                    backoff = self._backoff_initial
                    await self._watch_until_expired()
                except StatusError as exc:
                    if exc.code != 410:
                        log.warning(
                            "%s informer: %s %s; retrying in %.1fs", self.res.plural, exc.code, exc, backoff
                        )
                        await self._sleep(backoff)
                        backoff = min(self._backoff_max, backoff * 2)
                except Exception as exc:  # connection resets, bad JSON: relist after a pause
                    log.warning("%s informer: %r; retrying in %.1fs", self.res.plural, exc, backoff)
                    await self._sleep(backoff)
                    backoff = min(self._backoff_max, backoff * 2)
        finally:
            if resync:
                resync.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await resync
            await self._close_watch()

    async def stop(self) -> None:
        self._stop.set()
        await self._close_watch()

    async def _close_watch(self) -> None:
        w, self._watch = self._watch, None
        if w is not None:
            with contextlib.suppress(Exception):
                await w.close()

    async def _sleep(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                await self._stop.wait()

    async def _list_and_replace(self) -> None:
        listed = await self.client.list(
            self.res, self.namespace, label_selector=self.label_selector, field_selector=self.field_selector
        )
        self.list_count += 1
        self.last_resource_version = str((listed.get("metadata") or {}).get("resourceVersion") or "")
        self._replace(listed.get("items") or [])
        self._synced.set()

    async def _watch_until_expired(self) -> None:
        """Watch, resuming after clean ends; returns on 410 (relist), raises on other failures."""
        while not self._stop.is_set():
            self._watch = self.client.watch(
                self.res,
                self.namespace,
                resource_version=self.last_resource_version,
                label_selector=self.label_selector,
                field_selector=self.field_selector,
                allow_bookmarks=True,
            )
            events = 0
            try:
                async for event in self._watch:
                    events += 1
                    self._apply(event)
            except StatusError as exc:
                if exc.code == 410:
                    log.info("%s informer: %s; relisting", self.res.plural, exc.message)
                    return
                raise
            finally:
                await self._close_watch()
            if events == 0 and not self._stop.is_set():
                await self._sleep(self._backoff_initial)  # a watch that ends at once must not spin

    def _apply(self, event: WatchEvent) -> None:
        obj = event.object
        rv = (obj.get("metadata") or {}).get("resourceVersion")
        if event.type == "ERROR":
            raise StatusError(
                int(obj.get("code") or 500), str(obj.get("reason") or ""), str(obj.get("message") or "")
            )
        if rv:
            self.last_resource_version = str(rv)
        if event.type == "BOOKMARK":
            return
        key = object_key(obj)
        if event.type == "DELETED":
            old = self._remove(key)
            self._notify_delete(old or obj)
            return
        old = self._store(key, obj)
        self._notify(old, obj)

    async def _resync_loop(self) -> None:
        assert self.resync_period is not None
        while True:
            await asyncio.sleep(self.resync_period)
            for obj in list(self._items.values()):
                self._notify(obj, obj)

    # ------------------------------------------------------------ cache writes

    def _replace(self, items: builtins.list[Obj]) -> None:
        fresh = {object_key(o): o for o in items}
        for key in [k for k in self._items if k not in fresh]:
            gone = self._remove(key)
            if gone is not None:
                self._notify_delete(gone)
        for key, obj in fresh.items():
            old = self._items.get(key)
            if old is not None and _rv(old) == _rv(obj):
                continue
            self._store(key, obj)
            self._notify(old, obj)

    def _store(self, key: str, obj: Obj) -> Obj | None:
        old = self._items.get(key)
        if old is not None:
            self._unindex(key, old)
        self._items[key] = obj
        for name, fn in self._indexers.items():
            for value in fn(obj):
                self._indices[name].setdefault(value, set()).add(key)
        return old

    def _remove(self, key: str) -> Obj | None:
        old = self._items.pop(key, None)
        if old is not None:
            self._unindex(key, old)
        return old

    def _unindex(self, key: str, obj: Obj) -> None:
        for name, fn in self._indexers.items():
            index = self._indices[name]
            for value in fn(obj):
                keys = index.get(value)
                if keys is not None:
                    keys.discard(key)
                    if not keys:
                        del index[value]

    # ------------------------------------------------------------ handlers

    def _notify(self, old: Obj | None, new: Obj) -> None:
        for h in self._handlers:
            if old is None and h.on_add:
                self._call(h.on_add, new)
            elif old is not None and h.on_update:
                self._call(h.on_update, old, new)

    def _notify_delete(self, obj: Obj) -> None:
        for h in self._handlers:
            if h.on_delete:
                self._call(h.on_delete, obj)

    def _call(self, fn: Callable[..., None], *args: Obj) -> None:
        try:
            fn(*args)
        except Exception:  # a handler's bug must not stop the cache
            log.exception("%s informer: handler %r failed", self.res.plural, fn)


def _rv(obj: Obj) -> str:
    return str((obj.get("metadata") or {}).get("resourceVersion") or "")


class InformerFactory:
    """One shared informer per (resource, namespace, selectors); ``start`` runs them all."""

    def __init__(self, client: ApiClient, resync_period: float | None = None) -> None:
        self.client = client
        self.resync_period = resync_period
        self._informers: dict[tuple[str, str, str, str, str], Informer] = {}
        self._tasks: list[asyncio.Task[None]] = []

    def informer(
        self,
        res: ResourceInfo,
        namespace: str | None = None,
        *,
        label_selector: str = "",
        field_selector: str = "",
    ) -> Informer:
        key = (res.api_version, res.plural, namespace or "", label_selector, field_selector)
        if key not in self._informers:
            self._informers[key] = Informer(
                self.client,
                res,
                namespace,
                label_selector=label_selector,
                field_selector=field_selector,
                resync_period=self.resync_period,
            )
        return self._informers[key]

    def start(self) -> None:
        """Run every informer not yet running (call again after asking for more)."""
        running = len(self._tasks)
        for inf in list(self._informers.values())[running:]:
            self._tasks.append(asyncio.ensure_future(inf.run()))

    async def wait_for_sync(self, timeout: float | None = None) -> bool:
        waits = [inf.wait_synced() for inf in self._informers.values()]
        try:
            await asyncio.wait_for(asyncio.gather(*waits), timeout)
        except TimeoutError:
            return False
        return True

    async def stop(self) -> None:
        for inf in self._informers.values():
            await inf.stop()
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._tasks.clear()
