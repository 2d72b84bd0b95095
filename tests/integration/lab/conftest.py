"""Real labs in real namespaces: unique names (``t<hex>``), torn down in a finalizer even on failure."""

from __future__ import annotations

import errno
import os
import secrets
import socket
import struct
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from podnet.lab import netns
from podnet.lab.build import build
from podnet.lab.state import LabState
from podnet.lab.teardown import down
from podnet.lab.topology import LabSpec

pytestmark = pytest.mark.integration


@pytest.fixture(autouse=True)
def _need_root() -> None:
    if os.geteuid() != 0:
        pytest.skip("needs root: builds network namespaces")


@pytest.fixture
def run_dir() -> Path:
    return Path("/run/podnet")


@pytest.fixture
def make_lab(run_dir: Path) -> Iterator[Callable[..., LabState]]:
    """Build labs with fresh names; every one is brought down at the end, whatever happened."""
    names: list[str] = []

    def make(nodes: int = 2, **kw: object) -> LabState:
        name = "t" + secrets.token_hex(4)
        names.append(name)
        return build(LabSpec(name=name, nodes=nodes, **kw), run_dir=run_dir)  # type: ignore[arg-type]

    yield make
    for name in names:
        down(name, run_dir=run_dir, grace=2.0, kill_strays=True)


def _checksum(data: bytes) -> int:
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    total = (total >> 16) + (total & 0xFFFF)
    return int(~(total + (total >> 16)) & 0xFFFF)


def ping(ns: str, dst: str, timeout: float = 2.0) -> bool:
    """One ICMP echo from inside ``ns`` (a raw socket opened there); True when the reply came back.

    The machine has no ping(8); the kernel of the destination namespace answers on its own.
    """

    def probe() -> bool:
        ident = secrets.randbits(16)
        header = struct.pack("!BBHHH", 8, 0, 0, ident, 1)
        payload = b"podnet-lab-ping!"  # even length: the checksum sums 16-bit words
        packet = struct.pack("!BBHHH", 8, 0, _checksum(header + payload), ident, 1) + payload
        with socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP) as s:
            try:
                s.sendto(packet, (dst, 0))
            except OSError as exc:
                if exc.errno in (errno.ENETUNREACH, errno.EHOSTUNREACH):
                    return False  # no route: as unreachable as it gets
                raise
            deadline = time.monotonic() + timeout
            while (left := deadline - time.monotonic()) > 0:
                s.settimeout(left)
                try:
                    data, addr = s.recvfrom(2048)
                except TimeoutError:
                    return False
                icmp = data[(data[0] & 0x0F) * 4 :]
                if addr[0] == dst and icmp[0] == 0 and struct.unpack("!H", icmp[4:6])[0] == ident:
                    return True
            return False

    return netns.run_in_netns(ns, probe)


def leftovers(name: str, run_dir: Path) -> list[str]:
    """Everything of lab ``name`` still on the machine: namespaces, mounts, files."""
    found = [ns for ns in netns.list_netns() if ns.startswith(f"podnet-{name}-")]
    found += [
        line for line in Path("/proc/self/mountinfo").read_text().splitlines() if f"podnet-{name}-" in line
    ]
    found += [
        line for line in Path("/proc/self/mountinfo").read_text().splitlines() if f"/podnet/{name}" in line
    ]
    if (run_dir / name).exists():
        found.append(str(run_dir / name))
    return found
