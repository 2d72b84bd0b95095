"""Named network namespaces, the iproute2 way (``/run/netns/<name>`` bind mounts), without leaving ours.

The calling process never changes namespace: a namespace is made and entered by a short-lived
thread (setns and unshare(CLONE_NEWNET) act on the calling thread only), which checks where it is
before it touches anything. The names are compatible with ``ip netns``: ``ip -n podnet-x-node-1 ...``
and ``ip netns exec`` work on a lab's hosts.
"""

from __future__ import annotations

import ctypes
import errno
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from podnet.kernel.enter import mount_table, under

NETNS_RUN_DIR = Path("/run/netns")

CLONE_NEWNET = 0x40000000
MS_BIND = 0x1000
MS_REC = 0x4000
MS_SHARED = 1 << 20
MNT_DETACH = 2

T = TypeVar("T")
_libc = ctypes.CDLL(None, use_errno=True)


def _check(rc: int, what: str, path: str | Path) -> None:
    if rc != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}", str(path))


def netns_path(name: str) -> Path:
    if not name or "/" in name or name in (".", ".."):
        raise ValueError(f"bad namespace name {name!r}")
    return NETNS_RUN_DIR / name


def list_netns() -> list[str]:
    try:
        return sorted(os.listdir(NETNS_RUN_DIR))
    except FileNotFoundError:
        return []


def netns_inode(name: str) -> int | None:
    """The namespace's inode (what /proc/<pid>/ns/net links to), or None when it is not there."""
    try:
        st = os.stat(netns_path(name))
    except FileNotFoundError:
        return None
    # A pinned namespace lives on nsfs, like our own; an unmounted leftover is a plain empty file.
    return st.st_ino if st.st_dev == os.stat("/proc/self/ns/net").st_dev else None


def _share_run_dir() -> None:
    """Make /run/netns a shared mount as iproute2 does, so unmounts reach other mount namespaces."""
    NETNS_RUN_DIR.mkdir(parents=True, exist_ok=True)
    d = bytes(NETNS_RUN_DIR)
    if _libc.mount(b"none", d, None, MS_SHARED | MS_REC, None) == 0:
        return
    _check(_libc.mount(d, d, b"none", MS_BIND | MS_REC, None), "bind mount", NETNS_RUN_DIR)
    _check(_libc.mount(b"none", d, None, MS_SHARED | MS_REC, None), "make shared", NETNS_RUN_DIR)


def _in_thread(fn: Callable[[], T]) -> T:
    """Run ``fn`` on a fresh thread, so namespace changes die with the thread and never reach ours."""
    result: list[T] = []
    error: list[BaseException] = []

    def run() -> None:
        try:
            result.append(fn())
        except BaseException as exc:
            error.append(exc)

    t = threading.Thread(target=run, name="podnet-netns")
    t.start()
    t.join()
    if error:
        raise error[0]
    return result[0]


def _thread_netns_inode() -> int:
    return os.stat("/proc/thread-self/ns/net").st_ino


def create_netns(name: str) -> None:
    """Create and pin a new, empty network namespace; EEXIST if the name is taken."""
    path = netns_path(name)
    _share_run_dir()
    os.close(os.open(path, os.O_RDONLY | os.O_CREAT | os.O_EXCL, 0))
    process_ns = os.stat("/proc/self/ns/net").st_ino

    def make() -> None:
        _check(_libc.unshare(CLONE_NEWNET), "unshare", path)
        if _thread_netns_inode() == process_ns:
            raise OSError(errno.EPERM, "unshare left the thread in the process namespace", str(path))
        src = b"/proc/thread-self/ns/net"
        _check(_libc.mount(src, bytes(path), b"none", MS_BIND, None), "bind mount", path)

    try:
        _in_thread(make)
    except BaseException:
        path.unlink(missing_ok=True)
        raise


def delete_netns(name: str) -> bool:
    """Unpin the namespace (the kernel frees it when its last process leaves); False if it was absent."""
    path = netns_path(name)
    if not path.exists():
        return False
    rc = _libc.umount2(bytes(path), MNT_DETACH)
    if rc != 0 and ctypes.get_errno() != errno.EINVAL:  # EINVAL: a leftover file, not mounted
        _check(rc, "umount", path)
    path.unlink(missing_ok=True)
    return True


def run_in_netns(name: str, fn: Callable[[], T]) -> T:
    """Run ``fn`` on a thread inside namespace ``name``; it refuses to run anywhere else."""
    path = netns_path(name)

    def enter() -> T:
        fd = os.open(path, os.O_RDONLY)
        try:
            want = os.fstat(fd).st_ino
            _check(_libc.setns(fd, CLONE_NEWNET), "setns", path)
        finally:
            os.close(fd)
        if _thread_netns_inode() != want:
            raise OSError(errno.EPERM, "setns did not move the thread", str(path))
        return fn()

    return _in_thread(enter)


def umount_detach(point: str) -> None:
    """Lazily unmount ``point`` (MNT_DETACH): busy mounts go when their last user does."""
    rc = _libc.umount2(point.encode(), MNT_DETACH)
    if rc != 0 and ctypes.get_errno() != errno.EINVAL:  # EINVAL: not (or no longer) a mount point
        _check(rc, "umount", point)


def fs_type(path: str | Path) -> str:
    """The filesystem type of the mount holding ``path`` (longest mount point prefix in mountinfo)."""
    target = os.path.realpath(path)
    holding = [m for m in reversed(mount_table()) if under(target, m.point)]  # the latest mount first
    return max(holding, key=lambda m: len(m.point)).fstype if holding else ""


def mount_tmpfs(path: str | Path, mode: int = 0o755) -> bool:
    """Mount a fresh tmpfs on the directory ``path`` unless it already lives on one; whether it mounted.

    Runtime state belongs in RAM (/run is a tmpfs on a usual Linux system); where /run is a plain disk
    directory, every small file a pod start writes costs 100-230 µs of journaling instead of 10-25.
    """
    if fs_type(path) == "tmpfs":
        return False
    options = f"mode={mode:o}".encode()
    _check(_libc.mount(b"podnet", bytes(Path(path)), b"tmpfs", 0, options), "mount tmpfs on", path)
    return True
