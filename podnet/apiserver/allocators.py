"""ClusterIP and NodePort allocation, done inside the API server as Kubernetes does.

Allocation must happen synchronously with the write so that a conflicting
request is refused with 422 at create time ("provided port is already
allocated"); a controller could only notice afterwards. The allocated sets
are not persisted separately: they are rebuilt from the stored Services at
start (what Kubernetes' repair controllers guarantee for its bitmaps), so the
Services themselves are the single source of truth and nothing can leak
across restarts.

Dynamic allocations prefer the upper part of a range, leaving the lower
"static band" for users who pick addresses by hand (KEP-3070 / KEP-3668).
"""

from __future__ import annotations

import ipaddress
import random
from dataclasses import dataclass, field


class AllocationError(Exception):
    """Base: ``detail`` is Kubernetes' wording, without the field path."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class OutOfRange(AllocationError):
    pass


class AlreadyAllocated(AllocationError):
    pass


class RangeFull(AllocationError):
    pass


def _static_band(size: int) -> int:
    """KEP-3070: min(max(16, size/16), 256) addresses reserved for static use."""
    return min(max(16, size // 16), 256)


@dataclass
class IPAllocator:
    """Allocates single IPv4 addresses out of a service CIDR.

    The network address and (for ranges larger than /31) the broadcast address
    are never handed out, as in Kubernetes.
    """

    cidr: ipaddress.IPv4Network
    rng: random.Random = field(default_factory=random.Random)
    used: set[int] = field(default_factory=set)

    def __post_init__(self) -> None:
        first = int(self.cidr.network_address)
        last = int(self.cidr.broadcast_address)
        if self.cidr.num_addresses > 2:
            first, last = first + 1, last - 1
        self._first, self._last = first, last
        self._band_end = min(self._first + _static_band(self.size), self._last)

    @property
    def size(self) -> int:
        return self._last - self._first + 1

    def free(self) -> int:
        return self.size - len(self.used)

    def _out_of_range(self, ip: str) -> OutOfRange:
        return OutOfRange(
            f"the provided IP ({ip}) is not in the valid range. The range of valid IPs is {self.cidr}"
        )

    def allocate(self, ip: str) -> None:
        """Claim a specific address the user asked for."""
        try:
            value = int(ipaddress.IPv4Address(ip))
        except ValueError as exc:
            raise self._out_of_range(ip) from exc
        if not self._first <= value <= self._last:
            raise self._out_of_range(ip)
        if value in self.used:
            raise AlreadyAllocated("provided IP is already allocated")
        self.used.add(value)

    def allocate_next(self) -> str:
        """A free address, from the dynamic band first, then the static band."""
        for lo, hi in ((self._band_end, self._last), (self._first, self._band_end - 1)):
            value = self._pick(lo, hi)
            if value is not None:
                self.used.add(value)
                return str(ipaddress.IPv4Address(value))
        raise RangeFull("range is full")

    def _pick(self, lo: int, hi: int) -> int | None:
        if hi < lo:
            return None
        span = hi - lo + 1
        start = self.rng.randrange(span)
        # A random start then a linear scan: O(1) expected while the range is
        # sparse, bounded by ``span`` when it is nearly full.
        for i in range(span):
            value = lo + (start + i) % span
            if value not in self.used:
                return value
        return None

    def release(self, ip: str) -> None:
        try:
            self.used.discard(int(ipaddress.IPv4Address(ip)))
        except ValueError:
            pass

    def contains(self, ip: str) -> bool:
        try:
            return self._first <= int(ipaddress.IPv4Address(ip)) <= self._last
        except ValueError:
            return False


@dataclass
class PortAllocator:
    """Allocates NodePorts (and healthCheckNodePorts) out of a port range."""

    base: int = 30000
    last: int = 32767
    rng: random.Random = field(default_factory=random.Random)
    used: set[int] = field(default_factory=set)

    @property
    def size(self) -> int:
        return self.last - self.base + 1

    def _band_end(self) -> int:
        return min(self.base + _static_band(self.size), self.last)

    def allocate(self, port: int) -> None:
        if not self.base <= port <= self.last:
            raise OutOfRange(
                "provided port is not in the valid range. "
                f"The range of valid ports is {self.base}-{self.last}"
            )
        if port in self.used:
            raise AlreadyAllocated("provided port is already allocated")
        self.used.add(port)

    def allocate_next(self) -> int:
        band = self._band_end()
        for lo, hi in ((band, self.last), (self.base, band - 1)):
            if hi < lo:
                continue
            span = hi - lo + 1
            start = self.rng.randrange(span)
            for i in range(span):
                port = lo + (start + i) % span
                if port not in self.used:
                    self.used.add(port)
                    return port
        raise RangeFull("range is full")

    def release(self, port: int) -> None:
        self.used.discard(port)


def parse_port_range(text: str) -> tuple[int, int]:
    """``30000-32767`` → (30000, 32767); a clear ValueError otherwise."""
    try:
        lo_s, hi_s = text.split("-", 1)
        lo, hi = int(lo_s), int(hi_s)
    except ValueError as exc:
        raise ValueError(f"invalid port range {text!r}: want LOW-HIGH, e.g. 30000-32767") from exc
    if not 1 <= lo <= hi <= 65535:
        raise ValueError(f"invalid port range {text!r}: need 1 <= LOW <= HIGH <= 65535")
    return lo, hi
