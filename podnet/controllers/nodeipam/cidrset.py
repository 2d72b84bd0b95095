"""Subnets of the cluster CIDR handed out one per node: pure bookkeeping, like Kubernetes' cidrset."""

from __future__ import annotations

import ipaddress


class CIDRSet:
    """Every ``/mask`` subnet of ``cluster_cidr``, lowest free first."""

    def __init__(self, cluster_cidr: str, mask: int) -> None:
        self.network = ipaddress.ip_network(cluster_cidr, strict=False)
        if mask < self.network.prefixlen or mask > self.network.max_prefixlen:
            raise ValueError(f"node CIDR mask /{mask} does not fit in cluster CIDR {self.network}")
        if mask - self.network.prefixlen > 20:
            raise ValueError(f"/{mask} in {self.network} would be more than 2^20 node CIDRs")
        self.mask = mask
        self.size = 2 ** (mask - self.network.prefixlen)
        self._step = 2 ** (self.network.max_prefixlen - mask)
        self._used: set[int] = set()
        self._next = 0

    def _index(self, cidr: str) -> int | None:
        try:
            net = ipaddress.ip_network(cidr, strict=False)
        except ValueError:
            return None
        if net.prefixlen != self.mask or net.version != self.network.version:
            return None
        if not net.subnet_of(self.network):  # type: ignore[arg-type]
            return None
        return int((int(net.network_address) - int(self.network.network_address)) // self._step)

    def _cidr(self, index: int) -> str:
        addr = ipaddress.ip_address(int(self.network.network_address) + index * self._step)
        return f"{addr}/{self.mask}"

    def occupy(self, cidr: str) -> bool:
        """Mark a CIDR some node already has; False if it is not one of ours."""
        index = self._index(cidr)
        if index is None:
            return False
        self._used.add(index)
        return True

    def release(self, cidr: str) -> None:
        index = self._index(cidr)
        if index is not None:
            self._used.discard(index)

    def allocate(self) -> str | None:
        """The next free CIDR (searching round-robin from the last one given), or None when exhausted."""
        for offset in range(self.size):
            index = (self._next + offset) % self.size
            if index not in self._used:
                self._used.add(index)
                self._next = (index + 1) % self.size
                return self._cidr(index)
        return None

    def in_use(self) -> int:
        return len(self._used)
