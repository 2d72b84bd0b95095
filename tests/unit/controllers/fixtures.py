"""Object builders for controller tests. Address plan: pods 10.244.0.0/16, services 10.96.0.0/12,
nodes 172.18.0.0/16, load balancer pool 172.18.255.0/24."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

Obj = dict[str, Any]


def service(
    name: str = "web", ns: str = "default", selector: dict[str, str] | None = None, **spec: Any
) -> Obj:
    s: Obj = {"ports": [{"name": "http", "port": 80, "targetPort": 8080, "protocol": "TCP"}]}
    if selector is None:
        selector = {"app": name}
    if selector:
        s["selector"] = selector
    s.update(spec)
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name, "namespace": ns, "uid": f"uid-{name}"},
        "spec": s,
    }


def pod(
    name: str,
    ip: str,
    labels: dict[str, str] | None = None,
    ns: str = "default",
    ready: bool = True,
    node: str = "node-1",
    ports: list[Obj] | None = None,
    **extra: Any,
) -> Obj:
    p: Obj = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": ns, "uid": f"uid-{name}", "labels": labels or {"app": "web"}},
        "spec": {"nodeName": node, "containers": [{"name": "c", "image": "x", "ports": ports or []}]},
        "status": {
            "phase": "Running",
            "podIP": ip,
            "podIPs": [{"ip": ip}] if ip else [],
            "conditions": [{"type": "Ready", "status": "True" if ready else "False"}],
        },
    }
    for key, value in extra.items():
        section, _, field = key.partition("__")
        p[section][field] = value
    return p


def node(name: str, ready: bool = True, labels: dict[str, str] | None = None, **spec: Any) -> Obj:
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {"name": name, "labels": {"kubernetes.io/hostname": name, **(labels or {})}},
        "spec": dict(spec),
        "status": {"conditions": [{"type": "Ready", "status": "True" if ready else "False"}]},
    }


async def until(cond: Callable[[], object], timeout: float = 5.0, what: str = "") -> Any:
    """Poll an async test's condition with a deadline (no bare sleeps)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    last: object = None
    while True:
        last = cond()
        if last:
            return last
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting for {what or cond}: last={last!r}")
        await asyncio.sleep(0.005)
