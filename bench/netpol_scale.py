"""Issue 6 benchmark: 1,000 NetworkPolicies over 1,000 pods on one node, against no policies.

In a throwaway node namespace routing between two real pod namespaces (client 10.244.1.2, server
10.244.1.3, TCP on 8080), with 998 more synthetic pods on the node and 1,000 policies (each
selecting a few pods by label and allowing ingress from a labelled peer set; the server's policy
allows the client), measure side by side in one run:
(a) compile (pure) and apply (`nft -f`) of the whole node table;
(b) one pod label change taking effect: recompile + apply;
(c) TCP connect latency client -> server through the node's forward hook, p50/p99, with the
    policies against none.

    .venv/bin/python bench/netpol_scale.py --policies 1000 --pods 1000
"""

from __future__ import annotations

import argparse
import gc
import os
import secrets
import socket
import statistics
import struct
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from podnet.agent.policy.compile import Rendered, render, render_partial  # noqa: E402
from podnet.agent.policy.model import pod_of, resolve  # noqa: E402
from podnet.kernel.named_netns import run_in_netns  # noqa: E402


def pods(n: int, client_label: str = "yes") -> list[dict]:
    out = []
    for i in range(n):
        ip = f"10.244.{1 + (i + 2) // 250}.{(i + 2) % 250}" if i >= 2 else f"10.244.1.{i + 2}"
        labels = {"app": f"a{i % 500}", "tier": f"t{i % 7}"}
        if i == 0:
            labels["client"] = client_label
        if i == 1:
            labels["app"] = "server"
        out.append({"metadata": {"name": f"p{i}", "namespace": "bench", "uid": f"{i:08x}-0000-0000-0000-000000000000",
                                 "labels": labels},
                    "spec": {"nodeName": "n1", "containers": [{"name": "c"}]}, "status": {"podIP": ip, "phase": "Running"}})  # fmt: skip
    return out


def policies(n: int) -> list[dict]:
    out = [{"metadata": {"name": "server", "namespace": "bench"},
            "spec": {"podSelector": {"matchLabels": {"app": "server"}},
                     "ingress": [{"from": [{"podSelector": {"matchLabels": {"client": "yes"}}}], "ports": [{"port": 8080}]}]}}]  # fmt: skip
    for i in range(n - 1):
        out.append({"metadata": {"name": f"np{i}", "namespace": "bench"},
                    "spec": {"podSelector": {"matchLabels": {"app": f"a{i % 500}"}},
                             "ingress": [{"from": [{"podSelector": {"matchLabels": {"tier": f"t{i % 7}"}}}],
                                          "ports": [{"port": 80 + i % 10}]}]}})  # fmt: skip
    return out


def compile_rendered(pol: list[dict], pod_objs: list[dict]) -> tuple[Rendered, float]:
    t0 = time.perf_counter()
    plist = [p for p in (pod_of(o) for o in pod_objs) if p is not None]
    rendered = render(resolve(pol, plist, {"bench": {}}), plist, "n1")
    return rendered, time.perf_counter() - t0


def sh(*argv: str, stdin: str | None = None) -> None:
    subprocess.run(argv, input=stdin, text=True, check=True, capture_output=True, timeout=600)


def apply(ns: str, text: str) -> float:
    t0 = time.perf_counter()
    sh("ip", "netns", "exec", ns, "nft", "-f", "-", stdin=text)
    return time.perf_counter() - t0


def latency(ns: str, count: int) -> list[float]:
    """``count`` TCP connects from inside ``ns``, pinned to CPU 0 with the collector off.

    connect() returns on the SYN-ACK, which the server's kernel sends from softirq on the
    sending CPU: one connect is the SYN's and the SYN-ACK's trip through both hooks, with no
    server process scheduling in it.
    """

    def go() -> list[float]:
        os.sched_setaffinity(0, {0})
        gc.disable()
        out = []
        try:
            for _ in range(count):
                s = socket.socket()
                s.settimeout(2)
                t0 = time.perf_counter()
                s.connect(("10.244.1.3", 8080))
                out.append(time.perf_counter() - t0)
                s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                s.close()  # RST: no TIME_WAIT pile-up that would make later rounds differ
        finally:
            gc.enable()
        return out

    return run_in_netns(ns, go)


def pct(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(q * len(xs)))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--policies", type=int, default=1000)
    parser.add_argument("--pods", type=int, default=1000)
    parser.add_argument("--connects", type=int, default=300, help="connects per round")
    parser.add_argument("--rounds", type=int, default=30, help="with/none round pairs")
    args = parser.parse_args()
    tag = secrets.token_hex(2)
    node, client, server = f"npb-{tag}-node", f"npb-{tag}-c", f"npb-{tag}-s"
    srv = None
    try:
        for ns in (node, client, server):
            sh("ip", "netns", "add", ns)
        sh("ip", "-n", node, "link", "add", "cbr0", "type", "bridge")
        sh("ip", "-n", node, "addr", "add", "10.244.1.1/24", "dev", "cbr0")
        sh("ip", "-n", node, "link", "set", "cbr0", "up")
        for ns, ip, dev in ((client, "10.244.1.2", "vc"), (server, "10.244.1.3", "vs")):
            # pods on the node bridge, as podnet-cni wires them: bridged IPv4 crosses the forward hook
            sh("ip", "-n", node, "link", "add", dev, "type", "veth", "peer", "name", "eth0", "netns", ns)
            sh("ip", "-n", node, "link", "set", dev, "master", "cbr0")
            sh("ip", "-n", node, "link", "set", dev, "up")
            sh("ip", "-n", ns, "addr", "add", f"{ip}/24", "dev", "eth0")
            sh("ip", "-n", ns, "link", "set", "eth0", "up")
        sh("ip", "netns", "exec", node, "sysctl", "-qw", "net.ipv4.ip_forward=1")
        srv = subprocess.Popen(["ip", "netns", "exec", server, sys.executable, "-c",
                                "import socket\ns=socket.socket();s.setsockopt(socket.SOL_SOCKET,socket.SO_REUSEADDR,1)\n"
                                "s.bind(('',8080));s.listen(4096)\nwhile True:\n c,_=s.accept();c.close()"])  # fmt: skip
        time.sleep(0.3)
        # the baseline is a real node's: conntrack already on (the service proxy's NAT needs it)
        apply(
            node,
            "table ip baseline {\n chain f {\n  type filter hook forward priority 0; policy accept;\n  ct state established accept\n }\n}\n",
        )
        pod_objs, pol = pods(args.pods), policies(args.policies)
        first, compile_s = compile_rendered(pol, pod_objs)
        text = first.text
        apply_s = apply(node, text)
        # ABBA pairs of rounds (none, with, with, none, ...): linear drift cancels; each pair gives
        # one with/none ratio, so the spread between pairs shows what noise alone does
        none: list[float] = []
        with_pol: list[float] = []
        ratios50: list[float] = []
        ratios99: list[float] = []
        installed = True
        for r in range(args.rounds):
            got: dict[bool, list[float]] = {}
            for want in (False, True) if r % 2 == 0 else (True, False):
                if want and not installed:
                    apply(node, text)
                elif not want and installed:
                    sh("ip", "netns", "exec", node, "nft", "delete", "table", "ip", "podnet-policy")
                installed = want
                latency(client, 30)  # warm the path after the switch
                got[want] = latency(client, args.connects)
            none += got[False]
            with_pol += got[True]
            ratios50.append(pct(got[True], 0.5) / pct(got[False], 0.5))
            ratios99.append(pct(got[True], 0.99) / pct(got[False], 0.99))
        if not installed:
            apply(node, text)
        changed = pods(args.pods)
        changed[5]["metadata"]["labels"]["tier"] = "t-new"  # one pod's label changes
        t0 = time.perf_counter()
        second, _ = compile_rendered(pol, changed)
        partial = render_partial(first, second)
        compile2_s = time.perf_counter() - t0
        apply2_s = apply(node, partial if partial is not None else second.text)
        p = lambda xs, q: pct(xs, q) * 1e6  # noqa: E731
        print(f"{args.policies} policies over {args.pods} pods: compile {compile_s * 1000:.0f} ms, apply {apply_s * 1000:.0f} ms "
              f"({len(text) // 1024} KiB of rules)")  # fmt: skip
        print(f"one label change in effect: compile+diff {compile2_s * 1000:.0f} ms + apply {apply2_s * 1000:.0f} ms "
              f"= {(compile2_s + apply2_s) * 1000:.0f} ms ({'partial, ' + str(len(partial or '')) + ' bytes' if partial is not None else 'whole table'})")  # fmt: skip
        print(f"connect p50/p99: no policies {p(none, 0.5):.1f}/{p(none, 0.99):.1f} us, with {p(with_pol, 0.5):.1f}/"
              f"{p(with_pol, 0.99):.1f} us ({len(none)} connects each); pooled ratio p50 "
              f"{p(with_pol, 0.5) / p(none, 0.5):.2f}x p99 {p(with_pol, 0.99) / p(none, 0.99):.2f}x")  # fmt: skip
        q = lambda xs: f"{statistics.median(xs):.2f}x (quartiles {pct(xs, 0.25):.2f}-{pct(xs, 0.75):.2f}x)"  # noqa: E731
        print(f"per-round-pair ratio over {len(ratios50)} pairs: p50 {q(ratios50)}, p99 {q(ratios99)}")
    finally:
        if srv is not None:
            srv.kill()
            srv.wait()
        for ns in (node, client, server):
            subprocess.run(["ip", "netns", "del", ns], capture_output=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
