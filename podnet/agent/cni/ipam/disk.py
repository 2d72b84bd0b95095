"""Reservations on disk, the host-local layout: survives restarts and concurrent plugin processes.

``<dataDir>/<network>/`` holds one file per reserved address, named by the address and holding
``"<containerID>\\n<ifname>"``, created with ``O_EXCL`` so two writers can never both own an address;
``last_reserved_ip`` for the round-robin; and ``lock``, which is ``flock``ed for the whole network
around every read-modify-write. ``flock`` locks belong to the open file, so threads of one server
that each open the lock file exclude each other as separate processes do.
"""

from __future__ import annotations

import errno
import fcntl
import functools
import os
from collections.abc import Iterator
from contextlib import contextmanager
from ipaddress import IPv4Address

from podnet.agent.cni.ipam.store import Attachment

LOCK_FILE = "lock"
LAST_RESERVED_FILE = "last_reserved_ip"


@functools.lru_cache(maxsize=4096)
def _parse_ip(name: str) -> IPv4Address | None:
    # cached: every ADD lists the whole network directory, and parsing each name again cost
    # ~7 µs a file (0.4 ms per ADD at 60 pods, growing with the node's pod count)
    if not name[:1].isdigit():
        return None
    try:
        return IPv4Address(name)
    except ValueError:
        return None


class DiskStore:
    """``IpamStore`` for one network directory."""

    def __init__(self, directory: str) -> None:
        self.directory = directory

    def _path(self, name: str) -> str:
        return os.path.join(self.directory, name)

    @contextmanager
    def lock(self) -> Iterator[None]:
        flags = os.O_RDWR | os.O_CREAT | os.O_CLOEXEC
        try:
            fd = os.open(self._path(LOCK_FILE), flags, 0o644)
        except FileNotFoundError:  # the first use of this network
            os.makedirs(self.directory, mode=0o755, exist_ok=True)
            fd = os.open(self._path(LOCK_FILE), flags, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # closing the last descriptor of the open file drops the lock

    def reserved_ips(self) -> set[IPv4Address]:
        try:
            names = os.listdir(self.directory)
        except FileNotFoundError:
            return set()
        return {ip for ip in map(_parse_ip, names) if ip is not None}

    def reservations(self) -> dict[IPv4Address, Attachment]:
        out: dict[IPv4Address, Attachment] = {}
        for ip in self.reserved_ips():
            owner = self.owner(ip)
            if owner is not None:
                out[ip] = owner
        return out

    def owner(self, ip: IPv4Address) -> Attachment | None:
        try:
            with open(self._path(str(ip)), encoding="utf-8") as f:
                text = f.read()
        except FileNotFoundError:
            return None
        container_id, _, ifname = text.replace("\r\n", "\n").partition("\n")
        return Attachment(container_id.strip(), ifname.strip())

    def reserve(self, ip: IPv4Address, owner: Attachment) -> bool:
        """Called under ``lock()``, which made the directory."""
        try:
            fd = os.open(self._path(str(ip)), os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o644)
        except FileExistsError:
            return False
        try:
            os.write(fd, f"{owner.container_id}\n{owner.ifname}".encode())
        except BaseException:
            os.close(fd)
            os.unlink(self._path(str(ip)))
            raise
        os.close(fd)
        return True

    def release(self, ip: IPv4Address) -> None:
        try:
            os.unlink(self._path(str(ip)))
        except FileNotFoundError:
            pass

    def last_reserved(self) -> IPv4Address | None:
        try:
            with open(self._path(LAST_RESERVED_FILE), encoding="ascii") as f:
                return _parse_ip(f.read().strip())
        except FileNotFoundError:
            return None

    def set_last_reserved(self, ip: IPv4Address) -> None:
        # Written in place under the lock: a torn write only costs the round-robin its position.
        with open(self._path(LAST_RESERVED_FILE), "w", encoding="ascii") as f:
            f.write(str(ip))

    def writable(self) -> bool:
        """Whether reservations can be made: the directory exists (or can be made) and takes new files."""
        try:
            os.makedirs(self.directory, mode=0o755, exist_ok=True)
        except OSError:
            return False
        return os.access(self.directory, os.W_OK | os.X_OK) and _can_create(self.directory)


def _can_create(directory: str) -> bool:
    probe = os.path.join(directory, f".probe-{os.getpid()}")
    try:
        fd = os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    except OSError as exc:
        if exc.errno in (errno.EACCES, errno.EROFS, errno.ENOSPC, errno.EPERM):
            return False
        raise
    os.close(fd)
    os.unlink(probe)
    return True
