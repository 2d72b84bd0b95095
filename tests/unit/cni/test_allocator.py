"""Address plan: pods 10.244.0.0/16, one /24 (or smaller) per node; the gateway is .1 unless set."""

from __future__ import annotations

from ipaddress import IPv4Address, IPv4Network

import pytest

from podnet.agent.cni.ipam.allocator import candidates, free_count, host_range, next_free

A = IPv4Address
NET24 = IPv4Network("10.244.1.0/24")
NET29 = IPv4Network("10.244.1.0/29")  # hosts .1-.6


@pytest.mark.parametrize(
    ("subnet", "gateway", "reserved", "last", "expected"),
    [
        # fresh range: the first host after the gateway
        (NET24, "10.244.1.1", [], None, "10.244.1.2"),
        # round robin: continue after the last reservation, even if lower addresses are free
        (NET24, "10.244.1.1", [], "10.244.1.7", "10.244.1.8"),
        (NET24, "10.244.1.1", ["10.244.1.8"], "10.244.1.7", "10.244.1.9"),
        # wrap around past the broadcast address, skipping network and gateway
        (NET29, "10.244.1.1", [], "10.244.1.6", "10.244.1.2"),
        (NET29, "10.244.1.1", ["10.244.1.2", "10.244.1.3"], "10.244.1.6", "10.244.1.4"),
        # a gateway in the middle of the range is skipped
        (NET29, "10.244.1.3", [], "10.244.1.2", "10.244.1.4"),
        # a last-reserved address outside the subnet (config changed) restarts at the beginning
        (NET29, "10.244.1.1", [], "10.9.9.9", "10.244.1.2"),
        # full
        (NET29, "10.244.1.1", [f"10.244.1.{i}" for i in range(2, 7)], "10.244.1.3", None),
        # /30: a single pod address
        (IPv4Network("10.0.0.0/30"), "10.0.0.1", [], None, "10.0.0.2"),
        (IPv4Network("10.0.0.0/30"), "10.0.0.1", ["10.0.0.2"], None, None),
    ],
)
def test_next_free(
    subnet: IPv4Network, gateway: str, reserved: list[str], last: str | None, expected: str | None
) -> None:
    got = next_free(subnet, A(gateway), {A(r) for r in reserved}, A(last) if last else None)
    assert got == (A(expected) if expected else None)


def test_never_hands_out_network_broadcast_or_gateway() -> None:
    taken: set[IPv4Address] = set()
    last = None
    for _ in range(300):
        ip = next_free(NET24, A("10.244.1.1"), taken, last)
        if ip is None:
            break
        taken.add(ip)
        last = ip
    assert len(taken) == 253
    assert A("10.244.1.0") not in taken and A("10.244.1.255") not in taken and A("10.244.1.1") not in taken


def test_candidates_visit_every_host_once_from_any_start() -> None:
    for last in [None, A("10.244.1.1"), A("10.244.1.4"), A("10.244.1.6")]:
        seen = list(candidates(NET29, last))
        assert sorted(seen) == [A(f"10.244.1.{i}") for i in range(1, 7)]


@pytest.mark.parametrize(
    ("gateway", "reserved", "expected"),
    [
        ("10.244.1.1", [], 5),
        ("10.244.1.1", ["10.244.1.2", "10.244.1.6"], 3),
        ("10.244.1.1", ["10.244.1.1"], 5),  # the gateway is never counted twice
        ("10.244.1.1", ["10.99.0.1"], 5),  # stale reservation outside the range
    ],
)
def test_free_count(gateway: str, reserved: list[str], expected: int) -> None:
    assert free_count(NET29, A(gateway), {A(r) for r in reserved}) == expected


def test_host_range_excludes_network_and_broadcast() -> None:
    first, last = host_range(NET24)
    assert (A(first), A(last)) == (A("10.244.1.1"), A("10.244.1.254"))
