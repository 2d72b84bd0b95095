"""A one-node service-proxy lab in real namespaces, shared by the tests of one module.

Address plan (kind defaults): node ``pxt-<hex>-node`` with cbr0 10.244.1.1/24 and eth0 172.18.0.3/16;
pods pod-a/b/c at 10.244.1.2-4 on cbr0 (host veths ``pn*``, hairpin on), each running agnhost
netexec (HTTP 8080, UDP 8081) in its own UTS namespace so ``/hostname`` names the pod; an outside
client ``pxt-<hex>-ext`` at 172.18.0.250/16 behind eth0, routed to the node for LoadBalancer IPs
(172.18.255.200) and externalIPs (198.51.100.0/24). Services live in 10.96.0.0/12, routed out of
eth0 as the agent's routing loop does. Every namespace is deleted in the finalizer, whatever
happened; processes are stopped by PID. Nothing is created in the host's own namespace.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from podnet.images.registry import agnhost_argv
from podnet.kernel.named_netns import run_in_netns
from tests.helpers import wait_until

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[3]
NODE = "node-1"
NODE_IP = "172.18.0.3"
CLIENT_IP = "172.18.0.250"
GATEWAY = "10.244.1.1"
LB_IP = "172.18.255.200"
SERVICE_CIDR = "10.96.0.0/12"
PODS = {"pod-a": "10.244.1.2", "pod-b": "10.244.1.3", "pod-c": "10.244.1.4"}
Obj = dict[str, Any]


def sh(*argv: str, check: bool = True, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, input=stdin, capture_output=True, text=True, check=check, timeout=60)


@dataclass
class Lab:
    tag: str
    procs: list[subprocess.Popen[bytes]] = field(default_factory=list)

    @property
    def node(self) -> str:
        return f"pxt-{self.tag}-node"

    @property
    def ext(self) -> str:
        return f"pxt-{self.tag}-ext"

    def pod(self, name: str) -> str:
        return f"pxt-{self.tag}-{name}"

    def namespaces(self) -> list[str]:
        return [self.node, self.ext, *(self.pod(p) for p in PODS)]

    def http(self, where: str, url: str, timeout: float = 3.0) -> str:
        """GET ``url`` with curl from namespace ``where``; the body, or raises with curl's error."""
        out = sh("ip", "netns", "exec", where, "curl", "-sS", "--max-time", str(timeout), url, check=False)
        if out.returncode != 0:
            raise ConnectionError(f"curl {url} from {where}: rc={out.returncode} {out.stderr.strip()}")
        return out.stdout.strip()

    def http_status(self, where: str, url: str) -> tuple[int, str]:
        """(HTTP status, body) of a GET from ``where``."""
        out = sh("ip", "netns", "exec", where, "curl", "-sS", "--max-time", "3", "-w", "\n%{http_code}", url)
        body, _, code = out.stdout.rpartition("\n")
        return int(code), body

    def udp(self, where: str, ip: str, port: int, message: str = "hostname", sock_port: int = 0) -> str:
        """One UDP request/answer from ``where`` (optionally from a fixed source port)."""

        def run() -> str:
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
                s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                s.settimeout(1.0)
                s.bind(("", sock_port))
                s.connect((ip, port))
                s.send(message.encode())
                return s.recv(2048).decode()

        return run_in_netns(where, run)

    def connect(self, where: str, ip: str, port: int, timeout: float = 3.0) -> socket.socket:
        """A TCP socket connected from ``where`` (the socket stays in that namespace)."""

        def run() -> socket.socket:
            s = socket.create_connection((ip, port), timeout=timeout)
            return s

        return run_in_netns(where, run)


def _build(lab: Lab) -> None:
    node, ext = lab.node, lab.ext
    for ns in lab.namespaces():
        sh("ip", "netns", "add", ns)
        sh("ip", "-n", ns, "link", "set", "lo", "up")
    sh("ip", "netns", "exec", node, "sysctl", "-qw", "net.ipv4.ip_forward=1")
    sh("ip", "-n", node, "link", "add", "cbr0", "type", "bridge")
    sh("ip", "-n", node, "addr", "add", f"{GATEWAY}/24", "dev", "cbr0")
    sh("ip", "-n", node, "link", "set", "cbr0", "up")
    sh("ip", "-n", node, "link", "add", "eth0", "type", "veth", "peer", "name", "eth0", "netns", ext)
    sh("ip", "-n", node, "addr", "add", f"{NODE_IP}/16", "dev", "eth0")
    sh("ip", "-n", node, "link", "set", "eth0", "up")
    sh("ip", "-n", node, "route", "add", "10.96.0.0/12", "dev", "eth0")
    sh("ip", "-n", ext, "addr", "add", f"{CLIENT_IP}/16", "dev", "eth0")
    sh("ip", "-n", ext, "link", "set", "eth0", "up")
    sh("ip", "-n", ext, "route", "add", f"{LB_IP}/32", "via", NODE_IP)
    sh("ip", "-n", ext, "route", "add", "default", "via", NODE_IP)
    for i, (name, ip) in enumerate(PODS.items()):
        ns, host = lab.pod(name), f"pn{lab.tag}{i}"
        sh("ip", "-n", node, "link", "add", host, "type", "veth", "peer", "name", "eth0", "netns", ns)
        sh("ip", "-n", node, "link", "set", host, "master", "cbr0")
        sh("ip", "-n", node, "link", "set", host, "type", "bridge_slave", "hairpin", "on")
        sh("ip", "-n", node, "link", "set", host, "up")
        sh("ip", "-n", ns, "addr", "add", f"{ip}/24", "dev", "eth0")
        sh("ip", "-n", ns, "link", "set", "eth0", "up")
        sh("ip", "-n", ns, "route", "add", "default", "via", GATEWAY)
        argv = agnhost_argv(["netexec", "--http-port=8080", "--udp-port=8081"])
        script = 'hostname "$0" && exec "$@"'
        lab.procs.append(subprocess.Popen(
            ["ip", "netns", "exec", ns, "unshare", "--uts", "sh", "-c", script, name, *argv],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        ))  # fmt: skip
    for name, ip in PODS.items():
        wait_until(lambda ip=ip, name=name: lab.http(lab.pod(name), f"http://{ip}:8080/hostname") == name,
                   timeout=20, what=f"agnhost in {name}")  # fmt: skip


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)


@pytest.fixture(scope="module")
def lab() -> Iterator[Lab]:
    if os.geteuid() != 0:
        pytest.skip("needs root: builds network namespaces")
    lab = Lab(secrets.token_hex(3))
    try:
        _build(lab)
        yield lab
    finally:
        for proc in lab.procs:
            _stop(proc)
        for ns in lab.namespaces():
            subprocess.run(["ip", "netns", "del", ns], capture_output=True, check=False)


class Proxy:
    """A proxier process in the node namespace (the agent's setting), synced on request."""

    def __init__(self, lab: Lab, mode: str, algorithm: str = "random") -> None:
        self.lab, self.mode, self.algorithm = lab, mode, algorithm
        self.proc = self._start()

    def _start(self) -> subprocess.Popen[str]:
        argv = [sys.executable, "-m", "tests.integration.proxy.driver", "--node", NODE, "--mode", self.mode,
                "--lb-algorithm", self.algorithm, "--service-cidr", SERVICE_CIDR]  # fmt: skip
        return subprocess.Popen(["ip", "netns", "exec", self.lab.node, *argv], cwd=ROOT, text=True,
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE)  # fmt: skip

    def sync(self, services: list[Obj], slices: list[Obj], full: bool = False) -> str:
        """Apply; the sync kind, or AssertionError with the proxier's error."""
        assert self.proc.stdin and self.proc.stdout
        self.proc.stdin.write(json.dumps({"services": services, "slices": slices, "full": full}) + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        assert line, f"proxier exited: rc={self.proc.poll()}"
        reply = json.loads(line)
        assert "error" not in reply, reply["error"]
        return str(reply["kind"])

    def restart(self) -> None:
        """Kill the proxier (as a crashed agent) and start a fresh one, which knows nothing."""
        self.proc.kill()
        self.proc.wait(timeout=10)
        self.proc = self._start()

    def stop(self) -> None:
        if self.proc.stdin:
            self.proc.stdin.close()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)

    def ruleset(self) -> str:
        """Our rules as the kernel holds them (nft table, or iptables-save of nat and filter)."""
        if self.mode == "nftables":
            out = sh(
                "ip",
                "netns",
                "exec",
                self.lab.node,
                "nft",
                "list",
                "table",
                "ip",
                "podnet-proxy",
                check=False,
            )
            return out.stdout
        return sh("ip", "netns", "exec", self.lab.node, "iptables-legacy-save").stdout


def clean_node(lab: Lab) -> None:
    """Remove every rule any proxier left in the node (between tests: each starts from nothing)."""
    sh("ip", "netns", "exec", lab.node, "nft", "flush", "ruleset")
    for table in ("nat", "filter"):
        sh("ip", "netns", "exec", lab.node, "iptables-legacy", "-t", table, "-F")
        sh("ip", "netns", "exec", lab.node, "iptables-legacy", "-t", table, "-X")
    sh("ip", "netns", "exec", lab.node, "conntrack", "-F", check=False)


@pytest.fixture(params=["nftables", "iptables"])
def proxy(request: pytest.FixtureRequest, lab: Lab) -> Iterator[Proxy]:
    p = Proxy(lab, request.param)
    try:
        yield p
    finally:
        p.stop()
        clean_node(lab)


# ---- objects ---------------------------------------------------------------------------------------


def service(name: str, cluster_ip: str, ports: list[Obj] | None = None, **spec: Any) -> Obj:
    status = spec.pop("status", {})
    body = {"clusterIP": cluster_ip, "type": "ClusterIP", **spec}
    body["ports"] = ports or [{"name": "http", "port": 80, "protocol": "TCP", "targetPort": "http"}]
    return {"metadata": {"name": name, "namespace": "t"}, "spec": body, "status": status}


def endpoint(pod: str, node: str = NODE, **conditions: bool) -> Obj:
    cond = {"ready": True, "serving": True, "terminating": False, **conditions}
    ip = PODS.get(pod, pod)
    return {
        "addresses": [ip],
        "nodeName": node,
        "conditions": cond,
        "targetRef": {"kind": "Pod", "name": pod},
    }


def endpoint_slice(svc: str, endpoints: list[Obj], ports: list[Obj] | None = None) -> Obj:
    return {
        "metadata": {"name": f"{svc}-abc", "namespace": "t", "labels": {"kubernetes.io/service-name": svc}},
        "addressType": "IPv4",
        "ports": ports or [{"name": "http", "port": 8080, "protocol": "TCP"}],
        "endpoints": endpoints,
    }
