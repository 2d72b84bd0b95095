"""The node's registration and heartbeat, as kubelet does them: the Node object and its Lease.

The Node is registered NotReady until the pod network is ready on it (kubelet's "container runtime
network not ready: cni config uninitialized"), then Ready. The Lease in kube-node-lease is renewed
every 10 s; the node lifecycle controller marks the node Unknown when renewals stop.
"""

from __future__ import annotations

import asyncio
import logging
import os
import platform
from typing import Any

from podnet.api.errors import StatusError
from podnet.api.scheme import resource
from podnet.api.timestamps import micro_time, rfc3339
from podnet.client.interface import ApiClient

Obj = dict[str, Any]
log = logging.getLogger(__name__)
NODES, LEASES = resource("nodes"), resource("leases")
LEASE_NAMESPACE = "kube-node-lease"
LEASE_DURATION_S = 40
RENEW_INTERVAL_S = 10.0
VERSION = "v1.32.0-podnet"
NETWORK_NOT_READY = "container runtime network not ready: NetworkReady=false reason:NetworkPluginNotReady message:cni config uninitialized"


def ready_condition(ready: bool, now: str, message: str = "") -> Obj:
    return {
        "type": "Ready",
        "status": "True" if ready else "False",
        "lastHeartbeatTime": now,
        "lastTransitionTime": now,
        "reason": "KubeletReady" if ready else "KubeletNotReady",
        "message": message or ("kubelet is posting ready status" if ready else NETWORK_NOT_READY),
    }


def node_object(name: str, ip: str, now: str, labels: dict[str, str] | None = None) -> Obj:
    """A freshly registering Node (pure): NotReady, with its InternalIP and Hostname addresses."""
    uname = platform.uname()
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "name": name,
            "labels": {
                "kubernetes.io/hostname": name,
                "kubernetes.io/os": "linux",
                "kubernetes.io/arch": "amd64" if uname.machine == "x86_64" else uname.machine,
                **(labels or {}),
            },
        },
        "spec": {},
        "status": {
            "addresses": [{"type": "InternalIP", "address": ip}, {"type": "Hostname", "address": name}],
            "conditions": [ready_condition(False, now)],
            "daemonEndpoints": {"kubeletEndpoint": {"Port": 10250}},
            "nodeInfo": {
                "architecture": "amd64" if uname.machine == "x86_64" else uname.machine,
                "bootID": "",
                "containerRuntimeVersion": "podnet://0.1.0",
                "kernelVersion": uname.release,
                "kubeProxyVersion": VERSION,
                "kubeletVersion": VERSION,
                "machineID": "",
                "operatingSystem": "linux",
                "osImage": "podnet lab node",
                "systemUUID": "",
            },
            "capacity": {"cpu": str(os.cpu_count() or 1), "memory": "4Gi", "pods": "250"},
            "allocatable": {"cpu": str(os.cpu_count() or 1), "memory": "4Gi", "pods": "250"},
        },
    }


async def register(client: ApiClient, name: str, ip: str) -> Obj:
    """Create the Node, or take over an existing one: addresses refreshed, Ready reset until we are."""
    want = node_object(name, ip, rfc3339())
    try:
        return await client.create(NODES, None, want)
    except StatusError as exc:
        if exc.code != 409:
            raise
    status = {k: want["status"][k] for k in ("addresses", "conditions", "nodeInfo", "daemonEndpoints")}
    await client.patch(NODES, None, name, {"metadata": {"labels": want["metadata"]["labels"]}}, "merge")
    return await client.patch(NODES, None, name, {"status": status}, "merge", subresource="status")


async def set_ready(client: ApiClient, name: str, ready: bool, message: str = "") -> None:
    await client.patch(
        NODES,
        None,
        name,
        {"status": {"conditions": [ready_condition(ready, rfc3339(), message)]}},
        "merge",
        subresource="status",
    )


async def wait_pod_cidr(client: ApiClient, name: str, stop: asyncio.Event) -> str | None:
    """The podCIDR the node IPAM controller assigns (poll: it comes within a second of registering)."""
    while not stop.is_set():
        node = await client.get(NODES, None, name)
        cidr = ((node or {}).get("spec") or {}).get("podCIDR")
        if cidr:
            return str(cidr)
        try:
            await asyncio.wait_for(stop.wait(), 0.2)
        except TimeoutError:
            pass
    return None


async def renew_lease(client: ApiClient, name: str) -> None:
    now = micro_time()
    spec = {"holderIdentity": name, "leaseDurationSeconds": LEASE_DURATION_S, "renewTime": now}
    try:
        await client.patch(LEASES, LEASE_NAMESPACE, name, {"spec": spec}, "merge")
    except StatusError as exc:
        if exc.code != 404:
            raise
        lease = {
            "apiVersion": "coordination.k8s.io/v1",
            "kind": "Lease",
            "metadata": {"name": name, "namespace": LEASE_NAMESPACE},
            "spec": {**spec, "acquireTime": now},
        }
        await client.create(LEASES, LEASE_NAMESPACE, lease)


async def heartbeat(client: ApiClient, name: str, stop: asyncio.Event) -> None:
    """Renew the Lease every 10 s until stopped; API errors are logged and retried, never fatal."""
    while not stop.is_set():
        try:
            await renew_lease(client, name)
        except Exception as exc:  # API or connection errors: the server may be restarting
            log.warning("lease renewal failed: %r", exc)
        try:
            await asyncio.wait_for(stop.wait(), RENEW_INTERVAL_S)
        except TimeoutError:
            pass
