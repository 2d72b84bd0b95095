"""``agnhost netexec``: the HTTP server of netexec_http plus the UDP and SCTP command servers.

Start-up order follows the Go program: UDP servers (one per ``--udp-listen-addresses`` entry) and the
SCTP server start in the background and flip readiness, the HTTP server runs in the foreground. SIGTERM
turns ``/readyz`` to 503 and exits 0 after ``--delay-shutdown`` seconds, as agnhost 2.40+ does.
"""

from __future__ import annotations

import ipaddress
import os
import signal
import socket
import sys
import threading
import time

from podnet.images.agnhost.flags import Flag
from podnet.images.agnhost.gostyle import join_host_port
from podnet.images.agnhost.netexec_http import NetexecState, make_handler
from podnet.images.httpserver import HTTPServer, go_log, unmap
from podnet.images.listen import listen_udp

FLAGS = [
    Flag("http-port", "int", 8080, "HTTP Listen Port"),
    Flag("udp-port", "int", 8081, "UDP Listen Port"),
    Flag("sctp-port", "int", -1, "SCTP Listen Port"),
    Flag("tls-cert-file", "str", "", "File containing an x509 certificate for HTTPS."),
    Flag("tls-private-key-file", "str", "", "File containing an x509 private key matching --tls-cert-file"),
    Flag(
        "http-override",
        "str",
        "",
        "Override the HTTP handler to always respond as if it were a GET with this path",
    ),
    Flag(
        "udp-listen-addresses",
        "str",
        "",
        "A comma separated list of ip addresses the udp servers listen from",
    ),
    Flag("delay-shutdown", "int", 0, "Number of seconds to delay shutdown when receiving SIGTERM."),
]


def command_reply(data: bytes, client: str, hostname: str) -> bytes | None:
    """The answer of netexec's UDP/SCTP servers to one message: hostname, ``echo <msg>`` or clientip.

    Like the Go code, the message is trimmed and lower-cased first, so ``echo Hello`` answers ``hello``.
    """
    received = data.decode("utf-8", "replace").strip().lower()
    if received == "hostname":
        return hostname.encode()
    if received.startswith("echo "):
        return received.split(" ", 1)[1].encode()
    if received == "clientip":
        return client.encode()
    return None


def parse_addresses(addresses: str) -> list[str]:
    """``--udp-listen-addresses``: sorted unique IPs, or the wildcard; ValueError names the bad one."""
    if not addresses:
        return [""]
    result = set()
    for address in addresses.split(","):
        try:
            ipaddress.ip_address(address)
        except ValueError:
            raise ValueError(f"parseAddress: invalid address {address}") from None
        result.add(address)
    return sorted(result)


def fatal(msg: str) -> None:
    """``log.Fatalf``: print and exit 1 from any thread."""
    go_log(msg)
    sys.stdout.flush()
    os._exit(1)


def serve_udp(state: NetexecState, address: str, port: int) -> None:
    try:
        sock = listen_udp(address, port)
    except OSError as exc:
        fatal(
            f"Error occurred: failed to create listener for UDP address {join_host_port(address, port)}:"
            f"listen udp {join_host_port(address, port)}: bind: {exc.strerror and exc.strerror.lower()}"
        )
        return
    go_log(f"Started UDP server on port {address} {port}")
    state.ready.set()
    while True:
        data, peer = sock.recvfrom(2048)
        client = join_host_port(unmap(peer[0]), peer[1])
        reply = command_reply(data, client, state.hostname())
        if reply is None:
            if data.strip():
                go_log(
                    f"Unknown UDP command received from {client}: {data.decode('utf-8', 'replace').strip()}"
                )
            continue
        try:
            sock.sendto(reply, peer)
        except OSError as exc:
            fatal(f"Error occurred: failed to write to UDP client {client}:{exc}")


def sctp_socket(port: int) -> socket.socket:
    """A listening SCTP socket (one-to-one style), dual-stack when IPv6 is there."""
    for family, host in ((socket.AF_INET6, "::"), (socket.AF_INET, "0.0.0.0")):
        try:
            sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_SCTP)
        except OSError as exc:
            if family == socket.AF_INET6 and exc.errno == 97:  # no IPv6 here: try IPv4
                continue
            raise
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(128)
        return sock
    raise OSError(97, "Address family not supported by protocol")


def serve_sctp(state: NetexecState, port: int) -> None:
    try:
        sock = sctp_socket(port)
    except OSError as exc:
        if exc.errno in (93, 94):  # EPROTONOSUPPORT, ESOCKTNOSUPPORT: kernel without SCTP
            go_log(f"SCTP is not available in this kernel ({exc.strerror}); not serving --sctp-port {port}")
            return
        fatal(f"Error occurred: failed to create listener for SCTP address :{port}:{exc}")
        return
    go_log("Started SCTP server")
    state.ready.set()
    while True:
        conn, peer = sock.accept()
        client = join_host_port(unmap(peer[0]), peer[1])
        try:
            reply = command_reply(conn.recv(1024), client, state.hostname())
            if reply is not None:
                conn.sendall(reply)
        except OSError as exc:
            go_log(f"SCTP client {client}: {exc}")
        finally:
            conn.close()


def install_sigterm(state: NetexecState, delay: int) -> None:
    """SIGTERM: stop being ready, wait ``--delay-shutdown`` seconds while still serving, exit 0."""

    def on_term(_signum: int, _frame: object) -> None:
        if state.terminating.is_set():
            return
        state.terminating.set()

        def finish() -> None:
            if delay > 0:
                go_log(f"Sleeping {delay} seconds before terminating...")
                time.sleep(delay)
            sys.stdout.flush()
            os._exit(0)

        threading.Thread(target=finish, daemon=True).start()

    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGINT, signal.SIG_DFL)  # Go dies of an unhandled SIGINT


def run(values: dict[str, object]) -> int:
    state = NetexecState()
    install_sigterm(state, int(str(values["delay-shutdown"])))
    udp_port, sctp_port, http_port = (int(str(values[k])) for k in ("udp-port", "sctp-port", "http-port"))
    if udp_port != -1:
        try:
            addresses = parse_addresses(str(values["udp-listen-addresses"]))
        except ValueError as exc:
            fatal(str(exc))
        for address in addresses:
            threading.Thread(target=serve_udp, args=(state, address, udp_port), daemon=True).start()
    if sctp_port != -1:
        threading.Thread(target=serve_sctp, args=(state, sctp_port), daemon=True).start()
    server = _http_server(state, values, http_port)
    state.graceful_exit = lambda code, timeout: _graceful(server, code, timeout)
    go_log(f"Started HTTP server on port {http_port}")
    server.serve_forever()
    # The listener only closes for /exit's graceful shutdown, whose thread ends the process with the
    # requested code; returning here would race it with exit status 0 (Go blocks in ``select {}``).
    threading.Event().wait()
    return 0


def _http_server(state: NetexecState, values: dict[str, object], port: int) -> HTTPServer:
    handler = make_handler(state, str(values["http-override"]))
    try:
        server = HTTPServer(handler, port, log=go_log)
    except OSError as exc:
        fatal(f"listen tcp :{port}: bind: {exc.strerror and exc.strerror.lower()}")
        raise
    cert, key = str(values["tls-cert-file"]), str(values["tls-private-key-file"])
    if cert:
        import ssl

        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert, key or None)
        server.ssl_context = context
    return server


def _graceful(server: HTTPServer, code: int, timeout: float) -> None:
    """``/exit`` with a timeout: Go's ``Server.Shutdown`` bounded by it, then ``os.Exit(code)``."""
    server.shutdown(timeout)
    go_log("Graceful shutdown completed with: <nil>")
    sys.stdout.flush()
    os._exit(code & 0xFF)
