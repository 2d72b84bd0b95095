"""Network namespace handles for code that must never leave its own namespace.

A socket stays in the namespace it was created in, so we create netlink sockets for another
namespace on a short-lived thread that has joined it (setns acts on the calling thread only); the
process, and every other thread, stays where it was. This is much cheaper than pyroute2's
``netns=`` option, which forks a helper process per socket.
"""

from __future__ import annotations

import ctypes
import errno
import os
import socket
import threading
from collections.abc import Callable
from typing import TypeVar

CLONE_NEWNET = 0x40000000
T = TypeVar("T")

_libc = ctypes.CDLL(None, use_errno=True)


def current_netns_inode() -> int:
    """The inode of the calling thread's network namespace."""
    return os.stat("/proc/thread-self/ns/net").st_ino


def netns_inode(path: str) -> int | None:
    """The namespace inode a netns path (``/run/netns/x``, ``/proc/<pid>/ns/net``) points at, or None."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    # A pinned namespace lives on nsfs; an unmounted leftover of /run/netns is a plain empty file.
    return st.st_ino if st.st_dev == os.stat("/proc/self/ns/net").st_dev else None


def run_in_netns(path: str, fn: Callable[[], T]) -> T:
    """Run ``fn`` on a fresh thread inside the namespace at ``path``; it refuses to run anywhere else."""
    result: list[T] = []
    error: list[BaseException] = []

    def run() -> None:
        try:
            fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
            try:
                want = os.fstat(fd).st_ino
                if _libc.setns(fd, CLONE_NEWNET) != 0:
                    err = ctypes.get_errno()
                    raise OSError(err, f"setns: {os.strerror(err)}", path)
            finally:
                os.close(fd)
            if current_netns_inode() != want:
                raise OSError(errno.EPERM, "setns did not move the thread", path)
            result.append(fn())
        except BaseException as exc:
            error.append(exc)

    t = threading.Thread(target=run, name="podnet-netns")
    t.start()
    t.join()
    if error:
        raise error[0]
    return result[0]


def netlink_socket_in(path: str) -> socket.socket:
    """An rtnetlink socket bound to the namespace at ``path`` (the namespace must be a real one)."""
    if netns_inode(path) is None:
        raise FileNotFoundError(errno.ENOENT, "no such network namespace", path)
    return run_in_netns(
        path, lambda: socket.socket(socket.AF_NETLINK, socket.SOCK_DGRAM, socket.NETLINK_ROUTE)
    )
