"""``agnhost serve-hostname``: the hostname over HTTP (default), or raw over TCP and/or UDP, on --port 9376.

As in the Go program, ``--http`` defaults to true and cannot be combined with ``--tcp``/``--udp`` (so the
e2e tests write ``--udp --http=false``), and SIGTERM does not end the process: it logs and waits 60 s "for
pod deletion", leaving the kubelet's grace period to end it, which is what tests of graceful termination
observe.
"""

from __future__ import annotations

import signal
import socket
import threading
import time
from collections.abc import Callable

from podnet.images.agnhost.flags import Flag
from podnet.images.agnhost.gostyle import join_host_port
from podnet.images.agnhost.netexec import fatal
from podnet.images.httpserver import HTTPServer, Request, Response, go_log, unmap
from podnet.images.listen import listen_tcp, listen_udp

FLAGS = [
    Flag("tcp", "bool", False, "Serve raw over TCP."),
    Flag("udp", "bool", False, "Serve raw over UDP."),
    Flag("http", "bool", True, "Serve HTTP."),
    Flag("close", "bool", False, "Close connection per each HTTP request."),
    Flag("port", "int", 9376, "Port number."),
]

TERMINATION_WAIT = 60.0


def http_handler(hostname: str, close: bool) -> Callable[[Request], Response]:
    def handle(req: Request) -> Response:
        go_log(f"HTTP request from {join_host_port(*req.remote)}")
        headers = [("Connection", "close")] if close else []
        return Response(body=hostname.encode(), headers=headers, close=close)

    return handle


def serve_tcp(sock: socket.socket, hostname: str) -> None:
    while True:
        conn, peer = sock.accept()
        go_log(f"TCP request from {join_host_port(unmap(peer[0]), peer[1])}")
        try:
            conn.sendall(hostname.encode())
        except OSError:
            pass
        conn.close()


def serve_udp(sock: socket.socket, hostname: str) -> None:
    while True:
        _, peer = sock.recvfrom(16)
        go_log(f"UDP request from {join_host_port(unmap(peer[0]), peer[1])}")
        try:
            sock.sendto(hostname.encode(), peer)
        except OSError:
            pass


def run(values: dict[str, object]) -> int:
    do_tcp, do_udp, do_http, close = (bool(values[k]) for k in ("tcp", "udp", "http", "close"))
    port = int(str(values["port"]))
    if do_http and (do_tcp or do_udp):
        fatal("Can't server TCP/UDP mode and HTTP mode at the same time")
    hostname = socket.gethostname()
    terminated = threading.Event()
    signal.signal(signal.SIGTERM, lambda _s, _f: terminated.set())
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    _start(do_tcp, do_udp, do_http, close, port, hostname)
    go_log(f"Serving on port {port}.")
    while not terminated.wait(3600):
        pass
    go_log("Shutting down after receiving signal: terminated.")
    go_log("Awaiting pod deletion.")
    time.sleep(TERMINATION_WAIT)
    return 0


def _start(do_tcp: bool, do_udp: bool, do_http: bool, close: bool, port: int, hostname: str) -> None:
    if do_tcp:
        try:
            sock = listen_tcp("", port)
        except OSError as exc:
            fatal(f"Error from net.Listen(): listen tcp :{port}: bind: {exc.strerror}")
        threading.Thread(target=serve_tcp, args=(sock, hostname), daemon=True).start()
    if do_udp:
        try:
            usock = listen_udp("", port)
        except OSError as exc:
            fatal(f"Error from ListenUDP(): listen udp :{port}: bind: {exc.strerror}")
        threading.Thread(target=serve_udp, args=(usock, hostname), daemon=True).start()
    if do_http:
        try:
            server = HTTPServer(http_handler(hostname, close), port, log=go_log)
        except OSError as exc:
            fatal(f"listen tcp :{port}: bind: {exc.strerror}")
        server.start()
