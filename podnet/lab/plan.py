"""A lab as data: ``plan(spec)`` lists the kernel steps that build it, ``teardown_plan`` those that remove it.

Both are pure, so the whole wiring is golden-tested without root; ``build.py`` and ``teardown.py``
run the steps. Every step names the namespace it acts in: no step ever acts in the host's own
namespace (veth pairs are created inside a lab namespace with their peer sent straight to the switch).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from podnet.lab.state import RUN_DIR, LabState, ProcessRecord, lab_dir
from podnet.lab.topology import BRIDGE, HOST_IFNAME, SWITCH, Host, LabSpec, hosts, owns_netns, validate


@dataclass(frozen=True)
class CreateNetns:
    netns: str


@dataclass(frozen=True)
class LinkUp:
    netns: str
    ifname: str


@dataclass(frozen=True)
class CreateBridge:
    netns: str
    ifname: str


@dataclass(frozen=True)
class CreateVethToSwitch:
    """``ifname`` inside ``netns``; its peer ``peer_ifname`` is born inside ``peer_netns``."""

    netns: str
    ifname: str
    peer_netns: str
    peer_ifname: str


@dataclass(frozen=True)
class AttachToBridge:
    netns: str
    ifname: str
    bridge: str


@dataclass(frozen=True)
class AddAddress:
    netns: str
    ifname: str
    address: str  # "172.18.0.3/16"


@dataclass(frozen=True)
class AddRoute:
    netns: str
    dst: str
    gateway: str


@dataclass(frozen=True)
class SetSysctl:
    netns: str
    key: str  # "net.ipv4.ip_forward"
    value: str


@dataclass(frozen=True)
class WriteFile:
    path: str
    content: str


Step = (
    CreateNetns
    | LinkUp
    | CreateBridge
    | CreateVethToSwitch
    | AttachToBridge
    | AddAddress
    | AddRoute
    | SetSysctl
    | WriteFile
)


@dataclass(frozen=True)
class StopProcesses:
    """SIGTERM, then SIGKILL after ``grace`` seconds; each PID checked against its record first."""

    processes: tuple[ProcessRecord, ...]
    netns: tuple[str, ...]  # the lab namespaces a process must be in (or match its argv) to be ours


@dataclass(frozen=True)
class DeleteNetns:
    netns: str


@dataclass(frozen=True)
class RemoveLabDir:
    path: str


TeardownStep = StopProcesses | DeleteNetns | RemoveLabDir


def plan(spec: LabSpec, run_dir: Path = RUN_DIR) -> list[Step]:
    """Every step that builds ``spec``'s wiring, in an order that works (the switch before its ports)."""
    validate(spec)
    lab_hosts = hosts(spec)
    switch = lab_hosts[0]
    wired = lab_hosts[1:]
    steps: list[Step] = []
    for h in lab_hosts:
        steps += [CreateNetns(h.netns), LinkUp(h.netns, "lo")]
    steps += [CreateBridge(switch.netns, BRIDGE), LinkUp(switch.netns, BRIDGE)]
    # a switch forwards frames and nothing more: br_netfilter (on by default in every namespace
    # here) would hand each one to the switch's empty IP hooks first
    steps += [
        SetSysctl(switch.netns, f"net.bridge.bridge-nf-call-{family}", "0")
        for family in ("iptables", "ip6tables", "arptables")
    ]
    for h in wired:
        steps += _wire(h, switch)
    steps += _roles(spec, wired)
    for h in wired:
        steps += _host_files(spec, h, wired, run_dir)
    return steps


def _wire(h: Host, switch: Host) -> list[Step]:
    assert h.switch_port is not None and h.address is not None
    return [
        CreateVethToSwitch(h.netns, HOST_IFNAME, switch.netns, h.switch_port),
        AttachToBridge(switch.netns, h.switch_port, BRIDGE),
        LinkUp(switch.netns, h.switch_port),
        AddAddress(h.netns, HOST_IFNAME, h.address),
        LinkUp(h.netns, HOST_IFNAME),
    ]


def _roles(spec: LabSpec, wired: tuple[Host, ...]) -> list[Step]:
    """Forwarding on nodes (they route for their pods); the "internet" on external and a route to it."""
    steps: list[Step] = [SetSysctl(h.netns, "net.ipv4.ip_forward", "1") for h in wired if h.role == "node"]
    if spec.internet is None:
        return steps
    external = next(h for h in wired if h.role == "external")
    assert external.address is not None
    steps.append(AddAddress(external.netns, "lo", spec.internet))
    dst = str(ipaddress.ip_interface(spec.internet).network)
    gateway = external.address.split("/")[0]
    steps += [AddRoute(h.netns, dst, gateway) for h in wired if h.role in ("control-plane", "node")]
    return steps


def _host_files(spec: LabSpec, h: Host, wired: tuple[Host, ...], run_dir: Path) -> list[Step]:
    """The files ``exec_in_host`` binds over /etc/hosts and /etc/resolv.conf inside the host."""
    base = lab_dir(spec.name, run_dir) / h.name
    lines = ["127.0.0.1\tlocalhost", "::1\tlocalhost ip6-localhost ip6-loopback"]
    lines += [f"{o.address.split('/')[0]}\t{o.name}" for o in wired if o.address is not None]
    # No nameserver: nothing outside the lab is reachable, so lookups fail at once (glibc then tries
    # 127.0.0.1, where nothing listens) instead of timing out or leaking to the machine's resolver.
    resolv = f"# podnet lab {spec.name!r}, host {h.name}: no upstream resolver is reachable from the lab\n"
    return [
        WriteFile(str(base / "hosts"), "\n".join(lines) + "\n"),
        WriteFile(str(base / "resolv.conf"), resolv),
    ]


def teardown_plan(
    lab: str, state: LabState | None, present_netns: Iterable[str], run_dir: Path = RUN_DIR
) -> list[TeardownStep]:
    """What ``down`` does: stop recorded processes, delete every namespace of the lab, remove its files.

    The namespaces are those in the state plus any present that carry the lab's names (a crashed
    ``up``, pod sandboxes made by the agent); the switch goes last so host ports vanish with their hosts.
    """
    ours = {ns for ns in present_netns if owns_netns(lab, ns)}
    if state is not None:
        ours |= {h.netns for h in state.hosts}
    ordered = sorted(ours, key=lambda ns: (ns.endswith(f"-{SWITCH}"), ns))
    steps: list[TeardownStep] = []
    if state is not None and state.processes:
        steps.append(StopProcesses(state.processes, tuple(ordered)))
    steps += [DeleteNetns(ns) for ns in ordered]
    steps.append(RemoveLabDir(str(lab_dir(lab, run_dir))))
    return steps
