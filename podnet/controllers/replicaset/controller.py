"""ReplicaSetController: pods of a ReplicaSet are created, adopted, released and deleted until they match it.

Keys are "namespace/name" of ReplicaSets. A pod event queues its controller
(for orphans: every ReplicaSet in the namespace whose selector matches), and
marks creations/deletions as observed. A sync claims the namespace's active
pods (``ownership.claim``), asks ``sync.plan_replicas`` what to change,
makes the calls, and writes ``status`` when it differs.

Config attributes read (``ControllerConfig`` has them): ``clock`` (wall-clock
seconds, for minReadySeconds and expectations; default ``time.time``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import Any

from podnet.api.errors import StatusError
from podnet.api.scheme import ResourceInfo, lookup_plural
from podnet.client.events import record_event
from podnet.client.informer import NAMESPACE_INDEX, Informer, InformerFactory, object_key, split_key
from podnet.client.interface import ApiClient, Obj
from podnet.client.workqueue import WorkQueue, process_queue
from podnet.controllers.replicaset.expectations import Expectations
from podnet.controllers.replicaset.ownership import claim
from podnet.controllers.replicaset.pods import controller_ref, is_deleting, is_pod_active, meta
from podnet.controllers.replicaset.refmanager import adopt, release
from podnet.controllers.replicaset.selector import selector_is_empty, selector_matches
from podnet.controllers.replicaset.sync import (
    available_requeue_after,
    calculate_status,
    new_pod,
    plan_replicas,
    slow_start_batches,
    status_differs,
)

log = logging.getLogger(__name__)
COMPONENT = "replicaset-controller"


def _res(plural: str) -> ResourceInfo:
    res = lookup_plural(plural)
    assert res is not None
    return res


PODS, REPLICASETS = _res("pods"), _res("replicasets")


class SyncFailed(Exception):
    """Creating or deleting pods failed: the status says so and the key is retried with back-off."""


class Controller:
    """The ReplicaSet controller; ``factory`` shares informers with other controllers."""

    def __init__(self, client: ApiClient, config: Any, factory: InformerFactory | None = None) -> None:
        self.client = client
        self.clock = getattr(config, "clock", time.time)
        self._own_factory = factory is None
        self.factory = factory if factory is not None else InformerFactory(client)
        self.replicasets: Informer = self.factory.informer(REPLICASETS)
        self.pods: Informer = self.factory.informer(PODS)
        self.queue: WorkQueue[str] = WorkQueue(name="replicaset")
        self.expectations = Expectations(self.clock)
        self.replicasets.add_handler(self._enqueue, lambda _o, n: self._enqueue(n), self._rs_deleted)
        self.pods.add_handler(self._pod_added, self._pod_updated, self._pod_deleted)

    @classmethod
    def from_factory(cls, client: ApiClient, factory: InformerFactory, config: Any) -> Controller:
        return cls(client, config, factory)

    async def run(self, workers: int = 1) -> None:
        if self._own_factory:
            self.factory.start()
        try:
            await self.replicasets.wait_synced()
            await self.pods.wait_synced()
            await process_queue(self.queue, self.sync, workers, log)
        finally:
            self.queue.shutdown()
            if self._own_factory:
                await self.factory.stop()

    # ------------------------------------------------------------ event handlers

    def _enqueue(self, rs: Obj) -> None:
        self.queue.add(object_key(rs))

    def _rs_deleted(self, rs: Obj) -> None:
        self.expectations.forget(object_key(rs))
        self._enqueue(rs)

    def _owner_key(self, pod: Obj) -> str | None:
        """The key of the cached ReplicaSet controlling ``pod`` (same name and uid), if any."""
        ref = controller_ref(pod)
        if (
            ref is None
            or ref.get("kind") != "ReplicaSet"
            or not str(ref.get("apiVersion", "")).startswith("apps/")
        ):
            return None
        key = f"{meta(pod).get('namespace', '')}/{ref.get('name', '')}"
        rs = self.replicasets.get(key)
        return key if rs is not None and meta(rs).get("uid") == ref.get("uid") else None

    def _matching_rs_keys(self, pod: Obj) -> list[str]:
        labels = meta(pod).get("labels") or {}
        return [
            object_key(rs)
            for rs in self.replicasets.by_index(NAMESPACE_INDEX, meta(pod).get("namespace", ""))
            if not selector_is_empty((rs.get("spec") or {}).get("selector"))
            and selector_matches((rs.get("spec") or {}).get("selector"), labels)
        ]

    def _pod_added(self, pod: Obj) -> None:
        if is_deleting(pod):
            self._pod_deleted(pod)
            return
        key = self._owner_key(pod)
        if key is not None:
            self.expectations.creation_observed(key)
            self.queue.add(key)
        elif controller_ref(pod) is None:
            for k in self._matching_rs_keys(pod):
                self.queue.add(k)

    def _pod_updated(self, old: Obj, new: Obj) -> None:
        if is_deleting(new) and not is_deleting(old):
            self._pod_deleted(new)  # graceful deletion: the pod is as good as gone for the RS
        keys = {self._owner_key(old), self._owner_key(new)} - {None}
        for key in keys:
            assert key is not None
            self.queue.add(key)
        if controller_ref(new) is None or controller_ref(old) is None:
            for k in self._matching_rs_keys(old) + self._matching_rs_keys(new):
                self.queue.add(k)

    def _pod_deleted(self, pod: Obj) -> None:
        key = self._owner_key(pod)
        if key is not None:
            self.expectations.deletion_observed(key, meta(pod).get("uid", ""))
            self.queue.add(key)

    # ------------------------------------------------------------ sync

    async def sync(self, key: str) -> None:
        rs = self.replicasets.get(key)
        if rs is None:
            self.expectations.forget(key)
            return
        ns, _ = split_key(key)
        selector = (rs.get("spec") or {}).get("selector")
        if selector_is_empty(selector):
            log.warning("replicaset %s has an empty selector; not managing its pods", key)
            return
        manage = self.expectations.satisfied(key) and not is_deleting(rs)
        candidates = [p for p in self.pods.by_index(NAMESPACE_INDEX, ns or "") if is_pod_active(p)]
        plan = claim(rs, candidates, lambda p: selector_matches(selector, meta(p).get("labels")))
        active = plan.owned + await adopt(self.client, REPLICASETS, PODS, rs, plan.adopt)
        await release(self.client, PODS, rs, plan.release)
        failure = await self._manage(key, rs, active) if manage else None
        now = self.clock()
        status = calculate_status(rs, active, now, failure)
        await self._write_status(rs, status)
        delay = available_requeue_after(rs, active, now)
        if delay is not None:
            self.queue.add_after(key, delay)
        if failure is not None:
            raise SyncFailed(f"replicaset {key}: {failure}")

    async def _manage(self, key: str, rs: Obj, active: list[Obj]) -> str | None:
        """Create or delete pods per ``plan_replicas``; returns the first failure's message."""
        plan = plan_replicas(rs, active)
        if plan.create:
            return await self._create_pods(key, rs, plan.create)
        if plan.delete:
            return await self._delete_pods(key, rs, plan.delete)
        return None

    async def _create_pods(self, key: str, rs: Obj, count: int) -> str | None:
        self.expectations.expect_creations(key, count)
        done = 0
        for batch in slow_start_batches(count):
            results = await asyncio.gather(
                *(self.client.create(PODS, meta(rs).get("namespace"), new_pod(rs)) for _ in range(batch)),
                return_exceptions=True,
            )
            errors = [r for r in results if isinstance(r, BaseException)]
            for pod in results:
                if isinstance(pod, dict):
                    await self._event(rs, "Normal", "SuccessfulCreate", f"Created pod: {meta(pod)['name']}")
            if errors:
                # Pods never created will never be observed: lower the expectations by them.
                self.expectations.creation_observed(key, len(errors) + count - done - batch)
                message = f"create Pod failed: {errors[0]}"
                await self._event(rs, "Warning", "FailedCreate", f"Error creating: {errors[0]}")
                return message
            done += batch
        return None

    async def _delete_pods(self, key: str, rs: Obj, pods: list[Obj]) -> str | None:
        self.expectations.expect_deletions(key, [meta(p).get("uid", "") for p in pods])
        ns = meta(rs).get("namespace")
        results = await asyncio.gather(
            *(
                self.client.delete(PODS, ns, meta(p)["name"], precondition_uid=meta(p).get("uid"))
                for p in pods
            ),
            return_exceptions=True,
        )
        failure = None
        for pod, result in zip(pods, results, strict=True):
            if isinstance(result, StatusError) and result.code in (404, 409):
                result = None  # already gone, or a new pod of that name that is not ours
            if isinstance(result, BaseException):
                self.expectations.deletion_observed(key, meta(pod).get("uid", ""))
                failure = failure or f"delete Pod failed: {result}"
                await self._event(rs, "Warning", "FailedDelete", f"Error deleting: {result}")
                continue
            if result is None:
                self.expectations.deletion_observed(key, meta(pod).get("uid", ""))
            await self._event(rs, "Normal", "SuccessfulDelete", f"Deleted pod: {meta(pod)['name']}")
        return failure

    async def _write_status(self, rs: Obj, status: Obj) -> None:
        """Write status; on a conflict re-read once and retry, as ``updateReplicaSetStatus`` does.

        The cache often trails our own previous status write, so the first
        attempt with its resourceVersion is the one likely to conflict.
        """
        if not status_differs(rs.get("status"), status):
            return
        ns, name = meta(rs).get("namespace"), meta(rs)["name"]
        try:
            await self.client.update(REPLICASETS, ns, {**rs, "status": status}, "status")
            return
        except StatusError as exc:
            if exc.code == 404:
                return
            if exc.code != 409:
                raise
        fresh = await self.client.get(REPLICASETS, ns, name)
        if fresh is None or meta(fresh).get("uid") != meta(rs).get("uid"):
            return
        if status_differs(fresh.get("status"), status):
            await self.client.update(REPLICASETS, ns, {**fresh, "status": status}, "status")

    async def _event(self, rs: Obj, kind: str, reason: str, message: str) -> None:
        with contextlib.suppress(Exception):
            await record_event(self.client, rs, kind, reason, message, COMPONENT, self.clock())
