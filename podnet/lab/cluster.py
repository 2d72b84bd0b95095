"""A cluster on a lab: the control plane in its host, one agent per node, all reached over the lab.

``podnet up`` wires the hosts (``build``), then starts here: the API server (with its
controller-manager child) inside the control-plane namespace, listening on the node network for
the agents and, through a socket it opens before entering its namespace, on the machine's
127.0.0.1 for the user's kubectl; then one ``podnet agent`` per node inside that node's namespace.
Every process is recorded in the lab state so ``podnet down`` stops exactly these.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import yaml

from podnet.api.errors import StatusError
from podnet.api.scheme import resource
from podnet.client.kubeconfig import load_kubeconfig
from podnet.client.rest import RestClient
from podnet.lab.state import RUN_DIR, LabError, LabState, host_dir, kubeconfig_path, record_process
from podnet.lab.topology import CONTROL_PLANE

API_PORT = 6443
Say = Callable[[str], None]


@dataclass(frozen=True)
class ClusterOptions:
    proxy_mode: str = "nftables"
    lb_algorithm: str = "random"
    datastore: str = "sqlite"
    api_port: int = 0  # on the machine's 127.0.0.1; 0: 6443 or the next free port
    restart_backoff: float = 10.0


def apiserver_dir(lab: str, run_dir: Path = RUN_DIR) -> Path:
    return host_dir(lab, CONTROL_PLANE, run_dir) / "apiserver"


def agent_dir(lab: str, node: str, run_dir: Path = RUN_DIR) -> Path:
    return host_dir(lab, node, run_dir) / "agent"


def lb_pool(state: LabState) -> str:
    """The top of the node network, below its broadcast address: kind's MetalLB convention."""
    last = ipaddress.ip_network(state.node_network).broadcast_address
    return f"{last - 55}-{last - 5}"


def free_loopback_port(start: int = API_PORT) -> int:
    for port in range(start, start + 200):
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise LabError(f"no free port on 127.0.0.1 in {start}-{start + 199} for the API")


def apiserver_argv(state: LabState, opts: ClusterOptions, port: int, run_dir: Path = RUN_DIR) -> list[str]:
    cp = state.host(CONTROL_PLANE)
    ip = (cp.address or "").split("/")[0]
    return [
        sys.executable, "-m", "podnet", "server",
        "--data-dir", str(apiserver_dir(state.name, run_dir)),
        "--datastore", opts.datastore,
        "--netns", f"/run/netns/{cp.netns}",
        "--bind-address", "0.0.0.0",
        "--advertise-address", ip,
        "--host-listen", f"127.0.0.1:{port}",
        "--lb-pool", lb_pool(state),
    ]  # fmt: skip


def agent_argv(state: LabState, node: str, opts: ClusterOptions, run_dir: Path = RUN_DIR) -> list[str]:
    host = state.host(node)
    return [
        sys.executable, "-m", "podnet", "agent",
        "--kubeconfig", str(apiserver_dir(state.name, run_dir) / "kubeconfig"),
        "--node-name", node,
        "--node-ip", (host.address or "").split("/")[0],
        "--state-dir", str(agent_dir(state.name, node, run_dir)),
        "--lab", state.name,
        "--backend", state.backend,
        "--proxy-mode", opts.proxy_mode,
        "--lb-algorithm", opts.lb_algorithm,
        "--restart-backoff", str(opts.restart_backoff),
    ]  # fmt: skip


def _spawn(argv: list[str], log: Path, prefix: list[str] | None = None) -> subprocess.Popen[bytes]:
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "ab") as out:
        return subprocess.Popen(
            [*(prefix or []), *argv], stdin=subprocess.DEVNULL, stdout=out, stderr=out, start_new_session=True
        )


def start_control_plane(state: LabState, opts: ClusterOptions, run_dir: Path = RUN_DIR) -> int:
    """Start the API server; the loopback port the user's kubeconfig names."""
    port = opts.api_port or free_loopback_port()
    argv = apiserver_argv(state, opts, port, run_dir)
    p = _spawn(argv, host_dir(state.name, CONTROL_PLANE, run_dir) / "apiserver.log")
    record_process(state.name, p.pid, CONTROL_PLANE, argv, what="apiserver", run_dir=run_dir)
    return port


def start_agent(state: LabState, node: str, opts: ClusterOptions, run_dir: Path = RUN_DIR) -> None:
    argv = agent_argv(state, node, opts, run_dir)
    netns = state.host(node).netns
    # nsenter moves only the network namespace, then execs: the PID is the agent's, and the agent
    # stays in the machine's mount namespace so the pod sandboxes it pins are visible to `ip netns`.
    p = _spawn(
        argv,
        host_dir(state.name, node, run_dir) / "agent.log",
        ["nsenter", f"--net=/run/netns/{netns}", "--"],
    )
    _wait_exec(p.pid, argv)
    record_process(state.name, p.pid, node, argv, what="agent", run_dir=run_dir)


def _wait_exec(pid: int, argv: list[str], timeout: float = 5.0) -> None:
    """Until nsenter has exec'd the agent (so the recorded argv matches /proc/<pid>/cmdline)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except OSError:
            raise LabError(f"agent process {pid} exited at once; see its log") from None
        if cmdline and cmdline[0].decode(errors="replace") == argv[0]:
            return
        time.sleep(0.002)
    raise LabError(f"agent process {pid} did not start within {timeout:g}s")


def write_user_kubeconfig(lab: str, port: int, run_dir: Path = RUN_DIR, timeout: float = 30.0) -> Path:
    """The server's kubeconfig with the loopback URL: what `kubectl --kubeconfig` uses on the machine."""
    src = apiserver_dir(lab, run_dir) / "kubeconfig"
    deadline = time.monotonic() + timeout
    while not src.exists():
        if time.monotonic() > deadline:
            raise LabError(f"the API server wrote no kubeconfig within {timeout:g}s; see its log")
        time.sleep(0.02)
    doc = yaml.safe_load(src.read_text())
    for cluster in doc.get("clusters") or []:
        cluster["cluster"]["server"] = f"https://127.0.0.1:{port}"
    for ctx in doc.get("contexts") or []:
        ctx["name"] = f"podnet-{lab}"
    doc["current-context"] = f"podnet-{lab}"
    dst = kubeconfig_path(lab, run_dir)
    tmp = dst.with_suffix(".tmp")
    tmp.write_text(yaml.safe_dump(doc, sort_keys=False))
    tmp.chmod(0o600)
    tmp.replace(dst)
    return dst


async def wait_nodes_ready(kubeconfig: Path, nodes: list[str], timeout: float, say: Say) -> None:
    client = RestClient(load_kubeconfig(kubeconfig), user_agent="podnet-up")
    try:
        await client.wait_ready(timeout=timeout)
        deadline = time.monotonic() + timeout
        ready: set[str] = set()
        while time.monotonic() < deadline:
            items = (await client.list(resource("nodes"))).get("items") or []
            now_ready = {n["metadata"]["name"] for n in items if _is_ready(n)}
            for name in sorted(now_ready - ready):
                say(f"node {name} Ready")
            ready = now_ready
            if set(nodes) <= ready:
                return
            await asyncio.sleep(0.1)
        missing = ", ".join(sorted(set(nodes) - ready))
        raise LabError(
            f"nodes not Ready after {timeout:g}s: {missing} (see the agent logs under /run/podnet)"
        )
    finally:
        await client.close()


def _is_ready(node: dict[str, object]) -> bool:
    conds = ((node.get("status") or {}).get("conditions")) or []  # type: ignore[union-attr]
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in conds)  # type: ignore[union-attr]


async def deploy_dns(kubeconfig: Path, upstream: str, timeout: float, say: Say) -> None:
    """kube-system/kube-dns (10.96.0.10) and the podnet-dns Deployment behind it; waits until Ready."""
    from podnet.lab.addons import kube_dns_manifests

    client = RestClient(load_kubeconfig(kubeconfig), user_agent="podnet-up")
    try:
        for obj in kube_dns_manifests(upstream):
            res = resource("services" if obj["kind"] == "Service" else "deployments")
            try:
                await client.create(res, "kube-system", obj)
            except StatusError as exc:
                if exc.code != 409:
                    raise
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            dep = await client.get(resource("deployments"), "kube-system", "podnet-dns")
            ready = int(((dep or {}).get("status") or {}).get("readyReplicas") or 0)
            if ready >= 1:
                say(f"cluster DNS ready (kube-dns 10.96.0.10, {ready} replica(s) ready)")
                return
            await asyncio.sleep(0.2)
        raise LabError(f"cluster DNS not ready after {timeout:g}s (kubectl -n kube-system describe pods)")
    finally:
        await client.close()
