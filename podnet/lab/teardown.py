"""``down``: remove a lab whole, whatever state ``up`` left it in, and nothing that is not the lab's.

Order: stop the recorded processes (a PID is signalled only if its start time still matches the
record and it sits in one of the lab's namespaces or runs the recorded argv), then unpin every
namespace of the lab (listed in the state or carrying its names, pod sandboxes included; links die
with them), then unmount anything under ``/run/podnet/<lab>`` and remove it. Running it again
finds nothing and does nothing. Needs no pyroute2.
"""

from __future__ import annotations

import os
import shutil
import signal
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from podnet.kernel.enter import mount_table, under
from podnet.lab import netns
from podnet.lab.plan import DeleteNetns, RemoveLabDir, StopProcesses, teardown_plan
from podnet.lab.state import RUN_DIR, ProcessRecord, load_state, start_ticks
from podnet.lab.topology import validate_lab_name

POLL = 0.02


@dataclass
class DownResult:
    lab: str
    stopped: list[int] = field(default_factory=list)  # recorded PIDs that were running and are gone
    skipped: list[tuple[int, str]] = field(default_factory=list)  # recorded PIDs left alone, and why
    killed_hard: list[int] = field(default_factory=list)  # needed SIGKILL
    strays: list[int] = field(default_factory=list)  # unrecorded processes found in lab namespaces
    deleted_netns: list[str] = field(default_factory=list)
    removed_dir: bool = False

    @property
    def found_anything(self) -> bool:
        return bool(self.stopped or self.skipped or self.strays or self.deleted_netns or self.removed_dir)


def down(name: str, *, run_dir: Path = RUN_DIR, grace: float = 5.0, kill_strays: bool = False) -> DownResult:
    """Remove lab ``name``; idempotent. ``kill_strays`` also stops unrecorded processes in its namespaces."""
    validate_lab_name(name)
    result = DownResult(name)
    steps = teardown_plan(name, load_state(name, run_dir), netns.list_netns(), run_dir)
    all_ns = [s.netns for s in steps if isinstance(s, DeleteNetns)]
    inodes = {i for i in (netns.netns_inode(ns) for ns in all_ns) if i is not None}
    for step in steps:
        if isinstance(step, StopProcesses):
            _stop_recorded(step.processes, inodes, grace, result)
    result.strays = processes_in(inodes)
    # Bounded: a process may appear while we stop others (an agent's child mid-start); look again.
    for attempt in range(4):
        if not (kill_strays and result.strays):
            break
        records = [_record_of(pid) for pid in result.strays]
        result.killed_hard += stop([r for r in records if r is not None], grace if attempt == 0 else 0.5)
        result.strays = processes_in(inodes)
    for step in steps:
        if isinstance(step, DeleteNetns) and netns.delete_netns(step.netns):
            result.deleted_netns.append(step.netns)
        elif isinstance(step, RemoveLabDir):
            result.removed_dir = remove_lab_dir(Path(step.path))
    return result


def _stop_recorded(
    records: Iterable[ProcessRecord], inodes: set[int], grace: float, result: DownResult
) -> None:
    ours = []
    for rec in records:
        reason = why_not_ours(rec, inodes)
        if reason is None:
            ours.append(rec)
        elif reason != "not running":
            result.skipped.append((rec.pid, reason))
    result.killed_hard += stop(ours, grace)
    result.stopped += [r.pid for r in ours]


def why_not_ours(rec: ProcessRecord, lab_inodes: set[int]) -> str | None:
    """None when ``rec`` is still the lab's process; otherwise why it must not be signalled."""
    ticks = start_ticks(rec.pid)
    if ticks is None or _is_zombie(rec.pid):
        return "not running"
    if ticks != rec.start_ticks:
        return "PID reused by another process"
    if _net_inode(rec.pid) in lab_inodes or _cmdline(rec.pid) == rec.argv:
        return None
    return "neither in the lab's namespaces nor running the recorded command"


def stop(records: list[ProcessRecord], grace: float) -> list[int]:
    """SIGTERM each, wait up to ``grace`` for all, SIGKILL the rest; return the PIDs that needed SIGKILL."""
    _signal_all(records, signal.SIGTERM)
    left = _wait_gone(records, grace)
    _signal_all(left, signal.SIGKILL)
    _wait_gone(left, 5.0)
    return [r.pid for r in left]


def _signal_all(records: list[ProcessRecord], sig: signal.Signals) -> None:
    for r in records:
        if _alive(r):  # re-check right before the signal: never signal a reused PID
            try:
                os.kill(r.pid, sig)
            except ProcessLookupError:
                pass


def _wait_gone(records: list[ProcessRecord], timeout: float) -> list[ProcessRecord]:
    deadline = time.monotonic() + timeout
    left = [r for r in records if _alive(r)]
    while left and time.monotonic() < deadline:
        time.sleep(POLL)
        left = [r for r in left if _alive(r)]
    return left


def _alive(rec: ProcessRecord) -> bool:
    return start_ticks(rec.pid) == rec.start_ticks and not _is_zombie(rec.pid)


def _is_zombie(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat[stat.rindex(")") + 2 :].startswith(("Z", "X"))


def _net_inode(pid: int) -> int | None:
    try:
        return os.stat(f"/proc/{pid}/ns/net").st_ino
    except OSError:
        return None


def _cmdline(pid: int) -> tuple[str, ...]:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return ()
    return tuple(a.decode(errors="replace") for a in raw.split(b"\0")[:-1])


def _record_of(pid: int) -> ProcessRecord | None:
    ticks = start_ticks(pid)
    return None if ticks is None else ProcessRecord(pid, "", _cmdline(pid), ticks)


def processes_in(inodes: set[int]) -> list[int]:
    """PIDs (other than ours) whose network namespace is one of ``inodes``: provably inside the lab."""
    if not inodes:
        return []
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit() and int(entry) != os.getpid() and _net_inode(int(entry)) in inodes:
            if not _is_zombie(int(entry)):
                found.append(int(entry))
    return sorted(found)


def mounts_under(directory: Path) -> list[str]:
    """Mount points at or below ``directory``, deepest first (from /proc/self/mountinfo)."""
    points = [m.point for m in mount_table() if under(m.point, str(directory))]
    return sorted(points, key=lambda p: p.count("/"), reverse=True)


def remove_lab_dir(directory: Path) -> bool:
    """Unmount anything mounted under the lab directory, then remove it (and the run dir if now empty)."""
    if not directory.exists():
        return False
    for point in mounts_under(directory):
        netns.umount_detach(point)
    shutil.rmtree(directory)
    try:
        os.rmdir(directory.parent)
    except OSError:
        pass  # other labs live there
    return True
