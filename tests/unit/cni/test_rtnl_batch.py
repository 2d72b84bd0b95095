"""The hand-packed rtnetlink messages of the ADD/DEL hot path, decoded back with pyroute2's parsers."""

from __future__ import annotations

import struct
from typing import Any

from pyroute2.netlink.rtnl.ifaddrmsg import ifaddrmsg  # type: ignore[import-untyped]
from pyroute2.netlink.rtnl.ifinfmsg import ifinfmsg  # type: ignore[import-untyped]
from pyroute2.netlink.rtnl.rtmsg import rtmsg  # type: ignore[import-untyped]

from podnet.kernel.rtnl_batch import (
    NLM_F_ACK,
    NLM_F_CREATE,
    NLM_F_ECHO,
    NLM_F_EXCL,
    NLM_F_REQUEST,
    RTM_DELLINK,
    RTM_NEWADDR,
    RTM_NEWLINK,
    RTM_NEWROUTE,
    RtnlBatch,
    attr,
    ifinfomsg,
    parse_link,
)


def split(data: bytes) -> list[tuple[int, int, int, bytes]]:
    """(type, flags, seq, whole message) for each message of a datagram."""
    out, off = [], 0
    while off < len(data):
        length, kind, flags, seq, _ = struct.unpack_from("=IHHII", data, off)
        assert length % 4 == 0 or off + length == len(data)
        out.append((kind, flags, seq, data[off : off + length]))
        off += (length + 3) & ~3
    return out


def decode(cls: Any, raw: bytes) -> Any:
    msg = cls(raw)
    msg.decode()
    return msg


def test_veth_create_and_hairpin() -> None:
    batch = RtnlBatch().create_veth("pnabc", 1450, 7, "02:00:00:00:00:01", "eth0", "02:00:00:00:00:02", 42)
    batch.set_hairpin("pnabc", True)
    [(k1, f1, s1, create), (k2, f2, s2, hairpin)] = split(batch.encode())
    assert (k1, s1, k2, s2) == (RTM_NEWLINK, 1, RTM_NEWLINK, 2)
    assert f1 == NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL | NLM_F_ECHO
    assert f2 == NLM_F_REQUEST | NLM_F_ACK
    msg = decode(ifinfmsg, create)
    assert (msg.get_attr("IFLA_IFNAME"), msg.get_attr("IFLA_MTU"), msg.get_attr("IFLA_MASTER")) == (
        "pnabc",
        1450,
        7,
    )
    assert msg.get_attr("IFLA_ADDRESS") == "02:00:00:00:00:01"
    assert msg["flags"] & 1 and msg["change"] & 1
    info = msg.get_attr("IFLA_LINKINFO")
    assert info.get_attr("IFLA_INFO_KIND") == "veth"
    peer = info.get_attr("IFLA_INFO_DATA").get_attr("VETH_INFO_PEER")
    assert (peer.get_attr("IFLA_IFNAME"), peer.get_attr("IFLA_NET_NS_FD")) == ("eth0", 42)
    assert peer.get_attr("IFLA_ADDRESS") == "02:00:00:00:00:02"
    slave = decode(ifinfmsg, hairpin).get_attr("IFLA_LINKINFO")
    assert slave.get_attr("IFLA_INFO_SLAVE_KIND") == "bridge"
    assert slave.get_attr("IFLA_INFO_SLAVE_DATA").get_attr("IFLA_BRPORT_MODE") == 1


def test_pod_side_requests() -> None:
    batch = (
        RtnlBatch()
        .add_address(2, "10.244.1.7", 24)
        .set_up(2)
        .set_up(1)
        .add_route("0.0.0.0/0", "10.244.1.1", 2)
    )
    msgs = split(batch.encode())
    assert [(k, s) for k, _, s, _ in msgs] == [
        (RTM_NEWADDR, 1),
        (RTM_NEWLINK, 2),
        (RTM_NEWLINK, 3),
        (RTM_NEWROUTE, 4),
    ]
    addr = decode(ifaddrmsg, msgs[0][3])
    assert (addr["index"], addr["prefixlen"], addr.get_attr("IFA_LOCAL")) == (2, 24, "10.244.1.7")
    up = decode(ifinfmsg, msgs[2][3])
    assert (up["index"], up["flags"], up["change"]) == (1, 1, 1)
    route = decode(rtmsg, msgs[3][3])
    assert (route["dst_len"], route["table"], route.get_attr("RTA_DST")) == (0, 254, None)
    assert (route.get_attr("RTA_GATEWAY"), route.get_attr("RTA_OIF")) == ("10.244.1.1", 2)
    specific = decode(rtmsg, split(RtnlBatch().add_route("10.0.0.0/8", "10.244.1.1", 2).encode())[0][3])
    assert (specific["dst_len"], specific.get_attr("RTA_DST")) == (8, "10.0.0.0")


def test_detach_and_delete_by_name() -> None:
    [(kind, _, _, raw)] = split(RtnlBatch().detach("pnabc", 0x706E).encode())
    msg = decode(ifinfmsg, raw)
    assert (kind, msg["index"], msg["flags"], msg["change"]) == (RTM_NEWLINK, 0, 0, 1)
    assert (msg.get_attr("IFLA_IFNAME"), msg.get_attr("IFLA_MASTER"), msg.get_attr("IFLA_GROUP")) == (
        "pnabc",
        0,
        0x706E,
    )
    [(kind, _, _, raw)] = split(RtnlBatch().delete_link("pnabc").encode())
    assert kind == RTM_DELLINK and decode(ifinfmsg, raw).get_attr("IFLA_IFNAME") == "pnabc"


def test_parse_echoed_link() -> None:
    body = (
        ifinfomsg(index=9)
        + attr(3, b"pnabc\0")
        + attr(5, struct.pack("=I", 2))
        + attr(4, struct.pack("=I", 1500))
    )
    link = parse_link(body)
    assert (link.index, link.name, link.link, link.mtu) == (9, "pnabc", 2, 1500)
