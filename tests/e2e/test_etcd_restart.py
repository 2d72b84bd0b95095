"""The API server on etcd: kill -9 both the server and etcd, restart them, and nothing is lost."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.helpers import Kubectl, ServerProcess, free_port
from tests.integration.store.conftest import ETCD, EtcdProcess

pytestmark = pytest.mark.e2e


def test_server_on_etcd_survives_kill9_of_both(tmp_path: Path) -> None:
    if not ETCD.exists() or shutil.which("kubectl") is None:
        pytest.skip("needs etcd and kubectl")
    etcd = EtcdProcess(tmp_path, free_port(), free_port())
    etcd.start()
    srv = ServerProcess(
        tmp_path / "data", free_port(), ["--datastore", f"etcd://127.0.0.1:{etcd.client_port}"]
    )
    try:
        srv.start()
        kubectl = Kubectl(srv.kubeconfig)
        kubectl("create", "namespace", "keep")
        kubectl.apply({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "svc", "namespace": "keep"},
                       "spec": {"ports": [{"port": 80}], "type": "NodePort"}})  # fmt: skip
        before = kubectl.json("get", "svc", "svc", "-n", "keep")
        srv.kill9()
        assert etcd.proc is not None
        etcd.proc.kill()
        etcd.proc.wait(timeout=10)
        etcd.start()
        srv.start()
        after = kubectl.json("get", "svc", "svc", "-n", "keep")
        assert after["metadata"]["uid"] == before["metadata"]["uid"]
        assert after["spec"]["clusterIP"] == before["spec"]["clusterIP"]
        assert after["spec"]["ports"][0]["nodePort"] == before["spec"]["ports"][0]["nodePort"]
        # the allocations were rebuilt from the store: the same addresses are not handed out again
        kubectl.apply({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "svc2", "namespace": "keep"},
                       "spec": {"ports": [{"port": 80}], "type": "NodePort"}})  # fmt: skip
        other = kubectl.json("get", "svc", "svc2", "-n", "keep")
        assert other["spec"]["clusterIP"] != before["spec"]["clusterIP"]
        assert other["spec"]["ports"][0]["nodePort"] != before["spec"]["ports"][0]["nodePort"]
    finally:
        srv.stop()
        etcd.stop()
