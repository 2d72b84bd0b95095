"""Enter a lab host and exec a command: ``python -I -S enter.py NETNS_PATH HOST_DIR HOSTNAME -- CMD...``.

Standard library only and run as a script, so it starts in ~10 ms and never imports podnet. It does
what ``ip netns exec`` does, with podnet's files in place of /etc/netns/<name>/:

1. setns into the host's network namespace;
2. unshare a mount and a UTS namespace, and make every mount a slave of the host's, so our bind
   mounts stay private while unmounts made by ``podnet down`` still reach us;
3. bind HOST_DIR/hosts and HOST_DIR/resolv.conf over /etc/hosts and /etc/resolv.conf (those present);
4. mount a fresh sysfs on /sys, so /sys/class/net shows this namespace's links, not the machine's;
5. set the hostname to the host's name, then exec the command in the same PID (so the PID recorded
   for it is the command's own).

Exit status: the command's; 125 when entering failed, 126 when the command cannot run, 127 when it
is not found (the conventions of env(1) and the shells).
"""

from __future__ import annotations

import ctypes
import errno
import os
import sys

CLONE_NEWNS = 0x00020000
CLONE_NEWUTS = 0x04000000
CLONE_NEWNET = 0x40000000
MS_BIND = 0x1000
MS_REC = 0x4000
MS_SLAVE = 1 << 19
MNT_DETACH = 2

libc = ctypes.CDLL(None, use_errno=True)


def check(rc: int, what: str) -> None:
    if rc != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")


def enter(netns_path: str, host_dir: str, hostname: str) -> None:
    fd = os.open(netns_path, os.O_RDONLY)
    try:
        check(libc.setns(fd, CLONE_NEWNET), "setns " + netns_path)
    finally:
        os.close(fd)
    check(libc.unshare(CLONE_NEWNS | CLONE_NEWUTS), "unshare")
    check(libc.mount(b"none", b"/", None, MS_REC | MS_SLAVE, None), "make / a slave mount")
    for name in ("hosts", "resolv.conf"):
        src = os.path.join(host_dir, name)
        if os.path.exists(src):
            dst = "/etc/" + name
            check(libc.mount(src.encode(), dst.encode(), b"none", MS_BIND, None), "bind " + dst)
    check(libc.umount2(b"/sys", MNT_DETACH), "unmount /sys")
    check(libc.mount(b"sysfs", b"/sys", b"sysfs", 0, None), "mount sysfs")
    raw = hostname.encode()
    check(libc.sethostname(raw, len(raw)), "sethostname")


def main(argv: list[str]) -> int:
    if len(argv) < 5 or argv[3] != "--":
        sys.stderr.write("usage: enter.py NETNS_PATH HOST_DIR HOSTNAME -- CMD...\n")
        return 125
    netns_path, host_dir, hostname, _, *cmd = argv
    try:
        enter(netns_path, host_dir, hostname)
    except OSError as exc:
        sys.stderr.write(f"podnet: cannot enter lab host {hostname}: {exc}\n")
        return 125
    try:
        os.execvp(cmd[0], cmd)
    except OSError as exc:
        sys.stderr.write(f"podnet: {cmd[0]}: {exc.strerror}\n")
        return 127 if exc.errno == errno.ENOENT else 126
    return 126  # not reached: execvp returns only by raising


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
