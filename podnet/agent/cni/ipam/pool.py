"""Allocation over an ``IpamStore``: reserve, release, garbage-collect, report readiness.

Every operation holds the store's lock for its whole read-modify-write, so concurrent ADDs from
many processes never pick the same address. The hot paths read directory names only: ADD needs
just the set of taken addresses, and DEL first tries the addresses the runtime's ``prevResult``
names before it falls back to reading every owner.
"""

from __future__ import annotations

from collections.abc import Iterable
from ipaddress import IPv4Address, IPv4Network

from podnet.agent.cni.errors import ADDRESSES_EXHAUSTED, CNIError
from podnet.agent.cni.ipam.allocator import free_count, next_free
from podnet.agent.cni.ipam.store import Attachment, IpamStore

MAX_RACES = 16  # reserve() losing to a writer that ignores the lock: bounded, then give up


def allocate(store: IpamStore, subnet: IPv4Network, gateway: IPv4Address, owner: Attachment) -> IPv4Address:
    """Reserve the next free address for ``owner``; code 101 when the range is full."""
    with store.lock():
        taken = store.reserved_ips()
        last = store.last_reserved()
        for _ in range(MAX_RACES):
            ip = next_free(subnet, gateway, taken, last)
            if ip is None:
                raise CNIError(ADDRESSES_EXHAUSTED, f"no IP addresses available in {subnet}")
            if store.reserve(ip, owner):
                store.set_last_reserved(ip)
                return ip
            taken.add(ip)
        raise CNIError(ADDRESSES_EXHAUSTED, f"could not reserve an address in {subnet}: files keep appearing")


def release(store: IpamStore, owner: Attachment, hints: Iterable[IPv4Address] = ()) -> list[IPv4Address]:
    """Release what ``owner`` holds (nothing is fine: DEL is idempotent); the addresses freed.

    ``hints`` (from prevResult) are checked first; only when none of them is the owner's does it
    read every reservation, which also catches a second address left by an ADD that crashed.
    """
    with store.lock():
        freed = [ip for ip in hints if store.owner(ip) == owner]
        if not freed:
            freed = [ip for ip, who in store.reservations().items() if who == owner]
        for ip in freed:
            store.release(ip)
    return freed


def reserved_for(store: IpamStore, owner: Attachment) -> list[IPv4Address]:
    return [ip for ip, who in store.reservations().items() if who == owner]


def collect_garbage(store: IpamStore, valid: Iterable[Attachment]) -> list[Attachment]:
    """Release every reservation whose owner is not in ``valid`` (CNI GC); the owners released."""
    keep = set(valid)
    with store.lock():
        stale = {
            ip: who
            for ip, who in store.reservations().items()
            if who not in keep and Attachment(who.container_id, "") not in keep  # no ifname: all of them
        }
        for ip in stale:
            store.release(ip)
    return sorted(set(stale.values()), key=lambda a: (a.container_id, a.ifname))


def free_addresses(store: IpamStore, subnet: IPv4Network, gateway: IPv4Address) -> int:
    return free_count(subnet, gateway, store.reserved_ips())
