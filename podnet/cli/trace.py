"""``podnet trace``: open one connection from a pod or a lab host and show every rule its packets
meet, node by node.

    podnet trace [--name LAB] [-n NS] POD --to HOST:PORT [--protocol tcp|udp]
    podnet trace [--name LAB] --from-host external|node-1|... --to HOST:PORT [--protocol tcp|udp]

How (podnet/lab/trace.py): a throwaway nftables table in every node marks the connection's first
packet and its first reply with nftrace; ``nft monitor trace`` in each node reports the base chains
and rules they pass — the service proxy's DNAT, the NetworkPolicy verdicts, the masquerade — then the
tables go, whatever happened.
"""

from __future__ import annotations

import argparse
import asyncio
import secrets
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from podnet.lab import trace as tr

# connects (TCP) or sends one datagram and waits for an answer (UDP), its packets marked with the
# trace's DSCP (argv[4], the TOS byte); prints what happened
_PROBE = r"""
import socket, sys
host, port, proto, tos = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
try:
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM if proto == "tcp" else socket.SOCK_DGRAM)
    s.setsockopt(socket.IPPROTO_IP, socket.IP_TOS, tos)
    s.settimeout(2)
    if proto == "tcp":
        s.connect((host, port))
        print("connected")
    else:
        s.sendto(b"hostname", (host, port)); s.recvfrom(2048); print("answered")
    s.close()
except socket.timeout:
    print("timed out (no answer: dropped somewhere)")
except OSError as e:
    print(f"failed: {e.strerror or e}")
"""


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("trace", help="every nftables rule a pod's connection meets, node by node")
    p.add_argument("--name", default="podnet", help="the lab (default: podnet)")
    p.add_argument("-n", "--namespace", default="default")
    p.add_argument("pod", nargs="?", help="the pod the connection starts from")
    p.add_argument(
        "--from-host", metavar="HOST", help="start it from a lab host instead: external, node-1, ..."
    )
    p.add_argument("--to", required=True, help="HOST:PORT (an IP: a ClusterIP, a pod, a node, outside)")
    p.add_argument("--protocol", choices=("tcp", "udp"), default="tcp")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from podnet.lab.state import load_state

    host, sep, port = args.to.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        print(f"podnet trace: --to must be HOST:PORT, not {args.to!r}", file=sys.stderr)
        return 2
    if (args.pod is None) == (args.from_host is None):
        print("podnet trace: name a POD or --from-host HOST (one of them)", file=sys.stderr)
        return 2
    state = load_state(args.name)
    if state is None:
        print(f"podnet trace: lab {args.name!r} does not exist", file=sys.stderr)
        return 1
    nodes = [(h.name, h.netns) for h in state.hosts if h.role == "node"]
    probe_args = ["-c", _PROBE, host, port, args.protocol, str(tr.TOS)]
    env: dict[str, str] | None = None
    if args.from_host is not None:
        hosts = {h.name: h for h in state.hosts if h.address}
        if args.from_host not in hosts:
            print(
                f"podnet trace: no host {args.from_host!r}; hosts: {', '.join(sorted(hosts))}",
                file=sys.stderr,
            )
            return 2
        source = hosts[args.from_host]
        origin = f"{source.name} ({str(source.address).split('/')[0]})"
        argv = ["ip", "netns", "exec", source.netns, sys.executable, "-I", *probe_args]
    else:
        try:
            pod_ip, (argv, env) = asyncio.run(_pod_probe(args.name, args.namespace, args.pod, probe_args))
        except Exception as exc:  # no such pod, API down: one line, not a traceback
            print(f"podnet trace: {exc}", file=sys.stderr)
            return 1
        origin = f"{args.namespace}/{args.pod} ({pod_ip})"
    table = f"podnet-trace-{secrets.token_hex(3)}"
    monitors: list[tuple[str, subprocess.Popen[str]]] = []
    installed: list[str] = []
    try:
        for _name, ns in nodes:
            nft(ns, ["-f", "-"], tr.trace_table(table, args.protocol))
            installed.append(ns)
        for name, ns in nodes:
            monitors.append((name, subprocess.Popen(["ip", "netns", "exec", ns, "nft", "monitor", "trace"],
                                                    stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)))  # fmt: skip
        for _name, proc in monitors:  # every monitor listens before the first packet leaves
            _poll(lambda pid=proc.pid: _trace_socket(pid) is not None, 5)
        probe = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=15)
        for _name, proc in monitors:  # each monitor has read every event its socket queued
            _poll(lambda pid=proc.pid: _trace_socket(pid) == "0", 5)
    finally:
        outputs = {}
        for name, proc in monitors:
            proc.terminate()
            try:
                outputs[name] = proc.communicate(timeout=5)[0]
            except subprocess.TimeoutExpired:
                proc.kill()
                outputs[name] = proc.communicate()[0]
        for ns in installed:
            subprocess.run(
                ["ip", "netns", "exec", ns, "nft", "delete", "table", "ip", table], capture_output=True
            )
    result = (probe.stdout.strip() or probe.stderr.strip()[-200:]) or f"exit {probe.returncode}"
    print(f"{origin} -> {args.to}/{args.protocol}: {result}\n")
    for name, _ns in nodes:
        for line in tr.render(name, tr.parse(outputs.get(name, "").splitlines(), skip_table=table)):
            print(line)
    return 0


NFNLGRP_NFTRACE = 9  # linux/netfilter/nfnetlink.h: the group nft monitor trace joins


def _trace_socket(pid: int) -> str | None:
    """The receive queue (Rmem) of ``pid``'s nftrace netlink socket, None until it has joined the
    trace group: /proc/PID/net/netlink lists the sockets of the process's own namespace."""
    try:
        lines = Path(f"/proc/{pid}/net/netlink").read_text().splitlines()[1:]
    except OSError:
        return None
    for line in lines:
        f = line.split()  # sk Eth Pid Groups Rmem ...
        if f[1] == "12" and f[2] == str(pid) and int(f[3], 16) & (1 << (NFNLGRP_NFTRACE - 1)):
            return f[4]
    return None


def _poll(cond: Callable[[], bool], timeout: float) -> None:
    """Wait for ``cond``, bounded: a monitor that never subscribes still lets the trace finish."""
    deadline = time.monotonic() + timeout
    while not cond() and time.monotonic() < deadline:
        time.sleep(0.01)


def nft(ns: str, argv: list[str], stdin: str) -> None:
    done = subprocess.run(
        ["ip", "netns", "exec", ns, "nft", *argv], input=stdin, capture_output=True, text=True
    )
    if done.returncode != 0:
        raise RuntimeError(f"nft in {ns}: {done.stderr.strip()}")


async def _pod_probe(
    lab: str, namespace: str, name: str, probe_args: list[str]
) -> tuple[str, tuple[list[str], dict[str, str]]]:
    """The pod's IP and the argv running the probe inside it, from one read of the pod."""
    from podnet.api.scheme import resource
    from podnet.cli.lab import _pod_exec_argv
    from podnet.client.kubeconfig import load_kubeconfig
    from podnet.client.rest import RestClient
    from podnet.lab.state import kubeconfig_path

    client = RestClient(load_kubeconfig(kubeconfig_path(lab)))
    try:
        pod = await client.get(resource("pods"), namespace, name)
    finally:
        await client.close()
    if pod is None:
        raise RuntimeError(f'pods "{name}" not found in namespace "{namespace}"')
    ip = (pod.get("status") or {}).get("podIP")
    if not ip:
        raise RuntimeError(f"pod {namespace}/{name} has no IP yet")
    if (pod.get("spec") or {}).get("hostNetwork"):
        raise RuntimeError(f"pod {namespace}/{name} uses the node's network: trace a pod with its own IP")
    return str(ip), await _pod_exec_argv(lab, namespace, name, "", ["python3", *probe_args], pod=pod)
