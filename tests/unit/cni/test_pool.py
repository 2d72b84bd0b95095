"""The on-disk IPAM: files per address, a lock for the network, survival across restarts and processes.

Address plan: pods of this node in 10.244.1.0/24 (gateway .1); small ranges are /29 (hosts .1-.6).
"""

from __future__ import annotations

import multiprocessing
from ipaddress import IPv4Address, IPv4Network
from pathlib import Path

import pytest

from podnet.agent.cni.errors import CNIError
from podnet.agent.cni.ipam import pool
from podnet.agent.cni.ipam.disk import DiskStore
from podnet.agent.cni.ipam.store import Attachment

A = IPv4Address
NET = IPv4Network("10.244.1.0/24")
SMALL = IPv4Network("10.244.1.0/29")
GW = A("10.244.1.1")


def test_allocate_writes_one_file_per_address(tmp_path: Path) -> None:
    store = DiskStore(str(tmp_path / "podnet"))
    ip = pool.allocate(store, NET, GW, Attachment("c1", "eth0"))
    assert ip == A("10.244.1.2")
    assert (tmp_path / "podnet" / "10.244.1.2").read_text() == "c1\neth0"
    assert (tmp_path / "podnet" / "last_reserved_ip").read_text() == "10.244.1.2"


def test_release_frees_only_the_owner_and_is_idempotent(tmp_path: Path) -> None:
    store = DiskStore(str(tmp_path))
    a = pool.allocate(store, NET, GW, Attachment("a", "eth0"))
    b = pool.allocate(store, NET, GW, Attachment("b", "eth0"))
    assert pool.release(store, Attachment("a", "eth0")) == [a]
    assert pool.release(store, Attachment("a", "eth0")) == []
    assert pool.release(store, Attachment("never-added", "eth0")) == []
    assert store.reservations() == {b: Attachment("b", "eth0")}


def test_release_uses_hints_and_falls_back_to_a_scan(tmp_path: Path) -> None:
    store = DiskStore(str(tmp_path))
    a = pool.allocate(store, NET, GW, Attachment("a", "eth0"))
    pool.allocate(store, NET, GW, Attachment("b", "eth0"))
    # a wrong hint (someone else's address) must not release it
    assert pool.release(store, Attachment("a", "eth0"), [A("10.244.1.3")]) == [a]
    assert set(store.reserved_ips()) == {A("10.244.1.3")}


def test_round_robin_does_not_reuse_a_just_released_address(tmp_path: Path) -> None:
    store = DiskStore(str(tmp_path))
    first = pool.allocate(store, NET, GW, Attachment("a", "eth0"))
    pool.release(store, Attachment("a", "eth0"))
    assert pool.allocate(store, NET, GW, Attachment("b", "eth0")) != first


def test_exhaustion_is_code_101_and_status_counts(tmp_path: Path) -> None:
    store = DiskStore(str(tmp_path))
    for i in range(5):
        pool.allocate(store, SMALL, GW, Attachment(f"c{i}", "eth0"))
    assert pool.free_addresses(store, SMALL, GW) == 0
    with pytest.raises(CNIError) as info:
        pool.allocate(store, SMALL, GW, Attachment("one-too-many", "eth0"))
    assert info.value.code == 101
    assert "no IP addresses available" in info.value.msg


def test_survives_a_restart(tmp_path: Path) -> None:
    pool.allocate(DiskStore(str(tmp_path)), NET, GW, Attachment("a", "eth0"))
    pool.allocate(DiskStore(str(tmp_path)), NET, GW, Attachment("b", "eth0"))
    fresh = DiskStore(str(tmp_path))  # a new process would see exactly this
    assert fresh.reservations() == {
        A("10.244.1.2"): Attachment("a", "eth0"),
        A("10.244.1.3"): Attachment("b", "eth0"),
    }
    assert pool.allocate(fresh, NET, GW, Attachment("c", "eth0")) == A("10.244.1.4")


def test_a_file_created_behind_the_lock_is_skipped(tmp_path: Path) -> None:
    store = DiskStore(str(tmp_path))
    (tmp_path / "10.244.1.2").write_text("intruder\neth0")
    assert pool.allocate(store, NET, GW, Attachment("a", "eth0")) == A("10.244.1.3")


def test_garbage_collection_keeps_valid_attachments(tmp_path: Path) -> None:
    store = DiskStore(str(tmp_path))
    for cid in ("keep", "drop", "keep-any-if"):
        pool.allocate(store, NET, GW, Attachment(cid, "eth0"))
    pool.allocate(store, NET, GW, Attachment("keep", "net1"))
    released = pool.collect_garbage(store, [Attachment("keep", "eth0"), Attachment("keep-any-if", "")])
    assert released == [Attachment("drop", "eth0"), Attachment("keep", "net1")]
    assert sorted(a.container_id for a in store.reservations().values()) == ["keep", "keep-any-if"]


def test_writable(tmp_path: Path) -> None:
    assert DiskStore(str(tmp_path / "new")).writable()
    blocker = tmp_path / "file"
    blocker.write_text("")
    assert not DiskStore(str(blocker / "sub")).writable()


def _allocate_many(directory: str, worker: int, count: int) -> list[str]:
    store = DiskStore(directory)
    return [str(pool.allocate(store, NET, GW, Attachment(f"w{worker}-{i}", "eth0"))) for i in range(count)]


def test_concurrent_processes_never_share_an_address(tmp_path: Path) -> None:
    ctx = multiprocessing.get_context("fork")
    with ctx.Pool(20) as workers:
        results = workers.starmap(_allocate_many, [(str(tmp_path), w, 6) for w in range(20)])
    everything = [ip for chunk in results for ip in chunk]
    assert len(everything) == 120
    assert len(set(everything)) == 120
    assert len(DiskStore(str(tmp_path)).reserved_ips()) == 120
