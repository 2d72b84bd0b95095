"""The contract between the allocation logic and where reservations live (disk, or memory in tests)."""

from __future__ import annotations

from contextlib import AbstractContextManager
from dataclasses import dataclass
from ipaddress import IPv4Address
from typing import Protocol


@dataclass(frozen=True)
class Attachment:
    """The CNI primary key of a reservation within one network: (container ID, interface name)."""

    container_id: str
    ifname: str


class IpamStore(Protocol):
    def lock(self) -> AbstractContextManager[None]:
        """Exclusive access to the whole network's reservations, across processes."""
        ...

    def reserved_ips(self) -> set[IPv4Address]:
        """The reserved addresses alone: cheaper than ``reservations()`` (no owner reads)."""
        ...

    def owner(self, ip: IPv4Address) -> Attachment | None: ...

    def reservations(self) -> dict[IPv4Address, Attachment]: ...

    def reserve(self, ip: IPv4Address, owner: Attachment) -> bool:
        """Record ``ip`` for ``owner``; False when the address is already taken."""
        ...

    def release(self, ip: IPv4Address) -> None: ...

    def last_reserved(self) -> IPv4Address | None: ...

    def set_last_reserved(self, ip: IPv4Address) -> None: ...

    def writable(self) -> bool: ...
