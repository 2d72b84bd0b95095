"""A real etcd (/usr/bin/etcd) on free 127.0.0.1 ports in a temporary data dir, killed by PID at the end."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.helpers import free_port, wait_until

ETCD = Path("/usr/bin/etcd")


@dataclass
class EtcdProcess:
    data_dir: Path
    client_port: int
    peer_port: int
    proc: subprocess.Popen[bytes] | None = None

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.client_port}"

    def start(self, timeout: float = 20.0) -> None:
        peer = f"http://127.0.0.1:{self.peer_port}"
        argv = [
            str(ETCD),
            "--name",
            "podnet-test",
            "--data-dir",
            str(self.data_dir / "etcd"),
            "--listen-client-urls",
            self.endpoint,
            "--advertise-client-urls",
            self.endpoint,
            "--listen-peer-urls",
            peer,
            "--initial-advertise-peer-urls",
            peer,
            "--initial-cluster",
            f"podnet-test={peer}",
        ]
        log = open(self.data_dir / "etcd.log", "ab")
        self.proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT)
        log.close()
        wait_until(
            self._healthy, timeout, 0.05, what=f"etcd on {self.endpoint} ({self.data_dir / 'etcd.log'})"
        )

    def _healthy(self) -> bool:
        assert self.proc is not None
        if self.proc.poll() is not None:
            raise AssertionError(f"etcd exited {self.proc.returncode}: {self.log()[-2000:]}")
        with urllib.request.urlopen(f"{self.endpoint}/health", timeout=1) as resp:
            return bool(json.load(resp).get("health") == "true")

    def stop(self) -> None:
        """SIGTERM, then SIGKILL after a deadline; always by PID."""
        if self.proc is None or self.proc.poll() is not None:
            return
        os.kill(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)

    def log(self) -> str:
        path = self.data_dir / "etcd.log"
        return path.read_text(errors="replace") if path.exists() else ""


def start_etcd(data_dir: Path) -> EtcdProcess:
    if not ETCD.exists():
        pytest.skip(f"{ETCD} is missing: apt-get install etcd-server")
    etcd = EtcdProcess(data_dir, free_port(), free_port())
    try:
        etcd.start()
    except BaseException:
        etcd.stop()
        raise
    return etcd


@pytest.fixture(scope="session")
def etcd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EtcdProcess]:
    """One etcd for the whole session; tests keep apart by key prefix."""
    proc = start_etcd(tmp_path_factory.mktemp("etcd"))
    try:
        yield proc
    finally:
        proc.stop()


@pytest.fixture
def fresh_etcd(tmp_path: Path) -> Iterator[EtcdProcess]:
    """An etcd of its own, for tests that stop and restart it."""
    proc = start_etcd(tmp_path)
    try:
        yield proc
    finally:
        proc.stop()
