"""A real ``podnet server`` per test module, driven by the machine's kubectl."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers import Kubectl, ServerProcess, free_port

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    if shutil.which("kubectl") is None:
        pytest.skip("kubectl is not installed")
    base: Path = tmp_path_factory.mktemp("server")
    srv = ServerProcess(base / "data", free_port(), ["--lb-pool", "172.18.255.200-172.18.255.202"])
    srv.start()
    try:
        yield srv
    finally:
        srv.stop()


@pytest.fixture(scope="module")
def kubectl(server: ServerProcess) -> Kubectl:
    return Kubectl(server.kubeconfig)
