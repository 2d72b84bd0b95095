"""Start a pod's processes in its namespaces: ``python -I -S enter.py [options] -- CMD...``.

Standard library only and run as a script (about 10 ms), so every container start stays cheap. Two
modes, like a pause container and the containers that join it:

- ``--net PATH [--files DIR] [--hostname H]``: a new sandbox holder. setns into the network namespace at
  PATH, unshare a mount and a UTS namespace (mounts made a slave of the node's, so unmounts still reach
  us), bind ``DIR/hosts`` and ``DIR/resolv.conf`` over /etc, set the hostname, then exec CMD (the pause).
- ``--join PID``: a container. setns into the network, UTS and mount namespaces of PID (the holder), so
  the pod's containers share localhost, hostname and /etc files, then chdir and exec CMD.

The exec keeps the PID, so the PID the agent gets is the command's own. Exit status: the command's;
125 when entering failed, 126 when the command cannot run, 127 when it is not found (env(1)'s rules).
"""

from __future__ import annotations

import _socket  # the C module: ``socket`` would import enum and selectors, ~5 ms of every pod start
import ctypes
import errno
import fcntl
import os
import struct
import sys
from typing import NamedTuple

CLONE_NEWNS = 0x00020000
CLONE_NEWUTS = 0x04000000
CLONE_NEWNET = 0x40000000
MS_BIND = 0x1000
MS_REC = 0x4000
MS_SLAVE = 1 << 19
MNT_DETACH = 2
SIOCGIFFLAGS = 0x8913
SIOCSIFFLAGS = 0x8914
IFF_UP = 0x1

libc = ctypes.CDLL(None, use_errno=True)


def _check(rc: int, what: str) -> None:
    if rc != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")


def _setns(path: str, kind: int) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        _check(libc.setns(fd, kind), "setns " + path)
    finally:
        os.close(fd)


def loopback_up() -> None:
    """``ip link set lo up`` by ioctl: a fresh namespace's lo is down, and pods need localhost."""
    sock = _socket.socket(_socket.AF_INET, _socket.SOCK_DGRAM)
    try:
        req = struct.pack("16sH14x", b"lo", 0)
        flags = struct.unpack("16sH14x", fcntl.ioctl(sock.fileno(), SIOCGIFFLAGS, req))[1]
        fcntl.ioctl(sock.fileno(), SIOCSIFFLAGS, struct.pack("16sH14x", b"lo", flags | IFF_UP))
    finally:
        sock.close()


def new_sandbox(
    net: str, files: str | None, hostname: str | None, root_files: dict[str, str] | None = None
) -> None:
    _setns(net, CLONE_NEWNET)
    loopback_up()
    _check(libc.unshare(CLONE_NEWNS | CLONE_NEWUTS), "unshare")
    _check(libc.mount(b"none", b"/", None, MS_REC | MS_SLAVE, None), "make / a slave mount")
    # the overlay is made before the binds below cover /run, while its place in the pod's directory
    # can still be reached by path; it is held by a descriptor from then on
    merged = _prepare_overlay(os.path.join(files, "rootfs")) if root_files and files else None
    if files:
        for name in ("hosts", "resolv.conf"):
            src = os.path.join(files, name)
            if os.path.exists(src):
                dst = "/etc/" + name
                _check(libc.mount(src.encode(), dst.encode(), b"none", MS_BIND, None), "bind " + dst)
        run = os.path.join(files, "run")
        if os.path.isdir(run):
            # The pod's own /run, as a container has: it holds the service account where in-cluster
            # clients look (/var/run/secrets/kubernetes.io/serviceaccount; /var/run is /run).
            _check(libc.mount(run.encode(), b"/run", b"none", MS_BIND, None), "bind /run")
    # A fresh sysfs, mounted from inside the pod's network namespace: /sys/class/net shows the pod's
    # interfaces, as in a container, not the machine's.
    _check(libc.umount2(b"/sys", MNT_DETACH), "unmount /sys")
    _check(libc.mount(b"sysfs", b"/sys", b"sysfs", 0, None), "mount sysfs")
    if hostname:
        raw = hostname.encode()
        _check(libc.sethostname(raw, len(raw)), "sethostname")
    if merged is not None and root_files:
        _pivot_into_overlay(merged, root_files)


SYS_PIVOT_ROOT = 155  # x86_64; glibc has no wrapper


class Mount(NamedTuple):
    id: int
    parent: int
    point: str
    fstype: str


def mount_table() -> list[Mount]:
    """This mount namespace's mounts, in mount order (/proc/self/mountinfo; the standard library only,
    as this file runs as a script too). The lab's teardown and tmpfs check read it through here."""
    out = []
    with open("/proc/self/mountinfo", encoding="utf-8") as f:
        for line in f:
            fields = line.split()
            # mountinfo escapes space, tab, newline and backslash as \ooo octal
            point = fields[4].encode().decode("unicode_escape") if "\\" in fields[4] else fields[4]
            out.append(Mount(int(fields[0]), int(fields[1]), point, fields[fields.index("-") + 1]))
    return out


def under(path: str, top: str) -> bool:
    """``path`` is ``top`` or inside it."""
    return path == top or path.startswith(top.rstrip("/") + "/")


def _prepare_overlay(work: str) -> int:
    """A tmpfs at ``work`` (this namespace only) and an overlay of the node's root in it; an O_PATH
    descriptor of the overlay's root.

    Pods share the node's root filesystem (there are no image layers here), so a path an image has at
    its root, like agnhost's ``/agnhost``, cannot simply be created: the node's ``/`` must not change.
    The pod's root becomes a copy-on-write overlay instead: the node's root read-only below, a tmpfs
    above, so what the pod writes there stays the pod's.
    """
    os.makedirs(work, exist_ok=True)
    _check(libc.mount(b"podnet-root", work.encode(), b"tmpfs", 0, b"mode=0700"), "tmpfs for the pod root")
    for d in ("upper", "work", "merged"):
        os.mkdir(os.path.join(work, d))
    merged = os.path.join(work, "merged")
    options = f"lowerdir=/,upperdir={work}/upper,workdir={work}/work".encode()
    _check(libc.mount(b"overlay", merged.encode(), b"overlay", 0, options), "overlay root")
    return os.open(merged, os.O_PATH | os.O_DIRECTORY)


def _pivot_into_overlay(merged: int, files: dict[str, str]) -> None:
    """Bind every visible mount into the overlay, write ``files`` at its root, make it the root.

    Binds are recursive, and binds of this namespace's slave mounts stay slaves, so unmounts on the
    node (a deleted network namespace) still reach the pod. Skipped: mounts covered by a later one
    (not visible before either) and the mount holding the overlay itself.
    """
    table = mount_table()
    parents = {m.id: m.parent for m in table}
    root_id = next(m.id for m in table if m.point == "/")
    mid = next(m.id for m in reversed(table) if m.point.endswith("/rootfs/merged"))
    holding: set[int] = set()
    while mid in parents and mid != root_id:
        holding.add(mid)
        mid = parents[mid]
    tops = [(m.id, m.point) for m in table if m.parent == root_id and m.point != "/"]
    base = f"/proc/self/fd/{merged}"
    for i, (mid, point) in enumerate(tops):
        if mid in holding or any(under(point, later) for _m, later in tops[i + 1 :]):
            continue
        _check(
            libc.mount(point.encode(), (base + point).encode(), None, MS_BIND | MS_REC, None), "bind " + point
        )
    for path, text in files.items():
        fd = os.open(base + path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o755)
        try:
            os.write(fd, text.encode())
        finally:
            os.close(fd)
    os.fchdir(merged)
    os.close(merged)
    _check(libc.syscall(SYS_PIVOT_ROOT, b".", b"."), "pivot_root")
    _check(libc.umount2(b".", MNT_DETACH), "detach the node's root")
    os.chdir("/")


def join(pid: str) -> None:
    # The mount namespace last: after it, /proc paths are still valid (same /proc mount is shared).
    for name, kind in (("net", CLONE_NEWNET), ("uts", CLONE_NEWUTS), ("mnt", CLONE_NEWNS)):
        _setns(f"/proc/{pid}/ns/{name}", kind)


def parse(argv: list[str]) -> tuple[dict[str, str], list[str]]:
    opts: dict[str, str] = {}
    i = 0
    while i < len(argv) and argv[i] != "--":
        key = argv[i]
        if key not in ("--net", "--files", "--hostname", "--join", "--workdir") or i + 1 >= len(argv):
            raise ValueError(f"bad option {key!r}")
        opts[key[2:]] = argv[i + 1]
        i += 2
    cmd = argv[i + 1 :]
    if not cmd or ("net" not in opts) == ("join" not in opts):
        raise ValueError("need exactly one of --net/--join and a command after --")
    return opts, cmd


def main(argv: list[str]) -> int:
    try:
        opts, cmd = parse(argv)
    except ValueError as exc:
        sys.stderr.write(
            f"usage: enter.py (--net PATH [--files DIR] [--hostname H] | --join PID) -- CMD: {exc}\n"
        )
        return 125
    try:
        if "join" in opts:
            join(opts["join"])
        else:
            new_sandbox(opts["net"], opts.get("files"), opts.get("hostname"))
        if "workdir" in opts:
            os.chdir(opts["workdir"])
    except OSError as exc:
        where = opts.get("hostname") or "the namespace"
        sys.stderr.write(f"podnet: cannot enter {where}: {exc}\n")
        return 125
    try:
        os.execvp(cmd[0], cmd)
    except OSError as exc:
        sys.stderr.write(f"podnet: {cmd[0]}: {exc.strerror}\n")
        return 127 if exc.errno == errno.ENOENT else 126
    return 126  # not reached


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
