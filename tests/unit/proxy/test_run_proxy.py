"""run_proxy's loop over a FakeClient: informers -> full sync, then partial syncs, then stop.

The kernel tools are replaced through ``command_prefix`` by tests/unit/proxy/recorder.py, which
records each ``nft -f -`` transaction (no root, no namespace). Address plan: pods 10.244.0.0/16,
services 10.96.0.0/12.
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Any

import pytest

from podnet.agent.proxy import ProxyConfig, run_proxy
from podnet.api.scheme import resource
from podnet.client.fake import FakeClient

RECORDER = str(Path(__file__).with_name("recorder.py"))


def commands(log: Path) -> list[dict[str, Any]]:
    if not log.exists():
        return []
    return [json.loads(line) for line in log.read_text().splitlines()]


async def wait_for(cond: Any, timeout: float = 10.0) -> Any:
    """Poll an async test condition with a deadline (no bare sleeps)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not (value := cond()):
        assert loop.time() < deadline, "timed out"
        await asyncio.sleep(0.02)
    return value


def web_slice(ip: str) -> dict[str, Any]:
    return {"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
            "metadata": {"name": "web-1", "namespace": "d", "labels": {"kubernetes.io/service-name": "web"}},
            "addressType": "IPv4", "ports": [{"name": "http", "port": 8080, "protocol": "TCP"}],
            "endpoints": [{"addresses": [ip], "nodeName": "n1", "conditions": {"ready": True}}]}  # fmt: skip


async def test_first_sync_is_full_then_an_endpoint_change_is_a_partial_sync(tmp_path: Path) -> None:
    client, log = FakeClient(), tmp_path / "cmds.jsonl"
    await client.create(resource("services"), "d", {
        "apiVersion": "v1", "kind": "Service", "metadata": {"name": "web", "namespace": "d"},
        "spec": {"clusterIP": "10.96.0.20", "ports": [{"name": "http", "port": 80, "protocol": "TCP"}]}})  # fmt: skip
    created = await client.create(resource("endpointslices"), "d", web_slice("10.244.1.2"))
    config = ProxyConfig("n1", command_prefix=(sys.executable, RECORDER, str(log)))
    stop = asyncio.Event()
    task = asyncio.create_task(run_proxy(client, config, stop))
    try:
        full = await wait_for(lambda: [c for c in commands(log) if c["argv"] == ["nft", "-f", "-"]])
        assert "delete table ip podnet-proxy" in full[0]["stdin"]
        assert "10.96.0.20 . tcp . 80 . 0 : 10.244.1.2 . 8080" in full[0]["stdin"]
        await client.update(resource("endpointslices"), "d", {**created, **web_slice("10.244.1.7")})
        partial = await wait_for(lambda: [c for c in commands(log) if c["argv"] == ["nft", "-f", "-"]][1:])
        assert partial[0]["stdin"].splitlines() == [
            "delete element ip podnet-proxy backends { 10.96.0.20 . tcp . 80 . 0 }",
            "add element ip podnet-proxy backends { 10.96.0.20 . tcp . 80 . 0 : 10.244.1.7 . 8080 }",
            "delete element ip podnet-proxy hairpin { 10.244.1.2 . 10.244.1.2 }",
            "add element ip podnet-proxy hairpin { 10.244.1.7 . 10.244.1.7 }",
        ]
    finally:
        stop.set()
        await asyncio.wait_for(task, 10)


async def test_a_failed_transaction_is_retried_as_a_full_sync(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    client, log = FakeClient(), tmp_path / "cmds.jsonl"
    await client.create(resource("services"), "d", {
        "apiVersion": "v1", "kind": "Service", "metadata": {"name": "web", "namespace": "d"},
        "spec": {"clusterIP": "10.96.0.20", "ports": [{"name": "http", "port": 80, "protocol": "TCP"}]}})  # fmt: skip
    monkeypatch.setenv("FAIL", "nft")  # the recorder's (a subprocess's) switch, not a patch of our code
    config = ProxyConfig("n1", command_prefix=(sys.executable, RECORDER, str(log)))
    stop = asyncio.Event()
    task = asyncio.create_task(run_proxy(client, config, stop))
    try:
        tries = await wait_for(lambda: [c for c in commands(log) if c["argv"][0] == "nft"][1:], timeout=5)
        assert all("delete table ip podnet-proxy" in t["stdin"] for t in tries)  # every retry is full
    finally:
        stop.set()
        await asyncio.wait_for(task, 10)
