"""The agent's component health: supervise() keeps it, /healthz reports it as Kubernetes does."""

from __future__ import annotations

import asyncio

from aiohttp.test_utils import TestClient, TestServer

from podnet.agent import kubelet_api
from podnet.agent.agent import supervise
from podnet.agent.health import Health


async def test_a_failing_component_is_reported_until_it_runs_again() -> None:
    health, stop = Health(), asyncio.Event()
    calls = 0
    running = asyncio.Event()

    async def flaky(stop_: asyncio.Event) -> None:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise RuntimeError("nft: conflicting protocols")
        running.set()
        await stop_.wait()

    async def steady(stop_: asyncio.Event) -> None:
        await stop_.wait()

    tasks = [asyncio.create_task(supervise("proxy", flaky, stop, health)),
             asyncio.create_task(supervise("routing", steady, stop, health))]  # fmt: skip
    for _ in range(200):  # until the first failure is recorded (supervise then backs off 1 s)
        if health.components.get("proxy") and health.components["proxy"].state == "failed":
            break
        await asyncio.sleep(0.005)
    ok, text = health.report()
    assert not ok
    assert "[-]proxy failed: RuntimeError('nft: conflicting protocols') (restarts 0)" in text
    assert "[+]routing ok" in text and text.endswith("healthz check failed\n")
    await asyncio.wait_for(running.wait(), 5)  # supervise starts it again after its 1 s back-off
    ok, text = health.report()
    assert ok and "[+]proxy ok (restarts 1)" in text and text.endswith("healthz check passed\n")
    stop.set()
    await asyncio.gather(*tasks)
    assert {c.state for c in health.components.values()} == {"stopped"}


async def test_healthz_answers_500_with_the_failing_component_and_verbose_lists_all() -> None:
    health = Health()
    health.running("pods")
    health.running("policy")
    app = kubelet_api.make_app(None, health)  # type: ignore[arg-type]  # logs are not asked for here
    async with TestClient(TestServer(app)) as client:
        resp = await client.get("/healthz")
        assert (resp.status, await resp.text()) == (200, "ok")
        resp = await client.get("/healthz", params={"verbose": "1"})
        assert resp.status == 200 and (await resp.text()).splitlines() == [
            "[+]pods ok",
            "[+]policy ok",
            "healthz check passed",
        ]
        health.failed("policy", "OSError(1, 'nft -f failed')")
        resp = await client.get("/healthz")
        assert resp.status == 500 and "[-]policy failed: OSError(1, 'nft -f failed')" in await resp.text()
