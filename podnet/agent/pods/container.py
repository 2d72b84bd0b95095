"""One container of a pod: its process, restarts under the pod's restartPolicy, and its probes."""

from __future__ import annotations

import asyncio
import logging
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from podnet.agent.pods import probes
from podnet.agent.pods.sandbox import join_argv
from podnet.agent.pods.status import ContainerView
from podnet.api.timestamps import rfc3339
from podnet.images.registry import ImageError, resolve_image
from podnet.kernel import proc
from podnet.kernel.spawn import Child, on_exit, spawn

Obj = dict[str, Any]
log = logging.getLogger(__name__)
BACKOFF_RESET_S = 600.0
EVENT_REPEAT_S = 30.0  # one Unhealthy event per probe per 30 s: a failing probe must not flood the API  # kubelet forgets the crash backoff after 10 minutes of running


def exit_code(returncode: int) -> int:
    """A signal death is reported as 128+N, as container runtimes do (SIGKILL: 137)."""
    return 128 - returncode if returncode < 0 else returncode


def should_restart(policy: str, code: int | None, init: bool) -> bool:
    if init:
        return code != 0 and policy != "Never"
    return policy == "Always" or (policy == "OnFailure" and code != 0)


def next_backoff(current: float, base: float, cap: float) -> float:
    """0 for the first restart, then base, 2*base, ... up to cap (CrashLoopBackOff)."""
    return min(cap, base if current == 0 else current * 2)


@dataclass
class Handle:
    """A running container process: ours (we can read its exit status) or adopted after a restart."""

    pid: int
    ticks: int
    process: Child | None = None

    async def wait(self) -> int | None:
        if self.process is not None:
            return exit_code(await self.process.wait())
        exited = on_exit(self.pid)  # opened before the check: it is this process or none
        try:
            if proc.same_process(self.pid, self.ticks):
                await exited
        finally:
            exited.cancel()
        return None  # not our child: the exit status went to the previous agent


@dataclass
class Container:
    spec: Obj
    init: bool
    view: ContainerView
    on_change: Callable[[], None]
    on_event: Callable[[str, str, str], None] = lambda _type, _reason, _message: None
    handle: Handle | None = None
    backoff: float = 0.0
    not_before: float = 0.0
    running_since: float = 0.0
    tasks: list[asyncio.Task[None]] = field(default_factory=list)
    killing: str = ""  # why we are stopping it (liveness, deletion)
    grace: float = 30.0  # the pod's terminationGracePeriodSeconds
    decided: bool = False  # the restart of the last exit is scheduled

    @property
    def name(self) -> str:
        return str(self.spec.get("name"))

    def wants_start(self, policy: str, now: float) -> bool:
        v = self.view
        if self.handle is not None or now < self.not_before:
            return False
        if (
            v.state == "waiting"
            and v.restart_count == 0
            and v.reason in ("ContainerCreating", "PodInitializing")
        ):
            return True
        if v.reason == "ErrImagePull":
            return True
        return v.will_restart

    async def start(
        self, pod: Obj, pause_pid: int, env: dict[str, str], log_dir: Path, pod_ip: str, python: str
    ) -> Obj | None:
        """Start the process; its record for sandbox.json, or None when it could not start."""
        argv = resolve_image(
            str(self.spec.get("image") or ""), self.spec.get("command"), self.spec.get("args"), python=python
        )
        v = self.view
        if isinstance(argv, ImageError):
            self._failed_start(argv)
            self.on_event("Warning", "Failed", f"Error: {argv.reason}: {argv.message}")
            return None
        if v.state == "terminated" or v.reason == "CrashLoopBackOff":
            v.restart_count += 1
        workdir = str(self.spec.get("workingDir") or "/")
        full = join_argv(pause_pid, argv, workdir)
        logs = (
            log_dir / "logs" / self.name
        )  # one file per run: `kubectl logs --previous` reads the last but one
        logs.mkdir(parents=True, exist_ok=True)
        with open(logs / f"{v.restart_count}.log", "ab") as out:
            p = await spawn(full, env=env, stdout=out, stderr=out, start_new_session=True)
        ticks = proc.start_ticks(p.pid) or 0
        self._running(Handle(p.pid, ticks, p), rfc3339())
        self.on_event("Normal", "Created", f"Created container {self.name}")
        self.on_event("Normal", "Started", f"Started container {self.name}")
        self.watch(pod, pod_ip, pause_pid)
        return {"pid": p.pid, "ticks": ticks, "restarts": v.restart_count, "startedAt": v.started_at}

    def adopt(self, record: Obj, pod: Obj, pod_ip: str, pause_pid: int) -> bool:
        """Take over a process the previous agent started, if it still runs."""
        if not proc.same_process(int(record.get("pid", 0)), int(record.get("ticks", 0))):
            return False
        self.view.restart_count = int(record.get("restarts", 0))
        self._running(Handle(int(record["pid"]), int(record["ticks"])), record.get("startedAt") or rfc3339())
        self.watch(pod, pod_ip, pause_pid)
        return True

    def _running(self, handle: Handle, started_at: str) -> None:
        v = self.view
        self.handle, self.running_since, self.killing, self.decided = handle, time.monotonic(), "", False
        v.state, v.reason, v.message, v.exit_code = "running", "", "", None
        v.started_at, v.finished_at, v.will_restart = started_at, None, False
        v.container_id = f"podnet://{handle.pid}-{handle.ticks}"
        v.started = not self.spec.get("startupProbe")
        v.ready = v.started and not self.spec.get("readinessProbe") and not self.init

    def _failed_start(self, err: ImageError) -> None:
        v = self.view
        self.decided = False
        if err.reason == "ErrImagePull":
            v.state, v.reason, v.message = "waiting", "ErrImagePull", err.message
            self.not_before = time.monotonic() + 10.0
            return
        now = rfc3339()
        v.state, v.reason, v.message, v.exit_code = "terminated", err.reason, err.message, 128
        v.started_at = v.finished_at = now

    def watch(self, pod: Obj, pod_ip: str, pause_pid: int) -> None:
        self.tasks.append(asyncio.create_task(self._wait_exit()))
        exec_fn = self._exec_fn(pause_pid)
        for kind in ("startupProbe", "readinessProbe", "livenessProbe"):
            probe = self.spec.get(kind)
            if probe and not self.init:
                self.tasks.append(asyncio.create_task(self._probe_loop(kind, probe, pod_ip, exec_fn)))

    def _exec_fn(self, pause_pid: int) -> probes.ExecFn:
        async def run(command: list[str], timeout: float) -> int:
            resolved = resolve_image(str(self.spec.get("image") or ""), command, None)
            if isinstance(resolved, ImageError):
                return 126
            p = await spawn(join_argv(pause_pid, resolved))
            try:
                return exit_code(await asyncio.wait_for(p.wait(), timeout))
            except TimeoutError:
                p.kill()
                await p.wait()
                return 124

        return run

    async def _probe_loop(self, kind: str, probe: Obj, pod_ip: str, exec_fn: probes.ExecFn) -> None:
        tracker = probes.ProbeTracker.of(probe, initial=(kind == "livenessProbe"))
        await asyncio.sleep(float(probe.get("initialDelaySeconds") or 0))
        period = float(probe.get("periodSeconds") or 10)
        last_event = -EVENT_REPEAT_S
        for _ in range(10**9):  # for the container's life; the task is cancelled when it stops
            if kind == "startupProbe" or self.view.started:
                ok, message = await probes.check(probe, pod_ip, self.spec, exec_fn)
                if not ok and time.monotonic() - last_event > EVENT_REPEAT_S:
                    name = {"startupProbe": "Startup", "readinessProbe": "Readiness"}.get(kind, "Liveness")
                    self.on_event("Warning", "Unhealthy", f"{name} probe failed: {message}")
                    last_event = time.monotonic()
                if tracker.observe(ok):
                    self._probe_changed(kind, tracker.result, message)
                if kind == "startupProbe" and self.view.started:
                    return
            await asyncio.sleep(period)

    def _probe_changed(self, kind: str, ok: bool, message: str) -> None:
        v = self.view
        if kind == "readinessProbe":
            v.ready = ok
        elif kind == "startupProbe" and ok:
            v.started = True
            v.ready = not self.spec.get("readinessProbe")
        elif not ok:  # liveness or startup failed: kubelet kills the container and restarts it
            probe_name = "Liveness" if kind == "livenessProbe" else "Startup"
            log.info("container %s failed %s probe: %s; restarting", self.name, probe_name, message)
            asyncio.get_running_loop().create_task(
                self.stop(grace=self.grace, why=f"{probe_name} probe failed")
            )
        self.on_change()

    async def _wait_exit(self) -> None:
        handle = self.handle
        if handle is None:
            return
        code = await handle.wait()
        if self.handle is not handle:
            return
        self._exited(code)

    def _exited(self, code: int | None) -> None:
        v = self.view
        for task in self.tasks:
            if task is not asyncio.current_task():
                task.cancel()
        self.tasks.clear()
        self.handle = None
        v.state, v.ready, v.finished_at = "terminated", False, rfc3339()
        if code is None:
            v.exit_code, v.reason = 255, "Unknown"
            v.message = "the agent restarted while this container ran; its exit status was not observed"
        else:
            v.exit_code, v.reason, v.message = code, ("Completed" if code == 0 else "Error"), ""
        if time.monotonic() - self.running_since > BACKOFF_RESET_S:
            self.backoff = 0.0
        self.on_change()

    def decide_restart(self, policy: str, base: float, cap: float, deleting: bool) -> None:
        """After an exit: keep it terminated, or schedule its restart with the crash backoff."""
        v = self.view
        if v.state != "terminated" or self.handle is not None or deleting or self.decided:
            return
        self.decided = True  # once per exit: the back-off of this exit is fixed now
        v.will_restart = should_restart(policy, v.exit_code, self.init)
        if not v.will_restart:
            return
        v.last_state = {
            "terminated": {
                "exitCode": v.exit_code,
                "reason": v.reason,
                "startedAt": v.started_at,
                "finishedAt": v.finished_at,
                "containerID": v.container_id,
            }
        }
        self.not_before = time.monotonic() + self.backoff
        if self.backoff > 0:
            self.on_event("Warning", "BackOff", f"Back-off restarting failed container {self.name}")
            v.state, v.reason = "waiting", "CrashLoopBackOff"
            v.message = f"back-off {self.backoff:g}s restarting failed container={self.name}"
        self.backoff = next_backoff(self.backoff, base, cap)

    async def stop(self, grace: float, why: str = "") -> None:
        """SIGTERM, then SIGKILL after ``grace`` seconds; returns once the process is gone."""
        handle = self.handle
        if handle is None:
            return
        self.killing = why
        self.on_event("Normal", "Killing", f"Stopping container {self.name}")
        proc.signal_if_same(handle.pid, handle.ticks, signal.SIGTERM)
        deadline = time.monotonic() + grace
        while self.handle is handle and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        if self.handle is handle:
            proc.signal_if_same(handle.pid, handle.ticks, signal.SIGKILL)
            for _ in range(200):  # bounded: ~10 s for the kernel to reap
                if self.handle is not handle:
                    break
                await asyncio.sleep(0.05)
