"""`podnet up` / `down` as a user runs them, and pod churn leaving nothing behind."""

from __future__ import annotations

import os
import secrets
import subprocess
from pathlib import Path

import pytest

from tests.e2e.lab.conftest import lab_leftovers, make_lab, podnet
from tests.helpers import wait_until

pytestmark = pytest.mark.e2e


@pytest.fixture
def lab_name() -> str:
    if os.geteuid() != 0:
        pytest.skip("needs root")
    return "c" + secrets.token_hex(3)


def lab_pod_processes(name: str) -> list[int]:
    """PIDs whose network namespace is one of the lab's pod sandboxes."""
    inodes = set()
    for ns in os.listdir("/run/netns"):
        if ns.startswith(f"podnet-{name}-pod-"):
            inodes.add(os.stat(f"/run/netns/{ns}").st_ino)
    pids = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            if os.stat(f"/proc/{pid}/ns/net").st_ino in inodes:
                pids.append(int(pid))
        except OSError:
            continue
    return pids


def test_up_twice_labs_coexist_status_and_down_leaves_nothing(lab_name: str) -> None:
    other = lab_name + "b"
    lab = make_lab(lab_name, "--nodes", "1")
    try:
        again = podnet("up", "--name", lab_name)
        assert again.returncode == 1 and "already exists" in again.stdout
        lab2 = make_lab(other, "--nodes", "1", "--backend", "vxlan")
        # healthy once DNS's replicas are Ready too (up does not wait for them)
        status = wait_until(
            lambda: (s := podnet("status", "--name", lab_name)).returncode == 0 and s, 30, 0.5
        )
        assert "node-1" in status.stdout and "Ready" in status.stdout and "10.244.0.0/24" in status.stdout
        health = {tuple(line.split()[:3]) for line in status.stdout.split("COMPONENT", 1)[1].splitlines()[1:]}
        assert {("apiserver", "control-plane", "ok"), ("controller-manager", "control-plane", "ok"),
                ("agent", "node-1", "ok:"), ("dns", "kube-system", "ok:")} <= health, status.stdout  # fmt: skip
        assert "pods ok, policy ok, proxy ok, routing ok" in status.stdout
        assert podnet("kubeconfig", "--name", other).stdout.strip() == f"/run/podnet/{other}/kubeconfig"
        assert lab.kubectl("get", "nodes", "-o", "name").split() == ["node/node-1"]
        assert lab2.kubectl("get", "nodes", "-o", "name").split() == ["node/node-1"]
    finally:
        podnet("down", "--name", other)
        down = podnet("down", "--name", lab_name)
    assert down.returncode == 0 and "removed" in down.stdout
    assert lab_leftovers(lab_name) == [] and lab_leftovers(other) == []
    assert podnet("status", "--name", lab_name).returncode != 0


def test_200_pods_created_and_deleted_leak_nothing(lab_name: str) -> None:
    lab = make_lab(lab_name, "--nodes", "1", "--no-dns")  # only the churned pods on the node
    try:
        node_dir = Path(f"/run/podnet/{lab_name}/node-1/agent")
        lab.kubectl.apply(
            {
                "apiVersion": "apps/v1",
                "kind": "Deployment",
                "metadata": {"name": "churn"},
                "spec": {
                    "replicas": 200,
                    "selector": {"matchLabels": {"app": "churn"}},
                    "template": {
                        "metadata": {"labels": {"app": "churn"}},
                        "spec": {
                            "terminationGracePeriodSeconds": 1,
                            "containers": [{"name": "c", "image": "busybox", "command": ["sleep", "3600"]}],
                        },
                    },
                },
            }
        )

        def running() -> int:
            pods = lab.kubectl.json("get", "pods", "-l", "app=churn")["items"]
            return sum(
                1
                for p in pods
                if (p.get("status") or {}).get("phase") == "Running" and p["status"].get("podIP")
            )

        wait_until(lambda: running() == 200, timeout=120, interval=1, what="200 pods Running")
        ips = {p["status"]["podIP"] for p in lab.kubectl.json("get", "pods", "-l", "app=churn")["items"]}
        assert len(ips) == 200  # no address handed out twice
        lab.kubectl("delete", "deployment", "churn")
        wait_until(
            lambda: lab.kubectl("get", "pods", "-o", "name").strip() == "",
            timeout=120,
            interval=1,
            what="every pod gone",
        )
        # no IP reserved, no veth, no sandbox namespace, no process, no pod directory, no mount
        reserved = [f for f in (node_dir / "ipam").rglob("*") if f.is_file() and f.name[0].isdigit()]
        assert reserved == []
        links = subprocess.run(
            ["ip", "-n", f"podnet-{lab_name}-node-1", "-o", "link"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        assert " pn" not in links
        assert [n for n in os.listdir("/run/netns") if n.startswith(f"podnet-{lab_name}-pod-")] == []
        assert lab_pod_processes(lab_name) == []
        assert list((node_dir / "pods").iterdir()) == []
        with open("/proc/mounts") as f:
            assert [m for m in f if f"podnet-{lab_name}-pod-" in m] == []
    finally:
        podnet("down", "--name", lab_name)
    assert lab_leftovers(lab_name) == []
