"""A userspace ARP responder for LoadBalancer IPs, as MetalLB's layer-2 mode does.

The IP is never assigned to an interface: this node answers ARP requests for it (so the outside
world sends its frames here) and the proxy's prerouting NAT takes the packets from there. When the
agent dies, the answers stop with it, and the node that takes the IP over announces itself with
gratuitous ARP, so clients switch within a second instead of waiting for their ARP cache to expire.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import socket
import struct

log = logging.getLogger(__name__)
ETH_P_ARP = 0x0806
BROADCAST = b"\xff" * 6


def arp_frame(op: int, src_mac: bytes, src_ip: str, dst_mac: bytes, dst_ip: str, eth_dst: bytes) -> bytes:
    """An Ethernet frame carrying one ARP packet (IPv4 over Ethernet)."""
    eth = eth_dst + src_mac + struct.pack("!H", ETH_P_ARP)
    arp = struct.pack("!HHBBH", 1, 0x0800, 6, 4, op) + src_mac + ipaddress.IPv4Address(src_ip).packed
    arp += dst_mac + ipaddress.IPv4Address(dst_ip).packed
    return eth + arp


def parse_request(frame: bytes) -> tuple[bytes, str, str] | None:
    """(sender MAC, sender IP, target IP) of an ARP request, or None for anything else."""
    if len(frame) < 42 or frame[12:14] != b"\x08\x06":
        return None
    htype, ptype, hlen, plen, op = struct.unpack("!HHBBH", frame[14:22])
    if (htype, ptype, hlen, plen, op) != (1, 0x0800, 6, 4, 1):
        return None
    sha, spa, tpa = frame[22:28], frame[28:32], frame[38:42]
    return sha, str(ipaddress.IPv4Address(spa)), str(ipaddress.IPv4Address(tpa))


class ArpResponder:
    """Answers for ``self.ips`` on one interface of the current network namespace."""

    def __init__(self, ifname: str) -> None:
        self.ifname = ifname
        self.ips: set[str] = set()
        self.sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ARP))
        self.sock.bind((ifname, ETH_P_ARP))
        self.sock.setblocking(False)
        self.mac: bytes = self.sock.getsockname()[4][:6]
        asyncio.get_running_loop().add_reader(self.sock.fileno(), self._readable)

    def _readable(self) -> None:
        for _ in range(64):  # bounded per wake-up
            try:
                frame = self.sock.recv(2048)
            except BlockingIOError:
                return
            req = parse_request(frame)
            if req is None:
                continue
            sha, spa, tpa = req
            if tpa in self.ips:
                self._send(arp_frame(2, self.mac, tpa, sha, spa, sha))

    def _send(self, frame: bytes) -> None:
        try:
            self.sock.send(frame)
        except OSError as exc:
            log.warning("arp: send on %s failed: %s", self.ifname, exc)

    def announce(self, ip: str) -> None:
        """Gratuitous ARP (a request and a reply, as arping -U/-A do): caches move to us at once."""
        self._send(arp_frame(1, self.mac, ip, b"\x00" * 6, ip, BROADCAST))
        self._send(arp_frame(2, self.mac, ip, BROADCAST, ip, BROADCAST))

    def close(self) -> None:
        asyncio.get_running_loop().remove_reader(self.sock.fileno())
        self.sock.close()
