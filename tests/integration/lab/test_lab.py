"""Labs in real namespaces. Address plan: nodes 172.18.0.0/16, the external "internet" 203.0.113.0/24."""

from __future__ import annotations

import secrets
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from podnet.lab import netns
from podnet.lab.build import build
from podnet.lab.hosts import exec_in_host, spawn_in_host
from podnet.lab.plan import AddAddress, plan
from podnet.lab.state import LabExistsError, LabState, load_state, record_process
from podnet.lab.status import status
from podnet.lab.teardown import down
from podnet.lab.topology import LabSpec
from tests.helpers import wait_until
from tests.integration.lab.conftest import leftovers, ping

MakeLab = Callable[..., LabState]


def _root_view() -> tuple[str, str, str]:
    """The host namespace's links, addresses and routes, to prove a lab never touches them."""
    out = [
        subprocess.run(["ip", "-o", *a], capture_output=True, text=True, check=True).stdout
        for a in (["link"], ["addr"], ["route"])
    ]
    return out[0], out[1], out[2]


def test_nodes_reach_each_other_and_external_only_inside_the_lab(make_lab: MakeLab) -> None:
    before = _root_view()
    lab = make_lab(nodes=2)
    assert _root_view() == before
    node1 = f"podnet-{lab.name}-node-1"
    assert ping(node1, "172.18.0.4")  # node-2
    assert ping(node1, "172.18.0.250")  # external
    assert ping(node1, "203.0.113.1")  # the "internet" behind external
    assert ping(f"podnet-{lab.name}-external", "172.18.0.2")  # control plane
    host_addr = next(
        line.split()[3].split("/")[0]
        for line in before[1].splitlines()
        if " inet " in line and "127.0.0.1" not in line
    )
    assert not ping(node1, host_addr, timeout=0.5)  # the machine's own networks are out of reach
    forward = Path("/proc/sys/net/ipv4/ip_forward")
    in_node = netns.run_in_netns(node1, forward.read_text)
    in_cp = netns.run_in_netns(f"podnet-{lab.name}-control-plane", forward.read_text)
    assert (in_node, in_cp) == ("1\n", "0\n")


def test_exec_in_host_runs_inside_with_its_own_files(
    make_lab: MakeLab, capfd: pytest.CaptureFixture[str]
) -> None:
    lab = make_lab(nodes=1)
    script = "hostname; ls /sys/class/net; grep node-1 /etc/hosts; head -c 11 /etc/resolv.conf; echo; exit 7"
    assert exec_in_host(lab.name, "node-1", ["sh", "-c", script]) == 7
    assert capfd.readouterr().out == "node-1\neth0\nlo\n172.18.0.3\tnode-1\n# podnet la\n"
    assert exec_in_host(lab.name, "external", ["sh", "-c", "kill -TERM $$"]) == 143
    assert exec_in_host(lab.name, "external", ["no-such-command-podnet"]) == 127
    assert exec_in_host(lab.name, "node-1", ["true"], env={"PATH": "/usr/bin:/bin"}) == 0
    proc = spawn_in_host(
        lab.name,
        "node-1",
        ["sh", "-c", "cat; echo $FOO"],
        env={"FOO": "bar"},
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    out, _ = proc.communicate("through stdin\n", timeout=10)
    assert (proc.returncode, out) == (0, "through stdin\nbar\n")


def test_two_labs_coexist_with_the_same_addresses(make_lab: MakeLab, run_dir: Path) -> None:
    a, b = make_lab(nodes=1), make_lab(nodes=1)
    assert ping(f"podnet-{a.name}-node-1", "172.18.0.250")
    assert ping(f"podnet-{b.name}-node-1", "172.18.0.250")
    with pytest.raises(LabExistsError, match=f"lab '{a.name}' already exists"):
        build(LabSpec(name=a.name, nodes=1), run_dir=run_dir)
    down(a.name, run_dir=run_dir)
    assert leftovers(a.name, run_dir) == []
    assert ping(f"podnet-{b.name}-node-1", "172.18.0.2")
    assert status(b.name, run_dir=run_dir).healthy


def test_down_stops_recorded_processes_and_leaves_nothing(make_lab: MakeLab, run_dir: Path) -> None:
    lab = make_lab(nodes=2)
    argv = [sys.executable, "-c", "import time\nfor _ in range(600): time.sleep(0.1)"]
    proc = spawn_in_host(lab.name, "node-1", argv)
    stubborn = spawn_in_host(lab.name, "node-2", ["sh", "-c", "trap '' TERM; while :; do sleep 0.1; done"])
    try:
        record_process(lab.name, proc.pid, "node-1", argv, what="agent", run_dir=run_dir)
        record_process(lab.name, stubborn.pid, "node-2", ["sh"], what="agent", run_dir=run_dir)
        netns.create_netns(f"podnet-{lab.name}-pod-0abc12")  # as the agent's pod sandboxes are named
        wait_until(lambda: status(lab.name, run_dir=run_dir).healthy, what="both processes running")
        result = down(lab.name, run_dir=run_dir, grace=1.0)
        assert sorted(result.stopped) == sorted([proc.pid, stubborn.pid])
        assert result.killed_hard == [stubborn.pid]
        assert f"podnet-{lab.name}-pod-0abc12" in result.deleted_netns
        assert proc.wait(timeout=5) == -15 and stubborn.wait(timeout=5) == -9
        assert leftovers(lab.name, run_dir) == []
        again = down(lab.name, run_dir=run_dir)
        assert not again.found_anything
    finally:
        for p in (proc, stubborn):
            if p.poll() is None:
                p.kill()
                p.wait()


def test_down_never_signals_a_process_that_is_not_the_labs(make_lab: MakeLab, run_dir: Path) -> None:
    lab = make_lab(nodes=1)
    outsider = subprocess.Popen(["sleep", "30"])  # in the machine's namespace, another argv than recorded
    try:
        record_process(lab.name, outsider.pid, "node-1", ["podnet", "agent"], run_dir=run_dir)
        result = down(lab.name, run_dir=run_dir, grace=0.5)
        assert result.skipped == [
            (outsider.pid, "neither in the lab's namespaces nor running the recorded command")
        ]
        assert outsider.poll() is None
        assert leftovers(lab.name, run_dir) == []
    finally:
        outsider.kill()
        outsider.wait()


def test_failing_build_rolls_back_completely(run_dir: Path) -> None:
    spec = LabSpec(name="t" + secrets.token_hex(4), nodes=2)
    steps = plan(spec, run_dir)
    steps.insert(len(steps) // 2, AddAddress(f"podnet-{spec.name}-node-1", "nosuch0", "10.1.1.1/24"))
    try:
        with pytest.raises(FileNotFoundError) as info:
            build(spec, run_dir=run_dir, steps=steps)
        assert any("nosuch0" in note for note in info.value.__notes__)
        assert leftovers(spec.name, run_dir) == []
        assert load_state(spec.name, run_dir) is None
    finally:
        down(spec.name, run_dir=run_dir)
