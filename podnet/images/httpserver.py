"""A small threaded HTTP/1.1 server for the built-in images (agnhost netexec, serve-hostname, nginx).

Why not aiohttp or http.server: a container must be serving within a few tens of milliseconds of exec, and
importing aiohttp costs ~250 ms here (http.server pulls in the email package). Why threads: the real agnhost
is a Go net/http server, one goroutine per connection, whose handlers block (``/dial`` waits up to 5 s per
try, ``/exit`` sleeps); a thread per connection keeps those semantics without an event loop.

What it implements is what probes, curl, Go clients and the e2e tests use: keep-alive, Content-Length and
chunked request bodies, ``Expect: 100-continue``, HEAD, and Go's ``ServeMux`` habit of redirecting
unclean paths (``//hostname``) with 301.
"""

from __future__ import annotations

import posixpath
import socket
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

from podnet.images.listen import listen_tcp

MAX_HEADER_BYTES = 1 << 20
MAX_BODY_BYTES = 64 << 20

REASONS = {
    100: "Continue",
    200: "OK",
    201: "Created",
    204: "No Content",
    301: "Moved Permanently",
    302: "Found",
    303: "See Other",
    307: "Temporary Redirect",
    308: "Permanent Redirect",
    400: "Bad Request",
    404: "Not Found",
    405: "Method Not Allowed",
    412: "Precondition Failed",
    413: "Request Entity Too Large",
    417: "Expectation Failed",
    431: "Request Header Fields Too Large",
    500: "Internal Server Error",
    503: "Service Unavailable",
}


@dataclass
class Request:
    """One parsed request; ``remote`` is the peer as the server's socket sees it (IPv4-mapped unmapped)."""

    method: str
    target: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes = b""
    remote: tuple[str, int] = ("", 0)
    version: str = "HTTP/1.1"

    def header(self, name: str) -> str:
        return self.headers.get(name.lower(), "")

    def form_value(self, name: str) -> str:
        """Go's ``Request.FormValue``: urlencoded POST/PUT/PATCH body first, then the query string."""
        if self.method in ("POST", "PUT", "PATCH") and self.header("content-type").startswith(
            "application/x-www-form-urlencoded"
        ):
            form = parse_qs(self.body.decode("utf-8", "replace"), keep_blank_values=True)
            if form.get(name):
                return form[name][0]
        values = self.query.get(name)
        return values[0] if values else ""


@dataclass
class Response:
    """What a handler returns. ``after`` runs once the response is on the wire (graceful exits use it)."""

    status: int = 200
    body: bytes = b""
    headers: list[tuple[str, str]] = field(default_factory=list)
    close: bool = False
    after: Callable[[], None] | None = None


# A handler returning None drops the connection without an answer, as a Go handler that calls os.Exit does.
Handler = Callable[[Request], "Response | None"]


def text(body: str, status: int = 200) -> Response:
    return Response(status=status, body=body.encode())


def go_http_error(message: str, status: int) -> Response:
    """Go's ``http.Error``: the message plus a newline, with nosniff."""
    return Response(
        status=status,
        body=(message + "\n").encode(),
        headers=[("Content-Type", "text/plain; charset=utf-8"), ("X-Content-Type-Options", "nosniff")],
    )


def join_host_port(host: str, port: int | str) -> str:
    """Go's ``net.JoinHostPort``: brackets around IPv6 literals."""
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def unmap(host: str) -> str:
    """``::ffff:10.0.0.1`` → ``10.0.0.1``: Go reports IPv4 peers of a dual-stack socket as IPv4."""
    if host.startswith("::ffff:") and "." in host:
        return host[len("::ffff:") :]
    return host.split("%", 1)[0]


def clean_path(path: str) -> str:
    """Go's ``path.Clean`` as ``ServeMux`` applies it, keeping a trailing slash."""
    if not path.startswith("/"):
        path = "/" + path
    cleaned = posixpath.normpath(path)
    if cleaned.startswith("//"):
        cleaned = "/" + cleaned.lstrip("/")
    if path.endswith("/") and cleaned != "/":
        cleaned += "/"
    return cleaned


def _http_date(now: float) -> str:
    return time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(now))


def render_response(resp: Response, *, head: bool, keep_alive: bool) -> bytes:
    """Serialize a response the way Go's server does for small bodies (Content-Length, Date, sniffed type)."""
    names = {k.lower() for k, _ in resp.headers}
    lines = [f"HTTP/1.1 {resp.status} {REASONS.get(resp.status, 'Status')}"]
    lines += [f"{k}: {v}" for k, v in resp.headers]
    if resp.body and "content-type" not in names:
        lines.append("Content-Type: text/plain; charset=utf-8")
    lines.append(f"Date: {_http_date(time.time())}")
    if "content-length" not in names:
        lines.append(f"Content-Length: {len(resp.body)}")
    if not keep_alive and "connection" not in names:
        lines.append("Connection: close")
    data = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
    return data if head else data + resp.body


class BadRequest(Exception):
    """The peer sent something that is not HTTP/1.x; the connection gets a 400 and is closed."""


def read_request(rfile: Reader, wfile: socket.socket) -> Request | None:
    """Read one request from a connection; None at a clean end of stream."""
    line = rfile.readline(MAX_HEADER_BYTES)
    while line in (b"\r\n", b"\n"):  # tolerate stray CRLF between pipelined requests
        line = rfile.readline(MAX_HEADER_BYTES)
    if not line:
        return None
    parts = line.decode("latin-1").strip().split()
    if len(parts) != 3 or not parts[2].startswith("HTTP/1."):
        raise BadRequest("malformed HTTP request line")
    method, target, version = parts
    headers = read_headers(rfile)
    if headers.get("expect", "").lower() == "100-continue":
        wfile.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")
    body = _read_body(rfile, headers)
    path, query = split_target(target)
    return Request(
        method=method,
        target=target,
        path=path,
        query=parse_qs(query, keep_blank_values=True),
        headers=headers,
        body=body,
        version=version,
    )


def split_target(target: str) -> tuple[str, str]:
    """(path, query) of a request target; ``//x`` is a path here, not a host as urlsplit would read it."""
    if target.startswith("/"):
        path, _, query = target.partition("?")
        return path, query
    split = urlsplit(target)  # absolute-form, as sent to proxies
    return split.path or "/", split.query


def read_headers(rfile: Reader) -> dict[str, str]:
    headers: dict[str, str] = {}
    total = 0
    while True:
        line = rfile.readline(MAX_HEADER_BYTES)
        total += len(line)
        if total > MAX_HEADER_BYTES:
            raise BadRequest("headers too large")
        if line in (b"\r\n", b"\n", b""):
            return headers
        name, sep, value = line.decode("latin-1").partition(":")
        if not sep:
            raise BadRequest("malformed header line")
        key = name.strip().lower()
        headers[key] = f"{headers[key]}, {value.strip()}" if key in headers else value.strip()


def _read_body(rfile: Reader, headers: dict[str, str]) -> bytes:
    if "chunked" in headers.get("transfer-encoding", "").lower():
        return read_chunked(rfile)
    length = headers.get("content-length", "")
    if not length:
        return b""
    if not length.isdigit() or int(length) > MAX_BODY_BYTES:
        raise BadRequest("bad Content-Length")
    return rfile.read(int(length))


def read_chunked(rfile: Reader) -> bytes:
    chunks: list[bytes] = []
    size_total = 0
    while True:
        size_line = rfile.readline(1024).split(b";", 1)[0].strip()
        try:
            size = int(size_line, 16)
        except ValueError as exc:
            raise BadRequest("bad chunk size") from exc
        size_total += size
        if size_total > MAX_BODY_BYTES:
            raise BadRequest("body too large")
        if size == 0:
            read_headers(rfile)  # trailers
            return b"".join(chunks)
        chunks.append(rfile.read(size))
        rfile.readline(16)


class Reader:
    """Buffered reads from a socket (``socket.makefile`` costs an io import chain and a lock per call)."""

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock
        self._buf = b""

    def _fill(self) -> bool:
        chunk = self._sock.recv(65536)
        self._buf += chunk
        return bool(chunk)

    def readline(self, limit: int) -> bytes:
        while b"\n" not in self._buf and len(self._buf) < limit:
            if not self._fill():
                break
        end = self._buf.find(b"\n")
        cut = min(limit, len(self._buf)) if end < 0 else min(end + 1, limit)
        line, self._buf = self._buf[:cut], self._buf[cut:]
        return line

    def read(self, n: int) -> bytes:
        while len(self._buf) < n:
            if not self._fill():
                raise BadRequest("body shorter than announced")
        data, self._buf = self._buf[:n], self._buf[n:]
        return data


class HTTPServer:
    """Listens on one TCP socket and runs ``handler`` in a thread per connection."""

    def __init__(self, handler: Handler, port: int, host: str = "", log: Callable[[str], None] | None = None):
        self.handler = handler
        self.log = log or (lambda _msg: None)
        self.sock = listen_tcp(host, port)
        self.port: int = self.sock.getsockname()[1]
        self._active = 0
        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)
        self._closing = False
        # An ssl.SSLContext for HTTPS (netexec --tls-cert-file); typed loosely to keep ssl off start-up.
        self.ssl_context: Any = None

    def serve_forever(self) -> None:
        while not self._closing:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                if self._closing:
                    return
                raise
            threading.Thread(target=self._serve_conn, args=(conn,), daemon=True).start()

    def start(self) -> threading.Thread:
        thread = threading.Thread(target=self.serve_forever, daemon=True)
        thread.start()
        return thread

    def shutdown(self, timeout: float) -> None:
        """Go's ``Server.Shutdown``: stop accepting, then wait (bounded) for in-flight requests to finish."""
        self._closing = True
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()
        deadline = time.monotonic() + timeout
        with self._idle:
            while self._active and time.monotonic() < deadline:
                self._idle.wait(max(0.0, deadline - time.monotonic()))

    def _serve_conn(self, conn: socket.socket) -> None:
        try:
            peer = conn.getpeername()
            remote = (unmap(peer[0]), peer[1])
            if self.ssl_context is not None:
                conn = self.ssl_context.wrap_socket(conn, server_side=True)
            reader = Reader(conn)
            while not self._closing and self._serve_one(conn, reader, remote):
                pass
        except (OSError, BadRequest) as exc:
            if isinstance(exc, BadRequest):
                _send_quietly(
                    conn, render_response(go_http_error("400 Bad Request", 400), head=False, keep_alive=False)
                )
        finally:
            conn.close()

    def _serve_one(self, conn: socket.socket, reader: Reader, remote: tuple[str, int]) -> bool:
        req = read_request(reader, conn)
        if req is None:
            return False
        req.remote = remote
        keep_alive = _wants_keep_alive(req)
        with self._lock:
            self._active += 1
        try:
            resp = self._dispatch(req)
            if resp is None:
                return False
            keep_alive = keep_alive and not resp.close and not self._closing
            conn.sendall(render_response(resp, head=req.method == "HEAD", keep_alive=keep_alive))
        finally:
            with self._idle:
                self._active -= 1
                self._idle.notify_all()
        if resp.after is not None:
            threading.Thread(target=resp.after, daemon=True).start()
        return keep_alive

    def _dispatch(self, req: Request) -> Response | None:
        cleaned = clean_path(req.path)
        if cleaned != req.path and req.method != "CONNECT":
            query = split_target(req.target)[1]
            location = quote(cleaned, safe="/%:@!$&'()*+,;=") + (f"?{query}" if query else "")
            return Response(status=301, headers=[("Location", location)])
        try:
            return self.handler(req)
        except Exception as exc:  # a broken handler must not kill the server, as in Go's net/http
            self.log(f"http: panic serving {join_host_port(*req.remote)}: {exc!r}")
            return Response(status=500, close=True)


def _wants_keep_alive(req: Request) -> bool:
    conn = req.header("connection").lower()
    if req.version == "HTTP/1.0":
        return "keep-alive" in conn
    return "close" not in conn


def _send_quietly(conn: socket.socket, data: bytes) -> None:
    try:
        conn.sendall(data)
    except OSError:
        pass


def go_log(msg: str) -> None:
    """Go's ``log.Printf`` to stderr: a local timestamp prefix and exactly one newline."""
    stamp = time.strftime("%Y/%m/%d %H:%M:%S")
    sys.stderr.write(f"{stamp} {msg.rstrip(chr(10))}\n")
    sys.stderr.flush()
