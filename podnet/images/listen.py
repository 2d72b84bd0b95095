"""Listening sockets the way Go's ``net.Listen(":port")`` makes them: every address, both IP families.

A pod's servers must answer on its IPv4 address, on an IPv6 one when the pod has it, and on loopback; one
dual-stack socket does all three. Namespaces with IPv6 switched off refuse AF_INET6 sockets, so the
wildcard falls back to IPv4 there, as Go does.
"""

from __future__ import annotations

import socket


def listen_tcp(host: str, port: int, backlog: int = 4096) -> socket.socket:
    """Go's ``net.Listen("tcp", ":port")``: dual-stack on every address when IPv6 exists, else IPv4."""
    return _bound(socket.SOCK_STREAM, host, port, listen=backlog)


def listen_udp(host: str, port: int) -> socket.socket:
    return _bound(socket.SOCK_DGRAM, host, port, listen=None)


def _bound(kind: int, host: str, port: int, listen: int | None) -> socket.socket:
    family = socket.AF_INET6 if (host == "" and socket.has_ipv6) or ":" in host else socket.AF_INET
    try:
        sock = _bind(family, kind, host or ("::" if family == socket.AF_INET6 else "0.0.0.0"), port)
    except OSError as exc:
        # A namespace with IPv6 switched off refuses AF_INET6 sockets; fall back like Go does.
        if host or family != socket.AF_INET6 or exc.errno not in (97, 99):  # EAFNOSUPPORT, EADDRNOTAVAIL
            raise
        sock = _bind(socket.AF_INET, kind, "0.0.0.0", port)
    if listen is not None:
        sock.listen(listen)
    return sock


def _bind(family: int, kind: int, host: str, port: int) -> socket.socket:
    sock = socket.socket(family, kind)
    try:
        if kind == socket.SOCK_STREAM:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if family == socket.AF_INET6 and host == "::":
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    return sock
