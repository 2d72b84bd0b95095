"""A committed sqlite write survives kill -9 of the process that made it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from podnet.store.sqlite import SqliteStore
from tests.helpers import ROOT

pytestmark = pytest.mark.integration
WRITER = Path(__file__).with_name("sqlite_writer.py")


def acknowledged_writes(path: Path, wanted: int) -> list[tuple[int, str]]:
    """Run the writer, SIGKILL it once ``wanted`` writes were acknowledged; every acknowledged write."""
    proc = subprocess.Popen(
        [sys.executable, str(WRITER), str(path), "10000000"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert proc.stdout is not None
    acks: list[tuple[int, str]] = []
    try:
        for line in proc.stdout:  # bounded: the writer stops after 10M keys, long after ``wanted``
            rev, key = line.decode().split()
            acks.append((int(rev), key))
            if len(acks) == wanted:
                os.kill(proc.pid, signal.SIGKILL)
                break
        acks += [(int(r), k) for r, k in (line.decode().split() for line in proc.stdout)]
    finally:
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
    assert proc.returncode == -signal.SIGKILL, "the writer must die mid-stream, not finish"
    return acks


async def test_every_acknowledged_write_survives_sigkill(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    acks = acknowledged_writes(path, 500)
    assert len(acks) >= 500
    store = SqliteStore(path)
    try:
        listing = await store.list("/kill/")
        stored = {kv.key: kv.mod_revision for kv in listing.items}
        assert {key: rev for rev, key in acks}.items() <= stored.items()
        assert [rev for rev, _ in acks] == list(range(1, len(acks) + 1))
        assert await store.current_revision() >= len(acks)
        after = await store.create("/kill/after", b"x")
        assert after.mod_revision == await store.current_revision() == len(stored) + 1
    finally:
        await store.close()
