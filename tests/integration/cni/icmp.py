"""ICMP echo from inside a namespace, without ping(8) (not installed here): a raw socket made there."""

from __future__ import annotations

import os
import socket
import struct
import time

from podnet.kernel.netns import run_in_netns


def _checksum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    total: int = sum(struct.unpack(f"!{len(data) // 2}H", data))
    total = (total >> 16) + (total & 0xFFFF)
    total += total >> 16
    return ~total & 0xFFFF


def ping(netns_path: str, dst: str, timeout: float = 2.0, size: int = 56) -> bool:
    """True when ``dst`` answers an echo request sent from the namespace at ``netns_path``."""
    sock = run_in_netns(
        netns_path, lambda: socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
    )
    ident = os.getpid() & 0xFFFF
    payload = os.urandom(size)
    header = struct.pack("!BBHHH", 8, 0, 0, ident, 1)
    packet = struct.pack("!BBHHH", 8, 0, _checksum(header + payload), ident, 1) + payload
    deadline = time.monotonic() + timeout
    try:
        sock.sendto(packet, (dst, 0))
        while (left := deadline - time.monotonic()) > 0:
            sock.settimeout(left)
            try:
                data, (src, _) = sock.recvfrom(65535)
            except TimeoutError:
                return False
            ihl = (data[0] & 0x0F) * 4
            kind, _, _, got_ident, _ = struct.unpack("!BBHHH", data[ihl : ihl + 8])
            if kind == 0 and got_ident == ident and src == dst and data[ihl + 8 :] == payload:
                return True
        return False
    finally:
        sock.close()
