"""A pod's status from what the runtime observed (pure): phase, conditions, containerStatuses.

Kubernetes' rules, from kubelet's generateAPIPodStatus: the phase is Pending until the sandbox and
containers run, Running while any container runs or will restart, Succeeded/Failed once every
container terminated for good; Ready needs every container ready (readiness probes) and the
sandbox ready; conditions keep their lastTransitionTime until their status changes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

Obj = dict[str, Any]


@dataclass
class ContainerView:
    """What the runtime knows of one container at one moment."""

    name: str
    image: str
    state: str = "waiting"  # waiting | running | terminated
    reason: str = "ContainerCreating"
    message: str = ""
    exit_code: int | None = None
    started_at: str | None = None
    finished_at: str | None = None
    restart_count: int = 0
    last_state: Obj = field(default_factory=dict)
    ready: bool = False
    started: bool = False
    container_id: str = ""
    init: bool = False
    will_restart: bool = False  # a terminated container the restart policy brings back


@dataclass
class PodView:
    pod_ips: list[str]
    host_ip: str
    sandbox_ready: bool
    containers: list[ContainerView]
    start_time: str | None = None
    terminal_reason: str = ""  # e.g. a pod-level failure the agent decided on
    terminal_message: str = ""


def container_status(c: ContainerView) -> Obj:
    state: Obj
    if c.state == "running":
        state = {"running": {"startedAt": c.started_at}}
    elif c.state == "terminated":
        term: Obj = {"exitCode": c.exit_code if c.exit_code is not None else 0, "reason": c.reason}
        if c.message:
            term["message"] = c.message
        term.update({"startedAt": c.started_at, "finishedAt": c.finished_at})
        if c.container_id:
            term["containerID"] = c.container_id
        state = {"terminated": term}
    else:
        waiting: Obj = {"reason": c.reason}
        if c.message:
            waiting["message"] = c.message
        state = {"waiting": waiting}
    out: Obj = {
        "name": c.name,
        "image": c.image,
        "imageID": "",
        "ready": c.ready,
        "restartCount": c.restart_count,
        "started": c.state == "running" and c.started,
        "state": state,
        "lastState": c.last_state,
    }
    if c.container_id:
        out["containerID"] = c.container_id
    return out


def phase(view: PodView, restart_policy: str) -> str:
    app = [c for c in view.containers if not c.init]
    if view.terminal_reason:
        return "Failed"
    if not view.sandbox_ready or any(c.init and c.state != "terminated" for c in view.containers):
        return "Pending"
    if any(c.state == "running" or c.will_restart for c in app):
        return "Running"
    if app and all(c.state == "terminated" for c in app):
        if all(c.exit_code == 0 for c in app):
            return "Succeeded"
        return "Failed"
    return "Pending"


def _condition(old: list[Obj], ctype: str, ok: bool, now: str, reason: str = "", message: str = "") -> Obj:
    status = "True" if ok else "False"
    prev = next((c for c in old if c.get("type") == ctype), None)
    since = prev.get("lastTransitionTime") if prev and prev.get("status") == status else now
    cond: Obj = {"type": ctype, "status": status, "lastProbeTime": None, "lastTransitionTime": since}
    if not ok and reason:
        cond["reason"] = reason
    if not ok and message:
        cond["message"] = message
    return cond


def pod_status(pod: Obj, view: PodView, now: str) -> Obj:
    """The whole status the agent reports (the scheduler's PodScheduled condition is kept as is)."""
    old = dict(pod.get("status") or {})
    old_conds = list(old.get("conditions") or [])
    restart_policy = (pod.get("spec") or {}).get("restartPolicy") or "Always"
    app = [c for c in view.containers if not c.init]
    inits = [c for c in view.containers if c.init]
    initialized = all(c.state == "terminated" and c.exit_code == 0 for c in inits)
    not_ready = sorted(c.name for c in app if not c.ready)
    containers_ready = view.sandbox_ready and not not_ready
    ready_msg = f"containers with unready status: [{' '.join(not_ready)}]" if not_ready else ""
    pending_inits = [c.name for c in inits if not (c.state == "terminated" and c.exit_code == 0)]
    conds = [c for c in old_conds if c.get("type") == "PodScheduled"]
    conds += [
        _condition(old_conds, "PodReadyToStartContainers", view.sandbox_ready, now),
        _condition(
            old_conds,
            "Initialized",
            initialized,
            now,
            "ContainersNotInitialized",
            f"containers with incomplete status: [{' '.join(pending_inits)}]",
        ),
        _condition(old_conds, "Ready", containers_ready, now, "ContainersNotReady", ready_msg),
        _condition(old_conds, "ContainersReady", containers_ready, now, "ContainersNotReady", ready_msg),
    ]
    status: Obj = {
        "phase": phase(view, restart_policy),
        "conditions": conds,
        "hostIP": view.host_ip,
        "hostIPs": [{"ip": view.host_ip}],
        "startTime": old.get("startTime") or view.start_time or now,
        "containerStatuses": [container_status(c) for c in app],
        "qosClass": old.get("qosClass") or "BestEffort",
    }
    if inits:
        status["initContainerStatuses"] = [container_status(c) for c in inits]
    if view.pod_ips:
        status["podIP"] = view.pod_ips[0]
        status["podIPs"] = [{"ip": ip} for ip in view.pod_ips]
    if view.terminal_reason:
        status["reason"] = view.terminal_reason
        status["message"] = view.terminal_message
    return status
