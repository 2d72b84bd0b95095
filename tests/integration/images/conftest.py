"""Built-in images run for real, each test in its own network namespace with only ``lo`` up.

The servers bind every address, as agnhost does, so they run inside a throw-away namespace
(``podnet-test-<hex>``) rather than in the host's: nothing listens on the host and no packet leaves
loopback. Clients run in the same namespace through ``ip netns exec``. Every process is killed by PID and
every namespace deleted in a finalizer, also when the test fails.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from podnet.images.registry import AGNHOST_MAIN, agnhost_argv

PYTHON = sys.executable
POD_HOSTNAME = "podnet-test-pod"


def _require_root() -> None:
    if os.geteuid() != 0:
        pytest.skip("needs root to create network namespaces")
    if shutil.which("ip") is None or shutil.which("unshare") is None:
        pytest.skip("needs iproute2's ip and util-linux's unshare")


@dataclass
class Netns:
    """A fresh namespace; ``start`` runs a program in it with its own UTS hostname, like a pod."""

    name: str
    procs: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def argv(self, argv: list[str], hostname: str = POD_HOSTNAME) -> list[str]:
        # ip and unshare exec in place, so the PID we hold is the program's own.
        return ["ip", "netns", "exec", self.name, "unshare", "--uts", "--", *self._sethost(hostname), *argv]

    @staticmethod
    def _sethost(hostname: str) -> list[str]:
        return ["sh", "-c", f'hostname {hostname} && exec "$@"', "sh"]

    def start(self, argv: list[str], log: Path) -> subprocess.Popen[bytes]:
        with log.open("wb") as out:
            proc = subprocess.Popen(self.argv(argv), stdout=out, stderr=subprocess.STDOUT)
        self.procs.append(proc)
        return proc

    def run(self, argv: list[str], timeout: float = 20.0) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["ip", "netns", "exec", self.name, *argv], capture_output=True, text=True, timeout=timeout
        )

    def curl(self, url: str, *extra: str) -> subprocess.CompletedProcess[str]:
        """curl inside the namespace; stdout is the body, then a line with the HTTP status code."""
        return self.run(["curl", "-sS", "--max-time", "10", "-w", "\n%{http_code}", *extra, url])

    def agnhost(self, *args: str) -> subprocess.CompletedProcess[str]:
        return self.run(agnhost_argv(list(args), PYTHON))

    def udp(self, port: int, message: str) -> str:
        """One datagram to 127.0.0.1:port from inside the namespace; the reply and the client's own port."""
        code = (
            "import socket,sys;s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM);s.settimeout(5);"
            "s.connect(('127.0.0.1',int(sys.argv[1])));s.send(sys.argv[2].encode());"
            "print(s.getsockname()[1]);print(s.recv(2048).decode())"
        )
        done = self.run([PYTHON, "-I", "-c", code, str(port), message])
        assert done.returncode == 0, done.stderr
        return done.stdout


def body_status(done: subprocess.CompletedProcess[str]) -> tuple[str, int]:
    body, _, status = done.stdout.rpartition("\n")
    return body, int(status or 0)


@pytest.fixture
def netns() -> Iterator[Netns]:
    _require_root()
    ns = Netns(f"podnet-test-{uuid.uuid4().hex[:8]}")
    subprocess.run(["ip", "netns", "add", ns.name], check=True)
    try:
        subprocess.run(["ip", "-n", ns.name, "link", "set", "lo", "up"], check=True)
        yield ns
    finally:
        for proc in ns.procs:
            if proc.poll() is None:
                os.kill(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
        subprocess.run(["ip", "netns", "del", ns.name], check=False)


@pytest.fixture
def agnhost_main() -> str:
    return AGNHOST_MAIN
