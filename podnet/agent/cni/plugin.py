"""The CNI commands: one entry point, ``handle(env, stdin) -> (exit status, stdout)``.

Both ways of running the plugin end here: the standalone executable calls it in-process, and the
agent's resident server calls it for each request the thin client forwards, so the two behave the
same by construction. Validation comes first and touches nothing; ADD then reserves an address,
builds the interfaces, and undoes both if anything fails.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import TypeVar

from podnet.agent.cni import bridge
from podnet.agent.cni.config import SUPPORTED_VERSIONS, NetConf, decode, parse_netconf
from podnet.agent.cni.errors import (
    CHECK_FAILED,
    DEFAULT_VERSION,
    INCOMPATIBLE_VERSION,
    INTERNAL_ERROR,
    INVALID_ENVIRONMENT,
    INVALID_NETWORK_CONFIG,
    IO_FAILURE,
    KERNEL_FAILURE,
    PLUGIN_NOT_AVAILABLE,
    CNIError,
)
from podnet.agent.cni.ipam import pool
from podnet.agent.cni.ipam.disk import DiskStore
from podnet.agent.cni.ipam.store import Attachment
from podnet.agent.cni.node import NodeKernel, Standalone
from podnet.agent.cni.request import CniRequest, parse_env
from podnet.agent.cni.result import expected_from_prev, prev_addresses, render_result
from podnet.kernel import netns, sysctl

T = TypeVar("T")


def _ipam(fn: Callable[[], T]) -> T:
    """Run a store operation; disk trouble is the spec's I/O failure (5)."""
    try:
        return fn()
    except OSError as exc:
        raise CNIError(IO_FAILURE, f"IPAM store: {exc}") from None


def cmd_add(conf: NetConf, req: CniRequest, node: NodeKernel) -> bytes:
    if netns.netns_inode(req.netns) is None:
        raise CNIError(INVALID_ENVIRONMENT, f"CNI_NETNS {req.netns} is not a network namespace")
    store = DiskStore(conf.network_dir)
    owner = Attachment(req.container_id, req.ifname)
    with node.host() as host:
        mtu = bridge.pod_mtu(conf.mtu)
        if conf.is_gateway:
            sysctl.ensure_sysctl("net.ipv4.ip_forward", "1")  # the node routes for its pods
        ip = _ipam(lambda: pool.allocate(store, conf.ipam.subnet, conf.ipam.gateway, owner))
        try:
            outcome = bridge.add_pod_interface(host, conf, req, ip, mtu, node)
        except BaseException:
            _ipam(lambda: pool.release(store, owner, [ip]))
            raise
    return json.dumps(render_result(outcome, conf.cni_version, conf.dns)).encode() + b"\n"


def cmd_del(conf: NetConf, req: CniRequest, node: NodeKernel) -> bytes:
    bridge.remove_pod_interface(req, node)
    owner = Attachment(req.container_id, req.ifname)
    hints = prev_addresses(conf.prev_result)
    _ipam(lambda: pool.release(DiskStore(conf.network_dir), owner, hints))
    return b""


def cmd_check(conf: NetConf, req: CniRequest, node: NodeKernel) -> bytes:
    if conf.prev_result is None:
        raise CNIError(INVALID_NETWORK_CONFIG, "CHECK needs prevResult in the network config")
    expected = expected_from_prev(conf.prev_result, req.ifname, req.netns)
    held = _ipam(
        lambda: pool.reserved_for(DiskStore(conf.network_dir), Attachment(req.container_id, req.ifname))
    )
    for want in expected.addresses:
        if want.ip not in held:
            raise CNIError(
                CHECK_FAILED, f"address {want.ip} is not reserved for {req.container_id}/{req.ifname}"
            )
    with node.host() as host:
        bridge.check_pod_interface(host, conf, req, expected)
    return b""


def _require_1_1(conf: NetConf, command: str) -> None:
    if conf.cni_version != "1.1.0":
        raise CNIError(
            INCOMPATIBLE_VERSION, f"{command} needs cniVersion 1.1.0, config has {conf.cni_version}"
        )


def cmd_status(conf: NetConf, req: CniRequest, node: NodeKernel) -> bytes:
    _require_1_1(conf, "STATUS")
    store = DiskStore(conf.network_dir)
    if not store.writable():
        raise CNIError(PLUGIN_NOT_AVAILABLE, f"IPAM directory {conf.network_dir} is not writable")
    free = _ipam(lambda: pool.free_addresses(store, conf.ipam.subnet, conf.ipam.gateway))
    if free <= 0:
        raise CNIError(PLUGIN_NOT_AVAILABLE, f"no free addresses left in {conf.ipam.subnet}")
    return b""


def cmd_gc(conf: NetConf, req: CniRequest, node: NodeKernel) -> bytes:
    _require_1_1(conf, "GC")
    if conf.valid_attachments is None:
        raise CNIError(INVALID_NETWORK_CONFIG, "GC needs cni.dev/valid-attachments in the network config")
    valid = [Attachment(cid, ifname) for cid, ifname in conf.valid_attachments]
    _ipam(lambda: pool.collect_garbage(DiskStore(conf.network_dir), valid))
    if all(a.ifname for a in valid):  # veth names derive from the ifname: without it we cannot tell
        with node.host() as host:
            bridge.collect_veths(host, conf, {bridge.host_veth_name(a.container_id, a.ifname) for a in valid})
    return b""


def cmd_version(stdin: bytes) -> bytes:
    try:
        asked = decode(stdin).get("cniVersion")
    except CNIError:
        asked = None
    version = asked if asked in SUPPORTED_VERSIONS else DEFAULT_VERSION
    return json.dumps({"cniVersion": version, "supportedVersions": list(SUPPORTED_VERSIONS)}).encode() + b"\n"


COMMANDS: dict[str, Callable[[NetConf, CniRequest, NodeKernel], bytes]] = {
    "ADD": cmd_add,
    "DEL": cmd_del,
    "CHECK": cmd_check,
    "STATUS": cmd_status,
    "GC": cmd_gc,
}


def _error_version(stdin: bytes) -> str:
    try:
        version = json.loads(stdin).get("cniVersion")
    except (ValueError, AttributeError, UnicodeDecodeError):
        return DEFAULT_VERSION
    return version if version in SUPPORTED_VERSIONS else DEFAULT_VERSION


def handle(env: Mapping[str, str], stdin: bytes, node: NodeKernel | None = None) -> tuple[int, bytes]:
    """Run one CNI invocation; (0, result) on success, (1, error JSON) on failure, as the spec has it."""
    try:
        req = parse_env(env)
        if req.command == "VERSION":
            return 0, cmd_version(stdin)
        conf = parse_netconf(stdin)
        return 0, COMMANDS[req.command](conf, req, node or Standalone())
    except CNIError as exc:
        return 1, exc.to_json(_error_version(stdin))
    except OSError as exc:
        error = CNIError(KERNEL_FAILURE, f"kernel: {exc.strerror or exc}", repr(exc))
    except Exception as exc:  # a bug must still answer in CNI's language, never with a traceback
        error = CNIError(INTERNAL_ERROR, f"internal error: {exc}", repr(exc))
    return 1, error.to_json(_error_version(stdin))
