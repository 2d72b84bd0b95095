"""CNI plugin tests in real namespaces, driven exactly as a runtime drives a plugin.

Each test gets a node namespace (``cnitest-<hex>``, holding the bridge) and pod namespaces
(``cnitest-<hex>-pN``); the plugin runs as a subprocess *inside the node namespace* with the CNI_*
environment and the config on stdin. The ``node`` fixture is parametrized over both ways of running
podnet-cni: standalone, and forwarding to a resident server (started inside the node namespace and
stopped by PID). Every namespace is deleted in the finalizer, whatever happened. Nothing is created
in the host's own namespace.

Address plan: pods 10.244.1.0/24 (gateway 10.244.1.1) unless a test says otherwise.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from podnet.agent.cni.install import install_cni_binary
from tests.helpers import wait_until

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture(autouse=True)
def _need_root() -> None:
    if os.geteuid() != 0:
        pytest.skip("needs root: builds network namespaces")


@pytest.fixture(scope="session")
def launcher(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The installed ``podnet-cni`` executable (``python -IS`` launcher), as a lab would install it."""
    return str(install_cni_binary(tmp_path_factory.mktemp("cnibin"), sys.executable, ROOT))


def ip(*argv: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["ip", *argv], capture_output=True, text=True, check=check, timeout=30)


@dataclass
class CniOutcome:
    status: int
    out: dict[str, Any] | None
    stderr: str

    @property
    def code(self) -> int | None:
        return None if self.out is None else self.out.get("code")


@dataclass
class Node:
    ns: str
    data_dir: Path
    launcher: str
    socket: str | None = None
    server: subprocess.Popen[bytes] | None = None
    pods: list[str] = field(default_factory=list)

    def restart_server(self) -> None:
        """Stop the resident server by PID and start a fresh one (what an agent restart does)."""
        assert self.socket and self.server
        stop_server(self.server)
        self.server = start_server(self.ns, self.socket)

    @property
    def mode(self) -> str:
        return "resident" if self.socket else "standalone"

    def new_pod(self) -> str:
        """A fresh pod namespace; its path, as a runtime passes it in CNI_NETNS."""
        name = f"{self.ns}-p{len(self.pods)}"
        ip("netns", "add", name)
        self.pods.append(name)
        return f"/run/netns/{name}"

    def conf(self, **overrides: Any) -> dict[str, Any]:
        doc: dict[str, Any] = {
            "cniVersion": "1.1.0",
            "name": "podnet",
            "type": "podnet-cni",
            "bridge": "cbr0",
            "mtu": 1500,
            "isGateway": True,
            "hairpinMode": True,
            "ipam": {"type": "podnet-ipam", "subnet": "10.244.1.0/24", "dataDir": str(self.data_dir)},
        }
        if self.socket:
            doc["agentSocket"] = self.socket
        doc.update(overrides)
        return doc

    def cni(
        self,
        command: str,
        container_id: str = "",
        netns: str = "",
        conf: dict[str, Any] | bytes | None = None,
        ifname: str = "eth0",
        env: dict[str, str | None] | None = None,
        run_in: str | None = None,
    ) -> CniOutcome:
        """Run the plugin once inside the node namespace (or ``run_in``), as a runtime would."""
        full: dict[str, str | None] = {
            "CNI_COMMAND": command,
            "CNI_CONTAINERID": container_id,
            "CNI_NETNS": netns,
        }
        full |= {"CNI_IFNAME": ifname, "CNI_PATH": "/opt/cni/bin", "PATH": os.environ.get("PATH", "")}
        full |= env or {}
        clean = {k: v for k, v in full.items() if v}
        stdin = conf if isinstance(conf, bytes) else json.dumps(conf or self.conf()).encode()
        proc = subprocess.run(
            ["ip", "netns", "exec", run_in or self.ns, self.launcher],
            input=stdin,
            env=clean,
            capture_output=True,
            timeout=60,
        )
        out = json.loads(proc.stdout) if proc.stdout.strip() else None
        return CniOutcome(proc.returncode, out, proc.stderr.decode(errors="replace"))

    def add(self, container_id: str, netns: str, **kw: Any) -> dict[str, Any]:
        got = self.cni("ADD", container_id, netns, **kw)
        assert got.status == 0 and got.out is not None, (got.out, got.stderr)
        return got.out

    def host_links(self) -> dict[str, dict[str, Any]]:
        links = json.loads(ip("-j", "-d", "-n", self.ns, "link", "show").stdout)
        return {link["ifname"]: link for link in links}

    def pod_veths(self, attached_only: bool = False) -> list[str]:
        return sorted(
            name
            for name, link in self.host_links().items()
            if name.startswith("pn") and (not attached_only or link.get("master") == "cbr0")
        )

    def ip_files(self, network: str = "podnet") -> dict[str, str]:
        d = self.data_dir / network
        if not d.exists():
            return {}
        return {p.name: p.read_text() for p in d.iterdir() if p.name[0].isdigit()}

    def sysfs(self, path: str) -> str:
        """Read sysfs inside the node namespace (``ip netns exec`` remounts /sys for it)."""
        out = subprocess.run(["ip", "netns", "exec", self.ns, "cat", path], capture_output=True, text=True)
        return out.stdout.strip()


def start_server(ns: str, sock: str) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(
        ["ip", "netns", "exec", ns, sys.executable, "-m", "podnet.agent.cni.server", "--socket", sock],
        cwd=ROOT,
        stderr=subprocess.PIPE,
    )
    wait_until(lambda: os.path.exists(sock) or proc.poll() is not None, timeout=20, what="CNI server socket")
    assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
    return proc


def stop_server(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        os.kill(proc.pid, signal.SIGTERM)  # `ip netns exec` execs the server: this PID is the server
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(5)
    if proc.stderr:
        proc.stderr.close()


@pytest.fixture(params=["standalone", "resident"])
def node(request: pytest.FixtureRequest, tmp_path: Path, launcher: str) -> Iterator[Node]:
    name = f"cnitest-{secrets.token_hex(4)}"
    ip("netns", "add", name)
    n = Node(ns=name, data_dir=tmp_path / "ipam", launcher=launcher)
    try:
        ip("-n", name, "link", "set", "lo", "up")
        if request.param == "resident":
            n.socket = str(tmp_path / "cni.sock")
            n.server = start_server(name, n.socket)
        yield n
    finally:
        if n.server is not None:
            stop_server(n.server)
        for pod in n.pods:
            ip("netns", "del", pod, check=False)
        ip("netns", "del", name, check=False)
