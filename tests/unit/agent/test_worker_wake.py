"""PodWorker's loop: a wake that lands while a round is running starts the next round at once."""

from __future__ import annotations

import asyncio
import contextlib

import pytest

from podnet.agent.pods.worker import PodWorker, RuntimeConfig


async def test_a_container_exit_during_a_round_is_not_lost(monkeypatch: pytest.MonkeyPatch) -> None:
    rounds = 0
    second = asyncio.Event()

    async def fake_sync(self: PodWorker) -> float:
        nonlocal rounds
        rounds += 1
        if rounds == 1:
            await asyncio.sleep(0.01)
            self.wake.set()  # the container exits while this round still awaits (say, a status write)
            await asyncio.sleep(0.01)
        else:
            second.set()
        return 30.0  # nothing scheduled: only a wake may bring the next round sooner

    async def fake_report(self: PodWorker) -> bool:
        await asyncio.sleep(0.01)
        return True

    monkeypatch.setattr(PodWorker, "_sync", fake_sync)
    monkeypatch.setattr(PodWorker, "_report", fake_report)
    pod = {"metadata": {"uid": "u-1", "name": "p", "namespace": "default"}, "spec": {"containers": []}}
    worker = PodWorker(None, RuntimeConfig(node_name="n1", node_ip="172.18.0.3"), None, pod, None)  # type: ignore[arg-type]
    try:
        await asyncio.wait_for(second.wait(), 2)  # not after the 30 s delay
    finally:
        worker.task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await worker.task
