"""Issue 3 benchmark: pod network-ready latency — pod created -> Ready with an IP, in a real lab.

Builds a lab (`podnet up`, 3 nodes by default), then measures from just before the create request
to the watch event showing the pod Ready with a podIP, for two load shapes:

- sequential: one pod at a time (the latency a single pod sees: scheduler + agent + CNI + status);
- paced: pods created at a steady --rate per second without waiting for each other, the shape of
  Kubernetes' pod-startup SLO measurements (its density tests create pods at a fixed throughput);
- burst: all pods created at once (queueing in the scheduler, agents and the API server included).

Per shape it also prints the machine's CPU time (all processes, from /proc/stat) per pod, which
bounds how fast a burst can go on 2 cores.

Pods run busybox `sleep` so the clock measures the platform, not an application's start. The lab is
removed at the end whatever happened.

    .venv/bin/python bench/pod_ready.py --pods 100 --nodes 3
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from podnet.api.scheme import resource  # noqa: E402
from podnet.client.kubeconfig import load_kubeconfig  # noqa: E402
from podnet.client.rest import RestClient  # noqa: E402

PODS = resource("pods")
STAGES: list[tuple[list[float], list[float]]] = []  # (scheduled, has IP) per shape, for the breakdown


def pod(name: str) -> dict:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "labels": {"bench": "ready"}},
        "spec": {
            "terminationGracePeriodSeconds": 1,
            "containers": [{"name": "c", "image": "busybox", "command": ["sleep", "3600"]}],
        },
    }


def is_ready(obj: dict) -> bool:
    st = obj.get("status") or {}
    conds = st.get("conditions") or []
    return bool(st.get("podIP")) and any(c["type"] == "Ready" and c["status"] == "True" for c in conds)


def cpu_busy_s() -> float:
    """Seconds of CPU the whole machine spent busy (not idle or iowait) since boot."""
    fields = [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    return (sum(fields[:8]) - fields[3] - fields[4]) / os.sysconf("SC_CLK_TCK")


CPU_PER_POD: list[float] = []


async def measure(client: RestClient, names: list[str], burst: bool = False, rate: float = 0) -> list[float]:
    started: dict[str, float] = {}
    took: dict[str, float] = {}
    scheduled: dict[str, float] = {}
    ip_at: dict[str, float] = {}
    rv = (await client.list(PODS, "default", limit=1))["metadata"]["resourceVersion"]
    watch = client.watch(PODS, "default", resource_version=rv, label_selector="bench=ready")
    done = asyncio.Event()
    waiting: dict[str, asyncio.Event] = {n: asyncio.Event() for n in names}

    async def watcher() -> None:
        async for ev in watch:
            name = ev.object.get("metadata", {}).get("name", "")
            if name in started and (ev.object.get("spec") or {}).get("nodeName"):
                scheduled.setdefault(name, time.perf_counter() - started[name])
            if name in started and (ev.object.get("status") or {}).get("podIP"):
                ip_at.setdefault(name, time.perf_counter() - started[name])
            if name in started and name not in took and ev.type != "DELETED" and is_ready(ev.object):
                took[name] = time.perf_counter() - started[name]
                waiting[name].set()
                if len(took) == len(names):
                    done.set()
                    return

    task = asyncio.create_task(watcher())
    cpu0 = cpu_busy_s()

    async def create(n: str) -> None:
        started[n] = time.perf_counter()
        await client.create(PODS, "default", pod(n))

    if rate:  # paced: the i-th create starts at i/rate s, whether the earlier ones are done or not
        t0, creating = time.perf_counter(), []
        for i, n in enumerate(names):
            await asyncio.sleep(max(0.0, t0 + i / rate - time.perf_counter()))
            creating.append(asyncio.create_task(create(n)))
        await asyncio.gather(*creating)
    elif burst:
        await asyncio.gather(*(create(n) for n in names))
    else:
        for n in names:
            await create(n)
            await asyncio.wait_for(waiting[n].wait(), 60)
    await asyncio.wait_for(done.wait(), 180)
    CPU_PER_POD.append((cpu_busy_s() - cpu0) / len(names))
    task.cancel()
    await watch.close()
    STAGES.append((list(scheduled.values()), list(ip_at.values())))
    return [took[n] for n in names]


async def cleanup(client: RestClient) -> None:
    items = (await client.list(PODS, "default", label_selector="bench=ready"))["items"]
    await asyncio.gather(*(client.delete(PODS, "default", p["metadata"]["name"]) for p in items))
    for _ in range(600):
        if not (await client.list(PODS, "default", label_selector="bench=ready"))["items"]:
            return
        await asyncio.sleep(0.1)


def summary(label: str, xs: list[float]) -> str:
    xs = sorted(xs)
    p = lambda q: xs[min(len(xs) - 1, int(q * len(xs)))] * 1000  # noqa: E731
    return (
        f"{label:<14} n={len(xs):<4} p50 {p(0.5):7.1f} ms  p90 {p(0.9):7.1f} ms  p99 {p(0.99):7.1f} ms  "
        f"max {xs[-1] * 1000:7.1f} ms  mean {statistics.mean(xs) * 1000:7.1f} ms"
    )


async def run(lab: str, count: int, rate: float) -> None:
    client = RestClient(load_kubeconfig(Path(f"/run/podnet/{lab}/kubeconfig")))
    results = []
    try:
        for label, kw in (
            ("sequential", {}),
            (f"paced {rate:g}/s", {"rate": rate}),
            ("burst", {"burst": True}),
        ):
            prefix = label.split()[0]
            took = await measure(client, [f"{prefix}-{i}" for i in range(count)], **kw)  # type: ignore[arg-type]
            results.append((label, took))
            await cleanup(client)
    finally:
        await client.close()
    for (label, took), (bound, has_ip), cpu in zip(results, STAGES, CPU_PER_POD, strict=True):
        print(summary(label, took) + f"  CPU {cpu * 1000:.0f} ms/pod")
        print(summary("  bound", bound))
        print(summary("  has IP", has_ip))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pods", type=int, default=100)
    parser.add_argument("--nodes", type=int, default=3)
    parser.add_argument("--rate", type=float, default=10, help="pods per second in the paced shape")
    args = parser.parse_args()
    lab = "bench" + secrets.token_hex(2)
    podnet = [sys.executable, "-m", "podnet"]
    up = subprocess.run(
        [*podnet, "up", "--name", lab, "--nodes", str(args.nodes)], capture_output=True, text=True
    )
    if up.returncode != 0:
        print(up.stdout, up.stderr, file=sys.stderr)
        return 1
    try:
        print(f"lab {lab}: {args.nodes} nodes, {args.pods} pods per shape")
        asyncio.run(run(lab, args.pods, args.rate))
    finally:
        subprocess.run([*podnet, "down", "--name", lab], capture_output=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
