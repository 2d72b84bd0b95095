"""Which address to hand out next (pure: no I/O).

Like host-local, the search starts just after the address reserved last and wraps around, so an
address released by a deleted pod is not handed straight to the next one (stale ARP caches and
conntrack entries of the old pod then cannot hit the new one).
"""

from __future__ import annotations

from collections.abc import Iterator, Set
from ipaddress import IPv4Address, IPv4Network


def host_range(subnet: IPv4Network) -> tuple[int, int]:
    """First and last assignable address as integers: the network and broadcast addresses are never handed out."""
    return int(subnet.network_address) + 1, int(subnet.broadcast_address) - 1


def candidates(subnet: IPv4Network, last_reserved: IPv4Address | None) -> Iterator[IPv4Address]:
    """Every host address once, starting after ``last_reserved`` (or at the first one) and wrapping."""
    first, last = host_range(subnet)
    size = last - first + 1
    start = 0
    if last_reserved is not None and first <= int(last_reserved) <= last:
        start = (int(last_reserved) - first + 1) % size
    for i in range(size):
        yield IPv4Address(first + (start + i) % size)


def next_free(
    subnet: IPv4Network,
    gateway: IPv4Address,
    reserved: Set[IPv4Address],
    last_reserved: IPv4Address | None,
) -> IPv4Address | None:
    """The next address to reserve, or None when the range is full."""
    for ip in candidates(subnet, last_reserved):
        if ip != gateway and ip not in reserved:
            return ip
    return None


def free_count(subnet: IPv4Network, gateway: IPv4Address, reserved: Set[IPv4Address]) -> int:
    first, last = host_range(subnet)
    in_range = {ip for ip in reserved if first <= int(ip) <= last and ip != gateway}
    return (last - first + 1) - len(in_range) - (1 if first <= int(gateway) <= last else 0)
