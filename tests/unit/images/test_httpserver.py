"""The small HTTP/1.1 server: parsing, rendering, keep-alive, Go-style path cleaning, and the web pages.

The live tests bind 127.0.0.1 on an ephemeral port only; no other address is used.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest

from podnet.images import webserver
from podnet.images.httpserver import (
    HTTPServer,
    Reader,
    Request,
    Response,
    clean_path,
    read_request,
    render_response,
)


def parse(raw: bytes) -> Request | None:
    left, right = socket.socketpair()
    try:
        left.sendall(raw)
        left.shutdown(socket.SHUT_WR)
        return read_request(Reader(right), right)
    finally:
        left.close()
        right.close()


def test_read_request_with_query_headers_and_chunked_body() -> None:
    req = parse(
        b"POST //echo?msg=a&msg=b HTTP/1.1\r\nHost: x\r\nX-A: 1\r\nX-A: 2\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n"
    )
    assert req is not None
    assert (req.method, req.path, req.query, req.body) == ("POST", "//echo", {"msg": ["a", "b"]}, b"abcde")
    assert req.headers == {"host": "x", "x-a": "1, 2", "transfer-encoding": "chunked"}


def test_read_request_at_end_of_stream() -> None:
    assert parse(b"") is None


@pytest.mark.parametrize(
    ("path", "clean"),
    [("/", "/"), ("//hostname", "/hostname"), ("/a/../b", "/b"), ("/a/./b/", "/a/b/"), ("/a//b", "/a/b")],
)
def test_clean_path(path: str, clean: str) -> None:
    assert clean_path(path) == clean


def test_render_response_adds_go_default_headers() -> None:
    raw = render_response(Response(body=b"hi", headers=[("X-Y", "z")]), head=False, keep_alive=False)
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.decode().split("\r\n")
    assert body == b"hi"
    assert lines[0] == "HTTP/1.1 200 OK"
    assert [line for line in lines[1:] if not line.startswith("Date: ")] == [
        "X-Y: z",
        "Content-Type: text/plain; charset=utf-8",
        "Content-Length: 2",
        "Connection: close",
    ]


@pytest.fixture
def server() -> Iterator[HTTPServer]:
    def handler(req: Request) -> Response:
        return Response(body=f"{req.method} {req.path} {req.remote[0]}".encode())

    srv = HTTPServer(handler, 0, host="127.0.0.1")
    srv.start()
    try:
        yield srv
    finally:
        srv.shutdown(1.0)


def exchange(sock: socket.socket, raw: bytes, head_only: bool = False) -> bytes:
    sock.sendall(raw)
    reader = Reader(sock)
    head = b""
    while not head.endswith(b"\r\n\r\n"):
        head += reader.readline(1 << 16)
    length = next(
        int(line.split(b":")[1]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length")
    )
    return head.split(b"\r\n", 1)[0] + b"|" + (b"" if head_only else reader.read(length))


def test_keep_alive_serves_several_requests_on_one_connection(server: HTTPServer) -> None:
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
        first = exchange(sock, b"GET /a HTTP/1.1\r\nHost: t\r\n\r\n")
        second = exchange(sock, b"HEAD /b HTTP/1.1\r\nHost: t\r\n\r\n", head_only=True)
        third = exchange(sock, b"GET //c HTTP/1.1\r\nHost: t\r\n\r\n")
    assert first == b"HTTP/1.1 200 OK|GET /a 127.0.0.1"
    assert second == b"HTTP/1.1 200 OK|"
    assert third == b"HTTP/1.1 301 Moved Permanently|"


def test_garbage_gets_400_and_the_connection_closes(server: HTTPServer) -> None:
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
        sock.sendall(b"NOT HTTP\r\n\r\n")
        data = b""
        while chunk := sock.recv(4096):
            data += chunk
    assert data.startswith(b"HTTP/1.1 400 Bad Request\r\n")


@pytest.mark.parametrize(
    ("title", "path", "status", "marker"),
    [
        ("nginx", "/", 200, "<h1>Welcome to nginx!</h1>"),
        ("nginx", "/index.html", 200, "<h1>Welcome to nginx!</h1>"),
        ("nginx", "/nope", 404, "<center><h1>404 Not Found</h1></center>"),
        ("httpd", "/", 200, "<h1>It works!</h1>"),
    ],
)
def test_webserver_pages(title: str, path: str, status: int, marker: str) -> None:
    req = Request(method="GET", target=path, path=path, query={}, headers={})
    resp = webserver.respond(webserver.SITES[title], req)
    assert resp.status == status and marker in resp.body.decode()


def test_webserver_args() -> None:
    assert webserver.parse_args([]) == (80, "nginx")
    assert webserver.parse_args(["--port=8080", "--title", "httpd"]) == (8080, "httpd")
    with pytest.raises(ValueError):
        webserver.parse_args(["--title", "iis"])
