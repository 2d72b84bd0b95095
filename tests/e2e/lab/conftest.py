"""A real lab per test module: `podnet up` (namespaces, API server, agents), driven with kubectl and
`podnet exec`, removed with `podnet down` whatever happens. Names are unique per run."""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import Kubectl, wait_until

pytestmark = pytest.mark.e2e


def podnet(*args: str, timeout: float = 90) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "podnet", *args], capture_output=True, text=True, timeout=timeout
    )


@dataclass
class Lab:
    name: str
    kubectl: Kubectl
    backend: str = "host-gw"

    def exec(self, pod: str, *cmd: str, container: str = "", check: bool = True, timeout: float = 30) -> str:
        args = ["exec", "--name", self.name, pod] + (["-c", container] if container else []) + ["--", *cmd]
        proc = podnet(*args, timeout=timeout)
        if check and proc.returncode != 0:
            raise AssertionError(
                f"podnet {' '.join(args)} failed ({proc.returncode}): {proc.stdout}{proc.stderr}"
            )
        return proc.stdout

    def exec_rc(self, pod: str, *cmd: str) -> int:
        return podnet("exec", "--name", self.name, pod, "--", *cmd).returncode

    def host(self, host: str, *cmd: str, check: bool = True) -> str:
        proc = podnet("exec", "--name", self.name, "--host", host, "--", *cmd)
        if check and proc.returncode != 0:
            raise AssertionError(f"exec on {host} failed: {proc.stdout}{proc.stderr}")
        return proc.stdout

    def pod(self, name: str, namespace: str = "default") -> dict[str, Any]:
        return self.kubectl.json("get", "pod", name, "-n", namespace)

    def wait_ready(self, name: str, namespace: str = "default", timeout: float = 20) -> dict[str, Any]:
        def ready() -> dict[str, Any] | None:
            pod = self.pod(name, namespace)
            conds = (pod.get("status") or {}).get("conditions") or []
            return pod if any(c["type"] == "Ready" and c["status"] == "True" for c in conds) else None

        return wait_until(ready, timeout=timeout, interval=0.1, what=f"pod {name} Ready")


def make_lab(name: str, *extra: str) -> Lab:
    proc = podnet("up", "--name", name, "--restart-backoff", "1", *extra, timeout=120)
    if proc.returncode != 0:
        podnet("down", "--name", name)
        raise AssertionError(f"podnet up failed: {proc.stdout}{proc.stderr}")
    backend = extra[extra.index("--backend") + 1] if "--backend" in extra else "host-gw"
    return Lab(name, Kubectl(Path(f"/run/podnet/{name}/kubeconfig")), backend)


def lab_leftovers(name: str) -> list[str]:
    """Everything `podnet down` must have removed: namespaces, the run dir, mounts."""
    left = (
        [n for n in os.listdir("/run/netns") if n.startswith(f"podnet-{name}-")]
        if os.path.isdir("/run/netns")
        else []
    )
    if os.path.exists(f"/run/podnet/{name}"):
        left.append(f"/run/podnet/{name}")
    lab_dir = f"/run/podnet/{name}"
    with open("/proc/mounts") as f:
        points = [line.split()[1] for line in f]
    left += [p for p in points if p == lab_dir or p.startswith(lab_dir + "/") or f"podnet-{name}-" in p]
    return left


@pytest.fixture(scope="module")
def lab() -> Iterator[Lab]:
    if os.geteuid() != 0 or shutil.which("kubectl") is None:
        pytest.skip("needs root and kubectl")
    name = "e" + secrets.token_hex(3)
    handle = make_lab(name, "--nodes", "2")
    try:
        yield handle
    finally:
        down = podnet("down", "--name", name)
        assert down.returncode == 0, down.stdout + down.stderr
        assert lab_leftovers(name) == []


def pod_manifest(name: str, *containers: dict[str, Any], node: str = "node-1", **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "labels": {"test": name}},
        "spec": {"nodeSelector": {"kubernetes.io/hostname": node}, "containers": list(containers), **spec},
    }


def netexec(name: str = "web", port: int = 8080, **extra: Any) -> dict[str, Any]:
    return {
        "name": name,
        "image": "registry.k8s.io/e2e-test-images/agnhost:2.53",
        "args": ["netexec", f"--http-port={port}", f"--udp-port={port + 1}"],
        **extra,
    }
