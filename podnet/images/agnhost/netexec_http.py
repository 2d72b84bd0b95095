"""netexec's HTTP endpoints, as routes over a ``NetexecState``; no sockets are opened here except by /dial.

Each handler mirrors the Go handler of the same name in agnhost's ``netexec.go``, including its quirks,
because e2e tests were written against them: ``/`` answers every unknown path, ``/dial`` answers 200 even
when every try failed and drops ``responses`` when the last try failed, ``/healthz`` stays 412 while no
UDP/SCTP server runs, and ``/shutdown`` exits without answering.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import parse_qs

from podnet.images.agnhost import dial
from podnet.images.agnhost.flags import format_duration, parse_duration
from podnet.images.agnhost.gostyle import ResolveError, go_json, go_now, go_quote, join_host_port, resolve
from podnet.images.httpserver import REASONS, Request, Response, go_http_error, go_log, split_target, text

Route = Callable[["NetexecState", Request], "Response | None"]


@dataclass
class NetexecState:
    """What the handlers share: readiness (a UDP or SCTP server is up), SIGTERM seen, how to exit."""

    ready: threading.Event = field(default_factory=threading.Event)
    terminating: threading.Event = field(default_factory=threading.Event)
    hostname: Callable[[], str] = socket.gethostname
    exit: Callable[[int], None] = lambda code: _hard_exit(code)
    graceful_exit: Callable[[int, float], None] = lambda code, timeout: _hard_exit(code)
    sleep: Callable[[float], None] = time.sleep
    log: Callable[[str], None] = go_log
    shell: str = "/bin/sh"
    uploads: str = "/uploads"


def _hard_exit(code: int) -> None:
    """``os.Exit``: no deferred cleanup, no answer to the request in flight."""
    os._exit(code & 0xFF)


def root(state: NetexecState, req: Request) -> Response:
    state.log("GET /")
    return text(f"NOW: {go_now()}")


def echo(state: NetexecState, req: Request) -> Response:
    msg, code = req.form_value("msg"), req.form_value("code")
    state.log(f"GET /echo?msg={msg}&code={code}")
    if not code:
        return text(msg)
    try:
        status = int(code)
    except ValueError:
        return text(f"argument 'code' must be an integer or empty, got {go_quote(code)}\n")
    return text(msg, status=status)


def clientip(state: NetexecState, req: Request) -> Response:
    state.log("GET /clientip")
    return text(join_host_port(*req.remote))


def _canonical(name: str) -> str:
    return "-".join(part[:1].upper() + part[1:].lower() for part in name.split("-"))


def header(state: NetexecState, req: Request) -> Response:
    key = req.form_value("key")
    if key:
        state.log(f"GET /header?key={key}")
        return text(req.header(key))
    state.log("GET /header")
    return text(go_json({_canonical(k): [v] for k, v in req.headers.items() if k != "host"}))


def hostname(state: NetexecState, req: Request) -> Response:
    state.log(f"GET {req.path}")
    return text(state.hostname())


def healthz(state: NetexecState, req: Request) -> Response:
    state.log("GET /healthz")
    return Response(status=200 if state.ready.is_set() else 412)


def readyz(state: NetexecState, req: Request) -> Response:
    state.log("GET /readyz")
    if state.terminating.is_set():
        return text("shutting down", status=503)
    return text("ok") if state.ready.is_set() else Response(status=412)


def shutdown(state: NetexecState, req: Request) -> None:
    state.log("GET /shutdown")
    state.exit(0)


def exit_(state: NetexecState, req: Request) -> Response | None:
    wait_s, timeout_s, code_s = req.form_value("wait"), req.form_value("timeout"), req.form_value("code")
    state.log(f"GET /exit?code={code_s}&timeout={timeout_s}&wait={wait_s}")
    try:
        timeout = parse_duration(timeout_s) if timeout_s else 0.0
    except ValueError:
        return text(
            f"argument 'timeout' must be a valid golang duration or empty, got {go_quote(timeout_s)}\n"
        )
    try:
        wait = parse_duration(wait_s) if wait_s else 0.0
    except ValueError:
        return text(f"argument 'wait' must be a valid golang duration or empty, got {go_quote(wait_s)}\n")
    try:
        code = int(code_s) if code_s else 0
    except ValueError:
        return text(f"argument 'code' must be an integer [0-127] or empty, got {go_quote(code_s)}\n")
    state.log(
        f"Will begin shutdown in {format_duration(wait)}, allowing {format_duration(timeout)} "
        f"for connections to close, then will exit with {code}"
    )
    state.sleep(max(wait, 0.0))
    if timeout == 0:
        state.exit(code)
        return None
    return Response(close=True, after=lambda: state.graceful_exit(code, timeout))


def redirect(state: NetexecState, req: Request) -> Response:
    location, code_s = req.form_value("location"), req.form_value("code")
    state.log(f"{req.method} /redirect?msg={location}&code={code_s}")
    status = 302
    if code_s:
        try:
            status = int(code_s)
        except ValueError:
            return text(f"argument 'code' must be an integer or empty, got {go_quote(code_s)}\n")
    resp = Response(status=status, headers=[("Location", location)])
    if req.method in ("GET", "HEAD"):
        escaped = (
            location.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&#34;")
        )
        resp.headers.append(("Content-Type", "text/html; charset=utf-8"))
        resp.body = f'<a href="{escaped}">{REASONS.get(status, "")}</a>.\n\n'.encode()
    return resp


def shell(state: NetexecState, req: Request) -> Response:
    cmd = req.form_value("shellCommand") or req.form_value("cmd")
    state.log(f"GET /shell?cmd={cmd}")
    output: dict[str, str] = {}
    try:
        proc = subprocess.run([state.shell, "-c", cmd], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    except OSError as exc:
        output["error"] = f"fork/exec {state.shell}: {exc.strerror.lower() if exc.strerror else exc}"
    else:
        if proc.stdout:
            output["output"] = proc.stdout.decode("utf-8", "replace")
        if proc.returncode > 0:
            output["error"] = f"exit status {proc.returncode}"
        elif proc.returncode < 0:
            output["error"] = f"signal: {_signal_name(-proc.returncode)}"
    state.log("Output: map[" + " ".join(f"{k}:{v}" for k, v in sorted(output.items())) + "]")
    return text(go_json(output))


def _signal_name(signum: int) -> str:
    names = {signal.SIGKILL: "killed", signal.SIGTERM: "terminated", signal.SIGINT: "interrupt"}
    return names.get(signal.Signals(signum), f"signal {signum}")


def dial_route(state: NetexecState, req: Request) -> Response:
    query = req.query

    def get(name: str) -> str:
        return query.get(name, [""])[0]

    host, port, request, protocol, tries_s = (
        get("host"),
        get("port"),
        get("request"),
        get("protocol"),
        get("tries"),
    )
    state.log(f"GET /dial?host={host}&protocol={protocol}&port={port}&request={request}&tries={tries_s}")
    try:
        tries = int(tries_s) if tries_s else 1
    except ValueError:
        return go_http_error(
            f"tries parameter is invalid. strconv.Atoi: parsing {go_quote(tries_s)}: invalid syntax", 400
        )
    if not request:
        return go_http_error("request parameter not specified. <nil>", 400)
    proto = protocol.lower()
    dialers = {
        "": (dial.dial_http, "tcp"),
        "http": (dial.dial_http, "tcp"),
        "udp": (dial.dial_datagram, "udp"),
    }
    dialers["sctp"] = (dial.dial_sctp, "sctp")
    if proto not in dialers:
        return go_http_error(f"unsupported protocol. {protocol}", 400)
    dialer, net = dialers[proto]
    try:
        kind = socket.SOCK_DGRAM if net == "udp" else socket.SOCK_STREAM
        addr = resolve(host, port, kind, "udp" if net == "udp" else "tcp")
    except ResolveError as exc:
        return go_http_error(f"host and/or port param are invalid. {exc}", 400)
    return text(go_json(dial_many(dialer, request, addr, tries)))


def dial_many(
    dialer: Callable[[str, tuple[int, tuple[str, int]]], str],
    request: str,
    addr: tuple[int, tuple[str, int]],
    tries: int,
) -> dict[str, list[str]]:
    """Run the tries in sequence; ``responses`` is present only when the last try answered, as in Go."""
    responses: list[str] = []
    errors: list[str] = []
    last = ""
    for _ in range(max(tries, 0)):
        try:
            last = dialer(request, addr)
            responses.append(last)
        except dial.DialError as exc:
            last = ""
            errors.append(str(exc))
    output: dict[str, list[str]] = {}
    if last:
        output["responses"] = responses
    if errors:
        output["errors"] = errors
    return output


def upload(state: NetexecState, req: Request) -> Response:
    state.log("GET /upload")
    content = _multipart_file(req, "file")
    if content is None:
        return text(go_json({"error": "Unable to upload file."}))
    import tempfile  # only /upload needs it; keep it off the start-up path

    try:
        fd, path = tempfile.mkstemp(prefix="upload", dir=state.uploads)
    except OSError:
        return text(go_json({"error": "Unable to open file for write"}))
    with os.fdopen(fd, "wb") as f:
        f.write(content)
    os.chmod(path, 0o700)
    state.log(f"Wrote upload to {path}")
    return text(go_json({"output": path}), status=201)


def _multipart_file(req: Request, field_name: str) -> bytes | None:
    """The content of one file part of a multipart/form-data body, or None."""
    ctype = req.header("content-type")
    if not ctype.startswith("multipart/form-data") or "boundary=" not in ctype:
        return None
    boundary = ctype.split("boundary=", 1)[1].split(";", 1)[0].strip().strip('"').encode()
    for part in req.body.split(b"--" + boundary)[1:]:
        head, sep, content = part.partition(b"\r\n\r\n")
        if sep and f'name="{field_name}"'.encode() in head and b"filename=" in head:
            return content[:-2] if content.endswith(b"\r\n") else content
    return None


ROUTES: dict[str, Route] = {
    "/": root,
    "/clientip": clientip,
    "/header": header,
    "/dial": dial_route,
    "/echo": echo,
    "/exit": exit_,
    "/healthz": healthz,
    "/readyz": readyz,
    "/hostname": hostname,
    "/redirect": redirect,
    "/shell": shell,
    "/upload": upload,
    "/hostName": hostname,  # the older spelling, still served
    "/shutdown": shutdown,
}


def make_handler(state: NetexecState, override: str = "") -> Callable[[Request], Response | None]:
    """The server's handler: exact-path routes, everything else to ``/``; ``--http-override`` rewrites all."""

    def handle(req: Request) -> Response | None:
        if override:
            path, query = split_target(override)
            req = Request(
                method="GET",
                target=override,
                path=path,
                query=parse_qs(query, keep_blank_values=True),
                headers=req.headers,
                remote=req.remote,
            )
        return ROUTES.get(req.path, root)(state, req)

    return handle
