"""Go's output formats where agnhost's callers read them: JSON, %q, time.Now(), error strings, host:port.

Tests and tools compare agnhost's bytes (the e2e framework decodes ``/dial`` JSON, the NetworkPolicy tests
match ``connect``'s stderr prefixes), so the Python image prints what the Go binary prints.
"""

from __future__ import annotations

import json
import os
import socket
import time

from podnet.images.httpserver import join_host_port as join_host_port  # re-exported: Go's net.JoinHostPort

_START = time.monotonic()


def go_json(value: object) -> str:
    """``encoding/json.Marshal``: compact, map keys sorted, HTML-significant characters escaped."""
    out = json.dumps(value, separators=(",", ":"), ensure_ascii=False, sort_keys=True)
    for char, escaped in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026")):
        out = out.replace(char, escaped)
    return out.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")


def go_quote(text: str) -> str:
    """``%q`` for the ASCII strings agnhost quotes in its messages."""
    return json.dumps(text)


def go_now() -> str:
    """``time.Now().String()``: ``2009-11-10 23:00:00.123456789 +0000 UTC m=+0.001234567``."""
    ns = time.time_ns()
    secs, frac = divmod(ns, 1_000_000_000)
    local = time.localtime(secs)
    fraction = f"{frac:09d}".rstrip("0")
    stamp = time.strftime("%Y-%m-%d %H:%M:%S", local) + (f".{fraction}" if fraction else "")
    return f"{stamp} {time.strftime('%z %Z', local)} m=+{time.monotonic() - _START:.9f}"


def split_host_port(address: str) -> tuple[str, str]:
    """``net.SplitHostPort`` with its error wording; the port may be empty, as in Go."""

    def fail(why: str) -> ValueError:
        return ValueError(f"address {address}: {why}")

    if address.startswith("["):
        end = address.find("]")
        if end < 0:
            raise fail("missing ']' in address")
        rest = address[end + 1 :]
        if not rest:
            raise fail("missing port in address")
        if not rest.startswith(":"):
            raise fail("missing port in address" if "]" not in rest else "unexpected ']' in address")
        host, port = address[1:end], rest[1:]
        if ":" in port:
            raise fail("too many colons in address")
        return host, port
    colon = address.rfind(":")
    if colon < 0:
        raise fail("missing port in address")
    host, port = address[:colon], address[colon + 1 :]
    if ":" in host:
        raise fail("too many colons in address")
    if "[" in host or "]" in host or "[" in port or "]" in port:
        raise fail("unexpected '[' in address" if "[" in host + port else "unexpected ']' in address")
    return host, port


def errno_text(err: OSError) -> str:
    """The syscall wording Go prints (``connection refused``), from the errno Python saw."""
    if err.errno is None:
        return str(err).lower()
    text = os.strerror(err.errno)
    return text[:1].lower() + text[1:]


class ResolveError(Exception):
    """A host or port that does not resolve; the message is Go's ``lookup ...`` text."""


def resolve(host: str, port: str, kind: int, proto: str) -> tuple[int, tuple[str, int]]:
    """``net.Resolve{TCP,UDP}Addr``: (family, sockaddr), IPv4 first; an empty host is the local system."""
    if port and not port.isdigit():
        try:
            port_num = socket.getservbyname(port, proto)
        except OSError:
            raise ResolveError(f"lookup {proto}/{port}: unknown port") from None
    else:
        port_num = int(port or 0)
        if port_num > 65535:
            raise ResolveError(f"address {port}: invalid port")
    try:
        infos = socket.getaddrinfo(host or "127.0.0.1", port_num, type=kind)
    except socket.gaierror:
        raise ResolveError(f"lookup {host}: no such host") from None
    infos.sort(key=lambda info: info[0] != socket.AF_INET)
    family, _, _, _, sockaddr = infos[0]
    return family, (str(sockaddr[0]), int(sockaddr[1]))


def sock_pair(sock: socket.socket, remote: tuple[str, int]) -> str:
    """``local->remote`` as Go prints it in ``read udp`` errors."""
    try:
        local = sock.getsockname()
        left = join_host_port(str(local[0]), int(local[1]))
    except OSError:
        left = ""
    return f"{left}->{join_host_port(*remote)}"
