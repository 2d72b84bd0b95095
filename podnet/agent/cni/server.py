"""The resident CNI server: the node agent keeps pyroute2 loaded and does the netlink work here.

The thin ``podnet-cni`` client forwards each call over a unix socket (``wire`` framing) and this
server answers with exactly what ``plugin.handle`` returns, so the standalone and resident paths
cannot drift apart. What residency adds lives in ``Resident`` (a ``NodeKernel``):

- a fixed set of worker threads blocked in ``accept()``, each keeping its own netlink handle;
- the bridge checked once, not on every ADD;
- DEL retires a pod's host veth — down, off the bridge, into ``RETIRED_GROUP``, in one netlink
  call, so the pod is cut off before DEL returns — and a reaper thread unregisters all retired
  links in one kernel batch a moment later. Unregistering a veth costs ~15 ms of kernel time
  whether it is one link or ten; paying it per DEL would make DEL twice as slow.

It refuses requests from a client in another network namespace: the runtime expects the node
bridge in *its* namespace, and acting elsewhere would build the pod's network in the wrong place.

    python -m podnet.agent.cni.server --socket /run/podnet/<lab>/<node>/cni.sock
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import os
import signal
import socket
import sys
import threading
from collections.abc import Iterator
from types import FrameType

from podnet.agent.cni import wire
from podnet.agent.cni.errors import AGENT_MISMATCH, CNIError
from podnet.agent.cni.plugin import handle
from podnet.kernel import netns
from podnet.kernel.netlink import Link, Rtnl, open_rtnl
from podnet.kernel.rtnl_batch import RtnlBatch

MAX_REQUEST = 16 << 20
WORKERS = 8
RETIRED_GROUP = 0x706E  # "pn": the device group of retired pod veths awaiting the reaper
REAP_LINGER_S = 0.05  # wait this long for more retirements before a batch


class Reaper:
    """Unregisters retired links in batches, on its own thread with its own netlink handle."""

    def __init__(self) -> None:
        self._wake = threading.Event()
        self._stop = False
        self._thread = threading.Thread(target=self._run, name="podnet-cni-reaper", daemon=True)
        self._thread.start()

    def poke(self) -> None:
        self._wake.set()

    def _run(self) -> None:
        with contextlib.closing(open_rtnl()) as host:
            host.delete_group(RETIRED_GROUP)  # leftovers of a previous server
            while not self._stop:
                self._wake.wait()
                self._wake.clear()
                # let a burst of DELs gather; bounded: one linger per wake-up
                self._wake.wait(REAP_LINGER_S)
                self._wake.clear()
                try:
                    host.delete_group(RETIRED_GROUP)
                except OSError as exc:
                    print(f"podnet-cni: reaping retired veths failed: {exc}", file=sys.stderr, flush=True)

    def close(self, timeout: float = 5.0) -> None:
        """Reap what is left, then stop."""
        self._stop = True
        self._wake.set()
        self._thread.join(timeout)


class Resident:
    """``NodeKernel`` for a long-lived process: kept handles, cached checks, batched deletes."""

    def __init__(self) -> None:
        self.bridges: dict[tuple[str, str], Link] = {}
        self._local = threading.local()
        self._handles: list[Rtnl] = []
        self._lock = threading.Lock()
        self.reaper = Reaper()

    @contextlib.contextmanager
    def host(self) -> Iterator[Rtnl]:
        handle: Rtnl | None = getattr(self._local, "rtnl", None)
        if handle is None:
            handle = open_rtnl()
            self._local.rtnl = handle
            with self._lock:
                self._handles.append(handle)
        yield handle

    def retire(self, name: str) -> None:
        try:
            RtnlBatch().detach(name, RETIRED_GROUP).send()
        except OSError as exc:
            if exc.errno != errno.ENODEV:
                raise
            return
        self.reaper.poke()

    def close(self) -> None:
        self.reaper.close()
        with self._lock:
            for handle in self._handles:
                with contextlib.suppress(Exception):  # opened on another (worker) thread
                    handle.close()
            self._handles.clear()


def serve_one(data: bytes, own_netns: int, node: Resident) -> bytes:
    """The response bytes for one request's bytes."""
    try:
        env, stdin = wire.decode_request(data)
    except ValueError as exc:
        return wire.encode_response(1, CNIError(AGENT_MISMATCH, f"bad request: {exc}").to_json())
    client_ns = env.pop(wire.NETNS_KEY.decode(), "")
    if client_ns != str(own_netns):
        msg = "the podnet agent serving this socket runs in another network namespace than the caller"
        details = f"client netns {client_ns or '?'}, agent netns {own_netns}"
        return wire.encode_response(1, CNIError(AGENT_MISMATCH, msg, details).to_json())
    status, stdout = handle(env, stdin, node)
    return wire.encode_response(status, stdout)


def _read_request(sock: socket.socket) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while size <= MAX_REQUEST:
        chunk = sock.recv(65536)
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks)


class CniServer:
    """Serve CNI calls on a unix socket until ``shutdown()``; ``close()`` removes the socket file.

    ``workers`` threads each block in ``accept()`` on the one listening socket, so the kernel hands
    a connection straight to an idle worker: no selector loop, no queue, no thread hand-off on the
    latency path.
    """

    def __init__(self, path: str, workers: int = WORKERS) -> None:
        self.path = path
        self.netns_inode = netns.current_netns_inode()
        self.node = Resident()
        self._workers = workers
        self._threads: list[threading.Thread] = []
        self._stopping = threading.Event()
        os.makedirs(os.path.dirname(path) or ".", mode=0o755, exist_ok=True)
        _remove_stale(path)
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        old = os.umask(0o177)  # root only: the socket builds interfaces on the node
        try:
            self._sock.bind(path)
        finally:
            os.umask(old)
        self._sock.listen(128)

    def start(self) -> None:
        for n in range(self._workers):
            t = threading.Thread(target=self._accept_loop, name=f"podnet-cni-{n}", daemon=True)
            t.start()
            self._threads.append(t)

    def serve_forever(self) -> None:
        """Serve until ``request_stop()`` (a signal handler may call it)."""
        self.start()
        while not self._stopping.wait(1.0):
            pass

    def request_stop(self) -> None:
        self._stopping.set()

    def _accept_loop(self) -> None:
        with self.node.host():  # open this worker's netlink handle now, not during its first call
            pass
        while not self._stopping.is_set():
            try:
                conn, _ = self._sock.accept()
            except OSError:
                if self._stopping.is_set():
                    return
                continue
            self._serve(conn)

    def _serve(self, sock: socket.socket) -> None:
        try:
            sock.sendall(serve_one(_read_request(sock), self.netns_inode, self.node))
        except Exception as exc:  # one bad call must not take the server down
            print(f"podnet-cni: request failed: {exc!r}", file=sys.stderr, flush=True)
        finally:
            sock.close()

    def shutdown(self, timeout: float = 10.0) -> None:
        """Stop accepting, let calls in progress finish (bounded), then return."""
        self._stopping.set()
        with contextlib.suppress(OSError):
            self._sock.shutdown(socket.SHUT_RDWR)  # wakes every thread blocked in accept()
        for t in self._threads:
            t.join(timeout)

    def close(self) -> None:
        self._stopping.set()
        self._sock.close()
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.path)
        self.node.close()


def _remove_stale(path: str) -> None:
    """Take over a socket file nobody listens on; refuse one that a live server holds."""
    if not os.path.exists(path):
        return
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        probe.connect(path)
    except OSError:
        os.unlink(path)
        return
    finally:
        probe.close()
    raise OSError(f"a CNI server already listens on {path}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="podnet-cni-server", description="podnet's resident CNI server")
    parser.add_argument("--socket", required=True, help="unix socket path (the config's agentSocket)")
    args = parser.parse_args(argv)
    import pyroute2  # type: ignore[import-untyped] # noqa: F401  # paid now, not by the first ADD

    server = CniServer(args.socket)

    def stop(signum: int, frame: FrameType | None) -> None:
        server.request_stop()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    print(f"podnet-cni server listening on {args.socket}", file=sys.stderr, flush=True)
    try:
        server.serve_forever()
        server.shutdown()
    finally:
        server.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
