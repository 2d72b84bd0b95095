"""rtnetlink over pyroute2: the link, address and route calls podnet makes, with plain ``OSError``s.

``Rtnl`` wraps one pyroute2 ``IPRoute`` bound to one namespace: the caller's own (``open_rtnl()``)
or another one (``open_rtnl(netns_path)``, whose socket is made by ``kernel.netns`` on a thread that
joined it). pyroute2 costs about 0.2 s to import, so it is imported on first use, never at module
load: the CNI client imports nothing from here.

Netlink errors come back as ``OSError(errno, message)`` so callers test ``exc.errno`` against the
``errno`` module and never import pyroute2 themselves. The few hot-path writes of CNI ADD and DEL
are batched by ``kernel.rtnl_batch`` instead.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

from podnet.kernel import netns

T = TypeVar("T")
LOOPBACK_IFINDEX = 1  # the kernel registers lo first in every namespace, always as index 1


@dataclass(frozen=True)
class Link:
    index: int
    name: str
    kind: str  # "bridge", "veth", "" when the kernel reports none (lo, physical)
    mtu: int
    mac: str
    master: int | None
    up: bool


@dataclass(frozen=True)
class Route:
    dst: str  # "0.0.0.0/0" for the default route
    gateway: str | None
    oif: int | None


def _call(fn: Callable[[], T]) -> T:
    """Run a pyroute2 call, turning ``NetlinkError`` into ``OSError`` with the same errno."""
    from pyroute2 import NetlinkError  # type: ignore[import-untyped]

    try:
        return fn()
    except NetlinkError as exc:
        raise OSError(exc.code, os.strerror(exc.code) if exc.code > 0 else str(exc)) from None


class Rtnl:
    """One rtnetlink socket in one namespace; use as a context manager or call ``close()``."""

    def __init__(self, ipr: Any) -> None:
        self._ipr = ipr

    def close(self) -> None:
        self._ipr.close()

    def __enter__(self) -> Rtnl:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # links
    def link_index(self, name: str) -> int | None:
        found = _call(lambda: self._ipr.link_lookup(ifname=name))
        return int(found[0]) if found else None

    def link(self, index: int) -> Link:
        return _to_link(_call(lambda: self._ipr.get_links(index))[0])

    def link_by_name(self, name: str) -> Link | None:
        try:
            msgs = _call(lambda: self._ipr.get_links(ifname=name))
        except OSError as exc:
            if exc.errno == errno.ENODEV:
                return None
            raise
        return _to_link(msgs[0]) if msgs else None

    def links(self) -> list[Link]:
        return [_to_link(m) for m in _call(lambda: self._ipr.get_links())]

    def create_bridge(self, name: str, mtu: int, mac: str) -> None:
        """A bridge with a fixed MAC: left to itself, the kernel gives it the lowest port MAC, which
        changes as pods come and go and strands the pods' ARP entries for their gateway."""
        _call(lambda: self._ipr.link("add", ifname=name, kind="bridge", mtu=mtu, address=mac))

    def set_up(self, index: int) -> None:
        _call(lambda: self._ipr.link("set", index=index, state="up"))

    def delete_group(self, group: int) -> None:
        """Delete every link in device group ``group`` as one kernel batch (~17 ms for 1 or 10 links).

        Group 0 is the default group of every device: refusing it keeps this from deleting everything.
        """
        if group <= 0:
            raise ValueError("refusing to delete the default device group")
        try:
            _call(lambda: self._ipr.link("del", index=0, group=group))
        except OSError as exc:
            if exc.errno != errno.ENODEV:  # an empty group
                raise

    def delete_link(self, name: str) -> bool:
        """Delete a link by name; False when there was none."""
        index = self.link_index(name)
        return index is not None and self.delete_index(index)

    def delete_index(self, index: int) -> bool:
        """Delete a link by index (indexes are not reused soon, unlike names); False when it was gone."""
        try:
            _call(lambda: self._ipr.link("del", index=index))
        except OSError as exc:
            if exc.errno != errno.ENODEV:
                raise
            return False
        return True

    # addresses
    def addresses(self, index: int) -> list[tuple[str, int]]:
        msgs = _call(lambda: self._ipr.get_addr(index=index, family=2))
        return [(str(m.get_attr("IFA_ADDRESS")), int(m["prefixlen"])) for m in msgs]

    def add_address(self, index: int, ip: str, prefixlen: int) -> None:
        _call(lambda: self._ipr.addr("add", index=index, address=ip, prefixlen=prefixlen))

    # routes (IPv4, main table)
    def routes(self) -> list[Route]:
        msgs = _call(lambda: self._ipr.get_routes(family=2, table=254))
        out = []
        for m in msgs:
            dst = m.get_attr("RTA_DST")
            out.append(
                Route(
                    dst=f"{dst or '0.0.0.0'}/{m['dst_len']}",
                    gateway=m.get_attr("RTA_GATEWAY"),
                    oif=m.get_attr("RTA_OIF"),
                )
            )
        return out

    def add_route(self, dst: str, gateway: str, oif: int) -> None:
        _call(lambda: self._ipr.route("add", dst=dst, gateway=gateway, oif=oif))


def _to_link(msg: Any) -> Link:
    info = msg.get_attr("IFLA_LINKINFO")
    kind = info.get_attr("IFLA_INFO_KIND") if info is not None else None
    master = msg.get_attr("IFLA_MASTER")
    return Link(
        index=int(msg["index"]),
        name=str(msg.get_attr("IFLA_IFNAME")),
        kind=str(kind or ""),
        mtu=int(msg.get_attr("IFLA_MTU") or 0),
        mac=str(msg.get_attr("IFLA_ADDRESS") or ""),
        master=int(master) if master else None,
        up=bool(msg["flags"] & 1),
    )


def open_rtnl(netns_path: str | None = None) -> Rtnl:
    """An ``Rtnl`` in the caller's namespace, or in the namespace at ``netns_path``."""
    from pyroute2 import IPRoute

    if netns_path is None:
        # no multicast subscriptions (a kept handle must not queue events); echo, for new ifindexes
        return Rtnl(IPRoute(groups=0, nlm_echo=True))
    sock = netns.netlink_socket_in(netns_path)
    try:
        return Rtnl(IPRoute(use_socket=sock))
    except BaseException:
        sock.close()
        raise


@contextmanager
def rtnl(netns_path: str | None = None) -> Iterator[Rtnl]:
    handle = open_rtnl(netns_path)
    try:
        yield handle
    finally:
        handle.close()
