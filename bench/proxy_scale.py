"""Issue 4 benchmark: the service proxy at 10,000 Services x 5 endpoints against 1 Service, both modes.

In a throwaway "node" namespace (with a "pod" namespace behind a veth serving TCP on 8080), the
proxy's own renderers and ``nft -f`` / ``iptables-legacy-restore --noflush`` measure, side by side in
one run, for each mode:
(a) full sync: the whole table for N services loaded in one transaction;
(b) one endpoint change: the partial sync's element update, from render to kernel;
(c) new-connection latency (TCP connect through the VIP, from the node) to the last service with N
    services loaded, against the same with 1 service, p50/p99 over --connects connections.
Nothing outside the two namespaces is touched; both are deleted at the end.

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
from podnet.kernel.named_netns import run_in_netns  # noqa: E402

POD_IP = "10.244.1.2"


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


def pct(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(q * len(xs)))] * 1e6


def nft_round(node: str, n: int, endpoints: int, connects: int) -> tuple[float, float, float, list[float]]:
    svcs, sls = objects(n, endpoints)
    cache: dict = {}
    t0 = time.perf_counter()
    state = nftables.build_state(service_ports(svcs, sls, cache), "n")
    text = nftables.render_full(state, "10.244.0.0/16")
    render_s = time.perf_counter() - t0
    full_s = nft(node, text)
    moved_objs = objects(n, endpoints, moved=n - 2 if n >= 2 else -1)
    # the agent's whole path for one changed EndpointSlice: model (cached), state, diff, kernel
    t0 = time.perf_counter()
    moved = nftables.build_state(service_ports(*moved_objs, cache), "n")
    partial = nftables.render_partial(state, moved) or ""
    partial_s = nft(node, partial) + (time.perf_counter() - t0)
    vip = svcs[-1]["spec"]["clusterIP"]
    connect_latency(node, vip, 20)  # warm
    lat = connect_latency(node, vip, connects)
    sh("ip", "netns", "exec", node, "nft", "delete", "table", "ip", nftables.TABLE)
    return render_s, full_s, partial_s, lat


def ipt_restore(node: str, text: str) -> float:
    t0 = time.perf_counter()
    sh("ip", "netns", "exec", node, iptables.RESTORE, "--noflush", stdin=text)
    return time.perf_counter() - t0


def ipt_round(node: str, n: int, endpoints: int, connects: int) -> tuple[float, float, float, list[float]]:
    """kube-proxy's layout: every sync is a restore of all KUBE-* chains (that is the mode's cost)."""
    svcs, sls = objects(n, endpoints)
    cache: dict = {}
    t0 = time.perf_counter()
    text, _ = iptables.render(service_ports(svcs, sls, cache), "n", "10.244.0.0/16")
    render_s = time.perf_counter() - t0
    full_s = ipt_restore(node, text)
    for table, chain, rule in iptables.JUMPS[:3]:
        sh("ip", "netns", "exec", node, iptables.IPTABLES, "-t", table, "-I", chain, "1", *rule)
    moved_objs = objects(n, endpoints, moved=n - 2 if n >= 2 else -1)
    t0 = time.perf_counter()
    text2, _ = iptables.render(service_ports(*moved_objs, cache), "n", "10.244.0.0/16")
    partial_s = ipt_restore(node, text2) + (time.perf_counter() - t0)
    vip = svcs[-1]["spec"]["clusterIP"]
    connect_latency(node, vip, 20)
    lat = connect_latency(node, vip, connects)
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
    node, pod = f"pxbench-{tag}-node", f"pxbench-{tag}-pod"
    server = None
    try:
        for ns in (node, pod):
            sh("ip", "netns", "add", ns)
        sh("ip", "-n", node, "link", "add", "pv0", "type", "veth", "peer", "name", "eth0", "netns", pod)
        sh("ip", "-n", node, "addr", "add", "10.244.1.1/24", "dev", "pv0")
        sh("ip", "-n", node, "link", "set", "pv0", "up")
        sh("ip", "-n", node, "link", "set", "lo", "up")
        sh("ip", "-n", pod, "addr", "add", f"{POD_IP}/24", "dev", "eth0")
        sh("ip", "-n", pod, "link", "set", "eth0", "up")
        sh("ip", "-n", pod, "link", "set", "lo", "up")
        sh("ip", "-n", node, "route", "add", "10.96.0.0/12", "dev", "pv0")
        server = subprocess.Popen(["ip", "netns", "exec", pod, sys.executable, "-c",
                                   "import socket\ns=socket.socket();s.setsockopt(socket.SOL_SOCKET,socket.SO_REUSEADDR,1)\n"
                                   "s.bind(('',8080));s.listen(4096)\nwhile True:\n c,_=s.accept();c.close()"])  # fmt: skip
        time.sleep(0.3)
        for mode in ("nftables", "iptables"):
            results = {}
            for n in (1, args.services):
                results[n] = (nft_round if mode == "nftables" else ipt_round)(
                    node, n, args.endpoints, args.connects
                )
                render_s, full_s, partial_s, lat = results[n]
                print(f"{mode:<9} {n:>6} services: render {render_s * 1000:7.1f} ms  full sync {full_s * 1000:8.1f} ms  "
                      f"one endpoint change {partial_s * 1000:7.1f} ms  connect p50 {pct(lat, 0.5):6.1f} us  "
                      f"p99 {pct(lat, 0.99):6.1f} us  (stdev {statistics.pstdev(lat) * 1e6:.1f})")  # fmt: skip
            one, many = results[1][3], results[args.services][3]
            print(f"{mode:<9} connect latency ratio {args.services} vs 1 service: p50 "
                  f"{pct(many, 0.5) / pct(one, 0.5):.2f}x, p99 {pct(many, 0.99) / pct(one, 0.99):.2f}x")  # fmt: skip
    finally:
        if server is not None:
            server.kill()
            server.wait()
        for ns in (node, pod):
            subprocess.run(["ip", "netns", "del", ns], capture_output=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
