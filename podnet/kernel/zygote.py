"""A resident process that forks pod sandbox holders (pause processes): ``python -I -S zygote.py --fd N``.

Why: a pause started as ``python -I -S enter.py --net ... -- sleep infinity`` pays a whole interpreter
start per pod (~6.5 ms of CPU, ~8 ms of wall time here) before it execs the pause. This process pays
it once per agent; each sandbox then costs a fork of a small, single-threaded process plus the exec
of the pause. The forked child runs the very function enter.py's ``--net`` mode runs
(``enter.new_sandbox``), so both ways build the same sandbox.

Protocol, over the SOCK_SEQPACKET socket inherited as fd N, one JSON message each way per sandbox:

    {"net": PATH, "files": DIR | null, "hostname": H | null, "argv": [...], "log": PATH,
     "rootFiles": {"/NAME": TEXT} (optional: the pod's root becomes an overlay holding them)}
    -> {"pid": N}                      the child has exec'd argv (its namespaces are set)
    -> {"error": "...", "pid": N?}      it could not; nothing of it runs any more

The answer comes only after the exec (a close-on-exec pipe reports a failure or reads EOF at the exec),
so the caller never polls for it. Children run in their own sessions and outlive this process; it
reaps those that exit while it runs. EOF on the socket (the agent closed it or died) ends the zygote.
Standard library only.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import enter

MAX_MESSAGE = 1 << 16


def reap(*_: object) -> None:
    """Collect every exited child (a SIGCHLD handler: the pauses are ours until they exit)."""
    while True:
        try:
            pid, _status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def parse(data: bytes) -> dict:
    req = json.loads(data)
    if not isinstance(req, dict):
        raise ValueError("request is not an object")
    argv = req.get("argv")
    if not isinstance(argv, list) or not argv or not all(isinstance(a, str) for a in argv):
        raise ValueError("argv must be a non-empty list of strings")
    for key in ("net", "log"):
        if not isinstance(req.get(key), str):
            raise ValueError(f"{key} must be a string")
    for key in ("files", "hostname"):
        if req.get(key) is not None and not isinstance(req[key], str):
            raise ValueError(f"{key} must be a string or null")
    root_files = req.get("rootFiles") or {}
    if not isinstance(root_files, dict) or not all(
        isinstance(k, str)
        and isinstance(v, str)
        and k.startswith("/")
        and "/" not in k[1:]
        and k not in ("/", "/.", "/..")
        for k, v in root_files.items()
    ):
        raise ValueError("rootFiles must map top-level paths (/NAME) to text")
    if root_files and not req.get("files"):
        raise ValueError("rootFiles need a files directory (the overlay's layers live there)")
    return req


def _child(req: dict, report: int) -> None:
    """In the forked child: become the sandbox, then exec. Never returns."""
    try:
        # as subprocess's restore_signals: Python ignores SIGPIPE and SIGXFSZ, and exec keeps "ignored"
        for sig in (signal.SIGCHLD, signal.SIGPIPE, signal.SIGXFSZ):
            signal.signal(sig, signal.SIG_DFL)
        os.setsid()
        devnull = os.open(os.devnull, os.O_RDWR)
        log = os.open(req["log"], os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        os.dup2(devnull, 0)
        os.dup2(devnull, 1)
        os.dup2(log, 2)
        os.close(devnull)
        os.close(log)
        enter.new_sandbox(req["net"], req.get("files"), req.get("hostname"), req.get("rootFiles"))
        try:
            os.execvp(req["argv"][0], req["argv"])
        except OSError as exc:
            raise OSError(exc.errno, f"cannot run {req['argv'][0]}: {exc.strerror}") from None
    except BaseException as exc:  # whatever it was, the parent must hear of it
        try:
            os.write(report, f"{type(exc).__name__}: {exc}".encode(errors="replace")[:4000])
        finally:
            os._exit(125)


def start(req: dict) -> dict:
    """Fork the sandbox holder; its PID once it has exec'd, or the error that stopped it."""
    r, w = os.pipe2(os.O_CLOEXEC)
    pid = os.fork()
    if pid == 0:
        os.close(r)
        _child(req, w)
    os.close(w)
    with os.fdopen(r, "rb") as pipe:
        failure = pipe.read()  # EOF at the child's exec (close-on-exec) or exit
    if failure:
        return {"error": failure.decode(errors="replace"), "pid": pid}
    return {"pid": pid}


def serve(sock: socket.socket) -> None:
    signal.signal(signal.SIGCHLD, reap)
    while True:
        data = sock.recv(MAX_MESSAGE)
        if not data:
            return
        try:
            reply = start(parse(data))
        except (ValueError, KeyError, TypeError) as exc:
            reply = {"error": f"bad request: {exc}"}
        except OSError as exc:  # fork or pipe failed: this zygote can go on
            reply = {"error": f"cannot start the sandbox: {exc}"}
        sock.send(json.dumps(reply).encode())


def main(argv: list[str]) -> int:
    if len(argv) != 2 or argv[0] != "--fd" or not argv[1].isdigit():
        sys.stderr.write("usage: zygote.py --fd N\n")
        return 2
    with socket.socket(fileno=int(argv[1])) as sock:
        serve(sock)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
