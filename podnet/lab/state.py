"""The lab's record on disk: ``/run/podnet/<lab>/state.json``.

It is what ``down`` trusts: which namespaces and hosts were built and which processes the lab
started (the lead records them with ``record_process``). It is written atomically (a temporary file
renamed over the old one) under an flock, so a crash leaves either the old or the new record and two
writers never lose each other's processes.

Errors: ``LabError`` is the base of ``LabExistsError`` (``up`` on a lab that is there) and
``LabNotFoundError`` (an operation that needs a lab that is not).
"""

from __future__ import annotations

import dataclasses
import fcntl
import json
import os
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from podnet.lab.topology import Host, LabSpec, owns_netns, validate_lab_name

RUN_DIR = Path("/run/podnet")
STATE_FILE = "state.json"
LOCK_FILE = ".lock"


class LabError(Exception):
    """Base of the lab's errors; the CLI prints ``str(exc)`` as its one line."""


class LabExistsError(LabError):
    pass


class LabNotFoundError(LabError):
    pass


@dataclass(frozen=True)
class ProcessRecord:
    """A process the lab started; ``start_ticks`` (field 22 of /proc/<pid>/stat) guards against PID reuse."""

    pid: int
    host: str
    argv: tuple[str, ...]
    start_ticks: int
    name: str = ""  # what it is, for status: "apiserver", "agent", ...


@dataclass(frozen=True)
class LabState:
    name: str
    node_network: str
    backend: str
    internet: str | None
    created: float
    phase: str  # "building" until every step ran, then "ready"
    hosts: tuple[Host, ...]
    processes: tuple[ProcessRecord, ...] = field(default=())

    def host(self, name: str) -> Host:
        for h in self.hosts:
            if h.name == name:
                return h
        known = ", ".join(h.name for h in self.hosts if h.role != "switch")
        raise LabNotFoundError(f"lab {self.name!r} has no host {name!r} (hosts: {known})")


def new_state(spec: LabSpec, hosts: tuple[Host, ...], now: float | None = None) -> LabState:
    return LabState(
        name=spec.name,
        node_network=spec.node_network,
        backend=spec.backend,
        internet=spec.internet,
        created=time.time() if now is None else now,
        phase="building",
        hosts=hosts,
    )


def lab_dir(name: str, run_dir: Path = RUN_DIR) -> Path:
    validate_lab_name(name)  # the name becomes a path: never let "../x" through
    return run_dir / name


def host_dir(name: str, host: str, run_dir: Path = RUN_DIR) -> Path:
    return lab_dir(name, run_dir) / host


def kubeconfig_path(name: str, run_dir: Path = RUN_DIR) -> Path:
    """The lab's admin kubeconfig (``podnet kubeconfig`` prints it); the API server's data dir is beside it."""
    return lab_dir(name, run_dir) / "kubeconfig"


def state_path(name: str, run_dir: Path = RUN_DIR) -> Path:
    return lab_dir(name, run_dir) / STATE_FILE


def to_json(state: LabState) -> str:
    return json.dumps(dataclasses.asdict(state), indent=2, sort_keys=True) + "\n"


def from_json(text: str) -> LabState:
    raw: dict[str, Any] = json.loads(text)
    hosts = tuple(Host(**h) for h in raw.pop("hosts"))
    procs = tuple(ProcessRecord(**{**p, "argv": tuple(p["argv"])}) for p in raw.pop("processes"))
    return LabState(hosts=hosts, processes=procs, **raw)


def save_state(state: LabState, run_dir: Path = RUN_DIR) -> None:
    path = state_path(state.name, run_dir)
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o755)
    tmp = path.with_name(f".{STATE_FILE}.{os.getpid()}.tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(to_json(state))
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def load_state(name: str, run_dir: Path = RUN_DIR) -> LabState | None:
    try:
        text = state_path(name, run_dir).read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    return from_json(text)


def list_labs(run_dir: Path = RUN_DIR) -> list[str]:
    """Names of the labs that have a state file, sorted."""
    try:
        entries = list(run_dir.iterdir())
    except FileNotFoundError:
        return []
    return sorted(e.name for e in entries if (e / STATE_FILE).is_file())


def ensure_absent(name: str, present_netns: Iterable[str], run_dir: Path = RUN_DIR) -> None:
    """Refuse to build over a lab that exists, even half (a state file or any of its namespaces)."""
    if state_path(name, run_dir).exists():
        raise LabExistsError(
            f"lab {name!r} already exists ({state_path(name, run_dir)}); "
            f"use it, or remove it with `podnet down --name {name}`"
        )
    ours = sorted(ns for ns in present_netns if owns_netns(name, ns))
    if ours:
        raise LabExistsError(
            f"lab {name!r} has namespaces left over ({', '.join(ours)}); "
            f"remove them with `podnet down --name {name}`"
        )


@contextmanager
def locked(name: str, run_dir: Path = RUN_DIR) -> Iterator[None]:
    """Serialise read-modify-write of one lab's state between processes."""
    d = lab_dir(name, run_dir)
    d.mkdir(parents=True, exist_ok=True, mode=0o755)
    fd = os.open(d / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def start_ticks(pid: int) -> int | None:
    """The process start time in clock ticks since boot, or None if there is no such process."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    # comm (field 2) may hold spaces and parentheses: split after its last ')'.
    return int(stat[stat.rindex(")") + 2 :].split()[19])


def record_process(
    name: str, pid: int, host: str, argv: Iterable[str], *, what: str = "", run_dir: Path = RUN_DIR
) -> ProcessRecord:
    """Add a started process to the lab's record so ``down`` stops it (and only it)."""
    ticks = start_ticks(pid)
    if ticks is None:
        raise LabError(f"process {pid} is not running; nothing to record")
    rec = ProcessRecord(pid=pid, host=host, argv=tuple(argv), start_ticks=ticks, name=what)
    with locked(name, run_dir):
        state = load_state(name, run_dir)
        if state is None:
            raise LabNotFoundError(f"lab {name!r} does not exist")
        state.host(host)
        save_state(dataclasses.replace(state, processes=(*state.processes, rec)), run_dir)
    return rec
