from podnet.agent.pods.status import ContainerView, PodView, phase, pod_status

NOW = "2026-11-22T10:00:00Z"


def view(*containers: ContainerView, sandbox: bool = True) -> PodView:
    return PodView(
        pod_ips=["10.244.0.5"], host_ip="172.18.0.3", sandbox_ready=sandbox, containers=list(containers)
    )


def running(name: str = "c", ready: bool = True) -> ContainerView:
    return ContainerView(
        name, "agnhost", state="running", reason="", started_at=NOW, ready=ready, started=True
    )


def done(name: str = "c", code: int = 0, will_restart: bool = False) -> ContainerView:
    return ContainerView(
        name,
        "x",
        state="terminated",
        reason="Completed" if code == 0 else "Error",
        exit_code=code,
        will_restart=will_restart,
    )


def test_phases() -> None:
    assert phase(view(running(), sandbox=False), "Always") == "Pending"
    assert phase(view(running()), "Always") == "Running"
    assert phase(view(done(code=0)), "Never") == "Succeeded"
    assert phase(view(done(code=1)), "Never") == "Failed"
    assert phase(view(done(code=1, will_restart=True)), "Always") == "Running"
    init = ContainerView("i", "x", state="running", reason="", init=True)
    assert phase(view(init, ContainerView("c", "x")), "Always") == "Pending"


def test_ready_needs_every_container_ready_and_names_the_unready() -> None:
    pod = {"metadata": {}, "status": {"conditions": [{"type": "PodScheduled", "status": "True"}]}}
    status = pod_status(pod, view(running("a"), running("b", ready=False)), NOW)
    conds = {c["type"]: c for c in status["conditions"]}
    assert conds["PodScheduled"]["status"] == "True"
    assert conds["Ready"]["status"] == "False"
    assert conds["Ready"]["message"] == "containers with unready status: [b]"
    assert status["podIP"] == "10.244.0.5" and status["podIPs"] == [{"ip": "10.244.0.5"}]
    assert status["containerStatuses"][0]["state"] == {"running": {"startedAt": NOW}}


def test_transition_time_kept_while_status_unchanged() -> None:
    first = pod_status({"metadata": {}}, view(running()), NOW)
    again = pod_status({"metadata": {}, "status": first}, view(running()), "2026-11-22T11:00:00Z")
    assert again == first
    flipped = pod_status(
        {"metadata": {}, "status": first}, view(running(ready=False)), "2026-11-22T12:00:00Z"
    )
    ready = next(c for c in flipped["conditions"] if c["type"] == "Ready")
    assert ready["lastTransitionTime"] == "2026-11-22T12:00:00Z"


def test_terminated_and_waiting_container_status_shapes() -> None:
    c = done(code=137)
    c.started_at, c.finished_at, c.restart_count = NOW, NOW, 2
    s = pod_status({"metadata": {}}, view(c), NOW)["containerStatuses"][0]
    assert s["state"]["terminated"]["exitCode"] == 137 and s["state"]["terminated"]["reason"] == "Error"
    assert s["restartCount"] == 2 and s["ready"] is False
    w = ContainerView("c", "nope", reason="ErrImagePull", message="no registry")
    s = pod_status({"metadata": {}}, view(w), NOW)["containerStatuses"][0]
    assert s["state"] == {"waiting": {"reason": "ErrImagePull", "message": "no registry"}}
