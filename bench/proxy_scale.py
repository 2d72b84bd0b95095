"""Issue 4 benchmark: the service proxy at 10,000 Services x 5 endpoints against 1 Service, both modes.

In a throwaway "node" namespace (bridge cbr0 with a backend "pod" serving TCP on 8080 and a "client"
pod), the proxy's own renderers and ``nft -f`` / ``iptables-legacy-restore --noflush`` measure, side by side in
one run, for each mode:
(a) full sync: the whole table for N services loaded in one transaction;
(b) one endpoint change: the agent's whole path (model, render, kernel) for one changed EndpointSlice:
    nftables element edits; iptables a restore of the changed chains;
(c) new-connection latency (TCP connect through the VIP, from a client pod on the node's bridge to a
    real backend pod) to the last service with N services loaded, against the same with 1 service
    (measured before and after the N round, pooled), p50/p99 over --connects connections each.
Nothing outside the three namespaces is touched; all are deleted at the end.

    .venv/bin/python bench/proxy_scale.py --services 10000
"""

from __future__ import annotations

import argparse
import secrets
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from podnet.agent.proxy import iptables, nftables  # noqa: E402
from podnet.agent.proxy.model import service_ports  # noqa: E402
from podnet.agent.proxy.tracker import StateTracker, render_changes  # noqa: E402
from podnet.kernel.named_netns import run_in_netns  # noqa: E402

POD_IP = "10.244.1.2"
CLIENT_IP = "10.244.1.3"


def objects(n: int, endpoints: int, moved: int = -1) -> tuple[list[dict], list[dict]]:
    services, slices = [], []
    for i in range(n):
        ip = f"10.{96 + i // 65000}.{(i // 250) % 256}.{i % 250 + 1}"
        services.append({"metadata": {"name": f"s{i}", "namespace": "b", "resourceVersion": f"1{i}"},
                         "spec": {"clusterIP": ip, "ports": [{"name": "p", "port": 80, "protocol": "TCP"}]}})  # fmt: skip
        eps = (
            [POD_IP]
            if i == n - 1
            else [
                f"10.245.{(i * endpoints + j) // 250 % 256}.{(i * endpoints + j) % 250 + 1}"
                for j in range(endpoints)
            ]
        )
        if i == moved:
            eps = [*eps[:-1], "10.246.0.1"]
        rv = f"3{i}" if i == moved else f"2{i}"
        slices.append({"metadata": {"name": f"s{i}-x", "namespace": "b", "resourceVersion": rv,
                                    "labels": {"kubernetes.io/service-name": f"s{i}"}},
                       "addressType": "IPv4", "ports": [{"name": "p", "port": 8080, "protocol": "TCP"}],
                       "endpoints": [{"addresses": [e], "nodeName": "n", "conditions": {"ready": True}} for e in eps]})  # fmt: skip
    return services, slices


def sh(*argv: str, stdin: str | None = None) -> None:
    subprocess.run(argv, input=stdin, text=True, check=True, capture_output=True, timeout=600)


def nft(ns: str, text: str) -> float:
    t0 = time.perf_counter()
    sh("ip", "netns", "exec", ns, "nft", "-f", "-", stdin=text)
    return time.perf_counter() - t0


def connect_latency(ns: str, vip: str, count: int) -> list[float]:
    def run() -> list[float]:
        out = []
        for _ in range(count):
            s = socket.socket()
            s.settimeout(2)
            t0 = time.perf_counter()
            s.connect((vip, 80))
            out.append(time.perf_counter() - t0)
            s.close()
        return out

    return run_in_netns(ns, run)


def wait_listening(client: str) -> None:
    """Poll (bounded) until the backend pod accepts connections, seen from the client pod."""

    def probe() -> bool:
        with socket.socket() as s:
            s.settimeout(0.2)
            return s.connect_ex((POD_IP, 8080)) == 0

    for _ in range(100):
        if run_in_netns(client, probe):
            return
        time.sleep(0.05)
    raise RuntimeError("the backend pod never listened on 8080")


def pct(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(q * len(xs)))] * 1e6


def nft_round(
    node: str, client: str, n: int, endpoints: int, connects: int
) -> tuple[float, float, float, list[float]]:
    svcs, sls = objects(n, endpoints)
    cache: dict = {}
    t0 = time.perf_counter()
    tracker = StateTracker("n")
    tracker.update(service_ports(svcs, sls, cache))
    text = nftables.render_full(tracker.state, "10.244.0.0/16")
    render_s = time.perf_counter() - t0
    full_s = nft(node, text)
    moved_objs = objects(n, endpoints, moved=n - 2 if n >= 2 else -1)
    # the agent's whole path for one changed EndpointSlice: model (cached), tracker update, text, kernel
    t0 = time.perf_counter()
    changes = tracker.update(service_ports(*moved_objs, cache))
    partial = render_changes(tracker, changes, "random")
    partial_s = nft(node, partial) + (time.perf_counter() - t0)
    vip = svcs[-1]["spec"]["clusterIP"]
    connect_latency(client, vip, 20)  # warm
    lat = connect_latency(client, vip, connects)
    sh("ip", "netns", "exec", node, "nft", "delete", "table", "ip", nftables.TABLE)
    return render_s, full_s, partial_s, lat


def ipt_restore(node: str, text: str) -> float:
    t0 = time.perf_counter()
    sh("ip", "netns", "exec", node, iptables.RESTORE, "--noflush", stdin=text)
    return time.perf_counter() - t0


def ipt_round(
    node: str, client: str, n: int, endpoints: int, connects: int
) -> tuple[float, float, float, list[float]]:
    """kube-proxy's layout: a full restore, then a partial one (the changed chains and KUBE-SERVICES)."""
    svcs, sls = objects(n, endpoints)
    cache: dict = {}
    t0 = time.perf_counter()
    tables = iptables.render_tables(service_ports(svcs, sls, cache), "n", "10.244.0.0/16")
    text = iptables.restore_text(tables)
    render_s = time.perf_counter() - t0
    full_s = ipt_restore(node, text)
    for table, chain, rule in iptables.JUMPS[:3]:
        sh("ip", "netns", "exec", node, iptables.IPTABLES, "-t", table, "-I", chain, "1", *rule)
    moved_objs = objects(n, endpoints, moved=n - 2 if n >= 2 else -1)
    t0 = time.perf_counter()
    moved = iptables.render_tables(service_ports(*moved_objs, cache), "n", "10.244.0.0/16")
    text2 = iptables.restore_text(moved, tables.nat, [c for c in tables.nat if c not in moved.nat])
    partial_s = ipt_restore(node, text2) + (time.perf_counter() - t0)
    vip = svcs[-1]["spec"]["clusterIP"]
    connect_latency(client, vip, 20)
    lat = connect_latency(client, vip, connects)
    for table in ("nat", "filter"):
        sh("ip", "netns", "exec", node, iptables.IPTABLES, "-t", table, "-F")
        sh("ip", "netns", "exec", node, iptables.IPTABLES, "-t", table, "-X")
    return render_s, full_s, partial_s, lat


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--services", type=int, default=10000)
    parser.add_argument("--endpoints", type=int, default=5)
    parser.add_argument("--connects", type=int, default=500)
    args = parser.parse_args()
    tag = secrets.token_hex(3)
    node, pod, client = (f"pxbench-{tag}-{x}" for x in ("node", "pod", "client"))
    server = None
    try:
        for ns in (node, pod, client):
            sh("ip", "netns", "add", ns)
            sh("ip", "-n", ns, "link", "set", "lo", "up")
        sh("ip", "netns", "exec", node, "sysctl", "-qw", "net.ipv4.ip_forward=1")
        sh("ip", "-n", node, "link", "add", "cbr0", "type", "bridge")
        sh("ip", "-n", node, "addr", "add", "10.244.1.1/24", "dev", "cbr0")
        sh("ip", "-n", node, "link", "set", "cbr0", "up")
        for i, (ns, ip) in enumerate(((pod, POD_IP), (client, CLIENT_IP))):
            sh("ip", "-n", node, "link", "add", f"pv{i}", "type", "veth", "peer", "name", "eth0", "netns", ns)
            sh("ip", "-n", node, "link", "set", f"pv{i}", "master", "cbr0", "up")
            sh("ip", "-n", ns, "addr", "add", f"{ip}/24", "dev", "eth0")
            sh("ip", "-n", ns, "link", "set", "eth0", "up")
            sh("ip", "-n", ns, "route", "add", "default", "via", "10.244.1.1")
        sh("ip", "-n", node, "route", "add", "10.96.0.0/12", "dev", "cbr0")
        server = subprocess.Popen(["ip", "netns", "exec", pod, sys.executable, "-c",
                                   "import socket\ns=socket.socket();s.setsockopt(socket.SOL_SOCKET,socket.SO_REUSEADDR,1)\n"
                                   "s.bind(('',8080));s.listen(4096)\nwhile True:\n c,_=s.accept();c.close()"])  # fmt: skip
        wait_listening(client)
        for mode in ("nftables", "iptables"):
            results: dict[int, list[float]] = {1: [], args.services: []}
            for n in (1, args.services, 1):  # 1 service before and after N: drift shows as a spread
                render_s, full_s, partial_s, lat = (nft_round if mode == "nftables" else ipt_round)(
                    node, client, n, args.endpoints, args.connects
                )
                results[n] += lat
                print(f"{mode:<9} {n:>6} services: render {render_s * 1000:7.1f} ms  full sync {full_s * 1000:8.1f} ms  "
                      f"one endpoint change {partial_s * 1000:7.1f} ms  connect p50 {pct(lat, 0.5):6.1f} us  "
                      f"p99 {pct(lat, 0.99):6.1f} us  (stdev {statistics.pstdev(lat) * 1e6:.1f})")  # fmt: skip
            one, many = results[1], results[args.services]
            print(f"{mode:<9} connect latency ratio {args.services} vs 1 service: p50 "
                  f"{pct(many, 0.5) / pct(one, 0.5):.2f}x, p99 {pct(many, 0.99) / pct(one, 0.99):.2f}x")  # fmt: skip
    finally:
        if server is not None:
            server.kill()
            server.wait()
        for ns in (node, pod, client):
            subprocess.run(["ip", "netns", "del", ns], capture_output=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
