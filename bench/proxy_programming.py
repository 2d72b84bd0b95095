"""Issue 4 benchmark (d): network programming latency — a pod becomes Ready → every node's kernel
rules carry it as an endpoint of its Service, in a real lab, p50/p99, for both proxy modes.

For each mode: a fresh lab (`podnet up`, 3 nodes), a Service over app=prog, then pods added one at a
time; the clock starts at the watch event showing the pod Ready and stops when the pod IP is in
every node's rules (nftables: the `backends` map; iptables: a KUBE-SEP DNAT rule), read inside each
node's namespace every 10 ms.

    .venv/bin/python bench/proxy_programming.py --pods 20
"""

from __future__ import annotations

import argparse
import asyncio
import secrets
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from podnet.api.scheme import resource  # noqa: E402
from podnet.client.kubeconfig import load_kubeconfig  # noqa: E402
from podnet.client.rest import RestClient  # noqa: E402

PODNET = [sys.executable, "-m", "podnet"]
NODES = ("node-1", "node-2", "node-3")


def rules(lab: str, node: str, mode: str) -> str:
    argv = (
        ["nft", "list", "map", "ip", "podnet-proxy", "backends"]
        if mode == "nftables"
        else ["iptables-legacy-save", "-t", "nat"]
    )
    return subprocess.run(
        ["ip", "netns", "exec", f"podnet-{lab}-{node}", *argv], capture_output=True, text=True
    ).stdout


async def wait_programmed(lab: str, mode: str, ip: str, timeout: float = 10.0) -> float:
    t0 = time.perf_counter()
    pending = set(NODES)
    while pending and time.perf_counter() - t0 < timeout:
        for node in list(pending):
            if ip in await asyncio.to_thread(rules, lab, node, mode):
                pending.discard(node)
        if pending:
            await asyncio.sleep(0.01)
    if pending:
        raise RuntimeError(f"{ip} not programmed on {sorted(pending)} after {timeout}s")
    return time.perf_counter()


async def measure(lab: str, mode: str, count: int) -> list[float]:
    client = RestClient(load_kubeconfig(Path(f"/run/podnet/{lab}/kubeconfig")))
    pods = resource("pods")
    try:
        await client.create(resource("services"), "default", {
            "apiVersion": "v1", "kind": "Service", "metadata": {"name": "prog"},
            "spec": {"selector": {"app": "prog"}, "ports": [{"port": 80, "targetPort": 8080}]}})  # fmt: skip
        out = []
        for i in range(count):
            rv = (await client.list(pods, "default", limit=1))["metadata"]["resourceVersion"]
            watch = client.watch(pods, "default", resource_version=rv, label_selector="app=prog")
            await client.create(pods, "default", {
                "apiVersion": "v1", "kind": "Pod", "metadata": {"name": f"prog-{i}", "labels": {"app": "prog"}},
                "spec": {"containers": [{"name": "c", "image": "busybox", "command": ["sleep", "3600"]}]}})  # fmt: skip
            ready_at, ip = 0.0, ""
            async for ev in watch:
                st = ev.object.get("status") or {}
                if (
                    ev.object["metadata"]["name"] == f"prog-{i}"
                    and st.get("podIP")
                    and any(
                        c["type"] == "Ready" and c["status"] == "True" for c in st.get("conditions") or []
                    )
                ):
                    ready_at, ip = time.perf_counter(), st["podIP"]
                    break
            await watch.close()
            out.append(await wait_programmed(lab, mode, ip) - ready_at)
        return sorted(out)
    finally:
        await client.close()


def pct(xs: list[float], q: float) -> float:
    return max(0.0, xs[min(len(xs) - 1, int(q * len(xs)))]) * 1000


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pods", type=int, default=20)
    args = parser.parse_args()
    for mode in ("nftables", "iptables"):
        lab = "pp" + secrets.token_hex(2)
        subprocess.run([*PODNET, "up", "--name", lab, "--nodes", "3", "--proxy-mode", mode, "--no-dns"],
                       check=True, capture_output=True, timeout=180)  # fmt: skip
        try:
            lat = asyncio.run(measure(lab, mode, args.pods))
            print(f"{mode:<9} pod Ready -> rules on all 3 nodes: p50 {pct(lat, 0.5):6.1f} ms  p99 {pct(lat, 0.99):6.1f} ms  "
                  f"max {max(lat) * 1000:6.1f} ms  (n={len(lat)}, polled every 10 ms)")  # fmt: skip
        finally:
            subprocess.run([*PODNET, "down", "--name", lab], capture_output=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
