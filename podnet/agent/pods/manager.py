"""All pods bound to this node: one worker each, fed by a pod informer (spec.nodeName=<node>).

At start the manager compares the sandboxes recorded on disk with the pods the API binds here:
sandboxes of pods that still exist are handed to their workers (same namespace, same IP, running
containers adopted); the others are torn down, so nothing leaks across agent restarts.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from podnet.agent.pods.container import Handle
from podnet.agent.pods.sandbox import Sandboxes, SandboxRecord
from podnet.agent.pods.worker import PodWorker, RuntimeConfig
from podnet.api.scheme import resource
from podnet.client.informer import InformerFactory
from podnet.client.interface import ApiClient
from podnet.kernel import proc

Obj = dict[str, Any]
log = logging.getLogger(__name__)


class PodManager:
    def __init__(
        self, client: ApiClient, config: RuntimeConfig, sandboxes: Sandboxes, factory: InformerFactory
    ) -> None:
        self.client, self.config, self.sandboxes = client, config, sandboxes
        self.pods = factory.informer(resource("pods"), field_selector=f"spec.nodeName={config.node_name}")
        self.services = factory.informer(resource("services"))
        self.workers: dict[str, PodWorker] = {}
        self.records: dict[str, SandboxRecord] = {}

    async def run(self, stop: asyncio.Event) -> None:
        await asyncio.gather(self.pods.wait_synced(), self.services.wait_synced())
        self.records = {r.uid: r for r in self.sandboxes.load_all()}
        live = {p["metadata"]["uid"] for p in self.pods.list()}
        for uid, rec in list(self.records.items()):
            if uid not in live:
                log.info("pod %s/%s is gone: removing its sandbox", rec.namespace, rec.name)
                await self._destroy_orphan(rec)
                del self.records[uid]
        self.pods.add_handler(
            on_add=self._on_pod, on_update=lambda _old, new: self._on_pod(new), on_delete=self._on_delete
        )
        await stop.wait()
        for worker in self.workers.values():
            await worker.detach()

    def find(self, namespace: str, name: str) -> PodWorker | None:
        """The live worker of a pod by name (``kubectl logs`` asks by name, not uid)."""
        for worker in self.workers.values():
            if worker.namespace == namespace and worker.name == name and not worker.done.is_set():
                return worker
        return None

    def _on_pod(self, pod: Obj) -> None:
        uid = pod["metadata"]["uid"]
        worker = self.workers.get(uid)
        if worker is None:
            self.workers[uid] = PodWorker(
                self.client, self.config, self.sandboxes, pod, self.services, self.records.pop(uid, None)
            )
            self.workers[uid].task.add_done_callback(lambda _t, uid=uid: self._forget(uid))
        else:
            worker.update(pod)

    def _forget(self, uid: str) -> None:
        worker = self.workers.get(uid)
        if worker is not None and worker.done.is_set():
            del self.workers[uid]

    def _on_delete(self, pod: Obj) -> None:
        worker = self.workers.get(pod["metadata"]["uid"])
        if worker is not None:
            worker.removed()

    async def _destroy_orphan(self, rec: SandboxRecord) -> None:
        for saved in rec.containers.values():
            pid, ticks = int(saved.get("pid", 0)), int(saved.get("ticks", 0))
            if proc.signal_if_same(pid, ticks, 9):
                await Handle(pid, ticks).wait()
        await self.sandboxes.destroy(rec)
