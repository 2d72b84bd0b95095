"""The ``podnet-cni`` executable: a thin client that a runtime starts for every CNI call.

It imports only builtin modules (``sys``, ``posix``, ``_socket``: about 0.5 ms; ``socket`` and ``json``
would cost ~10 ms each, as they pull in ``enum`` and ``re``). If the network config names an
``agentSocket`` that a resident server listens on, the request goes there and the answer is relayed;
otherwise the work is done in this process by the same code the server runs (``plugin.handle``),
paying the pyroute2 import. The config is not parsed here: ``agentSocket`` is found by a byte
scan, and anything unusual about it simply means "run standalone", which is always correct.
"""

import _socket
import posix
import sys

from podnet.agent.cni import wire

SOCKET_KEY = b'"agentSocket"'
TIMEOUT_S = 120.0
# code 100 (podnet's kernel/agent failure); written by hand, as json costs ~10 ms to import
AGENT_FAILED = b'{"cniVersion": "1.1.0", "code": 100, "msg": "podnet agent did not answer: %s"}\n'


def agent_socket(stdin: bytes) -> bytes | None:
    """The ``agentSocket`` string value, when it is a plain (escape-free) absolute path."""
    at = stdin.find(SOCKET_KEY)
    if at < 0:
        return None
    rest = stdin[at + len(SOCKET_KEY) :].lstrip()
    if not rest.startswith(b":"):
        return None
    rest = rest[1:].lstrip()
    if not rest.startswith(b'"'):
        return None
    end = rest.find(b'"', 1)
    value = rest[1:end] if end > 0 else b""
    if not value.startswith(b"/") or b"\\" in value:
        return None
    return value


def forward(path: bytes, stdin: bytes) -> tuple[int, bytes] | None:
    """The server's answer, or None when no server listens there (then the caller runs standalone)."""
    env = {k: v for k, v in posix.environ.items() if k.startswith(b"CNI_")}
    env[wire.NETNS_KEY] = str(posix.stat("/proc/self/ns/net").st_ino).encode()
    sock = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
    try:
        sock.settimeout(TIMEOUT_S)
        try:
            sock.connect(path)
        except OSError:
            return None
        chunks = []
        try:
            sock.sendall(wire.encode_request(env, stdin))
            sock.shutdown(_socket.SHUT_WR)
            for _ in range(1 << 20):  # bounded: 64 GiB of answer would be absurd anyway
                chunk = sock.recv(65536)
                if not chunk:
                    break
                chunks.append(chunk)
            return wire.decode_response(b"".join(chunks))
        except (OSError, ValueError) as exc:
            # The request may have been carried out: running it again here could do it twice.
            return 1, AGENT_FAILED % str(exc).replace('"', "'").encode()
    finally:
        sock.close()


def standalone(stdin: bytes, extra_paths: list[str]) -> tuple[int, bytes]:
    sys.path.extend(p for p in extra_paths if p not in sys.path)
    from podnet.agent.cni.plugin import handle

    env = {
        k.decode("utf-8", "surrogateescape"): v.decode("utf-8", "surrogateescape")
        for k, v in posix.environ.items()
    }
    return handle(env, stdin)


def main(extra_paths: list[str] | None = None, fast_exit: bool = False) -> int:
    """Run one CNI call; ``extra_paths`` are where pyroute2 lives when started with ``-I -S``.

    ``fast_exit`` (the installed launcher) leaves with ``_exit`` once stdout is flushed: interpreter
    finalization would add ~1 ms to every call and has nothing left to clean up.
    """
    stdin = sys.stdin.buffer.read()
    path = agent_socket(stdin)
    answer = forward(path, stdin) if path is not None else None
    status, stdout = answer if answer is not None else standalone(stdin, extra_paths or [])
    sys.stdout.buffer.write(stdout)
    sys.stdout.buffer.flush()
    if fast_exit:
        posix._exit(status)
    return status


if __name__ == "__main__":
    sys.exit(main())
