"""``agnhost connect HOST:PORT``: one connection attempt whose stderr prefix says how it failed.

The NetworkPolicy e2e tests (and ``podnet netpol``-style probes) run ``/agnhost connect --timeout=1s`` and
classify the result by the stderr prefix: nothing (connected, exit 0), ``TIMEOUT``, ``REFUSED``, ``DNS``,
``OTHER`` or ``UNKNOWN`` (exit 1). Wording and per-protocol behaviour follow agnhost's ``connect.go``:
TCP connects only; UDP sends ``hostname\\n`` (``--udp-data``) and needs an answer, so a silent UDP server
is a TIMEOUT; SCTP connects, sends and reads.
"""

from __future__ import annotations

import socket
from dataclasses import dataclass

from podnet.images.agnhost.flags import Flag
from podnet.images.agnhost.gostyle import (
    ResolveError,
    errno_text,
    join_host_port,
    resolve,
    sock_pair,
    split_host_port,
)

FLAGS = [
    Flag("timeout", "duration", 0.0, "Maximum time before returning an error"),
    Flag("protocol", "str", "tcp", "The protocol to use to perform the connection, can be tcp, udp or sctp"),
    Flag("udp-data", "str", "hostname", "The UDP payload send to the server"),
    Flag("sctp-data", "str", "hostname", "The SCTP payload send to the server"),
]


@dataclass(frozen=True)
class Outcome:
    """Exit code and the exact stderr text of one attempt."""

    code: int
    stderr: str = ""


OK = Outcome(0)


def fail(text: str) -> Outcome:
    return Outcome(1, text + "\n")


def connect(
    dest: str, protocol: str, timeout: float, udp_data: str = "hostname", sctp_data: str = "hostname"
) -> Outcome:
    if protocol in ("", "tcp"):
        return connect_tcp(dest, timeout)
    if protocol == "udp":
        return connect_udp(dest, timeout, udp_data)
    if protocol == "sctp":
        return connect_sctp(dest, timeout, sctp_data)
    return Outcome(1, f"Unsupported protocol\n{protocol}")  # Go's Fprint of two strings adds no space


def _resolve(dest: str, kind: int, proto: str) -> tuple[int, tuple[str, int]] | Outcome:
    try:
        host, port = split_host_port(dest)
    except ValueError as exc:
        return fail(f"UNKNOWN: {exc}")
    try:
        return resolve(host, port, kind, proto)
    except ResolveError as exc:
        return fail(f"DNS: {exc}")


def connect_tcp(dest: str, timeout: float) -> Outcome:
    addr = _resolve(dest, socket.SOCK_STREAM, "tcp")
    if isinstance(addr, Outcome):
        return addr
    family, remote = addr
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.settimeout(timeout if timeout > 0 else None)
        sock.connect(remote)
        return OK
    except TimeoutError:
        return fail("TIMEOUT")
    except ConnectionRefusedError:
        return fail("REFUSED")
    except OSError as exc:
        return fail(f"OTHER: dial tcp {join_host_port(*remote)}: connect: {errno_text(exc)}")
    finally:
        sock.close()


def connect_udp(dest: str, timeout: float, data: str) -> Outcome:
    """Send ``data\\n`` and wait for any reply; without ``--timeout`` the wait is unbounded, as in Go."""
    addr = _resolve(dest, socket.SOCK_DGRAM, "udp")
    if isinstance(addr, Outcome):
        return Outcome(1, addr.stderr.replace("UNKNOWN: ", "DNS: ", 1))  # Go resolves without splitting first
    family, remote = addr
    sock = socket.socket(family, socket.SOCK_DGRAM)
    try:
        try:
            sock.connect(remote)
        except OSError as exc:
            return fail(f"OTHER: dial udp {join_host_port(*remote)}: connect: {errno_text(exc)}")
        sock.settimeout(timeout if timeout > 0 else None)
        pair = sock_pair(sock, remote)
        try:
            sock.send(f"{data}\n".encode())
        except OSError as exc:
            return _udp_error(f"write udp {pair}: write", exc)
        try:
            received = sock.recv(1024)
        except OSError as exc:
            return _udp_error(f"read udp {pair}: read", exc)
        if not received:
            return fail(
                "OTHER: No data received from the server. Cannot guarantee the server received the request."
            )
        return OK
    finally:
        sock.close()


def _udp_error(op: str, exc: OSError) -> Outcome:
    """``parseUDPErrorAndExit``: timeouts and refusals by name, anything else UNKNOWN."""
    if isinstance(exc, TimeoutError):
        return fail(f"TIMEOUT: {op.rsplit(': ', 1)[0]}: i/o timeout")
    if isinstance(exc, ConnectionRefusedError):
        return fail(f"REFUSED: {op}: {errno_text(exc)}")
    return fail(f"UNKNOWN: {op}: {errno_text(exc)}")


def connect_sctp(dest: str, timeout: float, data: str) -> Outcome:
    """Connect, send ``data\\n`` and read; ``--timeout`` bounds the whole exchange (0: unbounded)."""
    addr = _resolve(dest, socket.SOCK_STREAM, "tcp")
    if isinstance(addr, Outcome):
        return Outcome(1, addr.stderr.replace("UNKNOWN: ", "DNS: ", 1))
    family, remote = addr
    try:
        sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_SCTP)
    except OSError as exc:
        return fail(f"OTHER: {errno_text(exc)}")
    try:
        sock.settimeout(timeout if timeout > 0 else None)
        sock.connect(remote)
        sock.sendall(f"{data}\n".encode())
        sock.recv(1024)
        return OK
    except TimeoutError:
        return fail("TIMEOUT")
    except OSError as exc:
        return fail(f"OTHER: {errno_text(exc)}")
    finally:
        sock.close()
