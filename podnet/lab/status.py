"""``status(name)``: what the kernel holds for a lab, host by host, next to what its state says."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from podnet.lab.kernel import LabKernel, LinkInfo, NetlinkLabKernel
from podnet.lab.state import RUN_DIR, LabNotFoundError, LabState, load_state, start_ticks
from podnet.lab.topology import BRIDGE, HOST_IFNAME, SWITCH, owns_netns


@dataclass(frozen=True)
class HostStatus:
    name: str
    role: str
    netns: str
    present: bool
    address: str | None  # planned
    addresses: tuple[str, ...]  # on eth0 now
    link: str  # eth0's operstate; "-" when there is none
    port: str  # the switch side's operstate, and "(no bridge)" when it is off the bridge


@dataclass(frozen=True)
class ProcessStatus:
    pid: int
    host: str
    name: str
    running: bool


@dataclass(frozen=True)
class LabStatus:
    name: str
    phase: str
    created: float
    hosts: tuple[HostStatus, ...]
    processes: tuple[ProcessStatus, ...]
    other_netns: tuple[str, ...]  # the lab's namespaces not in the state: pod sandboxes, leftovers

    @property
    def healthy(self) -> bool:
        wired = [h for h in self.hosts if h.role != SWITCH]
        return (
            all(h.present for h in self.hosts)
            and all(h.link in ("UP", "UNKNOWN") and h.port == "UP" for h in wired)
            and all(p.running for p in self.processes)
        )


def status(name: str, *, run_dir: Path = RUN_DIR, kernel: LabKernel | None = None) -> LabStatus:
    state = load_state(name, run_dir)
    k = NetlinkLabKernel() if kernel is None else kernel
    try:
        present = set(k.list_netns())
        if state is None:
            raise LabNotFoundError(_not_found(name, present))
        ports = _links(k, state.host(SWITCH).netns, present)
        hosts = tuple(_host_status(k, state, h.name, present, ports) for h in state.hosts)
    finally:
        if kernel is None:
            k.close()
    known = {h.netns for h in state.hosts}
    return LabStatus(
        name=name,
        phase=state.phase,
        created=state.created,
        hosts=hosts,
        processes=tuple(_process_status(state, i) for i in range(len(state.processes))),
        other_netns=tuple(sorted(ns for ns in present if owns_netns(name, ns) and ns not in known)),
    )


def _not_found(name: str, present: set[str]) -> str:
    left = sorted(ns for ns in present if owns_netns(name, ns))
    if left:
        return f"lab {name!r} has no state but namespaces are left ({', '.join(left)}); run `podnet down --name {name}`"
    return f"lab {name!r} does not exist"


def _links(kernel: LabKernel, ns: str, present: set[str]) -> dict[str, LinkInfo]:
    if ns not in present:
        return {}
    return {link.ifname: link for link in kernel.links(ns)}


def _host_status(
    kernel: LabKernel, state: LabState, host: str, present: set[str], ports: dict[str, LinkInfo]
) -> HostStatus:
    h = state.host(host)
    eth0 = _links(kernel, h.netns, present).get(HOST_IFNAME)
    port = ports.get(h.switch_port) if h.switch_port else None
    port_state = "-" if port is None else port.operstate
    if port is not None and port.master != BRIDGE:
        port_state += " (no bridge)"
    return HostStatus(
        name=h.name,
        role=h.role,
        netns=h.netns,
        present=h.netns in present,
        address=h.address,
        addresses=eth0.addresses if eth0 else (),
        link=eth0.operstate if eth0 else "-",
        port=port_state if h.switch_port else "-",
    )


def _process_status(state: LabState, i: int) -> ProcessStatus:
    p = state.processes[i]
    return ProcessStatus(p.pid, p.host, p.name, start_ticks(p.pid) == p.start_ticks)


def format_status(st: LabStatus, now: float | None = None) -> str:
    """The table ``podnet status`` prints for the lab's hosts and processes."""
    age = int((time.time() if now is None else now) - st.created)
    lines = [f"lab {st.name}: {st.phase}, up {age}s, {'healthy' if st.healthy else 'DEGRADED'}"]
    lines.append(f"{'HOST':<15} {'NAMESPACE':<40} {'ADDRESS':<18} {'ETH0':<8} PORT")
    for h in st.hosts:
        addr = ",".join(a for a in h.addresses if not a.startswith("fe80:")) or (h.address or "-")
        ns = h.netns if h.present else f"{h.netns} (missing)"
        lines.append(f"{h.name:<15} {ns:<40} {addr:<18} {h.link:<8} {h.port}")
    for p in st.processes:
        lines.append(
            f"process {p.pid} {p.name or '-'} on {p.host}: {'running' if p.running else 'NOT RUNNING'}"
        )
    if st.other_netns:
        lines.append(f"other namespaces: {', '.join(st.other_netns)}")
    return "\n".join(lines)
