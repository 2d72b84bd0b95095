"""An in-memory ``LabKernel`` for unit tests: namespaces, links, addresses, routes, sysctls and files.

It answers like the kernel where build and teardown depend on it: acting in a namespace that does
not exist fails, deleting a namespace takes the peers of its veths with it, creating what exists is
EEXIST unless the real adapter tolerates it. ``fail`` lets a test make any call fail.
"""

from __future__ import annotations

import errno
from collections.abc import Callable
from dataclasses import dataclass, field

from podnet.lab.kernel import LinkInfo


@dataclass
class FakeLink:
    kind: str
    up: bool = False
    master: str | None = None
    addresses: list[str] = field(default_factory=list)
    peer: tuple[str, str] | None = None  # (namespace, ifname)


@dataclass
class FakeLabKernel:
    namespaces: dict[str, dict[str, FakeLink]] = field(default_factory=dict)
    routes: dict[str, dict[str, str]] = field(default_factory=dict)
    sysctls: dict[tuple[str, str], str] = field(default_factory=dict)
    files: dict[str, str] = field(default_factory=dict)
    calls: list[tuple[str, tuple[str, ...]]] = field(default_factory=list)
    fail: Callable[[str, tuple[str, ...]], None] | None = None
    closed: bool = False

    def _call(self, name: str, *args: str) -> None:
        self.calls.append((name, args))
        if self.fail is not None:
            self.fail(name, args)

    def _ns(self, ns: str) -> dict[str, FakeLink]:
        if ns not in self.namespaces:
            raise FileNotFoundError(errno.ENOENT, "no such network namespace", ns)
        return self.namespaces[ns]

    def _link(self, ns: str, ifname: str) -> FakeLink:
        links = self._ns(ns)
        if ifname not in links:
            raise FileNotFoundError(errno.ENODEV, f"no link {ifname}", ns)
        return links[ifname]

    def mount_tmpfs(self, path: str) -> None:
        self._call("mount_tmpfs", path)

    def list_netns(self) -> list[str]:
        return sorted(self.namespaces)

    def create_netns(self, ns: str) -> None:
        self._call("create_netns", ns)
        if ns in self.namespaces:
            raise FileExistsError(errno.EEXIST, "namespace exists", ns)
        self.namespaces[ns] = {"lo": FakeLink("loopback")}

    def delete_netns(self, ns: str) -> None:
        self._call("delete_netns", ns)
        for link in self.namespaces.pop(ns, {}).values():
            if link.peer is not None and link.peer[0] in self.namespaces:
                self.namespaces[link.peer[0]].pop(link.peer[1], None)
        self.routes.pop(ns, None)

    def link_up(self, ns: str, ifname: str) -> None:
        self._call("link_up", ns, ifname)
        self._link(ns, ifname).up = True

    def create_bridge(self, ns: str, ifname: str) -> None:
        self._call("create_bridge", ns, ifname)
        self._ns(ns).setdefault(ifname, FakeLink("bridge"))

    def create_veth(self, ns: str, ifname: str, peer_ns: str, peer_ifname: str) -> None:
        self._call("create_veth", ns, ifname, peer_ns, peer_ifname)
        here, there = self._ns(ns), self._ns(peer_ns)
        if ifname in here or peer_ifname in there:
            return
        here[ifname] = FakeLink("veth", peer=(peer_ns, peer_ifname))
        there[peer_ifname] = FakeLink("veth", peer=(ns, ifname))

    def attach_to_bridge(self, ns: str, ifname: str, bridge: str) -> None:
        self._call("attach_to_bridge", ns, ifname, bridge)
        if self._link(ns, bridge).kind != "bridge":
            raise OSError(errno.EOPNOTSUPP, f"{bridge} is not a bridge", ns)
        self._link(ns, ifname).master = bridge

    def add_address(self, ns: str, ifname: str, address: str) -> None:
        self._call("add_address", ns, ifname, address)
        link = self._link(ns, ifname)
        if address not in link.addresses:
            link.addresses.append(address)

    def add_route(self, ns: str, dst: str, gateway: str) -> None:
        self._call("add_route", ns, dst, gateway)
        self._ns(ns)
        self.routes.setdefault(ns, {})[dst] = gateway

    def set_sysctl(self, ns: str, key: str, value: str) -> None:
        self._call("set_sysctl", ns, key, value)
        self._ns(ns)
        self.sysctls[(ns, key)] = value

    def write_file(self, path: str, content: str) -> None:
        self._call("write_file", path)
        self.files[path] = content

    def links(self, ns: str) -> list[LinkInfo]:
        return [
            LinkInfo(name, "UP" if link.up else "DOWN", tuple(link.addresses), link.master)
            for name, link in sorted(self._ns(ns).items())
        ]

    def close(self) -> None:
        self.closed = True
