"""The client half of netexec's ``/dial``: one HTTP GET, UDP or SCTP exchange, with Go's error texts.

The e2e framework (``test/e2e/framework/network``) counts the ``responses`` and reads the ``errors`` of
``/dial``, so the strings here follow what Go's net/http and net packages print for the same failure.
"""

from __future__ import annotations

import socket
import time
from urllib.parse import urljoin, urlsplit

from podnet.images.agnhost.gostyle import errno_text, join_host_port, sock_pair
from podnet.images.httpserver import BadRequest, Reader, read_chunked, read_headers

DIAL_TIMEOUT = 5.0  # netexec's http.Client.Timeout and its UDP/SCTP read deadline
MAX_REDIRECTS = 10  # Go's http.Client default policy

CLIENT_TIMEOUT = "context deadline exceeded (Client.Timeout exceeded while awaiting headers)"


class DialError(Exception):
    """One failed try; ``str()`` is the text that goes into ``/dial``'s ``errors``."""


def dial_http(request: str, addr: tuple[int, tuple[str, int]], timeout: float = DIAL_TIMEOUT) -> str:
    """GET ``http://addr/request`` following redirects, as netexec's ``dialHTTP``; returns the body."""
    _, (host, port) = addr
    url = f"http://{join_host_port(host, port)}/{request}"
    deadline = time.monotonic() + timeout
    for _ in range(MAX_REDIRECTS + 1):
        try:
            status, location, body = _http_get(url, deadline)
        except DialError as exc:
            raise DialError(f'Get "{url}": {exc}') from None
        if status in (301, 302, 303, 307, 308) and location:
            url = urljoin(url, location)
            continue
        return body.decode("utf-8", "replace")
    raise DialError(f'Get "{url}": stopped after {MAX_REDIRECTS} redirects')


def _http_get(url: str, deadline: float) -> tuple[int, str, bytes]:
    parts = urlsplit(url)
    host, port = parts.hostname or "", parts.port or 80
    target = parts.path or "/"
    if parts.query:
        target += "?" + parts.query
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        _connect(sock, (host, port), "tcp", deadline)
        request = (
            f"GET {target.replace(' ', '%20')} HTTP/1.1\r\nHost: {parts.netloc}\r\n"
            "User-Agent: Go-http-client/1.1\r\n\r\n"
        )
        try:
            sock.settimeout(_remaining(deadline))
            sock.sendall(request.encode("latin-1"))
            return _read_response(Reader(sock))
        except TimeoutError:
            raise DialError(CLIENT_TIMEOUT) from None
        except (BadRequest, OSError) as exc:
            if isinstance(exc, OSError) and exc.errno is not None:
                raise DialError(
                    f"read tcp {sock_pair(sock, (host, port))}: read: {errno_text(exc)}"
                ) from None
            raise DialError("EOF") from None
    finally:
        sock.close()


def _read_response(reader: Reader) -> tuple[int, str, bytes]:
    line = reader.readline(1 << 16)
    if not line:
        raise BadRequest("EOF")
    fields = line.decode("latin-1").split(None, 2)
    if len(fields) < 2 or not fields[1].isdigit():
        raise BadRequest("malformed HTTP response")
    headers = read_headers(reader)
    status = int(fields[1])
    if status in (204, 304) or status < 200:
        body = b""
    elif "chunked" in headers.get("transfer-encoding", "").lower():
        body = read_chunked(reader)
    elif headers.get("content-length", "").isdigit():
        body = reader.read(int(headers["content-length"]))
    else:
        body = _read_to_end(reader)
    return status, headers.get("location", ""), body


def _read_to_end(reader: Reader) -> bytes:
    chunks: list[bytes] = []
    while True:
        chunk = reader.readline(1 << 20)
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)


def _remaining(deadline: float) -> float:
    left = deadline - time.monotonic()
    if left <= 0:
        raise TimeoutError
    return left


def _connect(sock: socket.socket, remote: tuple[str, int], net: str, deadline: float) -> None:
    try:
        sock.settimeout(_remaining(deadline))
        sock.connect(remote)
    except TimeoutError:
        raise DialError(CLIENT_TIMEOUT) from None
    except OSError as exc:
        raise DialError(f"dial {net} {join_host_port(*remote)}: connect: {errno_text(exc)}") from None


def dial_datagram(request: str, addr: tuple[int, tuple[str, int]], timeout: float = DIAL_TIMEOUT) -> str:
    """netexec's ``dialUDP``: send the request, wait up to 5 s for one datagram of at most 2048 bytes."""
    family, remote = addr
    sock = socket.socket(family, socket.SOCK_DGRAM)
    try:
        try:
            sock.connect(remote)
        except OSError as exc:
            raise DialError(
                f"udp dial failed. err:dial udp {join_host_port(*remote)}: connect: {errno_text(exc)}"
            ) from None
        try:
            sock.send(request.encode())
        except OSError as exc:
            raise DialError(
                "udp connection write failed. err:"
                f"write udp {sock_pair(sock, remote)}: write: {errno_text(exc)}"
            ) from None
        sock.settimeout(timeout)
        try:
            data = sock.recv(2048)
        except TimeoutError:
            raise DialError(
                f"reading from udp connection failed. err:'read udp {sock_pair(sock, remote)}: i/o timeout'"
            ) from None
        except OSError as exc:
            why = f"read udp {sock_pair(sock, remote)}: read: {errno_text(exc)}"
            raise DialError(f"reading from udp connection failed. err:'{why}'") from None
        if not data:
            raise DialError("reading from udp connection failed. err:'<nil>'")
        return data.decode("utf-8", "replace")
    finally:
        sock.close()


def dial_sctp(request: str, addr: tuple[int, tuple[str, int]], timeout: float = DIAL_TIMEOUT) -> str:
    """netexec's ``dialSCTP``: connect, send, read one message of at most 1024 bytes."""
    family, remote = addr
    try:
        sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_SCTP)
    except OSError as exc:
        raise DialError(f"sctp dial failed. err:{errno_text(exc)}") from None
    try:
        try:
            sock.settimeout(timeout)
            sock.connect(remote)
        except OSError as exc:
            raise DialError(f"sctp dial failed. err:{errno_text(exc)}") from None
        try:
            sock.sendall(request.encode())
            data = sock.recv(1024)
        except TimeoutError:
            raise DialError("reading from sctp connection failed. err:'i/o timeout'") from None
        except OSError as exc:
            raise DialError(f"reading from sctp connection failed. err:'{errno_text(exc)}'") from None
        if not data:
            raise DialError("reading from sctp connection failed. err:'EOF'")
        return data.decode("utf-8", "replace")
    finally:
        sock.close()
