"""The trace marking tables load in a real kernel (nft -c in a throwaway namespace)."""

from __future__ import annotations

import secrets
import subprocess

import pytest

from podnet.lab import trace as tr

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("protocol", ["tcp", "udp"])
def test_the_marking_table_is_accepted_by_nft(protocol: str) -> None:
    ns = f"pn-tr-{secrets.token_hex(3)}"
    subprocess.run(["ip", "netns", "add", ns], check=True)
    try:
        done = subprocess.run(
            ["ip", "netns", "exec", ns, "nft", "-f", "-"],
            input=tr.trace_table("podnet-trace-x", protocol), capture_output=True, text=True, timeout=30,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        listed = subprocess.run(["ip", "netns", "exec", ns, "nft", "list", "table", "ip", "podnet-trace-x"],
                                capture_output=True, text=True, check=True).stdout  # fmt: skip
        assert "@flows" in listed and "nftrace set 1" in listed
    finally:
        subprocess.run(["ip", "netns", "del", ns], check=False)
