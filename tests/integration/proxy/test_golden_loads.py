"""The golden rulesets of tests/unit/proxy load into a real kernel (scratch namespace), twice.

Golden text proves the renderer is stable; this proves the text is what nft 1.0.6 and
iptables-legacy-restore accept, and that a second full load replaces the first atomically.
"""

from __future__ import annotations

import os
import secrets
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration
GOLDEN = Path(__file__).resolve().parents[2] / "unit" / "proxy" / "golden"


@pytest.fixture
def scratch() -> Iterator[str]:
    if os.geteuid() != 0:
        pytest.skip("needs root: builds a network namespace")
    name = f"pxgold-{secrets.token_hex(3)}"
    subprocess.run(["ip", "netns", "add", name], check=True)
    try:
        yield name
    finally:
        subprocess.run(["ip", "netns", "del", name], check=False)


def load(ns: str, argv: list[str], text: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["ip", "netns", "exec", ns, *argv], input=text, capture_output=True, text=True,
                          timeout=60)  # fmt: skip


@pytest.mark.parametrize("name", sorted(p.name for p in GOLDEN.glob("*.nft")))
def test_nft_golden_loads(scratch: str, name: str) -> None:
    text = (GOLDEN / name).read_text()
    for _ in range(2):
        out = load(scratch, ["nft", "-f", "-"], text)
        assert out.returncode == 0, out.stderr
    listed = load(scratch, ["nft", "list", "table", "ip", "podnet-proxy"], "").stdout
    assert "172.18.255.200 . tcp . 80 . 1025 : 10.244.2.4 . 8080" in listed


def test_iptables_golden_loads(scratch: str) -> None:
    text = (GOLDEN / "iptables.txt").read_text()
    for _ in range(2):
        out = load(scratch, ["iptables-legacy-restore", "--noflush"], text)
        assert out.returncode == 0, out.stderr
    saved = load(scratch, ["iptables-legacy-save"], "").stdout
    assert saved.count("-j KUBE-SEP-") >= 9 and "--to-destination 10.244.2.3:8080" in saved
