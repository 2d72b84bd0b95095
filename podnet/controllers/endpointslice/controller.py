"""EndpointSliceController and EndpointsController: keep each Service's endpoints in step with its pods.

Both queue Service keys. A pod event queues every service in its namespace
whose selector matches the pod before or after the change; a slice event
queues the service named by its ``kubernetes.io/service-name`` label. A sync
reads the caches, asks the pure reconciler what to write, and writes it.

Informer caches lag behind our own writes, and syncing on a cache that does
not yet show a slice we just created would create it twice. As Kubernetes'
endpointSliceTracker does, the controller remembers the resourceVersion of
each slice it wrote (or that it deleted one) and retries a service later
while the cache is older than that.
"""

from __future__ import annotations

import logging

from podnet.api.errors import StatusError
from podnet.api.scheme import ResourceInfo, lookup_plural
from podnet.client.informer import NAMESPACE_INDEX, Informer, object_key, split_key
from podnet.client.interface import ApiClient, Obj
from podnet.client.workqueue import WorkQueue, process_queue
from podnet.controllers.config import ControllerConfig
from podnet.controllers.endpointslice.endpoints import desired_endpoints
from podnet.controllers.endpointslice.model import (
    MANAGED_BY,
    MANAGED_BY_LABEL,
    SERVICE_NAME_LABEL,
    service_selects,
)
from podnet.controllers.endpointslice.reconciler import reconcile

log = logging.getLogger(__name__)


def _res(plural: str) -> ResourceInfo:
    res = lookup_plural(plural)
    assert res is not None
    return res


SERVICES, PODS, SLICES, ENDPOINTS = _res("services"), _res("pods"), _res("endpointslices"), _res("endpoints")


class StaleCache(Exception):
    """The cache does not yet show our last write for this service: retry shortly."""


class _ServiceEndpointsBase:
    """Wiring shared by both controllers: service and pod events → service keys."""

    name = ""

    def __init__(
        self, client: ApiClient, services: Informer, pods: Informer, config: ControllerConfig
    ) -> None:
        self.client, self.services, self.pods, self.config = client, services, pods, config
        self.queue: WorkQueue[str] = WorkQueue(name=self.name)
        services.add_handler(self._enqueue, lambda _old, new: self._enqueue(new), self._enqueue)
        pods.add_handler(self._pod_changed, self._pod_updated, self._pod_changed)

    def _enqueue(self, obj: Obj) -> None:
        self.queue.add(object_key(obj))

    def _pod_changed(self, pod: Obj) -> None:
        ns = (pod.get("metadata") or {}).get("namespace") or ""
        for svc in self.services.by_index(NAMESPACE_INDEX, ns):
            if service_selects(svc, pod):
                self._enqueue(svc)

    def _pod_updated(self, old: Obj, new: Obj) -> None:
        self._pod_changed(old)
        self._pod_changed(new)

    def _service_pods(self, namespace: str) -> list[Obj]:
        return self.pods.by_index(NAMESPACE_INDEX, namespace)

    async def run(self, workers: int = 1) -> None:
        await process_queue(self.queue, self.sync, workers, log)

    async def sync(self, key: str) -> None:
        raise NotImplementedError


class EndpointSliceController(_ServiceEndpointsBase):
    name = "endpointslice"

    def __init__(
        self,
        client: ApiClient,
        services: Informer,
        pods: Informer,
        slices: Informer,
        config: ControllerConfig,
    ) -> None:
        super().__init__(client, services, pods, config)
        self.slices = slices
        slices.add_handler(
            self._slice_changed, lambda _old, new: self._slice_changed(new), self._slice_changed
        )
        # service key → slice name → resourceVersion we wrote (None: we deleted it).
        self._expected: dict[str, dict[str, int | None]] = {}

    def _slice_changed(self, sl: Obj) -> None:
        labels = (sl.get("metadata") or {}).get("labels") or {}
        if labels.get(MANAGED_BY_LABEL) == MANAGED_BY and labels.get(SERVICE_NAME_LABEL):
            self.queue.add(f"{sl['metadata'].get('namespace', '')}/{labels[SERVICE_NAME_LABEL]}")

    def _managed_slices(self, namespace: str, service: str) -> list[Obj]:
        return [
            s
            for s in self.slices.by_index(NAMESPACE_INDEX, namespace)
            if (s["metadata"].get("labels") or {}).get(SERVICE_NAME_LABEL) == service
            and (s["metadata"].get("labels") or {}).get(MANAGED_BY_LABEL) == MANAGED_BY
        ]

    def _check_fresh(self, key: str, slices: list[Obj]) -> None:
        expected = self._expected.get(key)
        if not expected:
            return
        seen = {s["metadata"]["name"]: int(s["metadata"].get("resourceVersion") or 0) for s in slices}
        for name, rv in list(expected.items()):
            caught_up = name not in seen if rv is None else seen.get(name, -1) >= rv
            if not caught_up:
                raise StaleCache(f"cache of endpointslices for {key} is older than our writes")
            del expected[name]
        self._expected.pop(key, None)

    def _wrote(self, key: str, name: str, obj: Obj | None) -> None:
        rv = int(obj["metadata"].get("resourceVersion") or 0) if obj else None
        self._expected.setdefault(key, {})[name] = rv

    async def sync(self, key: str) -> None:
        ns, name = split_key(key)
        assert ns is not None
        slices = self._managed_slices(ns, name)
        self._check_fresh(key, slices)
        service = self.services.get(key)
        if service is None or service["metadata"].get("deletionTimestamp"):
            plan_delete = slices  # the garbage collector would too; doing it here is quicker
            for sl in plan_delete:
                await self._delete(key, ns, sl)
            return
        plan = reconcile(service, self._service_pods(ns), slices, self.config.max_endpoints_per_slice)
        for sl in plan.to_delete:
            await self._delete(key, ns, sl)
        for sl in plan.to_update:
            out = await self.client.update(SLICES, ns, sl)
            self._wrote(key, out["metadata"]["name"], out)
        for sl in plan.to_create:
            out = await self.client.create(SLICES, ns, sl)
            self._wrote(key, out["metadata"]["name"], out)
        if not plan.empty():
            log.debug(
                "service %s: %d slices created, %d updated, %d deleted",
                key,
                len(plan.to_create),
                len(plan.to_update),
                len(plan.to_delete),
            )

    async def _delete(self, key: str, ns: str, sl: Obj) -> None:
        name = sl["metadata"]["name"]
        try:
            await self.client.delete(SLICES, ns, name, precondition_uid=sl["metadata"].get("uid"))
        except StatusError as exc:
            if exc.code != 404:
                raise
        self._wrote(key, name, None)


class EndpointsController(_ServiceEndpointsBase):
    """The legacy v1 Endpoints object, one per service with a selector, named like the service."""

    name = "endpoints"

    def __init__(
        self,
        client: ApiClient,
        services: Informer,
        pods: Informer,
        endpoints: Informer,
        config: ControllerConfig,
    ) -> None:
        super().__init__(client, services, pods, config)
        self.endpoints = endpoints
        endpoints.add_handler(None, None, self._enqueue)  # recreate one deleted by hand

    async def sync(self, key: str) -> None:
        ns, name = split_key(key)
        assert ns is not None
        service = self.services.get(key)
        existing = await self.client.get(ENDPOINTS, ns, name)  # read live: a stale cache would 409 forever
        if service is None or not (service.get("spec") or {}).get("selector"):
            if service is None and existing is not None:
                try:
                    await self.client.delete(ENDPOINTS, ns, name)
                except StatusError as exc:
                    if exc.code != 404:
                        raise
            return
        want = desired_endpoints(service, self._service_pods(ns), existing)
        if want is None:
            return
        if existing is None:
            await self.client.create(ENDPOINTS, ns, want)
        else:
            await self.client.update(ENDPOINTS, ns, want)
