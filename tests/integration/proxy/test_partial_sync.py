"""A partial sync leaves the kernel exactly where a full reload would (real nft, scratch namespaces).

For a sequence of cluster changes (endpoint moves, a new endpoint count needing a new selection
chain, affinity, a Local-policy LoadBalancer losing its local endpoint, a removed service), the
tracker's element edits applied on top of the previous table (or the full reload it asks for) must
give the same table as loading the new state whole. Compared as nft's JSON: rules per chain, elements per map or set.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
from collections.abc import Iterator
from typing import Any

import pytest

from podnet.agent.proxy import iptables, nftables
from podnet.agent.proxy.model import service_ports
from podnet.agent.proxy.tracker import StateTracker, render_changes
from tests.unit.proxy.test_tracker import sl, svc

pytestmark = pytest.mark.integration


@pytest.fixture
def two_netns() -> Iterator[tuple[str, str]]:
    if os.geteuid() != 0:
        pytest.skip("needs root: builds network namespaces")
    tag = secrets.token_hex(3)
    names = (f"pxpart-{tag}-a", f"pxpart-{tag}-b")
    for n in names:
        subprocess.run(["ip", "netns", "add", n], check=True)
    try:
        yield names
    finally:
        for n in names:
            subprocess.run(["ip", "netns", "del", n], check=False)


def nft(ns: str, text: str) -> None:
    out = subprocess.run(["ip", "netns", "exec", ns, "nft", "-f", "-"], input=text, text=True,
                         capture_output=True, timeout=30)  # fmt: skip
    assert out.returncode == 0, f"{out.stderr}\n{text}"


def table(ns: str) -> dict[str, Any]:
    out = subprocess.run(["ip", "netns", "exec", ns, "nft", "-j", "list", "table", "ip", nftables.TABLE],
                         capture_output=True, text=True, check=True, timeout=30).stdout  # fmt: skip
    rules: dict[str, list[str]] = {}
    elements: dict[str, list[str]] = {}
    for item in json.loads(out)["nftables"]:
        if "rule" in item:
            rules.setdefault(item["rule"]["chain"], []).append(
                json.dumps(item["rule"]["expr"], sort_keys=True)
            )
        for kind in ("map", "set"):
            if kind in item:
                elements[item[kind]["name"]] = sorted(
                    json.dumps(e, sort_keys=True) for e in item[kind].get("elem", [])
                )
    return {"rules": rules, "elements": elements}


LB = {"type": "LoadBalancer", "externalTrafficPolicy": "Local",
      "ports": [{"name": "http", "port": 80, "protocol": "TCP", "nodePort": 30080}]}  # fmt: skip
STEPS = [
    ([svc("a", "10.96.0.10"), svc("lb", "10.96.0.11", **LB)],
     [sl("a", "10.244.1.2", "10.244.2.2"), sl("lb", "10.244.1.3")]),
    ([svc("a", "10.96.0.10"), svc("lb", "10.96.0.11", **LB)],
     [sl("a", "10.244.1.2", "10.244.2.9"), sl("lb", "10.244.1.3")]),
    ([svc("a", "10.96.0.10", sessionAffinity="ClientIP"), svc("lb", "10.96.0.11", **LB)],
     [sl("a", "10.244.1.2", "10.244.2.9", "10.244.2.10"), sl("lb", "10.244.1.3", "10.244.2.3", node="n2")]),
    ([svc("a", "10.96.0.10", sessionAffinity="ClientIP"), svc("lb", "10.96.0.11", **LB)],
     [sl("a", "10.244.1.2", "10.244.2.9", "10.244.2.11"), sl("lb", "10.244.2.3", "10.244.2.4", node="n2")]),
    ([svc("a", "10.96.0.10", sessionAffinity="ClientIP")], [sl("a", "10.244.1.2", "10.244.2.9", "10.244.2.11")]),
]  # fmt: skip


def test_partial_syncs_equal_full_loads(two_netns: tuple[str, str]) -> None:
    a, b = two_netns
    tracker = StateTracker("n1")
    tracker.update(service_ports(*STEPS[0]))
    nft(a, nftables.render_full(tracker.state, "10.244.0.0/16"))
    partials = 0
    for services, slices in STEPS[1:]:
        changes = tracker.update(service_ports(services, slices))
        if changes.needs_full:  # what the proxier does then
            nft(a, nftables.render_full(tracker.state, "10.244.0.0/16"))
        else:
            text = render_changes(tracker, changes, "random")
            assert text and "delete table" not in text
            nft(a, text)
            partials += 1
        nft(
            b,
            nftables.render_full(
                nftables.build_state(service_ports(services, slices), "n1"), "10.244.0.0/16"
            ),
        )
        got, want = table(a), table(b)
        assert got["elements"] == want["elements"]
        assert {c: r for c, r in got["rules"].items() if c in want["rules"]} == want["rules"]
    assert partials == 3


def iptables_nat(ns: str) -> list[str]:
    out = subprocess.run(["ip", "netns", "exec", ns, "iptables-legacy-save", "-t", "nat"], capture_output=True,
                         text=True, check=True, timeout=30).stdout  # fmt: skip
    return sorted(line for line in out.splitlines() if line.startswith(("-A", ":KUBE")))


def test_iptables_partial_restores_equal_full_restores(two_netns: tuple[str, str]) -> None:
    a, b = two_netns
    first = iptables.render_tables(service_ports(*STEPS[0]), "n1", "10.244.0.0/16")
    restore(a, iptables.restore_text(first))
    previous = first.nat
    for services, slices in STEPS[1:]:
        tables = iptables.render_tables(service_ports(services, slices), "n1", "10.244.0.0/16")
        stale = [c for c in previous if c not in tables.nat]
        restore(a, iptables.restore_text(tables, previous, stale))
        restore(
            b, iptables.restore_text(tables, None, [c for c in iptables_chains(b) if c not in tables.nat])
        )
        assert iptables_nat(a) == iptables_nat(b)
        previous = tables.nat


def iptables_chains(ns: str) -> list[str]:
    return [line[1:].split()[0] for line in iptables_nat(ns) if line.startswith(":KUBE-")]


def restore(ns: str, text: str) -> None:
    out = subprocess.run(["ip", "netns", "exec", ns, "iptables-legacy-restore", "--noflush"], input=text,
                         text=True, capture_output=True, timeout=30)  # fmt: skip
    assert out.returncode == 0, f"{out.stderr}\n{text}"
