"""rtnetlink requests batched into one datagram, for the CNI ADD hot path.

The kernel runs every request of a ``send`` in order and acks each, so a pod's veth pair, hairpin
mode, address, link state and route cost two round trips (node side, pod side) instead of seven.
The messages are packed here with ``struct`` — ``pyroute2`` spends ~0.2 ms of Python per message
encoding them, more than the kernel spends doing the work, and the ADD latency budget is a few ms.
Only the handful of fixed-layout messages below are built; everything else (queries, deletes)
stays on ``kernel.netlink`` (pyroute2). Layouts are the stable kernel ABI of linux/rtnetlink.h,
linux/if_link.h and linux/veth.h.

Requests after a failing one still run; ``send`` raises the first error, naming the request.
"""

from __future__ import annotations

import errno
import ipaddress
import os
import socket
import struct
from dataclasses import dataclass

from podnet.kernel import netns

# linux/netlink.h
NLMSG_ERROR = 2
NLM_F_REQUEST, NLM_F_ACK, NLM_F_ECHO, NLM_F_EXCL, NLM_F_CREATE = 0x1, 0x4, 0x8, 0x200, 0x400
NLA_F_NESTED = 0x8000
# linux/rtnetlink.h
RTM_NEWLINK, RTM_DELLINK, RTM_GETLINK, RTM_NEWADDR, RTM_NEWROUTE = 16, 17, 18, 20, 24
RT_TABLE_MAIN, RTPROT_STATIC, RT_SCOPE_UNIVERSE, RTN_UNICAST = 254, 4, 0, 1
RTA_DST, RTA_OIF, RTA_GATEWAY = 1, 4, 5
IFA_ADDRESS, IFA_LOCAL = 1, 2
# linux/if_link.h, linux/veth.h, linux/if.h
IFLA_ADDRESS, IFLA_IFNAME, IFLA_MTU, IFLA_LINK, IFLA_MASTER, IFLA_LINKINFO = 1, 3, 4, 5, 10, 18
IFLA_GROUP, IFLA_NET_NS_FD = 27, 28
IFLA_INFO_KIND, IFLA_INFO_DATA, IFLA_INFO_SLAVE_KIND, IFLA_INFO_SLAVE_DATA = 1, 2, 4, 5
VETH_INFO_PEER = 1
IFLA_BRPORT_MODE = 4
IFF_UP = 0x1

_NLMSGHDR = struct.Struct("=IHHII")
_IFINFOMSG = struct.Struct("=BxHiII")
_IFADDRMSG = struct.Struct("=BBBBI")
_RTMSG = struct.Struct("=BBBBBBBBI")
ACK_TIMEOUT_S = 5.0


def attr(kind: int, payload: bytes) -> bytes:
    size = 4 + len(payload)
    return struct.pack("=HH", size, kind) + payload + b"\0" * (-size % 4)


def nested(kind: int, *children: bytes) -> bytes:
    return attr(kind | NLA_F_NESTED, b"".join(children))


def u32(value: int) -> bytes:
    return struct.pack("=I", value)


def cstr(value: str) -> bytes:
    return value.encode() + b"\0"


def mac(value: str) -> bytes:
    return bytes.fromhex(value.replace(":", ""))


def ifinfomsg(index: int = 0, flags: int = 0, change: int = 0) -> bytes:
    return _IFINFOMSG.pack(socket.AF_UNSPEC, 0, index, flags, change)


class BatchError(OSError):
    """A request of a batch failed; ``request`` is its position (0-based) in the batch."""

    def __init__(self, code: int, message: str, request: int) -> None:
        super().__init__(code, message)
        self.request = request


@dataclass(frozen=True)
class NewLink:
    """A link the kernel echoed back: its index and, for a veth, the peer's index (IFLA_LINK)."""

    index: int
    name: str
    link: int | None
    mtu: int = 0


class RtnlBatch:
    """Build requests, then ``send`` them in one datagram; echoed new links are returned."""

    def __init__(self) -> None:
        self._requests: list[tuple[str, int, int, bytes]] = []  # (what, type, flags, body)

    def __len__(self) -> int:
        return len(self._requests)

    def create_veth(
        self, name: str, mtu: int, master: int, mac_addr: str, peer: str, peer_mac: str, peer_netns_fd: int
    ) -> RtnlBatch:
        """The host end up and enslaved to ``master``; the peer born in the namespace of ``peer_netns_fd``."""
        peer_body = ifinfomsg() + attr(IFLA_IFNAME, cstr(peer)) + attr(IFLA_MTU, u32(mtu))
        peer_body += attr(IFLA_ADDRESS, mac(peer_mac)) + attr(IFLA_NET_NS_FD, u32(peer_netns_fd))
        # VETH_INFO_PEER carries a whole ifinfomsg + attributes, so it is "nested" by layout only
        veth = nested(IFLA_INFO_DATA, attr(VETH_INFO_PEER, peer_body))
        info = nested(IFLA_LINKINFO, attr(IFLA_INFO_KIND, cstr("veth")), veth)
        body = ifinfomsg(0, IFF_UP, IFF_UP) + attr(IFLA_IFNAME, cstr(name)) + attr(IFLA_MTU, u32(mtu))
        body += attr(IFLA_ADDRESS, mac(mac_addr)) + attr(IFLA_MASTER, u32(master)) + info
        flags = NLM_F_CREATE | NLM_F_EXCL | NLM_F_ECHO
        self._requests.append((f"create veth {name} (peer {peer})", RTM_NEWLINK, flags, body))
        return self

    def set_hairpin(self, name: str, on: bool) -> RtnlBatch:
        """Bridge-port hairpin mode on the port named ``name`` (looked up by the kernel, by name)."""
        slave = attr(IFLA_INFO_SLAVE_KIND, cstr("bridge"))
        slave += nested(IFLA_INFO_SLAVE_DATA, attr(IFLA_BRPORT_MODE, bytes([1 if on else 0])))
        body = ifinfomsg() + attr(IFLA_IFNAME, cstr(name)) + nested(IFLA_LINKINFO, slave)
        self._requests.append((f"set hairpin on {name}", RTM_NEWLINK, 0, body))
        return self

    def detach(self, name: str, group: int) -> RtnlBatch:
        """Link ``name`` down, off its bridge and into device ``group``, in one request."""
        body = ifinfomsg(0, 0, IFF_UP) + attr(IFLA_IFNAME, cstr(name))
        body += attr(IFLA_MASTER, u32(0)) + attr(IFLA_GROUP, u32(group))
        self._requests.append((f"detach {name}", RTM_NEWLINK, 0, body))
        return self

    def delete_link(self, name: str) -> RtnlBatch:
        self._requests.append((f"delete {name}", RTM_DELLINK, 0, ifinfomsg() + attr(IFLA_IFNAME, cstr(name))))
        return self

    def add_address(self, index: int, ip: str, prefixlen: int) -> RtnlBatch:
        packed = ipaddress.IPv4Address(ip).packed
        body = _IFADDRMSG.pack(socket.AF_INET, prefixlen, 0, RT_SCOPE_UNIVERSE, index)
        body += attr(IFA_LOCAL, packed) + attr(IFA_ADDRESS, packed)
        self._requests.append((f"add address {ip}/{prefixlen}", RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL, body))
        return self

    def set_up(self, index: int) -> RtnlBatch:
        self._requests.append((f"set link {index} up", RTM_NEWLINK, 0, ifinfomsg(index, IFF_UP, IFF_UP)))
        return self

    def add_route(self, dst: str, gateway: str, oif: int) -> RtnlBatch:
        net = ipaddress.IPv4Network(dst)
        body = _RTMSG.pack(
            socket.AF_INET,
            net.prefixlen,
            0,
            0,
            RT_TABLE_MAIN,
            RTPROT_STATIC,
            RT_SCOPE_UNIVERSE,
            RTN_UNICAST,
            0,
        )
        if net.prefixlen:
            body += attr(RTA_DST, net.network_address.packed)
        body += attr(RTA_GATEWAY, ipaddress.IPv4Address(gateway).packed) + attr(RTA_OIF, u32(oif))
        self._requests.append(
            (f"add route {dst} via {gateway}", RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL, body)
        )
        return self

    def encode(self) -> bytes:
        out = bytearray()
        for seq, (_, kind, flags, body) in enumerate(self._requests, start=1):
            out += _NLMSGHDR.pack(_NLMSGHDR.size + len(body), kind, NLM_F_REQUEST | NLM_F_ACK | flags, seq, 0)
            out += body
        return bytes(out)

    def send(self, netns_path: str | None = None) -> list[NewLink]:
        """Run the batch in the caller's namespace, or the one at ``netns_path``."""
        if netns_path is None:
            sock = socket.socket(socket.AF_NETLINK, socket.SOCK_DGRAM, socket.NETLINK_ROUTE)
        else:
            sock = netns.netlink_socket_in(netns_path)
        try:
            sock.settimeout(ACK_TIMEOUT_S)
            sock.send(self.encode())
            errors, links = _read_replies(sock, len(self._requests))
        finally:
            sock.close()
        for seq in sorted(errors):
            if errors[seq]:
                what = self._requests[seq - 1][0]
                raise BatchError(errors[seq], f"{what}: {os.strerror(errors[seq])}", seq - 1)
        return links


def _read_replies(sock: socket.socket, count: int) -> tuple[dict[int, int], list[NewLink]]:
    """(sequence number -> errno, 0 for success) for ``count`` acks, and the echoed new links."""
    acks: dict[int, int] = {}
    links: list[NewLink] = []
    for _ in range(count * 4):  # bounded: every recv brings at least one message
        if len(acks) >= count:
            break
        buf = sock.recv(65536)
        off = 0
        while off + _NLMSGHDR.size <= len(buf):
            length, kind, _, seq, _ = _NLMSGHDR.unpack_from(buf, off)
            body = buf[off + _NLMSGHDR.size : off + length]
            if kind == NLMSG_ERROR:
                acks[seq] = -struct.unpack_from("=i", body)[0]
            elif kind == RTM_NEWLINK:
                links.append(parse_link(body))
            off += max((length + 3) & ~3, _NLMSGHDR.size)
    if len(acks) < count:
        raise OSError(errno.EPROTO, f"got {len(acks)} of {count} netlink acks")
    return acks, links


def parse_link(body: bytes) -> NewLink:
    """An RTM_NEWLINK body: ifinfomsg, then attributes; only the name, IFLA_LINK and MTU are read."""
    _, _, index, _, _ = _IFINFOMSG.unpack_from(body)
    name, link, mtu = "", None, 0
    off = _IFINFOMSG.size
    while off + 4 <= len(body):
        size, kind = struct.unpack_from("=HH", body, off)
        if size < 4:
            break
        payload = body[off + 4 : off + size]
        if kind == IFLA_IFNAME:
            name = payload.split(b"\0", 1)[0].decode()
        elif kind == IFLA_LINK:
            link = struct.unpack_from("=I", payload)[0]
        elif kind == IFLA_MTU:
            mtu = struct.unpack_from("=I", payload)[0]
        off += (size + 3) & ~3
    return NewLink(index=index, name=name, link=link, mtu=mtu)


def link_by_name(name: str) -> NewLink | None:
    """One link of the caller's namespace by name (None when there is none): one request and one
    reply, parsed for name, index, IFLA_LINK and MTU only. pyroute2 decodes every attribute of the
    reply, ~2 ms of Python, and the CNI ADD path asks for the uplink on every call."""
    body = ifinfomsg() + attr(IFLA_IFNAME, cstr(name))
    msg = _NLMSGHDR.pack(_NLMSGHDR.size + len(body), RTM_GETLINK, NLM_F_REQUEST, 1, 0) + body
    with socket.socket(socket.AF_NETLINK, socket.SOCK_DGRAM, socket.NETLINK_ROUTE) as sock:
        sock.settimeout(ACK_TIMEOUT_S)
        sock.send(msg)
        buf = sock.recv(65536)
    length, kind, _, _, _ = _NLMSGHDR.unpack_from(buf)
    body = buf[_NLMSGHDR.size : length]
    if kind == NLMSG_ERROR:
        code = -struct.unpack_from("=i", body)[0]
        if code == errno.ENODEV:
            return None
        raise OSError(code, f"get link {name}: {os.strerror(code)}")
    if kind != RTM_NEWLINK:
        raise OSError(errno.EPROTO, f"get link {name}: unexpected netlink message type {kind}")
    return parse_link(body)
