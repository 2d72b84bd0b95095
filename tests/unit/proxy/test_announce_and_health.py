"""LoadBalancer announcement eligibility and the healthCheckNodePort answers."""

from __future__ import annotations

import asyncio
import json
import socket

import aiohttp

from podnet.agent.proxy.announce import eligible_ips, holder, lease_name
from podnet.agent.proxy.healthcheck import HealthChecks


def lb(name: str, ip: str, local: bool) -> dict:
    spec: dict = {"type": "LoadBalancer", "clusterIP": "10.96.0.9", "ports": [{"name": "http", "port": 80}]}
    if local:
        spec["externalTrafficPolicy"] = "Local"
    return {"metadata": {"name": name, "namespace": "d"}, "spec": spec,
            "status": {"loadBalancer": {"ingress": [{"ip": ip}]}}}  # fmt: skip


def slice_on(name: str, node: str) -> dict:
    return {"metadata": {"name": f"{name}-x", "namespace": "d", "labels": {"kubernetes.io/service-name": name}},
            "addressType": "IPv4", "ports": [{"name": "http", "port": 8080, "protocol": "TCP"}],
            "endpoints": [{"addresses": ["10.244.2.5"], "nodeName": node, "conditions": {"ready": True}}]}  # fmt: skip


def test_only_nodes_with_a_local_endpoint_may_announce_a_local_service() -> None:
    services = [lb("cluster", "172.18.255.200", False), lb("local", "172.18.255.201", True)]
    slices = [slice_on("cluster", "node-2"), slice_on("local", "node-2")]
    assert eligible_ips(services, slices, "node-1") == {"172.18.255.200"}
    assert eligible_ips(services, slices, "node-2") == {"172.18.255.200", "172.18.255.201"}


def test_lease_holder_expires() -> None:
    lease = {
        "spec": {
            "holderIdentity": "node-1",
            "leaseDurationSeconds": 3,
            "renewTime": "2026-11-22T10:00:00.000000Z",
        }
    }
    renewed = 1795341600.0  # 2026-11-22T10:00:00Z
    assert holder(lease, renewed + 2) == "node-1"
    assert holder(lease, renewed + 4) is None
    assert lease_name("172.18.255.200") == "podnet-lb-172-18-255-200"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_health_check_node_port_counts_local_endpoints_and_503_without() -> None:
    checks = HealthChecks("127.0.0.1")
    port = _free_port()
    try:
        await checks.sync({port: ("d", "web", 2)})
        async with aiohttp.ClientSession() as http:
            async with http.get(f"http://127.0.0.1:{port}/healthz") as resp:
                body = json.loads(await resp.text())
                assert resp.status == 200 and body["localEndpoints"] == 2
                assert body["service"] == {"namespace": "d", "name": "web"}
            await checks.sync({port: ("d", "web", 0)})
            async with http.get(f"http://127.0.0.1:{port}/healthz") as resp:
                assert resp.status == 503 and json.loads(await resp.text())["localEndpoints"] == 0
        await checks.sync({})
        await asyncio.sleep(0)
        with socket.socket() as s:
            assert s.connect_ex(("127.0.0.1", port)) != 0  # the server is gone with its service
    finally:
        await checks.close()
