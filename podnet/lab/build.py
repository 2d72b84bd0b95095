"""Build a lab's wiring: run ``plan(spec)`` step by step against a ``LabKernel``, all or nothing.

The lab directory is claimed with one ``mkdir`` (atomic, so two ``up`` of one name cannot both win)
and gets its own tmpfs unless it already lives on one (runtime state belongs in RAM, as /run is on a
usual system; ``down`` unmounts it). The state file is written with phase "building" before the
first namespace exists, so even a killed ``up`` leaves a record that ``down`` can clean. On any
failure (Ctrl-C included) every namespace this run created is deleted, the directory removed, and
the error re-raised with a note naming the step.
"""

from __future__ import annotations

import dataclasses
import shutil
from collections.abc import Callable
from pathlib import Path

from podnet.lab.kernel import LabKernel, NetlinkLabKernel
from podnet.lab.plan import (
    AddAddress,
    AddRoute,
    AttachToBridge,
    CreateBridge,
    CreateNetns,
    CreateVethToSwitch,
    LinkUp,
    SetSysctl,
    Step,
    WriteFile,
    plan,
)
from podnet.lab.state import RUN_DIR, LabExistsError, LabState, ensure_absent, lab_dir, new_state, save_state
from podnet.lab.teardown import remove_lab_dir
from podnet.lab.topology import LabSpec, hosts

Progress = Callable[[int, int, Step], None]
"""Called before each step with (index from 1, total, step): the CLI's progress line."""


def apply_step(kernel: LabKernel, step: Step) -> None:
    match step:
        case CreateNetns(ns):
            kernel.create_netns(ns)
        case LinkUp(ns, ifname):
            kernel.link_up(ns, ifname)
        case CreateBridge(ns, ifname):
            kernel.create_bridge(ns, ifname)
        case CreateVethToSwitch(ns, ifname, peer_ns, peer_ifname):
            kernel.create_veth(ns, ifname, peer_ns, peer_ifname)
        case AttachToBridge(ns, ifname, bridge):
            kernel.attach_to_bridge(ns, ifname, bridge)
        case AddAddress(ns, ifname, address):
            kernel.add_address(ns, ifname, address)
        case AddRoute(ns, dst, gateway):
            kernel.add_route(ns, dst, gateway)
        case SetSysctl(ns, key, value):
            kernel.set_sysctl(ns, key, value)
        case WriteFile(path, content):
            kernel.write_file(path, content)
        case _:
            raise TypeError(f"unknown step {step!r}")


def build(
    spec: LabSpec,
    *,
    run_dir: Path = RUN_DIR,
    kernel: LabKernel | None = None,
    progress: Progress | None = None,
    steps: list[Step] | None = None,
) -> LabState:
    """Build ``spec``'s hosts and wires; return the lab's state (also saved, phase "ready").

    ``steps`` defaults to ``plan(spec)``; passing a list lets a caller add steps (the lead's, or a
    test's failing one) and keep the rollback guarantee.
    """
    todo = plan(spec, run_dir) if steps is None else steps  # validates: nothing made on bad input
    k = NetlinkLabKernel() if kernel is None else kernel
    try:
        state = _claim(spec, k, run_dir)
        created: list[str] = []
        try:
            _run(k, todo, created, progress)
            state = dataclasses.replace(state, phase="ready")
            save_state(state, run_dir)
        except BaseException:
            rollback(k, created, lab_dir(spec.name, run_dir))
            raise
        return state
    finally:
        if kernel is None:
            k.close()


def _claim(spec: LabSpec, kernel: LabKernel, run_dir: Path) -> LabState:
    ensure_absent(spec.name, kernel.list_netns(), run_dir)
    d = lab_dir(spec.name, run_dir)
    d.parent.mkdir(parents=True, exist_ok=True, mode=0o755)
    try:
        d.mkdir(mode=0o755)
    except FileExistsError:
        raise LabExistsError(
            f"lab {spec.name!r} already exists or is being built ({d}); "
            f"remove it with `podnet down --name {spec.name}`"
        ) from None
    state = new_state(spec, hosts(spec))
    try:
        kernel.mount_tmpfs(str(d))
        save_state(state, run_dir)
    except BaseException:
        _remove_dir(d)
        raise
    return state


def _run(kernel: LabKernel, steps: list[Step], created: list[str], progress: Progress | None) -> None:
    for i, step in enumerate(steps, 1):
        if progress is not None:
            progress(i, len(steps), step)
        try:
            apply_step(kernel, step)
        except Exception as exc:
            exc.add_note(f"lab build failed at step {i}/{len(steps)}: {step}")
            raise
        if isinstance(step, CreateNetns):
            created.append(step.netns)


def rollback(kernel: LabKernel, created: list[str], directory: Path) -> None:
    """Undo a failed build: its namespaces (their links go with them) and its directory."""
    for ns in reversed(created):
        try:
            kernel.delete_netns(ns)
        except OSError:
            pass  # keep going: `podnet down` removes anything left, by name
    _remove_dir(directory)


def _remove_dir(directory: Path) -> None:
    """The lab directory, its tmpfs first, and the run dir too when no other lab uses it."""
    try:
        remove_lab_dir(directory)
    except OSError:
        shutil.rmtree(directory, ignore_errors=True)  # `podnet down` unmounts what is left
