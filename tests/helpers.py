"""Shared test tools: polling waits (never bare sleeps), free ports, a real server process."""

from __future__ import annotations

import json
import os
import signal
import socket
import ssl
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import yaml

T = TypeVar("T")
ROOT = Path(__file__).resolve().parent.parent


def wait_until(cond: Callable[[], T], timeout: float = 10.0, interval: float = 0.05, what: str = "") -> T:
    """Poll ``cond`` until it returns something truthy; fail with the last value seen."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while True:
        try:
            last = cond()
        except Exception as exc:  # keep polling; report the last failure
            last = exc
        if last and not isinstance(last, Exception):
            return last
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what or cond}: last={last!r}")
        time.sleep(interval)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class ServerProcess:
    data_dir: Path
    port: int
    args: list[str] = field(default_factory=list)
    proc: subprocess.Popen[bytes] | None = None
    log_path: Path | None = None

    @property
    def kubeconfig(self) -> Path:
        return self.data_dir / "kubeconfig"

    @property
    def socket(self) -> Path:
        return self.data_dir / "apiserver.sock"

    def start(self, timeout: float = 20.0) -> None:
        self.log_path = self.data_dir.parent / f"server-{self.port}.log"
        log = open(self.log_path, "ab")
        argv = [
            sys.executable,
            "-m",
            "podnet",
            "server",
            "--data-dir",
            str(self.data_dir),
            "--secure-port",
            str(self.port),
            *self.args,
        ]
        self.proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT)
        log.close()
        wait_until(self._ready, timeout, 0.05, what=f"server on {self.port} ({self.log_path})")

    def _ready(self) -> bool:
        assert self.proc is not None
        if self.proc.poll() is not None:
            raise AssertionError(f"server exited {self.proc.returncode}: {self.log()}")
        if not self.kubeconfig.exists():
            return False
        ctx = ssl.create_default_context(cafile=str(self.data_dir / "pki" / "ca.crt"))
        with urllib.request.urlopen(f"https://127.0.0.1:{self.port}/readyz", context=ctx, timeout=1) as r:
            return bool(r.status == 200)

    def log(self) -> str:
        return self.log_path.read_text()[-4000:] if self.log_path and self.log_path.exists() else ""

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        os.kill(self.proc.pid, sig)
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)

    def kill9(self) -> None:
        self.stop(signal.SIGKILL)

    def token(self) -> str:
        return (self.data_dir / "pki" / "admin.token").read_text().strip()


@dataclass
class Kubectl:
    kubeconfig: Path

    def run(
        self, *args: str, input: str | None = None, check: bool = True, timeout: float = 60
    ) -> subprocess.CompletedProcess[str]:
        env = dict(
            os.environ, KUBECONFIG=str(self.kubeconfig), KUBECACHEDIR=str(self.kubeconfig.parent / "kcache")
        )
        proc = subprocess.run(
            ["kubectl", *args], input=input, capture_output=True, text=True, env=env, timeout=timeout
        )
        if check and proc.returncode != 0:
            raise AssertionError(f"kubectl {' '.join(args)} failed ({proc.returncode}): {proc.stderr}")
        return proc

    def __call__(self, *args: str, input: str | None = None) -> str:
        return self.run(*args, input=input).stdout

    def json(self, *args: str) -> Any:
        return json.loads(self.run(*args, "-o", "json").stdout)

    def apply(self, manifest: str | list[dict[str, Any]] | dict[str, Any]) -> str:
        text = (
            manifest
            if isinstance(manifest, str)
            else yaml.safe_dump_all(manifest if isinstance(manifest, list) else [manifest])
        )
        return self("apply", "-f", "-", input=text)
