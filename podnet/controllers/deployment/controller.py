"""DeploymentController: rolls a Deployment's pods from its old ReplicaSets to the one for its template.

Keys are "namespace/name" of Deployments. ReplicaSet events queue their
controlling Deployment (orphans: every Deployment whose selector matches);
pod deletions queue Recreate Deployments, which wait for old pods to go.
A sync claims the namespace's ReplicaSets, finds or creates the new one,
asks ``rollout`` for one step of scalings (RollingUpdate, Recreate, or a
proportional resize when ``spec.replicas`` changed mid-rollout), applies it,
prunes history and writes the status ``kubectl rollout status`` follows.

Config attributes read (``ControllerConfig`` has them): ``clock`` (wall-clock
seconds for condition timestamps and the progress deadline; default
``time.time``).
"""

from __future__ import annotations

import contextlib
import copy
import logging
import time
from typing import Any

from podnet.api.errors import StatusError
from podnet.api.scheme import ResourceInfo, lookup_plural
from podnet.client.events import record_event
from podnet.client.informer import NAMESPACE_INDEX, Informer, InformerFactory, object_key
from podnet.client.interface import ApiClient, Obj
from podnet.client.workqueue import WorkQueue, process_queue
from podnet.controllers.deployment import rollout, status
from podnet.controllers.deployment.replicasets import (
    is_new_rs,
    new_replicaset,
    next_revision,
    set_new_rs_annotations,
    set_replicas_annotations,
    split_new_old,
)
from podnet.controllers.replicaset.ownership import claim
from podnet.controllers.replicaset.pods import controller_ref, is_deleting, meta
from podnet.controllers.replicaset.refmanager import adopt, release
from podnet.controllers.replicaset.selector import selector_is_empty, selector_matches

log = logging.getLogger(__name__)
COMPONENT = "deployment-controller"


def _res(plural: str) -> ResourceInfo:
    res = lookup_plural(plural)
    assert res is not None
    return res


DEPLOYMENTS, REPLICASETS, PODS = _res("deployments"), _res("replicasets"), _res("pods")


class HashCollision(Exception):
    """The new RS's name is taken by a different RS: collisionCount was raised, sync again."""


class Controller:
    """The Deployment controller; ``factory`` shares informers with other controllers."""

    def __init__(self, client: ApiClient, config: Any, factory: InformerFactory | None = None) -> None:
        self.client = client
        self.clock = getattr(config, "clock", time.time)
        self._own_factory = factory is None
        self.factory = factory if factory is not None else InformerFactory(client)
        self.deployments: Informer = self.factory.informer(DEPLOYMENTS)
        self.replicasets: Informer = self.factory.informer(REPLICASETS)
        self.pods: Informer = self.factory.informer(PODS)
        self.queue: WorkQueue[str] = WorkQueue(name="deployment")
        self.deployments.add_handler(self._enqueue, lambda _o, n: self._enqueue(n), self._enqueue)
        self.replicasets.add_handler(self._rs_changed, self._rs_updated, self._rs_changed)
        self.pods.add_handler(None, None, self._pod_deleted)

    @classmethod
    def from_factory(cls, client: ApiClient, factory: InformerFactory, config: Any) -> Controller:
        return cls(client, config, factory)

    async def run(self, workers: int = 1) -> None:
        if self._own_factory:
            self.factory.start()
        try:
            for informer in (self.deployments, self.replicasets, self.pods):
                await informer.wait_synced()
            await process_queue(self.queue, self.sync, workers, log)
        finally:
            self.queue.shutdown()
            if self._own_factory:
                await self.factory.stop()

    # ------------------------------------------------------------ event handlers

    def _enqueue(self, d: Obj) -> None:
        self.queue.add(object_key(d))

    def _owner_key(self, rs: Obj) -> str | None:
        ref = controller_ref(rs)
        if ref is None or ref.get("kind") != "Deployment":
            return None
        key = f"{meta(rs).get('namespace', '')}/{ref.get('name', '')}"
        d = self.deployments.get(key)
        return key if d is not None and meta(d).get("uid") == ref.get("uid") else None

    def _rs_changed(self, rs: Obj) -> None:
        key = self._owner_key(rs)
        if key is not None:
            self.queue.add(key)
        elif controller_ref(rs) is None:
            labels = meta(rs).get("labels") or {}
            for d in self.deployments.by_index(NAMESPACE_INDEX, meta(rs).get("namespace", "")):
                selector = (d.get("spec") or {}).get("selector")
                if not selector_is_empty(selector) and selector_matches(selector, labels):
                    self._enqueue(d)

    def _rs_updated(self, old: Obj, new: Obj) -> None:
        self._rs_changed(old)
        self._rs_changed(new)

    def _pod_deleted(self, pod: Obj) -> None:
        ref = controller_ref(pod)
        if ref is None or ref.get("kind") != "ReplicaSet":
            return
        rs = self.replicasets.get(f"{meta(pod).get('namespace', '')}/{ref.get('name', '')}")
        key = self._owner_key(rs) if rs is not None else None
        if key is not None and rollout.is_recreate(self.deployments.get(key) or {}):
            self.queue.add(key)

    # ------------------------------------------------------------ sync

    async def sync(self, key: str) -> None:
        cached = self.deployments.get(key)
        if cached is None:
            return
        d = copy.deepcopy(cached)
        d.setdefault("status", {})
        now = self.clock()
        if selector_is_empty((d.get("spec") or {}).get("selector")):
            await self._event(
                d,
                "Warning",
                "SelectingAll",
                "This deployment is selecting all pods. A non-empty selector is required.",
            )
            await self._write_status(
                d, {**d["status"], "observedGeneration": int(meta(d).get("generation") or 0)}
            )
            return
        rss = await self._claim(d)
        if is_deleting(d):
            new, _ = split_new_old(d, rss)
            await self._write_status(d, status.calculate_status(d, rss, new, now))
            return
        paused = status.paused_condition(d, now)
        if paused is not None:
            status.set_condition(d["status"], paused)
        if (d.get("spec") or {}).get("paused") or rollout.is_scaling_event(d, rss):
            await self._sync_scale(d, rss, now)
        elif rollout.is_recreate(d):
            await self._recreate(d, rss, now)
        else:
            await self._rolling(d, rss, now)

    async def _claim(self, d: Obj) -> list[Obj]:
        selector = (d.get("spec") or {}).get("selector")
        candidates = self.replicasets.by_index(NAMESPACE_INDEX, meta(d).get("namespace", ""))
        plan = claim(d, candidates, lambda rs: selector_matches(selector, meta(rs).get("labels")))
        owned = plan.owned + await adopt(self.client, DEPLOYMENTS, REPLICASETS, d, plan.adopt)
        await release(self.client, REPLICASETS, d, plan.release)
        return owned

    async def _rolling(self, d: Obj, rss: list[Obj], now: float) -> None:
        new, olds = await self._new_and_old(d, rss, now, create=True)
        assert new is not None
        scales = rollout.rolling_step(d, new, olds)
        if scales:
            everything = await self._apply_scales(d, [*olds, new], scales)
            await self._finish(d, everything[:-1], everything[-1], now)
            return
        if status.deployment_complete(d, d["status"]):
            await self._cleanup(d, olds)
        await self._finish(d, olds, new, now)

    async def _recreate(self, d: Obj, rss: list[Obj], now: float) -> None:
        new, olds = await self._new_and_old(d, rss, now, create=False)
        down = rollout.recreate_scale_down(olds)
        if down:
            olds = await self._apply_scales(d, olds, down)
            await self._finish(d, olds, new, now)
            return
        if rollout.old_pods_running(new, olds, self._pods_by_rs(d, [*olds, *([new] if new else [])])):
            await self._finish(d, olds, new, now)
            return
        if new is None:
            new, olds = await self._new_and_old(d, rss, now, create=True)
            assert new is not None
        if rollout.spec_replicas(new) != rollout.spec_replicas(d):
            new = (await self._apply_scales(d, [new], {meta(new)["name"]: rollout.spec_replicas(d)}))[0]
        elif status.deployment_complete(d, d["status"]):
            await self._cleanup(d, olds)
        await self._finish(d, olds, new, now)

    async def _sync_scale(self, d: Obj, rss: list[Obj], now: float) -> None:
        """Paused, or replicas changed: resize without rolling (Kubernetes' ``sync``)."""
        new, olds = await self._new_and_old(d, rss, now, create=False)
        everything = [*olds, *([new] if new is not None else [])]
        scales = rollout.scale_step(d, new, olds)
        if scales:
            everything = await self._apply_scales(d, everything, scales)
        new = next(
            (
                rs
                for rs in everything
                if new is not None and rs["metadata"]["name"] == new["metadata"]["name"]
            ),
            None,
        )
        olds = [rs for rs in everything if rs is not new]
        if (d.get("spec") or {}).get("paused"):
            await self._cleanup(d, olds)
        await self._write_status(d, status.calculate_status(d, everything, new, now))

    def _pods_by_rs(self, d: Obj, rss: list[Obj]) -> dict[str, list[Obj]]:
        uids = {meta(rs).get("uid") for rs in rss}
        out: dict[str, list[Obj]] = {}
        for pod in self.pods.by_index(NAMESPACE_INDEX, meta(d).get("namespace", "")):
            ref = controller_ref(pod)
            if ref is not None and ref.get("uid") in uids:
                out.setdefault(str(ref["uid"]), []).append(pod)
        return out

    # ------------------------------------------------------------ the new ReplicaSet

    async def _new_and_old(
        self, d: Obj, rss: list[Obj], now: float, create: bool
    ) -> tuple[Obj | None, list[Obj]]:
        """``getAllReplicaSetsAndSyncRevision``: bring the new RS's annotations up to date, or create it."""
        new, olds = split_new_old(d, rss)
        rev = next_revision(olds)
        if new is not None:
            new = await self._sync_new_rs(d, new, rev)
            await self._set_revision(d, rollout.revision(new))
            if status.get_condition(d["status"], status.PROGRESSING) is None:
                message = f'Found new replica set "{meta(new)["name"]}"'
                status.set_condition(
                    d["status"],
                    status.condition(status.PROGRESSING, "True", status.FOUND_NEW_RS, message, now),
                )
            return new, olds
        if not create:
            return None, olds
        new = await self._create_new_rs(d, olds, rev)
        message = f'Created new replica set "{meta(new)["name"]}"'
        status.set_condition(
            d["status"], status.condition(status.PROGRESSING, "True", status.NEW_RS_CREATED, message, now)
        )
        await self._set_revision(d, rollout.revision(new))
        return new, olds

    async def _sync_new_rs(self, d: Obj, rs: Obj, rev: int) -> Obj:
        updated = copy.deepcopy(rs)
        changed = set_new_rs_annotations(d, updated, rev, exists=True)
        min_ready = int((d.get("spec") or {}).get("minReadySeconds") or 0)
        if int(updated["spec"].get("minReadySeconds") or 0) != min_ready:
            updated["spec"]["minReadySeconds"] = min_ready
            changed = True
        return await self.client.update(REPLICASETS, meta(d).get("namespace"), updated) if changed else rs

    async def _create_new_rs(self, d: Obj, olds: list[Obj], rev: int) -> Obj:
        rs = new_replicaset(d, 0, rev)
        rs["spec"]["replicas"] = rollout.new_rs_new_replicas(d, [*olds, rs], rs)
        ns, name = meta(d).get("namespace"), rs["metadata"]["name"]
        try:
            created = await self.client.create(REPLICASETS, ns, rs)
        except StatusError as exc:
            if exc.code != 409:
                raise
            existing = await self.client.get(REPLICASETS, ns, name)
            ref = controller_ref(existing) if existing is not None else None
            if (
                existing is not None
                and ref is not None
                and ref.get("uid") == meta(d).get("uid")
                and is_new_rs(d, existing)
            ):
                return existing  # ours already; the cache had not shown it yet
            d["status"]["collisionCount"] = int(d["status"].get("collisionCount") or 0) + 1
            await self._write_status(d, d["status"])
            raise HashCollision(f"replicaset {ns}/{name} exists with another template") from exc
        replicas = rollout.spec_replicas(created)
        if replicas > 0:
            await self._event(
                d, "Normal", "ScalingReplicaSet", f"Scaled up replica set {name} from 0 to {replicas}"
            )
        return created

    async def _set_revision(self, d: Obj, rev: int) -> None:
        """Mirror the new RS's revision onto the Deployment (``kubectl rollout history`` reads it)."""
        if (meta(d).get("annotations") or {}).get(rollout.REVISION) == str(rev):
            return
        patch = {
            "metadata": {
                "annotations": {rollout.REVISION: str(rev)},
                "resourceVersion": meta(d).get("resourceVersion"),
            }
        }
        out = await self.client.patch(DEPLOYMENTS, meta(d).get("namespace"), meta(d)["name"], patch)
        d["metadata"] = out["metadata"]

    # ------------------------------------------------------------ writes

    async def _apply_scales(self, d: Obj, rss: list[Obj], scales: rollout.Scales) -> list[Obj]:
        """Scale each named RS (and stamp the desired/max replicas annotations); returns ``rss`` as written."""
        desired, max_total = rollout.spec_replicas(d), rollout.spec_replicas(d) + rollout.max_surge(d)
        out = []
        for rs in rss:
            name = meta(rs)["name"]
            if name not in scales:
                out.append(rs)
                continue
            updated = copy.deepcopy(rs)
            before, after = rollout.spec_replicas(rs), scales[name]
            updated["spec"]["replicas"] = after
            annotated = set_replicas_annotations(updated, desired, max_total)
            if before == after and not annotated:
                out.append(rs)
                continue
            out.append(await self.client.update(REPLICASETS, meta(rs).get("namespace"), updated))
            if before != after:
                direction = "up" if after > before else "down"
                message = f"Scaled {direction} replica set {name} from {before} to {after}"
                await self._event(d, "Normal", "ScalingReplicaSet", message)
        return out

    async def _cleanup(self, d: Obj, olds: list[Obj]) -> None:
        for rs in rollout.history_to_delete(d, olds):
            try:
                await self.client.delete(
                    REPLICASETS,
                    meta(rs).get("namespace"),
                    meta(rs)["name"],
                    precondition_uid=meta(rs).get("uid"),
                )
            except StatusError as exc:
                if exc.code not in (404, 409):
                    raise

    async def _finish(self, d: Obj, olds: list[Obj], new: Obj | None, now: float) -> None:
        everything = [*olds, *([new] if new is not None else [])]
        new_status = status.rollout_status(d, everything, new, now)
        await self._write_status(d, new_status)
        delay = status.requeue_for_deadline(d, new_status, now)
        if delay is not None:
            self.queue.add_after(object_key(d), delay)

    async def _write_status(self, d: Obj, new_status: Obj) -> None:
        current = self.deployments.get(object_key(d))
        if current is not None and not status.status_changed(current.get("status"), new_status):
            return
        try:
            out = await self.client.update(
                DEPLOYMENTS, meta(d).get("namespace"), {**d, "status": new_status}, "status"
            )
        except StatusError as exc:
            if exc.code == 404:
                return
            raise
        d["metadata"], d["status"] = out["metadata"], out.get("status") or {}

    async def _event(self, d: Obj, kind: str, reason: str, message: str) -> None:
        with contextlib.suppress(Exception):
            await record_event(self.client, d, kind, reason, message, COMPONENT, self.clock())
