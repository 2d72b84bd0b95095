"""The kernel half of ADD, DEL and CHECK: the node bridge and one veth pair per pod.

Runs in the node's network namespace (the plugin's own); the pod's namespace is reached only through
a netlink socket opened inside it, and the pod end of the veth is born there, so nothing of a pod
ever exists in the node namespace under the pod's interface name.
"""

from __future__ import annotations

import errno
import hashlib
import os
from ipaddress import IPv4Address, IPv4Interface

from podnet.agent.cni.config import MtuSource, NetConf
from podnet.agent.cni.errors import (
    CHECK_FAILED,
    INVALID_NETWORK_CONFIG,
    KERNEL_FAILURE,
    UNKNOWN_CONTAINER,
    CNIError,
)
from podnet.agent.cni.node import NodeKernel
from podnet.agent.cni.request import CniRequest
from podnet.agent.cni.result import AddOutcome, Expected
from podnet.kernel import netns, rtnl_batch
from podnet.kernel.netlink import LOOPBACK_IFINDEX, Link, Rtnl, rtnl
from podnet.kernel.rtnl_batch import BatchError, NewLink, RtnlBatch

HOST_PREFIX = "pn"


def host_veth_name(container_id: str, ifname: str) -> str:
    """``pn`` + 11 hex digits of a hash of the attachment: 13 chars (IFNAMSIZ allows 15), stable for DEL."""
    digest = hashlib.sha256(f"{container_id}/{ifname}".encode()).hexdigest()
    return HOST_PREFIX + digest[:11]


def local_mac() -> str:
    """A random unicast, locally administered MAC address."""
    octets = bytearray(os.urandom(6))
    octets[0] = (octets[0] & 0xFC) | 0x02
    return ":".join(f"{b:02x}" for b in octets)


def pod_mtu(source: MtuSource) -> int:
    """The configured MTU, or the uplink's (in the caller's namespace, the node's) minus the
    backend's encapsulation overhead; read at every ADD, so a changed uplink MTU counts at once."""
    if source.mtu is not None:
        return source.mtu
    assert source.uplink is not None
    uplink = rtnl_batch.link_by_name(source.uplink)
    if uplink is None:
        raise CNIError(
            INVALID_NETWORK_CONFIG, f"uplinkInterface {source.uplink!r} does not exist on this node"
        )
    mtu = uplink.mtu - source.overhead
    if mtu < 68:
        raise CNIError(INVALID_NETWORK_CONFIG, f"pod MTU {mtu} (uplink minus backendOverhead) is too small")
    return mtu


def ensure_bridge(host: Rtnl, conf: NetConf, mtu: int, node: NodeKernel) -> Link:
    """The node bridge, up, holding the gateway address when it is the pods' gateway; idempotent.

    A resident ``node`` remembers a bridge it has checked; a stale memory shows up as a failed
    veth creation, and ``add_pod_interface`` then forgets it and checks again.
    """
    key = (conf.bridge, f"{conf.ipam.gateway}/{conf.ipam.subnet.prefixlen}" if conf.is_gateway else "")
    cached = node.bridges.get(key)
    if cached is not None:
        return cached
    link = host.link_by_name(conf.bridge)
    if link is None:
        try:
            host.create_bridge(conf.bridge, mtu, local_mac())
        except OSError as exc:
            if exc.errno != errno.EEXIST:  # another ADD won the race: fine
                raise
        link = host.link_by_name(conf.bridge)
        if link is None:
            raise CNIError(KERNEL_FAILURE, f"bridge {conf.bridge} vanished while being created")
    if link.kind != "bridge":
        raise CNIError(
            INVALID_NETWORK_CONFIG, f"{conf.bridge} exists and is not a bridge ({link.kind or 'a device'})"
        )
    if not link.up:
        host.set_up(link.index)
    gw = (str(conf.ipam.gateway), conf.ipam.subnet.prefixlen)
    if conf.is_gateway and gw not in host.addresses(link.index):
        try:
            host.add_address(link.index, *gw)
        except OSError as exc:
            if exc.errno != errno.EEXIST:
                raise
    node.bridges[key] = link
    return link


def add_pod_interface(
    host: Rtnl, conf: NetConf, req: CniRequest, address: IPv4Address, mtu: int, node: NodeKernel
) -> AddOutcome:
    """Create and configure the pod's veth pair; on any failure the pair is deleted again."""
    name = host_veth_name(req.container_id, req.ifname)
    host_mac, pod_mac = local_mac(), local_mac()
    bridge, index, peer_index = _create_pair(host, conf, req, name, host_mac, pod_mac, mtu, node)
    cidr = IPv4Interface(f"{address}/{conf.ipam.subnet.prefixlen}")
    try:
        _configure_pod(req, peer_index, cidr, conf.ipam.gateway)
    except BaseException:
        host.delete_index(index)
        raise
    return AddOutcome(
        bridge=conf.bridge,
        bridge_mac=bridge.mac,
        host_ifname=name,
        host_mac=host_mac,
        pod_ifname=req.ifname,
        pod_mac=pod_mac,
        sandbox=req.netns,
        address=cidr,
        gateway=conf.ipam.gateway,
        mtu=mtu,
    )


def _create_pair(
    host: Rtnl, conf: NetConf, req: CniRequest, name: str, mac: str, pod_mac: str, mtu: int, node: NodeKernel
) -> tuple[Link, int, int]:
    """The bridge and the new pair's host and pod ifindexes, with hairpin mode set: one round trip.

    Recovers once from a stale bridge memory, or from a host end left by a crashed ADD of this
    very attachment (the name is its hash).
    """
    for attempt in (1, 2):
        bridge = ensure_bridge(host, conf, mtu, node)
        fd = os.open(req.netns, os.O_RDONLY | os.O_CLOEXEC)
        try:
            batch = RtnlBatch().create_veth(name, mtu, bridge.index, mac, req.ifname, pod_mac, fd)
            if conf.hairpin:
                batch.set_hairpin(name, True)
            links = batch.send()
        except BatchError as exc:
            if exc.request > 0:  # the pair exists, hairpin failed
                host.delete_link(name)
                raise
            if attempt == 2:
                raise _veth_error(exc, req) from None
            node.bridges.clear()
            if exc.errno == errno.EEXIST and not host.delete_link(name):
                raise _veth_error(exc, req) from None  # the name taken is the pod's, not ours
            continue
        finally:
            os.close(fd)
        return (bridge, *_pair_indexes(host, req, name, links))
    raise AssertionError("unreachable")


def _pair_indexes(host: Rtnl, req: CniRequest, name: str, links: list[NewLink]) -> tuple[int, int]:
    """From the kernel's echo; kernels that do not echo new links (before ~6.1) get looked up."""
    for link in links:
        if link.name == name and link.link:
            return link.index, link.link
    index = host.link_index(name)
    with rtnl(req.netns) as pod:
        peer = pod.link_index(req.ifname)
    if index is None or peer is None:
        raise CNIError(KERNEL_FAILURE, f"veth {name}/{req.ifname} vanished after creation")
    return index, peer


def _veth_error(exc: OSError, req: CniRequest) -> Exception:
    if exc.errno == errno.EEXIST:
        return CNIError(KERNEL_FAILURE, f"container already has an interface named {req.ifname}")
    return exc


def _configure_pod(req: CniRequest, index: int, cidr: IPv4Interface, gateway: IPv4Address) -> None:
    """Address, link up, lo up, default route: one netlink round trip in the pod's namespace."""
    batch = RtnlBatch().add_address(index, str(cidr.ip), cidr.network.prefixlen).set_up(index)
    batch.set_up(LOOPBACK_IFINDEX).add_route("0.0.0.0/0", str(gateway), index).send(req.netns)


def remove_pod_interface(req: CniRequest, node: NodeKernel) -> None:
    """Retire the pair by its host end (the pod end goes with it); absent is fine, as is a gone netns."""
    node.retire(host_veth_name(req.container_id, req.ifname))


def check_pod_interface(host: Rtnl, conf: NetConf, req: CniRequest, expected: Expected) -> None:
    """Raise ``CNIError`` (102) naming the first thing ``prevResult`` promised that is not there."""
    name = host_veth_name(req.container_id, req.ifname)
    link = host.link_by_name(name)
    bridge = host.link_by_name(conf.bridge)
    if link is None:
        raise CNIError(CHECK_FAILED, f"host interface {name} is missing")
    if bridge is None or link.master != bridge.index:
        raise CNIError(CHECK_FAILED, f"host interface {name} is not attached to bridge {conf.bridge}")
    if netns.netns_inode(req.netns) is None:
        raise CNIError(UNKNOWN_CONTAINER, f"network namespace {req.netns} does not exist")
    with rtnl(req.netns) as pod:
        _check_pod(pod, expected)


def _check_pod(pod: Rtnl, expected: Expected) -> None:
    index = pod.link_index(expected.ifname)
    if index is None:
        raise CNIError(CHECK_FAILED, f"interface {expected.ifname} is missing in the container")
    link = pod.link(index)
    if expected.mac and link.mac.lower() != expected.mac.lower():
        raise CNIError(CHECK_FAILED, f"{expected.ifname} has MAC {link.mac}, expected {expected.mac}")
    if not link.up:
        raise CNIError(CHECK_FAILED, f"{expected.ifname} is down")
    have = {IPv4Interface(f"{ip}/{plen}") for ip, plen in pod.addresses(index)}
    for want in expected.addresses:
        if want not in have:
            raise CNIError(CHECK_FAILED, f"address {want} is missing on {expected.ifname}")
    routes = {(r.dst, r.gateway) for r in pod.routes() if r.oif in (index, None)}
    for dst, gw in expected.routes:
        if (dst, gw) not in routes:
            raise CNIError(CHECK_FAILED, f"route to {dst} via {gw} is missing in the container")


def collect_veths(host: Rtnl, conf: NetConf, keep: set[str]) -> list[str]:
    """Delete our veths not in ``keep`` (GC): ports of the bridge, and detached ones a DEL left behind."""
    bridge = host.link_by_name(conf.bridge)
    ours = (bridge.index, None) if bridge is not None else (None,)
    doomed = [
        link
        for link in host.links()
        if link.kind == "veth"
        and link.name.startswith(HOST_PREFIX)
        and link.master in ours
        and link.name not in keep
    ]
    for link in doomed:
        host.delete_index(link.index)
    return [link.name for link in doomed]
