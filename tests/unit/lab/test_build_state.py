"""build() against the fake kernel, and the state file. Address plan: nodes 172.18.0.0/16."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest

from podnet.lab.build import build
from podnet.lab.kernel_fake import FakeLabKernel
from podnet.lab.plan import AddAddress, Step, plan
from podnet.lab.state import (
    LabExistsError,
    LabNotFoundError,
    from_json,
    list_labs,
    load_state,
    record_process,
    start_ticks,
    to_json,
)
from podnet.lab.status import format_status, status
from podnet.lab.topology import LabSpec

SPEC = LabSpec(name="demo", nodes=2)


def test_build_wires_every_host_to_the_switch(tmp_path: Path) -> None:
    k = FakeLabKernel()
    seen: list[tuple[int, int]] = []
    state = build(SPEC, run_dir=tmp_path, kernel=k, progress=lambda i, n, _s: seen.append((i, n)))
    total = len(plan(SPEC, tmp_path))
    assert seen == [(i, total) for i in range(1, total + 1)]
    assert state.phase == "ready" and load_state("demo", tmp_path) == state
    switch = k.namespaces["podnet-demo-switch"]
    assert sorted(switch) == ["lo", "underlay", "v-control-plane", "v-external", "v-node-1", "v-node-2"]
    assert all(link.master == "underlay" and link.up for n, link in switch.items() if n.startswith("v-"))
    node1 = k.namespaces["podnet-demo-node-1"]["eth0"]
    assert (node1.addresses, node1.up, node1.peer) == (
        ["172.18.0.3/16"],
        True,
        ("podnet-demo-switch", "v-node-1"),
    )
    assert k.sysctls == {
        ("podnet-demo-node-1", "net.ipv4.ip_forward"): "1",
        ("podnet-demo-node-2", "net.ipv4.ip_forward"): "1",
        **{
            ("podnet-demo-switch", f"net.bridge.bridge-nf-call-{f}"): "0"
            for f in ("iptables", "ip6tables", "arptables")
        },
    }
    assert not k.closed  # a kernel passed in belongs to the caller
    # the lab directory gets its own tmpfs before the first namespace is made
    assert k.calls[0] == ("mount_tmpfs", (str(tmp_path / "demo"),))


def test_failed_step_rolls_back_everything_it_made(tmp_path: Path) -> None:
    def fail(call: str, args: tuple[str, ...]) -> None:
        if call == "add_address" and args[0] == "podnet-demo-node-2":
            raise OSError(errno.EADDRNOTAVAIL, "injected")

    k = FakeLabKernel(fail=fail)
    with pytest.raises(OSError, match="injected") as info:
        build(SPEC, run_dir=tmp_path, kernel=k)
    assert any("lab build failed at step" in n and "node-2" in n for n in info.value.__notes__)
    assert k.namespaces == {}
    assert not tmp_path.exists() or list(tmp_path.iterdir()) == []


def test_rollback_leaves_namespaces_it_did_not_create(tmp_path: Path) -> None:
    k = FakeLabKernel()
    k.create_netns("podnet-other-node-1")
    extra: list[Step] = [*plan(SPEC, tmp_path), AddAddress("podnet-demo-node-1", "nope0", "10.0.0.1/8")]
    with pytest.raises(FileNotFoundError):
        build(SPEC, run_dir=tmp_path, kernel=k, steps=extra)
    assert k.list_netns() == ["podnet-other-node-1"]


def test_up_on_an_existing_lab_says_so_and_changes_nothing(tmp_path: Path) -> None:
    k = FakeLabKernel()
    build(SPEC, run_dir=tmp_path, kernel=k)
    before = k.list_netns()
    with pytest.raises(LabExistsError, match="lab 'demo' already exists"):
        build(SPEC, run_dir=tmp_path, kernel=k)
    assert k.list_netns() == before and load_state("demo", tmp_path) is not None


def test_leftover_namespace_counts_as_existing(tmp_path: Path) -> None:
    k = FakeLabKernel()
    k.create_netns("podnet-demo-pod-ab12")
    with pytest.raises(LabExistsError, match=r"namespaces left over \(podnet-demo-pod-ab12\)"):
        build(SPEC, run_dir=tmp_path, kernel=k)
    assert not (tmp_path / "demo").exists()


def test_bad_spec_creates_nothing(tmp_path: Path) -> None:
    k = FakeLabKernel()
    with pytest.raises(ValueError):
        build(LabSpec(name="Bad"), run_dir=tmp_path, kernel=k)
    assert k.calls == [] and not tmp_path.joinpath("Bad").exists()


def test_state_round_trips_and_lists(tmp_path: Path) -> None:
    k = FakeLabKernel()
    state = build(SPEC, run_dir=tmp_path, kernel=k)
    build(LabSpec(name="b", nodes=1), run_dir=tmp_path, kernel=k)
    assert from_json(to_json(state)) == state
    assert list_labs(tmp_path) == ["b", "demo"]
    rec = record_process("demo", os.getpid(), "node-1", ["python", "x"], what="agent", run_dir=tmp_path)
    assert rec.start_ticks == start_ticks(os.getpid())
    loaded = load_state("demo", tmp_path)
    assert loaded is not None and loaded.processes == (rec,)
    with pytest.raises(LabNotFoundError, match="lab 'demo' has no host 'node-9'"):
        record_process("demo", os.getpid(), "node-9", ["x"], run_dir=tmp_path)
    with pytest.raises(LabNotFoundError, match="lab 'zzz' does not exist"):
        record_process("zzz", os.getpid(), "node-1", ["x"], run_dir=tmp_path)


def test_status_reports_each_host(tmp_path: Path) -> None:
    k = FakeLabKernel()
    build(SPEC, run_dir=tmp_path, kernel=k)
    st = status("demo", run_dir=tmp_path, kernel=k)
    assert st.healthy
    got = [(h.name, h.present, h.addresses, h.link, h.port) for h in st.hosts]
    assert got == [
        ("switch", True, (), "-", "-"),
        ("control-plane", True, ("172.18.0.2/16",), "UP", "UP"),
        ("node-1", True, ("172.18.0.3/16",), "UP", "UP"),
        ("node-2", True, ("172.18.0.4/16",), "UP", "UP"),
        ("external", True, ("172.18.0.250/16",), "UP", "UP"),
    ]
    k.delete_netns("podnet-demo-node-2")
    st = status("demo", run_dir=tmp_path, kernel=k)
    assert not st.healthy
    assert "node-2          podnet-demo-node-2 (missing)" in format_status(st, now=st.created)


def test_status_of_missing_lab(tmp_path: Path) -> None:
    k = FakeLabKernel()
    k.create_netns("podnet-gone-node-1")
    with pytest.raises(LabNotFoundError, match="no state but namespaces are left"):
        status("gone", run_dir=tmp_path, kernel=k)
