"""LoadBalancer IP pools: CIDRs or "first-last" ranges, with who holds which address. Pure bookkeeping."""

from __future__ import annotations

import ipaddress

IP = ipaddress.IPv4Address | ipaddress.IPv6Address


def parse_pool(spec: str) -> list[tuple[IP, IP]]:
    """Ranges from "10.0.0.0/24", "10.0.0.10-10.0.0.20" or a comma-separated mix."""
    out: list[tuple[IP, IP]] = []
    for part in (p.strip() for p in spec.split(",")):
        if not part:
            continue
        if "-" in part:
            lo, hi = part.split("-", 1)
            first, last = ipaddress.ip_address(lo.strip()), ipaddress.ip_address(hi.strip())
            if first.version != last.version or int(last) < int(first):
                raise ValueError(f"range {part!r} ends before it starts")
        else:
            net = ipaddress.ip_network(part, strict=False)
            edge = 1 if net.num_addresses > 2 else 0  # skip network and broadcast addresses
            first = ipaddress.ip_address(int(net.network_address) + edge)
            last = ipaddress.ip_address(int(net.broadcast_address) - edge)
        out.append((first, last))
    return out


class Pool:
    def __init__(self, specs: list[str]) -> None:
        self.ranges = [r for spec in specs for r in parse_pool(spec)]
        self._owner: dict[str, str] = {}  # ip → service key
        self._by_service: dict[str, str] = {}

    def contains(self, ip: str) -> bool:
        try:
            addr = ipaddress.ip_address(ip)
        except ValueError:
            return False
        return any(first.version == addr.version and first <= addr <= last for first, last in self.ranges)  # type: ignore[operator]

    def owner(self, ip: str) -> str | None:
        return self._owner.get(ip)

    def held_by(self, service: str) -> str | None:
        return self._by_service.get(service)

    def assign(self, service: str, ip: str) -> bool:
        """Give ``ip`` to ``service`` if it is in the pool and free (or already the service's)."""
        if not self.contains(ip) or self._owner.get(ip, service) != service:
            return False
        self.release(service)
        self._owner[ip], self._by_service[service] = service, ip
        return True

    def allocate(self, service: str) -> str | None:
        """The lowest free address, or None when the pool is exhausted."""
        for first, last in self.ranges:
            for n in range(int(first), int(last) + 1):
                ip = str(ipaddress.ip_address(n))
                if ip not in self._owner:
                    self.assign(service, ip)
                    return ip
        return None

    def release(self, service: str) -> None:
        ip = self._by_service.pop(service, None)
        if ip is not None:
            self._owner.pop(ip, None)
