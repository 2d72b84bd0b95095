"""The kernel seam of the lab: ``LabKernel`` (what build and status need) and its netlink implementation.

Every call names the namespace it acts in. ``NetlinkLabKernel`` opens one rtnetlink socket per
namespace through pyroute2 and checks, with the SIOCGSKNS ioctl, that the socket really lives in that
namespace before using it: pyroute2 0.9's plain ``IPRoute()`` opens its socket lazily on its own
thread, in the *process* namespace, so a socket made any other way could act on the host.
"""

from __future__ import annotations

import errno
import fcntl
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from podnet.lab import netns

if TYPE_CHECKING:
    from pyroute2 import IPRoute  # type: ignore[import-untyped]

SIOCGSKNS = 0x894C  # linux/sockios.h: an fd for the socket's network namespace


@dataclass(frozen=True)
class LinkInfo:
    ifname: str
    operstate: str
    addresses: tuple[str, ...]  # "172.18.0.3/16"
    master: str | None


class LabKernel(Protocol):
    def list_netns(self) -> list[str]: ...
    def create_netns(self, ns: str) -> None: ...
    def delete_netns(self, ns: str) -> None: ...
    def link_up(self, ns: str, ifname: str) -> None: ...
    def create_bridge(self, ns: str, ifname: str) -> None: ...
    def create_veth(self, ns: str, ifname: str, peer_ns: str, peer_ifname: str) -> None: ...
    def attach_to_bridge(self, ns: str, ifname: str, bridge: str) -> None: ...
    def add_address(self, ns: str, ifname: str, address: str) -> None: ...
    def add_route(self, ns: str, dst: str, gateway: str) -> None: ...
    def set_sysctl(self, ns: str, key: str, value: str) -> None: ...
    def write_file(self, path: str, content: str) -> None: ...
    def mount_tmpfs(self, path: str) -> None: ...
    def links(self, ns: str) -> list[LinkInfo]: ...
    def close(self) -> None: ...


def write_file_atomic(path: str, content: str) -> None:
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    tmp = p.with_name(f".{p.name}.tmp")
    tmp.write_text(content, encoding="utf-8")
    os.replace(tmp, p)


def sysctl_path(key: str) -> str:
    parts = key.split(".")
    if not all(parts) or any(p in ("..", ".") or "/" in p for p in parts):
        raise ValueError(f"bad sysctl key {key!r}")
    return "/proc/sys/" + "/".join(parts)


class NetlinkLabKernel:
    """``LabKernel`` over pyroute2, one verified rtnetlink socket per namespace."""

    def __init__(self) -> None:
        self._sockets: dict[str, IPRoute] = {}

    def close(self) -> None:
        for ipr in self._sockets.values():
            ipr.close()
        self._sockets.clear()

    def _ipr(self, ns: str) -> IPRoute:
        ipr = self._sockets.get(ns)
        if ipr is None:
            ipr = self._open(ns)
            self._sockets[ns] = ipr
        return ipr

    @staticmethod
    def _open(ns: str) -> IPRoute:
        from pyroute2 import IPRoute  # 0.2 s to import: paid only when links are touched

        want = netns.netns_inode(ns)
        if want is None:
            raise FileNotFoundError(errno.ENOENT, "no such network namespace", ns)
        ipr = IPRoute(netns=str(netns.netns_path(ns)), flags=0)
        nsfd = fcntl.ioctl(ipr.fileno(), SIOCGSKNS)
        try:
            got = os.fstat(nsfd).st_ino
        finally:
            os.close(nsfd)
        if got != want:
            ipr.close()
            raise OSError(errno.EPERM, "netlink socket is not in the namespace it was opened for", ns)
        return ipr

    def _index(self, ns: str, ifname: str) -> int:
        found = self._ipr(ns).link_lookup(ifname=ifname)
        if not found:
            raise FileNotFoundError(errno.ENODEV, f"no link {ifname} in namespace", ns)
        return int(found[0])

    def list_netns(self) -> list[str]:
        return netns.list_netns()

    def create_netns(self, ns: str) -> None:
        netns.create_netns(ns)

    def delete_netns(self, ns: str) -> None:
        sock = self._sockets.pop(ns, None)
        if sock is not None:
            sock.close()
        netns.delete_netns(ns)

    def link_up(self, ns: str, ifname: str) -> None:
        self._ipr(ns).link("set", index=self._index(ns, ifname), state="up")

    def create_bridge(self, ns: str, ifname: str) -> None:
        _tolerate_exists(lambda: self._ipr(ns).link("add", ifname=ifname, kind="bridge"))

    def create_veth(self, ns: str, ifname: str, peer_ns: str, peer_ifname: str) -> None:
        """Create the pair inside ``ns`` with the peer born in ``peer_ns``: never in the host namespace."""
        fd = os.open(netns.netns_path(peer_ns), os.O_RDONLY)
        try:
            peer = {"ifname": peer_ifname, "net_ns_fd": fd}
            _tolerate_exists(lambda: self._ipr(ns).link("add", ifname=ifname, kind="veth", peer=peer))
        finally:
            os.close(fd)

    def attach_to_bridge(self, ns: str, ifname: str, bridge: str) -> None:
        self._ipr(ns).link("set", index=self._index(ns, ifname), master=self._index(ns, bridge))

    def add_address(self, ns: str, ifname: str, address: str) -> None:
        ip, _, prefix = address.partition("/")
        index = self._index(ns, ifname)
        _tolerate_exists(lambda: self._ipr(ns).addr("add", index=index, address=ip, prefixlen=int(prefix)))

    def add_route(self, ns: str, dst: str, gateway: str) -> None:
        self._ipr(ns).route("replace", dst=dst, gateway=gateway)

    def set_sysctl(self, ns: str, key: str, value: str) -> None:
        path = sysctl_path(key)

        def write() -> None:
            with open(path, "w", encoding="ascii") as f:
                f.write(value)

        netns.run_in_netns(ns, write)

    def mount_tmpfs(self, path: str) -> None:
        netns.mount_tmpfs(path)

    def write_file(self, path: str, content: str) -> None:
        write_file_atomic(path, content)

    def links(self, ns: str) -> list[LinkInfo]:
        ipr = self._ipr(ns)
        names = {int(link["index"]): str(link.get("ifname")) for link in ipr.get_links()}
        addrs: dict[int, list[str]] = {}
        for a in ipr.get_addr():
            addrs.setdefault(int(a["index"]), []).append(f"{a.get('address')}/{a['prefixlen']}")
        return [_link_info(link, names, addrs) for link in ipr.get_links()]


def _link_info(link: Any, names: dict[int, str], addrs: dict[int, list[str]]) -> LinkInfo:
    master = link.get("master")
    return LinkInfo(
        ifname=str(link.get("ifname")),
        operstate=str(link.get("operstate")),
        addresses=tuple(addrs.get(int(link["index"]), [])),
        master=names.get(int(master)) if master else None,
    )


def _tolerate_exists(call: Any) -> None:
    """Idempotent create: an object that is already there is what we wanted."""
    from pyroute2 import NetlinkError

    try:
        call()
    except NetlinkError as exc:
        if exc.code != errno.EEXIST:
            raise
