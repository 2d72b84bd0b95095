"""Issue 3 benchmark: pod-to-pod TCP throughput (iperf3) and latency, against a raw veth pair.

One run, side by side: (1) a raw veth pair between two namespaces, the physical limit here;
(2) two pods on one node (bridge); (3) pods on two nodes over host-gw routes; (4) the same over
VXLAN. Both labs (`podnet up`, 2 nodes, no DNS) and the raw pair stay up for the whole run, so every
path is measured with the same background (two idle control planes and four agents), and the paths
take turns round by round, in a rotating order, so drift hits all of them alike. iperf3 runs one TCP
stream for --seconds with the client pinned to CPU 0 and the server to CPU 1 (`-A 0,1`), as the
same cores serve every path. Per path: the median over --repeat rounds, the spread, the ratio of
medians to the raw pair, and the median of per-round ratios; latency is ping's average RTT over 50
packets 10 ms apart.

    .venv/bin/python bench/pod_throughput.py --seconds 3 --repeat 5
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
from contextlib import ExitStack

PODNET = [sys.executable, "-m", "podnet"]
Client = Callable[[list[str]], str]


def run(argv: list[str], timeout: float = 120) -> str:
    return subprocess.run(argv, capture_output=True, text=True, check=True, timeout=timeout).stdout


def iperf(client: Client, server_ip: str, seconds: int) -> float:
    out = client(["iperf3", "-c", server_ip, "-t", str(seconds), "-A", "0,1", "-J"])
    return json.loads(out)["end"]["sum_received"]["bits_per_second"] / 1e9


def rtt(client: Client, ip: str) -> float:
    out = client(["ping", "-q", "-c", "50", "-i", "0.01", ip])
    return float(out.strip().splitlines()[-1].split("=")[1].split("/")[1]) * 1000  # µs


def raw_veth(stack: ExitStack) -> tuple[Client, str]:
    a, b = f"tpbench-{secrets.token_hex(2)}-a", f"tpbench-{secrets.token_hex(2)}-b"
    for ns in (a, b):
        stack.callback(subprocess.run, ["ip", "netns", "del", ns], capture_output=True)
        run(["ip", "netns", "add", ns])
    run(["ip", "-n", a, "link", "add", "v0", "type", "veth", "peer", "name", "v1", "netns", b])
    run(["ip", "-n", a, "addr", "add", "10.99.0.1/24", "dev", "v0"])
    run(["ip", "-n", b, "addr", "add", "10.99.0.2/24", "dev", "v1"])
    for ns, dev in ((a, "v0"), (b, "v1")):
        run(["ip", "-n", ns, "link", "set", dev, "up"])
    server = subprocess.Popen(["ip", "netns", "exec", b, "iperf3", "-s"], stdout=subprocess.DEVNULL)
    stack.callback(server.wait)
    stack.callback(server.kill)
    time.sleep(0.5)
    return (lambda argv: run(["ip", "netns", "exec", a, *argv])), "10.99.0.2"


def pod(name: str, node: str, command: list[str]) -> dict:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
            "spec": {"nodeSelector": {"kubernetes.io/hostname": node},
                     "containers": [{"name": "c", "image": "busybox", "command": command}]}}  # fmt: skip


def lab(stack: ExitStack, backend: str) -> tuple[Client, dict[str, str]]:
    """A 2-node lab with a client pod on node-1 and iperf3 servers on node-1 and node-2."""
    name = "tp" + secrets.token_hex(2)
    stack.callback(subprocess.run, [*PODNET, "down", "--name", name], capture_output=True)
    run([*PODNET, "up", "--name", name, "--nodes", "2", "--backend", backend, "--no-dns"], timeout=180)
    kube = ["kubectl", "--kubeconfig", f"/run/podnet/{name}/kubeconfig"]
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
    return (lambda argv: run([*PODNET, "exec", "--name", name, "client", "--", *argv])), ips


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=3)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    with ExitStack() as stack:
        raw_client, raw_ip = raw_veth(stack)
        hg_client, hg_ips = lab(stack, "host-gw")
        vx_client, vx_ips = lab(stack, "vxlan")
        paths: dict[str, tuple[Client, str]] = {
            "raw veth pair": (raw_client, raw_ip),
            "same node": (hg_client, hg_ips["same"]),
            "two nodes, host-gw": (hg_client, hg_ips["other"]),
            "two nodes, vxlan": (vx_client, vx_ips["other"]),
        }
        gbps: dict[str, list[float]] = {k: [] for k in paths}
        names = list(paths)
        for r in range(args.repeat):
            for label in names[r % len(names) :] + names[: r % len(names)]:
                client, ip = paths[label]
                gbps[label].append(iperf(client, ip, args.seconds))
        lat = {label: rtt(client, ip) for label, (client, ip) in paths.items()}
    base = gbps["raw veth pair"]
    print(f"{'path':<20} {'Gbit/s median':>14} {'min-max':>13} {'ratio':>6} {'per-round':>10} {'RTT avg':>8}")
    for label, vals in gbps.items():
        med = statistics.median(vals)
        per_round = statistics.median(v / b for v, b in zip(vals, base, strict=True))
        print(f"{label:<20} {med:>14.2f} {min(vals):>6.2f}-{max(vals):<6.2f} {med / statistics.median(base):>6.2f} "
              f"{per_round:>10.2f} {lat[label]:>6.0f}us")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
