"""NamespaceController: deletes everything in a terminating Namespace, then finalizes it.

When a Namespace is deleted the API server marks it Terminating and keeps it
while ``spec.finalizers`` holds ``kubernetes``. Each sync lists every
namespaced resource in it (live: the decision to finalize must not rest on
a stale cache), deletes what is not already going, records the deletion
conditions, and, once nothing is left, PUTs the Namespace without that
finalizer to ``/finalize``; the server then removes it. While content
remains (pods in their grace period, objects held by finalizers) the
namespace is checked again after ``namespace_content_poll`` seconds.

Config attributes read: ``clock`` (condition timestamps; default
``time.time``) and, optionally, ``namespace_content_poll`` (seconds, 1.0).
"""

from __future__ import annotations

import logging
import time
from typing import Any

from podnet.api.errors import StatusError
from podnet.api.scheme import ResourceInfo, lookup_plural
from podnet.api.timestamps import rfc3339
from podnet.client.informer import Informer, InformerFactory
from podnet.client.interface import ApiClient, Obj
from podnet.client.workqueue import WorkQueue, process_queue
from podnet.controllers.namespace.deletion import (
    Remaining,
    conditions_changed,
    content_resources,
    deletion_conditions,
    has_finalizer,
    with_transition_times,
    without_finalizer,
)

log = logging.getLogger(__name__)
_NS = lookup_plural("namespaces")
assert _NS is not None
NAMESPACES: ResourceInfo = _NS


class ContentDeletionFailed(Exception):
    """Some content could not be deleted: retried with back-off."""


class Controller:
    """The namespace controller; ``factory`` shares informers with other controllers."""

    def __init__(self, client: ApiClient, config: Any, factory: InformerFactory | None = None) -> None:
        self.client = client
        self.clock = getattr(config, "clock", time.time)
        self.poll = float(getattr(config, "namespace_content_poll", 1.0))
        self._own_factory = factory is None
        self.factory = factory if factory is not None else InformerFactory(client)
        self.namespaces: Informer = self.factory.informer(NAMESPACES)
        self.queue: WorkQueue[str] = WorkQueue(name="namespace")
        self.namespaces.add_handler(self._changed, lambda _o, n: self._changed(n), None)

    @classmethod
    def from_factory(cls, client: ApiClient, factory: InformerFactory, config: Any) -> Controller:
        return cls(client, config, factory)

    async def run(self, workers: int = 1) -> None:
        if self._own_factory:
            self.factory.start()
        try:
            await self.namespaces.wait_synced()
            await process_queue(self.queue, self.sync, workers, log)
        finally:
            self.queue.shutdown()
            if self._own_factory:
                await self.factory.stop()

    def _changed(self, ns: Obj) -> None:
        if (ns.get("metadata") or {}).get("deletionTimestamp"):
            self.queue.add(ns["metadata"]["name"])

    async def sync(self, name: str) -> None:
        cached = self.namespaces.get(name)
        if cached is None or not cached["metadata"].get("deletionTimestamp") or not has_finalizer(cached):
            return
        ns = await self.client.get(NAMESPACES, None, name)
        if ns is None or not has_finalizer(ns):
            return
        remaining = await self._delete_content(name)
        ns = await self._write_conditions(ns, remaining)
        if remaining.failures:
            raise ContentDeletionFailed(f"namespace {name}: " + "; ".join(remaining.failures))
        if not remaining.empty:
            log.info("namespace %s: waiting for %s", name, dict(remaining.resources))
            self.queue.add_after(name, self.poll)
            return
        try:
            await self.client.update(NAMESPACES, None, without_finalizer(ns), subresource="finalize")
        except StatusError as exc:
            if exc.code != 404:
                raise
        log.info("namespace %s: content deleted, finalized", name)

    async def _delete_content(self, namespace: str) -> Remaining:
        remaining = Remaining()
        for res in content_resources():
            try:
                listed = await self.client.list(res, namespace)
            except StatusError as exc:
                remaining.failures.append(f"{res.plural}: {exc.message}")
                continue
            for obj in listed.get("items") or []:
                await self._delete_one(res, namespace, obj, remaining)
        return remaining

    async def _delete_one(self, res: ResourceInfo, namespace: str, obj: Obj, remaining: Remaining) -> None:
        meta = obj.get("metadata") or {}
        if meta.get("deletionTimestamp"):
            remaining.add(res, obj)  # already going: only wait for it
            return
        try:
            left = await self.client.delete(
                res,
                namespace,
                meta["name"],
                propagation_policy="Background",
                precondition_uid=meta.get("uid"),
            )
        except StatusError as exc:
            if exc.code in (404, 409):
                return  # gone, or replaced by a new object that the next pass will see
            remaining.failures.append(f"{res.plural}/{meta['name']}: {exc.message}")
            return
        if left is not None:
            remaining.add(res, left)

    async def _write_conditions(self, ns: Obj, remaining: Remaining) -> Obj:
        old = list((ns.get("status") or {}).get("conditions") or [])
        new = deletion_conditions(remaining)
        if not conditions_changed(new, old):
            return ns
        status = {
            **(ns.get("status") or {}),
            "conditions": with_transition_times(new, old, rfc3339(self.clock())),
        }
        try:
            return await self.client.update(NAMESPACES, None, {**ns, "status": status}, "status")
        except StatusError as exc:
            if exc.code not in (404, 409):
                raise
            return ns  # conditions are informational: the next pass rewrites them
