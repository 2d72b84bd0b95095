"""One pod's life on this node, as kubelet's pod worker: sandbox, containers, status, deletion.

Each pod gets an asyncio task that converges what runs on the node to the pod object it last saw,
woken by API events and by container and probe changes. Status goes back with one merge patch of
the status subresource, only when it changed.
"""

from __future__ import annotations

import asyncio
import logging
import sys
import time
from dataclasses import dataclass, field
from typing import Any

from podnet.agent.pods import envvars, files
from podnet.agent.pods.container import Container
from podnet.agent.pods.sandbox import SandboxError, Sandboxes, SandboxRecord
from podnet.agent.pods.status import ContainerView, PodView, pod_status
from podnet.api.errors import StatusError
from podnet.api.scheme import resource
from podnet.api.timestamps import rfc3339
from podnet.client.events import record_event
from podnet.client.interface import ApiClient
from podnet.images.registry import agnhost_shim_script, parse_image
from podnet.lab.topology import pod_netns_name

Obj = dict[str, Any]
log = logging.getLogger(__name__)
PODS = resource("pods")
SANDBOX_RETRY_S = 2.0
REPORT_RETRY_S = 1.0


@dataclass
class RuntimeConfig:
    """What kubelet's flags would say: this node, cluster DNS, the crash-loop backoff."""

    node_name: str
    node_ip: str
    dns: files.DnsSettings = field(default_factory=files.DnsSettings)
    restart_backoff: float = 10.0
    max_backoff: float = 300.0
    python: str = ""


def is_deleting(pod: Obj) -> bool:
    return bool((pod.get("metadata") or {}).get("deletionTimestamp"))


class PodWorker:
    def __init__(
        self,
        client: ApiClient,
        config: RuntimeConfig,
        sandboxes: Sandboxes,
        pod: Obj,
        services: Any,
        record: SandboxRecord | None = None,
    ) -> None:
        self.client, self.config, self.sandboxes, self.services = client, config, sandboxes, services
        self.pod = pod
        meta = pod["metadata"]
        self.uid, self.namespace, self.name = meta["uid"], meta.get("namespace", "default"), meta["name"]
        self.record = record
        self.restored = record is not None
        self.sandbox_error = ""
        self.wake = asyncio.Event()
        self._event_tasks: set[asyncio.Task[None]] = set()
        self.gone = False
        self.reported: Obj | None = None
        self.env: dict[str, str] | None = None
        spec = pod.get("spec") or {}
        grace = float(spec.get("terminationGracePeriodSeconds", 30))
        self.containers = [
            Container(
                c,
                True,
                ContainerView(c["name"], c.get("image", ""), reason="PodInitializing", init=True),
                self.wake.set,
                self.event,
                grace=grace,
            )
            for c in spec.get("initContainers") or []
        ] + [
            Container(
                c, False, ContainerView(c["name"], c.get("image", "")), self.wake.set, self.event, grace=grace
            )
            for c in spec.get("containers") or []
        ]
        self.start_time: str | None = None
        self.done = asyncio.Event()
        self.task = asyncio.create_task(self._run(), name=f"pod {self.namespace}/{self.name}")

    def event(self, event_type: str, reason: str, message: str) -> None:
        """Record an Event on the pod in the background: events never delay the pod (kubelet's way)."""
        task = asyncio.get_running_loop().create_task(
            record_event(
                self.client,
                {"apiVersion": "v1", "kind": "Pod", **{"metadata": self.pod["metadata"]}},
                event_type,
                reason,
                message,
                "kubelet",
                time.time(),
            )
        )
        self._event_tasks.add(task)
        task.add_done_callback(self._event_tasks.discard)

    # events from the manager
    def update(self, pod: Obj) -> None:
        self.pod = pod
        self.wake.set()

    def removed(self) -> None:
        self.gone = True
        self.wake.set()

    async def _run(self) -> None:
        try:
            for _ in range(10**9):  # until the pod is deleted; bounded for the linter's sake
                # cleared before the round, not after: a container that exits (or an update that
                # lands) while this round awaits must wake the next one, not wait out the delay
                self.wake.clear()
                try:
                    if self.gone or is_deleting(self.pod):
                        await self._terminate()
                        return
                    delay = await self._sync()
                    if not await self._report():
                        delay = min(delay, REPORT_RETRY_S)
                except asyncio.CancelledError:
                    raise
                except Exception:  # one failed round (API away, a kernel hiccup) must not orphan the pod
                    log.exception("pod %s/%s: sync failed; retrying", self.namespace, self.name)
                    delay = REPORT_RETRY_S
                try:
                    await asyncio.wait_for(self.wake.wait(), delay)
                except TimeoutError:
                    pass
        finally:
            self.done.set()

    @property
    def policy(self) -> str:
        return (self.pod.get("spec") or {}).get("restartPolicy") or "Always"

    async def _sync(self) -> float:
        """One convergence step; seconds until the next one is due without events."""
        if not await self._ensure_sandbox():
            return SANDBOX_RETRY_S
        rec = self.record
        assert rec is not None and rec.pause is not None
        now = time.monotonic()
        for c in self.containers:
            c.decide_restart(self.policy, self.config.restart_backoff, self.config.max_backoff, False)
        waits = [c.not_before - now for c in self.containers if c.view.will_restart and c.not_before > now]
        for c in self._startable():
            if c.wants_start(self.policy, now):
                await self._start(c)
        return max(0.05, min(waits)) if waits else 30.0

    def _startable(self) -> list[Container]:
        """Init containers one at a time, in order; app containers once every init one succeeded."""
        for c in self.containers:
            if c.init and not (c.view.state == "terminated" and c.view.exit_code == 0):
                return [c]
        return [c for c in self.containers if not c.init]

    async def _start(self, c: Container) -> None:
        rec = self.record
        assert rec is not None and rec.pause is not None
        pod_ip = rec.pod_ips[0] if rec.pod_ips else ""
        if self.env is None:  # the services that exist when the pod starts, as kubelet does
            self.env = envvars.services_env(self.pod, list(self.services.list()))
        env = envvars.container_env(
            self.pod, c.spec, self.env, pod_ip, self.config.node_ip, self.config.node_name
        )
        started = await c.start(
            self.pod,
            rec.pause.pid,
            env,
            self.sandboxes.pod_dir(self.uid),
            pod_ip,
            self.config.python or sys.executable,
        )
        if started is not None:
            rec.containers[c.name] = started
            self.sandboxes.save(rec)

    async def _ensure_sandbox(self) -> bool:
        rec = self.record
        if rec is not None and rec.pause is not None and not self.restored:
            return True
        spec = self.pod.get("spec") or {}
        if rec is None:
            netns = None if spec.get("hostNetwork") else pod_netns_name(self.sandboxes.lab, self.uid)
            rec = SandboxRecord(self.uid, self.namespace, self.name, netns)
            self.record = rec
        try:
            resolv = files.resolv_conf(self.pod, self.config.dns)
            pause_before = rec.pause
            await self.sandboxes.create(
                rec,
                resolv,
                files.hosts_file(self.pod, [], "cluster.local"),
                files.pod_hostname(self.pod),
                root_files=self._root_files(spec),
            )
            self.sandboxes.write_file(
                self.sandboxes.pod_dir(self.uid) / "hosts",
                files.hosts_file(self.pod, rec.pod_ips, self.config.dns.cluster_domain),
            )
        except SandboxError as exc:
            if self.sandbox_error != str(exc):
                self.event("Warning", "FailedCreatePodSandBox", str(exc))
            self.sandbox_error = str(exc)
            log.warning("pod %s/%s: %s", self.namespace, self.name, exc)
            return False
        self.sandbox_error = ""
        self.start_time = self.start_time or rfc3339()
        if self.restored:
            self._adopt(pause_before)
        return True

    def _root_files(self, spec: Any) -> dict[str, str] | None:
        """What the pod's images have at their root: agnhost's ``/agnhost``, so ``sh -c "/agnhost …"``
        works as in the real image (the pod's root becomes an overlay; the node's is not written)."""
        images = [
            c.get("image", "") for c in (spec.get("initContainers") or []) + (spec.get("containers") or [])
        ]
        if any(parse_image(i).name == "agnhost" for i in images):
            return {"/agnhost": agnhost_shim_script(self.config.python or sys.executable)}
        return None

    def _adopt(self, pause_before: Any) -> None:
        """After an agent restart: keep containers that still run in an unchanged sandbox."""
        rec = self.record
        assert rec is not None and rec.pause is not None
        self.restored = False
        same_pause = pause_before is not None and pause_before.pid == rec.pause.pid
        pod_ip = rec.pod_ips[0] if rec.pod_ips else ""
        for c in self.containers:
            saved = rec.containers.get(c.name)
            if saved and same_pause and c.adopt(saved, self.pod, pod_ip, rec.pause.pid):
                continue
            if saved:  # it ran before; what runs now is a restart
                c.view.restart_count = int(saved.get("restarts", 0))
                c.view.state, c.view.reason = "terminated", "Unknown"
                c.view.exit_code, c.view.finished_at = 255, rfc3339()
                c.view.will_restart, c.decided = True, True

    async def _report(self) -> bool:
        """Send the status if it changed; False when the API did not take it (the caller retries)."""
        rec = self.record
        view = PodView(
            pod_ips=list(rec.pod_ips) if rec else [],
            host_ip=self.config.node_ip,
            sandbox_ready=bool(rec and rec.pause and not self.sandbox_error),
            containers=[c.view for c in self.containers],
            start_time=self.start_time,
        )
        if self.sandbox_error:
            for c in self.containers:
                if c.view.state == "waiting":
                    c.view.message = self.sandbox_error
        status = pod_status(self.pod, view, rfc3339())
        if status == self.reported or status == (self.pod.get("status") or {}):
            self.reported = status
            return True
        try:
            await self.client.patch(
                PODS, self.namespace, self.name, {"status": status}, "merge", subresource="status"
            )
            self.reported = status
            return True
        except StatusError as exc:
            if exc.code == 404:
                return True  # the pod is gone; its deletion event follows
            log.warning("pod %s/%s: status update failed: %s", self.namespace, self.name, exc)
        except Exception as exc:  # connection trouble (aiohttp, TLS): the next round sends it again
            log.warning("pod %s/%s: status update failed: %r", self.namespace, self.name, exc)
        return False

    async def _terminate(self) -> None:
        """Graceful stop: SIGTERM every container, SIGKILL after the grace period, then the sandbox."""
        meta = self.pod.get("metadata") or {}
        grace = (
            0.0
            if self.gone
            else float(
                meta.get(
                    "deletionGracePeriodSeconds",
                    (self.pod.get("spec") or {}).get("terminationGracePeriodSeconds", 30),
                )
            )
        )
        await asyncio.gather(*(c.stop(grace, "deleting") for c in self.containers))
        for c in self.containers:
            for task in c.tasks:
                task.cancel()
        if self.record is not None:
            await self.sandboxes.destroy(self.record)
        if not self.gone:
            try:
                await self.client.delete(
                    PODS, self.namespace, self.name, grace_period_seconds=0, precondition_uid=self.uid
                )
            except StatusError as exc:
                if exc.code not in (404, 409):
                    log.warning("pod %s/%s: final delete failed: %s", self.namespace, self.name, exc)

    async def detach(self) -> None:
        """The agent stops: leave containers running (kubelet does too); stop watching them."""
        self.task.cancel()
        for c in self.containers:
            for task in c.tasks:
                task.cancel()
