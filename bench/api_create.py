"""Issue 2 benchmark: create N Services through the API from concurrent clients, SQLite vs etcd.

For each datastore, in one run: a fresh ``podnet server`` (controllers off, so
only the API path is measured), a watcher on all Services, then N creates
spread over C concurrent HTTPS connections. Reported per backend: objects/s,
mutating latency p50/p99 (request sent → 201 received), watch delivery
latency p50/p99 (201 received → ADDED event received by the watcher), and the
etcd/SQLite ratio.

    .venv/bin/python bench/api_create.py --count 10000 --concurrency 32
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import signal
import socket
import ssl
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def wait_for(cond: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if cond():
                return
        except OSError:
            pass
        time.sleep(0.05)
    raise SystemExit(f"timed out waiting for {what}")


class Etcd:
    def __init__(self, workdir: Path) -> None:
        self.client_port, self.peer_port = free_port(), free_port()
        self.dir = workdir / "etcd"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> str:
        etcd = shutil.which("etcd") or "/usr/bin/etcd"
        url = f"http://127.0.0.1:{self.client_port}"
        peer = f"http://127.0.0.1:{self.peer_port}"
        self.proc = subprocess.Popen(
            [
                etcd,
                "--name",
                "bench",
                "--data-dir",
                str(self.dir),
                "--listen-client-urls",
                url,
                "--advertise-client-urls",
                url,
                "--listen-peer-urls",
                peer,
                "--initial-advertise-peer-urls",
                peer,
                "--initial-cluster",
                f"bench={peer}",
                "--log-level",
                "error",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

        def healthy() -> bool:
            with socket.create_connection(("127.0.0.1", self.client_port), timeout=0.2):
                return True

        wait_for(healthy, 20, "etcd")
        return f"etcd://127.0.0.1:{self.client_port}"

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
            self.proc.wait(timeout=20)


class Server:
    def __init__(self, workdir: Path, datastore: str) -> None:
        self.port = free_port()
        self.data = workdir / f"server-{self.port}"
        self.datastore = datastore
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "podnet",
                "server",
                "--data-dir",
                str(self.data),
                "--secure-port",
                str(self.port),
                "--datastore",
                self.datastore,
                "--controllers",
                "none",
            ],
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_for(lambda: (self.data / "kubeconfig").exists() and self._ready(), 30, "podnet server")

    def _ready(self) -> bool:
        with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
            return True

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
            self.proc.wait(timeout=20)

    def token(self) -> str:
        return (self.data / "pki" / "admin.token").read_text().strip()

    def ssl(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=str(self.data / "pki" / "ca.crt"))


async def run_load(server: Server, count: int, concurrency: int) -> dict[str, Any]:
    base = f"https://127.0.0.1:{server.port}"
    headers = {"Authorization": f"Bearer {server.token()}", "Content-Type": "application/json"}
    connector = aiohttp.TCPConnector(ssl=server.ssl(), limit=concurrency + 2)
    acked: dict[str, float] = {}
    seen: dict[str, float] = {}
    latencies: list[float] = []
    errors = 0
    all_seen = asyncio.Event()
    async with aiohttp.ClientSession(connector=connector, headers=headers) as session:
        async with session.get(f"{base}/api/v1/namespaces/default/services", params={"limit": "1"}) as r:
            rv = (await r.json())["metadata"]["resourceVersion"]

        async def watcher() -> None:
            url = f"{base}/api/v1/namespaces/default/services"
            params = {"watch": "1", "resourceVersion": rv, "timeoutSeconds": "600"}
            async with session.get(url, params=params, timeout=aiohttp.ClientTimeout(total=None)) as resp:
                async for line in resp.content:
                    now = time.perf_counter()
                    event = json.loads(line)
                    if event["type"] == "ADDED":
                        seen[event["object"]["metadata"]["name"]] = now
                        if len(seen) >= count:
                            all_seen.set()
                            return

        watch_task = asyncio.create_task(watcher())
        queue: asyncio.Queue[int] = asyncio.Queue()
        for i in range(count):
            queue.put_nowait(i)

        async def worker() -> None:
            nonlocal errors
            while not queue.empty():
                i = queue.get_nowait()
                name = f"bench-{i:05d}"
                body = {
                    "apiVersion": "v1",
                    "kind": "Service",
                    "metadata": {"name": name},
                    "spec": {"selector": {"app": name}, "ports": [{"port": 80, "targetPort": 8080}]},
                }
                t0 = time.perf_counter()
                async with session.post(f"{base}/api/v1/namespaces/default/services", json=body) as resp:
                    await resp.read()
                    t1 = time.perf_counter()
                    if resp.status != 201:
                        errors += 1
                        continue
                latencies.append(t1 - t0)
                acked[name] = t1

        start = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - start
        try:
            await asyncio.wait_for(all_seen.wait(), timeout=60)
        except TimeoutError:
            pass
        watch_task.cancel()
    delivery = [seen[n] - acked[n] for n in acked if n in seen]
    return {
        "objects_per_s": len(latencies) / elapsed,
        "elapsed_s": elapsed,
        "errors": errors,
        "mutating_p50_ms": pct(latencies, 50) * 1e3,
        "mutating_p99_ms": pct(latencies, 99) * 1e3,
        "watch_p50_ms": pct(delivery, 50) * 1e3,
        "watch_p99_ms": pct(delivery, 99) * 1e3,
        "watch_missing": len(acked) - len(delivery),
        "mutating_stdev_ms": statistics.pstdev(latencies) * 1e3 if latencies else 0.0,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--count", type=int, default=10000)
    ap.add_argument("--concurrency", type=int, default=32)
    ap.add_argument("--backends", default="sqlite,etcd")
    args = ap.parse_args()
    results: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory(prefix="podnet-bench-") as tmp:
        work = Path(tmp)
        for backend in args.backends.split(","):
            etcd = Etcd(work) if backend == "etcd" else None
            datastore = etcd.start() if etcd else "sqlite"
            server = Server(work, datastore)
            try:
                server.start()
                results[backend] = asyncio.run(run_load(server, args.count, args.concurrency))
            finally:
                server.stop()
                if etcd:
                    etcd.stop()
    print(f"\n{args.count} Service creates, {args.concurrency} concurrent clients, controllers off")
    cols = [
        "objects_per_s",
        "mutating_p50_ms",
        "mutating_p99_ms",
        "watch_p50_ms",
        "watch_p99_ms",
        "errors",
        "watch_missing",
    ]
    print(f"{'backend':8} " + " ".join(f"{c:>16}" for c in cols))
    for backend, r in results.items():
        print(f"{backend:8} " + " ".join(f"{r[c]:>16.1f}" for c in cols))
    if "sqlite" in results and "etcd" in results:
        ratio = results["sqlite"]["objects_per_s"] / results["etcd"]["objects_per_s"]
        print(f"\nthroughput ratio sqlite/etcd: {ratio:.2f}x (target: etcd within 2x)")
    print(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
