"""GarbageCollector: deletes dependents whose owners are gone, and finishes foreground and orphan deletions.

It watches every resource kind podnet serves (``scheme.RESOURCES``) and
indexes each cache by owner uid, which is its dependency graph. Work items
are "plural|namespace/name". An object is queued when it has owners or is
being deleted with a GC finalizer; a deletion queues its dependents; any
change of a dependent queues owners that wait for their dependents.

Caches lag. Before acting on an owner that looks absent or waiting, the
collector reads it live (Kubernetes' ``isDangling``), and deletes with a uid
precondition, so a dependent is never removed because its owner is merely
not cached yet.

Config attributes read: none (``config`` is accepted for the common shape).
"""

from __future__ import annotations

import logging
from typing import Any

from podnet.api.errors import StatusError
from podnet.api.scheme import RESOURCES, ResourceInfo
from podnet.client.informer import Informer, InformerFactory, object_key
from podnet.client.interface import ApiClient, Obj
from podnet.client.workqueue import WorkQueue, process_queue
from podnet.controllers.gc.graph import (
    FOREGROUND,
    ORPHAN,
    Delete,
    OwnerState,
    RemoveRefs,
    blocking_dependents,
    decide,
    deleting_dependents,
    finalizers,
    is_deleting,
    meta,
    orphaning,
    owner_namespace,
    owner_refs,
    owner_state,
    remaining_refs,
    resource_for_ref,
)

log = logging.getLogger(__name__)
OWNER_INDEX = "gc-owner-uid"


def _owner_uids(obj: Obj) -> list[str]:
    return [str(r.get("uid")) for r in owner_refs(obj) if r.get("uid")]


class Controller:
    """The garbage collector; ``factory`` shares informers with other controllers."""

    def __init__(self, client: ApiClient, config: Any = None, factory: InformerFactory | None = None) -> None:
        self.client = client
        self._own_factory = factory is None
        self.factory = factory if factory is not None else InformerFactory(client)
        self.queue: WorkQueue[str] = WorkQueue(name="garbagecollector")
        self.informers: dict[str, Informer] = {}
        for res in RESOURCES:
            if "list" not in res.verbs or "watch" not in res.verbs:
                continue
            inf = self.factory.informer(res)
            inf.add_index(OWNER_INDEX, _owner_uids)
            self.informers[res.plural] = inf
            inf.add_handler(
                self._handler(res, "add"), self._update_handler(res), self._handler(res, "delete")
            )

    @classmethod
    def from_factory(cls, client: ApiClient, factory: InformerFactory, config: Any) -> Controller:
        return cls(client, config, factory)

    async def run(self, workers: int = 1) -> None:
        if self._own_factory:
            self.factory.start()
        try:
            for inf in self.informers.values():
                await inf.wait_synced()
            await process_queue(self.queue, self.sync, workers, log)
        finally:
            self.queue.shutdown()
            if self._own_factory:
                await self.factory.stop()

    # ------------------------------------------------------------ graph changes

    def _handler(self, res: ResourceInfo, kind: str) -> Any:
        def handle(obj: Obj) -> None:
            self._changed(res, obj, deleted=kind == "delete")

        return handle

    def _update_handler(self, res: ResourceInfo) -> Any:
        def handle(old: Obj, new: Obj) -> None:
            self._changed(res, new, deleted=False)
            for uid in set(_owner_uids(old)) - set(_owner_uids(new)):
                self._enqueue_waiting_owner(new, uid)  # a released dependent may unblock its former owner

        return handle

    def _changed(self, res: ResourceInfo, obj: Obj, deleted: bool) -> None:
        if not deleted and (owner_refs(obj) or deleting_dependents(obj) or orphaning(obj)):
            self.queue.add(f"{res.plural}|{object_key(obj)}")
        if deleted or is_deleting(obj):
            self._enqueue_dependents(meta(obj).get("uid", ""))
        for uid in _owner_uids(obj):
            self._enqueue_waiting_owner(obj, uid)

    def _enqueue_dependents(self, uid: str) -> None:
        for plural, inf in self.informers.items():
            for dep in inf.by_index(OWNER_INDEX, uid):
                self.queue.add(f"{plural}|{object_key(dep)}")

    def _enqueue_waiting_owner(self, dependent: Obj, uid: str) -> None:
        for ref in owner_refs(dependent):
            if ref.get("uid") != uid:
                continue
            res = resource_for_ref(ref)
            owner = self._cached_owner(dependent, ref, res) if res is not None else None
            if res is not None and owner is not None and (deleting_dependents(owner) or orphaning(owner)):
                self.queue.add(f"{res.plural}|{object_key(owner)}")

    def _cached_owner(self, dependent: Obj, ref: Obj, res: ResourceInfo) -> Obj | None:
        valid, ns = owner_namespace(dependent, res)
        inf = self.informers.get(res.plural)
        if not valid or inf is None:
            return None
        return inf.get(f"{ns}/{ref.get('name')}" if ns else str(ref.get("name")))

    def _dependents(self, owner: Obj) -> list[tuple[ResourceInfo, Obj]]:
        uid = meta(owner).get("uid", "")
        out: list[tuple[ResourceInfo, Obj]] = []
        for res in RESOURCES:
            inf = self.informers.get(res.plural)
            if inf is not None:
                out.extend((res, dep) for dep in inf.by_index(OWNER_INDEX, uid))
        return out

    # ------------------------------------------------------------ sync

    async def sync(self, item: str) -> None:
        plural, _, key = item.partition("|")
        inf = self.informers.get(plural)
        obj = inf.get(key) if inf is not None else None
        if inf is None or obj is None:
            return
        res = inf.res
        if deleting_dependents(obj):
            await self._finish_foreground(res, obj)
        elif orphaning(obj):
            await self._orphan_dependents(res, obj)
        elif not is_deleting(obj) and owner_refs(obj):
            await self._collect(res, obj)

    async def _collect(self, res: ResourceInfo, obj: Obj) -> None:
        states = [(ref, await self._owner_state(obj, ref)) for ref in owner_refs(obj)]
        action = decide(obj, states, has_dependents=bool(self._dependents(obj)))
        ns, name = meta(obj).get("namespace"), meta(obj).get("name", "")
        if isinstance(action, RemoveRefs):
            log.info("%s %s/%s: removing references to gone owners %s", res.kind, ns, name, action.uids)
            await self._patch_refs(res, obj, remaining_refs(obj, action.uids))
        elif isinstance(action, Delete):
            log.info("%s %s/%s: owners gone, deleting (%s)", res.kind, ns, name, action.policy)
            await self._delete(res, obj, action.policy)

    async def _owner_state(self, dependent: Obj, ref: Obj) -> OwnerState:
        res = resource_for_ref(ref)
        if res is None:
            log.warning(
                "owner %s/%s of %s is not a served kind; keeping it",
                ref.get("apiVersion"),
                ref.get("kind"),
                meta(dependent).get("name"),
            )
            return "solid"
        valid, ns = owner_namespace(dependent, res)
        if not valid:
            return "dangling"  # a cluster-scoped object cannot be owned by a namespaced one
        cached = self._cached_owner(dependent, ref, res)
        if owner_state(ref, cached) == "solid":
            return "solid"
        return owner_state(ref, await self.client.get(res, ns, str(ref.get("name"))))

    async def _finish_foreground(self, res: ResourceInfo, owner: Obj) -> None:
        dependents = self._dependents(owner)
        blocking = blocking_dependents(owner, [dep for _, dep in dependents])
        if not blocking:
            await self._remove_finalizer(res, owner, FOREGROUND)
            return
        for dep_res, dep in dependents:
            if not deleting_dependents(dep):
                self.queue.add(f"{dep_res.plural}|{object_key(dep)}")

    async def _orphan_dependents(self, res: ResourceInfo, owner: Obj) -> None:
        uid = meta(owner).get("uid", "")
        for dep_res, dep in self._dependents(owner):
            await self._patch_refs(dep_res, dep, remaining_refs(dep, [uid]))
        await self._remove_finalizer(res, owner, ORPHAN)

    # ------------------------------------------------------------ writes

    async def _patch_refs(self, res: ResourceInfo, obj: Obj, refs: list[Obj]) -> None:
        patch = {
            "metadata": {"ownerReferences": refs or None, "resourceVersion": meta(obj).get("resourceVersion")}
        }
        try:
            await self.client.patch(res, meta(obj).get("namespace"), meta(obj)["name"], patch)
        except StatusError as exc:
            if exc.code != 404:
                raise  # 409: it changed; the retry sees the new version

    async def _delete(self, res: ResourceInfo, obj: Obj, policy: str) -> None:
        try:
            await self.client.delete(
                res,
                meta(obj).get("namespace"),
                meta(obj)["name"],
                propagation_policy=policy,
                precondition_uid=meta(obj).get("uid"),
            )
        except StatusError as exc:
            if exc.code not in (404, 409):
                raise

    async def _remove_finalizer(self, res: ResourceInfo, obj: Obj, finalizer: str) -> None:
        """Drop one finalizer from the live object (guarded by resourceVersion: others may edit the list)."""
        ns, name = meta(obj).get("namespace"), meta(obj)["name"]
        live = await self.client.get(res, ns, name)
        if live is None or meta(live).get("uid") != meta(obj).get("uid") or finalizer not in finalizers(live):
            return
        rest = [f for f in finalizers(live) if f != finalizer]
        patch = {
            "metadata": {"finalizers": rest or None, "resourceVersion": meta(live).get("resourceVersion")}
        }
        try:
            await self.client.patch(res, ns, name, patch)
        except StatusError as exc:
            if exc.code != 404:
                raise
        log.info("%s %s/%s: removed finalizer %s", res.kind, ns, name, finalizer)
