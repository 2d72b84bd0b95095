"""Issue 5 benchmark: podnet dns against dnsmasq serving the same records, side by side, one run.

Both servers answer from the same synthetic cluster (1,000 ClusterIP services, 100 headless services
with 3 endpoints, SRV for named ports) on 127.0.0.1, each pinned to CPU 1 (`taskset -c 1`) while
dnsperf runs on CPU 0. The query mix: 60% ClusterIP A, 15% headless A, 10% SRV, 15% NXDOMAIN.
Reported per server: peak QPS over --duration seconds, server CPU time per query (utime+stime from
/proc), then p50/p99 latency at half of that server's peak (dnsperf -Q, -v per-query latencies).
Also the queries one unqualified external lookup costs through the ndots:5 search path, with and
without autopath (a resolver doing what glibc does, against podnet dns with an upstream).

    .venv/bin/python bench/dns_perf.py --duration 10
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

N_SERVICES, N_HEADLESS = 1000, 100


def objects() -> tuple[list[dict], list[dict]]:
    services, slices = [], []
    for i in range(N_SERVICES):
        services.append({"metadata": {"name": f"svc-{i}", "namespace": "bench"},
                         "spec": {"clusterIP": f"10.96.{i // 250}.{i % 250 + 1}",
                                  "ports": [{"name": "http", "port": 80, "protocol": "TCP"}]}})  # fmt: skip
    for i in range(N_HEADLESS):
        services.append(
            {"metadata": {"name": f"hl-{i}", "namespace": "bench"}, "spec": {"clusterIP": "None"}}
        )
        slices.append({
            "metadata": {"name": f"hl-{i}-x", "namespace": "bench", "labels": {"kubernetes.io/service-name": f"hl-{i}"}},
            "addressType": "IPv4", "ports": [],
            "endpoints": [{"addresses": [f"10.244.{i}.{j + 2}"], "conditions": {"ready": True}} for j in range(3)],
        })  # fmt: skip
    return services, slices


def query_file(path: Path, n: int = 20000) -> None:
    rng = random.Random(1)
    lines = []
    for _ in range(n):
        r = rng.random()
        if r < 0.60:
            lines.append(f"svc-{rng.randrange(N_SERVICES)}.bench.svc.cluster.local A")
        elif r < 0.75:
            lines.append(f"hl-{rng.randrange(N_HEADLESS)}.bench.svc.cluster.local A")
        elif r < 0.85:
            lines.append(f"_http._tcp.svc-{rng.randrange(N_SERVICES)}.bench.svc.cluster.local SRV")
        else:
            lines.append(f"missing-{rng.randrange(N_SERVICES)}.bench.svc.cluster.local A")
    path.write_text("\n".join(lines) + "\n")


def dnsmasq_conf(path: Path, port: int) -> None:
    services, slices = objects()
    out = ["no-resolv", "no-hosts", "no-poll", "bind-interfaces", "listen-address=127.0.0.1", f"port={port}",
           "local=/cluster.local/", "user=root", "pid-file=", "local-ttl=5"]  # fmt: skip
    for s in services[:N_SERVICES]:
        name = f"{s['metadata']['name']}.bench.svc.cluster.local"
        out.append(f"host-record={name},{s['spec']['clusterIP']}")
        out.append(f"srv-host=_http._tcp.{name},{name},80")
    for sl in slices:
        name = f"{sl['metadata']['labels']['kubernetes.io/service-name']}.bench.svc.cluster.local"
        for ep in sl["endpoints"]:
            out.append(f"host-record={name},{ep['addresses'][0]}")
    path.write_text("\n".join(out) + "\n")


def serve_podnet(port: int) -> None:
    """The podnet dns data path without an API server: the same zone builder, responder and protocol."""
    import socket

    import uvloop

    from podnet.dns.records import build_zone
    from podnet.dns.responder import Responder
    from podnet.dns.server import DnsServer, Forwarder, UdpProtocol

    services, slices = objects()

    async def main() -> None:
        server = DnsServer(Responder(build_zone(services, slices, [])), Forwarder([]), lambda _ip: None)
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
        sock.bind(("127.0.0.1", port))
        await asyncio.get_running_loop().create_datagram_endpoint(lambda: UdpProtocol(server), sock=sock)
        await asyncio.Event().wait()

    uvloop.run(main())


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def dnsperf(port: int, qfile: Path, duration: float, qps: int = 0, verbose: bool = False) -> str:
    argv = ["taskset", "-c", "0", "dnsperf", "-s", "127.0.0.1", "-p", str(port), "-d", str(qfile),
            "-l", str(duration), "-c", "4", "-q", "500", "-t", "2"]  # fmt: skip
    if qps:
        argv += ["-Q", str(qps)]
    if verbose:
        argv += ["-v"]
    # into a file, not a pipe: a reader of -v's megabytes would be one more process scheduled
    # beside the server on its core, and its wake-ups land in the very tail being measured
    with tempfile.TemporaryFile("w+") as out:
        subprocess.run(argv, stdout=out, stderr=subprocess.DEVNULL, timeout=duration + 60, check=False)
        out.seek(0)
        return out.read()


def qps_of(out: str) -> float:
    for line in out.splitlines():
        if "Queries per second" in line:
            return float(line.split(":")[1].split()[0])
    raise RuntimeError("dnsperf printed no QPS:\n" + out[-2000:])


def latencies(out: str) -> list[float]:
    vals = []
    for line in out.splitlines():
        parts = line.split()
        if line.startswith("> ") and len(parts) >= 5:
            try:
                vals.append(float(parts[-1]))
            except ValueError:
                continue
    return sorted(vals)


def measure(name: str, pid: int, port: int, qfile: Path, duration: float) -> dict[str, float]:
    dnsperf(port, qfile, 1)  # warm up (podnet fills its hot path on first sight of each question)
    c0 = cpu_seconds(pid)
    out = dnsperf(port, qfile, duration)
    cpu = cpu_seconds(pid) - c0
    qps = qps_of(out)
    half = dnsperf(port, qfile, min(duration, 5), qps=int(qps / 2), verbose=True)
    lat = latencies(half)
    p = lambda q: lat[min(len(lat) - 1, int(q * len(lat)))] * 1e6 if lat else float("nan")  # noqa: E731
    return {
        "qps": qps,
        "cpu_us_per_query": cpu / max(qps * duration, 1) * 1e6,
        "p50_us": p(0.5),
        "p99_us": p(0.99),
    }


def start(argv: list[str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        ["taskset", "-c", "1", *argv], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )


def wait_port(port: int) -> None:
    import dns.message
    import dns.query

    for _ in range(100):
        try:
            dns.query.udp(
                dns.message.make_query("svc-1.bench.svc.cluster.local", "A"),
                "127.0.0.1",
                port=port,
                timeout=0.2,
            )
            return
        except Exception:
            time.sleep(0.05)
    raise RuntimeError(f"no DNS server on port {port}")


def search_path_cost() -> tuple[int, int]:
    """Queries for `getent hosts www.example.com` with ndots:5 search: without, then with autopath."""
    import dns.message
    import dns.rrset

    from podnet.dns.records import build_zone
    from podnet.dns.responder import Responder
    from podnet.dns.server import DnsServer

    class Upstream:
        async def resolve(self, q: dns.message.Message) -> dns.message.Message:
            r = dns.message.make_response(q)
            if q.question[0].name.to_text() == "www.example.com.":
                r.answer.append(dns.rrset.from_text("www.example.com.", 60, "IN", "A", "203.0.113.1"))
            else:
                r.set_rcode(3)
            return r

    search = ["default.svc.cluster.local", "svc.cluster.local", "cluster.local"]
    counts = []
    for autopath in (False, True):
        server = DnsServer(Responder(build_zone([], [], [])), Upstream(), lambda _ip: "default", autopath)  # type: ignore[arg-type]
        sent = 0

        async def lookup(server: DnsServer = server) -> None:
            nonlocal sent
            for name in [f"www.example.com.{s}." for s in search] + ["www.example.com."]:
                sent += 1  # glibc sends A and AAAA for each try; count A only, as both scale alike
                wire = await server.handle(
                    dns.message.make_query(name, "A").to_wire(), "10.244.0.5", udp=True
                )
                if wire and dns.message.from_wire(wire).answer:
                    return

        asyncio.run(lookup())
        counts.append(sent)
    return counts[0], counts[1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=10)
    parser.add_argument("--serve-podnet", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_podnet:
        serve_podnet(args.serve_podnet)
        return 0
    os.sched_setaffinity(0, {0})  # the harness stays on the client's core, off the server's
    tmp = Path(tempfile.mkdtemp(prefix="dnsperf-"))
    qfile = tmp / "queries.txt"
    query_file(qfile)
    results = {}
    for name in ("dnsmasq", "podnet"):
        port = 25353 if name == "dnsmasq" else 25354
        if name == "dnsmasq":
            dnsmasq_conf(tmp / "dnsmasq.conf", port)
            proc = start(["dnsmasq", "--keep-in-foreground", f"--conf-file={tmp / 'dnsmasq.conf'}"])
        else:
            proc = start([sys.executable, __file__, "--serve-podnet", str(port)])
        try:
            wait_port(port)
            pid = proc.pid
            for _ in range(50):  # taskset execs the server: same PID
                if Path(f"/proc/{pid}/stat").exists():
                    break
            results[name] = measure(name, pid, port, qfile, args.duration)
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=10)
    print(f"{'server':<9} {'QPS':>9} {'CPU us/query':>13} {'p50 us @half':>13} {'p99 us @half':>13}")
    for name, r in results.items():
        print(
            f"{name:<9} {r['qps']:>9.0f} {r['cpu_us_per_query']:>13.1f} {r['p50_us']:>13.0f} {r['p99_us']:>13.0f}"
        )
    print(f"podnet/dnsmasq QPS ratio: {results['podnet']['qps'] / results['dnsmasq']['qps']:.2f}x")
    without, with_ = search_path_cost()
    print(
        f"queries for one unqualified external name (ndots:5, A only): {without} without autopath, {with_} with"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
