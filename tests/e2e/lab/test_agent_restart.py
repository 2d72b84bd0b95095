"""An agent killed with SIGKILL and started again loses nothing: same sandbox, same IP, same processes."""

from __future__ import annotations

import os
import signal

import pytest

from podnet.lab import cluster
from podnet.lab.state import load_state
from tests.e2e.lab.conftest import Lab, netexec, pod_manifest
from tests.helpers import wait_until

pytestmark = pytest.mark.e2e


def agent_pid(lab: Lab, node: str) -> int:
    state = load_state(lab.name)
    assert state is not None
    return [p.pid for p in state.processes if p.name == "agent" and p.host == node][-1]


def test_agent_restart_adopts_running_pods(lab: Lab) -> None:
    lab.kubectl.apply(pod_manifest("survivor", netexec(), node="node-2"))
    before = lab.wait_ready("survivor")
    ip = before["status"]["podIP"]
    started = before["status"]["containerStatuses"][0]["state"]["running"]["startedAt"]
    pid = agent_pid(lab, "node-2")
    os.kill(pid, signal.SIGKILL)
    wait_until(
        lambda: not os.path.exists(f"/proc/{pid}") or open(f"/proc/{pid}/stat").read().split()[2] == "Z",
        timeout=10,
    )
    # the pod keeps serving while its agent is down: containers are not the agent's to lose
    assert lab.host("node-2", "curl", "-s", "--max-time", "3", f"http://{ip}:8080/hostname") == "survivor"
    state = load_state(lab.name)
    assert state is not None
    cluster.start_agent(state, "node-2", cluster.ClusterOptions(restart_backoff=1))
    wait_until(lambda: agent_pid(lab, "node-2") != pid, timeout=5)
    # a new pod works on the restarted agent, and the old one was adopted, not restarted
    lab.kubectl.apply(pod_manifest("after-restart", netexec(), node="node-2"))
    lab.wait_ready("after-restart")
    after = lab.pod("survivor")
    cs = after["status"]["containerStatuses"][0]
    assert after["status"]["podIP"] == ip
    assert cs["restartCount"] == 0 and cs["state"]["running"]["startedAt"] == started
    # and it is still fully managed: deletion stops it and frees its sandbox
    lab.kubectl("delete", "pod", "survivor", "--timeout=20s")
    assert lab.kubectl("get", "pod", "survivor", "--ignore-not-found").strip() == ""
