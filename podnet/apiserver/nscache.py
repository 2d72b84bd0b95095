"""Which namespaces exist and which are terminating, kept from a store watch (NamespaceLifecycle).

Every namespaced create must refuse a missing or terminating namespace. Reading the Namespace from
the store on each create costs a round trip (on etcd, a whole HTTP request). Kubernetes' admission
plugin answers from an informer cache instead and falls back to a live read when the cache does
not know the name (it may lag a namespace created a moment ago); this does the same.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from podnet.store.interface import CompactedError, EventType, Store, Watch

log = logging.getLogger(__name__)
PREFIX = "/registry/namespaces/"


def _terminating(value: bytes) -> bool:
    return b'"deletionTimestamp"' in value


class NamespaceCache:
    def __init__(self, store: Store) -> None:
        self.store = store
        self._state: dict[str, bool] = {}  # name -> terminating
        self._task: asyncio.Task[None] | None = None

    def lookup(self, name: str) -> bool | None:
        """True: terminating; False: active; None: unknown here (ask the store)."""
        return self._state.get(name)

    async def start(self) -> None:
        revision = await self._relist()
        # Made here, not in the task: "from revision 0" (an empty store) means "from now", and now
        # must be the listing's moment, before anyone can create a namespace.
        first = self.store.watch(PREFIX, revision)
        self._task = asyncio.create_task(self._follow(revision, first))

    async def _relist(self) -> int:
        listing = await self.store.list(PREFIX)
        self._state = {kv.key[len(PREFIX) :]: _terminating(kv.value) for kv in listing.items}
        return listing.revision

    async def _follow(self, revision: int, first: Watch) -> None:
        watch = first
        while True:  # events after the listed revision
            try:
                async for ev in watch:
                    name = ev.kv.key[len(PREFIX) :]
                    if ev.type is EventType.DELETE:
                        self._state.pop(name, None)
                    else:
                        self._state[name] = _terminating(ev.kv.value)
                    revision = ev.revision
            except CompactedError:
                revision = await self._relist()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the store may be briefly unavailable: forget, then retry
                log.warning("namespace cache: watch failed: %r", exc)
                self._state.clear()
                await asyncio.sleep(1.0)
                revision = await self._relist()
            finally:
                await watch.close()
            watch = self.store.watch(PREFIX, revision)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
