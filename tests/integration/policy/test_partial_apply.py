"""A partial update leaves the kernel exactly where a whole-table replace would (real nft, scratch netns)."""

from __future__ import annotations

import copy
import os
import re
import secrets
import subprocess
from collections.abc import Iterator

import pytest

from podnet.agent.policy.compile import render, render_partial
from podnet.agent.policy.model import pod_of, resolve
from tests.unit.policy.test_evaluate import APP_A, NAMESPACES, PODS, pol

pytestmark = pytest.mark.integration
POLICIES = [
    pol("n", "x", {"podSelector": APP_A, "ingress": [{"from": [{"podSelector": {"matchLabels": {"role": "client"}}}],
                                                        "ports": [{"port": "http"}]}]}),
    pol("e", "x", {"podSelector": {}, "egress": [{"to": [{"namespaceSelector": {}}]}]}),
]  # fmt: skip


@pytest.fixture
def two_netns() -> Iterator[tuple[str, str]]:
    if os.geteuid() != 0:
        pytest.skip("needs root")
    names = (f"poltest-{secrets.token_hex(3)}-a", f"poltest-{secrets.token_hex(3)}-b")
    for n in names:
        subprocess.run(["ip", "netns", "add", n], check=True)
    try:
        yield names
    finally:
        for n in names:
            subprocess.run(["ip", "netns", "del", n], check=False)


def build(raw: list[dict]):  # type: ignore[no-untyped-def]
    pods = [p for p in (pod_of(o) for o in raw) if p is not None]
    return render(resolve(POLICIES, pods, NAMESPACES), pods, "n1")


def nft(ns: str, text: str) -> None:
    subprocess.run(
        ["ip", "netns", "exec", ns, "nft", "-f", "-"], input=text, text=True, check=True, timeout=30
    )


def listing(ns: str) -> str:
    out = subprocess.run(["ip", "netns", "exec", ns, "nft", "list", "table", "ip", "podnet-policy"],
                         capture_output=True, text=True, check=True, timeout=30).stdout  # fmt: skip
    return re.sub(r"packets \d+ bytes \d+", "", out)


@pytest.mark.parametrize("change", ["label lost", "label gained", "new pod ip"])
def test_partial_equals_full(two_netns: tuple[str, str], change: str) -> None:
    after = copy.deepcopy(PODS)
    if change == "label lost":
        after[1]["metadata"]["labels"] = {"role": "other"}
    elif change == "label gained":
        after[2]["metadata"]["namespace"] = "x"
    else:
        after[1]["status"]["podIP"] = "10.244.1.9"
    old, new = build(PODS), build(after)
    partial = render_partial(old, new)
    a, b = two_netns
    nft(a, old.text)
    if partial is None:
        nft(a, new.text)
    else:
        assert "delete table" not in partial
        nft(a, partial)
    nft(b, new.text)
    assert listing(a) == listing(b)
