"""Issue 3 benchmark: pod-to-pod TCP throughput (iperf3) and latency, against a raw veth pair.

One run, side by side: (1) a raw veth pair between two namespaces, the physical limit here;
(2) two pods on one node (bridge); (3) pods on two nodes over host-gw routes; (4) the same over
VXLAN. Labs are built with `podnet up` (2 nodes; no DNS) and removed at the end; pods run the
machine's iperf3 (the busybox image runs host tools). Each path: --repeat runs of iperf3 -t
--seconds, one TCP stream; medians, spread and the ratio to the raw veth; latency is ping's average
RTT over 50 packets 10 ms apart.

    .venv/bin/python bench/pod_throughput.py --seconds 3 --repeat 3
"""

from __future__ import annotations

import argparse
import json
import secrets
import statistics
import subprocess
import sys
import time
from collections.abc import Callable

PODNET = [sys.executable, "-m", "podnet"]


def run(argv: list[str], timeout: float = 120) -> str:
    return subprocess.run(argv, capture_output=True, text=True, check=True, timeout=timeout).stdout


def iperf(client: Callable[[list[str]], str], server_ip: str, seconds: int) -> float:
    out = client(["iperf3", "-c", server_ip, "-t", str(seconds), "-J"])
    return json.loads(out)["end"]["sum_received"]["bits_per_second"] / 1e9


def rtt(client: Callable[[list[str]], str], ip: str) -> float:
    out = client(["ping", "-q", "-c", "50", "-i", "0.01", ip])
    return float(out.strip().splitlines()[-1].split("=")[1].split("/")[1]) * 1000  # µs


def raw_veth(seconds: int, repeat: int) -> tuple[list[float], float]:
    a, b = f"tpbench-{secrets.token_hex(2)}-a", f"tpbench-{secrets.token_hex(2)}-b"
    server = None
    try:
        run(["ip", "netns", "add", a])
        run(["ip", "netns", "add", b])
        run(["ip", "-n", a, "link", "add", "v0", "type", "veth", "peer", "name", "v1", "netns", b])
        run(["ip", "-n", a, "addr", "add", "10.99.0.1/24", "dev", "v0"])
        run(["ip", "-n", b, "addr", "add", "10.99.0.2/24", "dev", "v1"])
        for ns, dev in ((a, "v0"), (b, "v1")):
            run(["ip", "-n", ns, "link", "set", dev, "up"])
        server = subprocess.Popen(["ip", "netns", "exec", b, "iperf3", "-s"], stdout=subprocess.DEVNULL)
        time.sleep(0.5)

        def client(argv: list[str]) -> str:
            return run(["ip", "netns", "exec", a, *argv])

        return [iperf(client, "10.99.0.2", seconds) for _ in range(repeat)], rtt(client, "10.99.0.2")
    finally:
        if server is not None:
            server.kill()
            server.wait()
        for ns in (a, b):
            subprocess.run(["ip", "netns", "del", ns], capture_output=True)


def pod(name: str, node: str, command: list[str]) -> dict:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
            "spec": {"nodeSelector": {"kubernetes.io/hostname": node},
                     "containers": [{"name": "c", "image": "busybox", "command": command}]}}  # fmt: skip


def lab_paths(backend: str, seconds: int, repeat: int) -> dict[str, tuple[list[float], float]]:
    lab = "tp" + secrets.token_hex(2)
    run([*PODNET, "up", "--name", lab, "--nodes", "2", "--backend", backend, "--no-dns"], timeout=180)
    try:
        kube = ["kubectl", "--kubeconfig", f"/run/podnet/{lab}/kubeconfig"]
        pods = [pod("client", "node-1", ["sleep", "3600"]), pod("same", "node-1", ["iperf3", "-s"]),
                pod("other", "node-2", ["iperf3", "-s"])]  # fmt: skip
        for manifest in pods:
            done = subprocess.run(
                [*kube, "apply", "-f", "-"], input=json.dumps(manifest), text=True, capture_output=True
            )
            if done.returncode != 0:
                raise RuntimeError(f"kubectl apply: {done.stderr.strip()}")
        run([*kube, "wait", "--for=condition=Ready", "pod/client", "pod/same", "pod/other", "--timeout=60s"])
        time.sleep(0.5)
        ips = {p: run([*kube, "get", "pod", p, "-o", "jsonpath={.status.podIP}"]) for p in ("same", "other")}

        def client(argv: list[str]) -> str:
            return run([*PODNET, "exec", "--name", lab, "client", "--", *argv])

        out = {}
        targets = (
            {"same node": "same", f"two nodes, {backend}": "other"}
            if backend == "host-gw"
            else {f"two nodes, {backend}": "other"}
        )
        for label, target in targets.items():
            out[label] = (
                [iperf(client, ips[target], seconds) for _ in range(repeat)],
                rtt(client, ips[target]),
            )
        return out
    finally:
        subprocess.run([*PODNET, "down", "--name", lab], capture_output=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=3)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    results = {"raw veth pair": raw_veth(args.seconds, args.repeat)}
    results.update(lab_paths("host-gw", args.seconds, args.repeat))
    results.update(lab_paths("vxlan", args.seconds, args.repeat))
    base = statistics.median(results["raw veth pair"][0])
    print(f"{'path':<22} {'Gbit/s median':>14} {'min-max':>14} {'ratio':>6} {'RTT avg':>9}")
    for label, (gbps, lat) in results.items():
        med = statistics.median(gbps)
        print(
            f"{label:<22} {med:>14.2f} {min(gbps):>6.2f}-{max(gbps):<7.2f} {med / base:>6.2f} {lat:>7.0f}us"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
