"""Issue 3 benchmark: CNI ADD and DEL latency, podnet-cni against the reference bridge + host-local.

One run, side by side (modes interleaved container by container), in one throwaway node namespace (``cnitest-bench-<hex>``) with a fresh pod
namespace per container, exactly as a runtime drives a plugin: the executable started with the
CNI_* environment and the config on stdin, the clock running from spawn to exit. Modes:

- ``reference``: Debian's containernetworking-plugins ``bridge`` + ``host-local`` (/usr/lib/cni);
- ``podnet-resident``: the installed ``podnet-cni`` launcher forwarding to a resident server;
- ``podnet-standalone``: the same launcher with no server (it imports pyroute2 itself).

Every mode gets its own bridge and subnet; all use cniVersion 1.0.0 (the newest the reference
release speaks). Nothing is created in the host namespace; everything is removed at the end.

    .venv/bin/python bench/cni_latency.py --count 100
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from podnet.agent.cni.install import install_cni_binary  # noqa: E402
from podnet.lab import netns  # noqa: E402

REFERENCE_DIR = "/usr/lib/cni"


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))] if ordered else float("nan")


@dataclass
class Mode:
    name: str
    binary: str
    conf: dict[str, object]
    add_ms: list[float] = field(default_factory=list)
    del_ms: list[float] = field(default_factory=list)


def run_plugin(mode: Mode, command: str, cid: str, pod_ns: str) -> float:
    env = {
        "CNI_COMMAND": command,
        "CNI_CONTAINERID": cid,
        "CNI_NETNS": f"/run/netns/{pod_ns}",
        "CNI_IFNAME": "eth0",
        "CNI_PATH": REFERENCE_DIR,
        "PATH": "/usr/sbin:/usr/bin:/sbin:/bin",
    }
    start = time.perf_counter()
    out = subprocess.run([mode.binary], input=json.dumps(mode.conf).encode(), env=env, capture_output=True)
    elapsed = (time.perf_counter() - start) * 1000
    if out.returncode != 0:
        raise SystemExit(f"{mode.name} {command} {cid} failed: {out.stdout!r} {out.stderr!r}")
    return elapsed


def measure(modes: list[Mode], counts: dict[str, int], tag: str) -> None:
    """ADD container i in every mode, then the next i; then the DELs the same way. Interleaving the
    modes keeps drift on a shared machine from favouring whichever mode ran first."""
    pods = {
        m.name: [f"cnitest-bench-{tag}-{m.name[7:10] or 'ref'}{i}" for i in range(counts[m.name])]
        for m in modes
    }
    for names in pods.values():
        for p in names:
            netns.create_netns(p)
    try:
        for command, sink in (("ADD", "add_ms"), ("DEL", "del_ms")):
            for i in range(max(counts.values())):
                for m in modes:
                    if i < counts[m.name]:
                        getattr(m, sink).append(run_plugin(m, command, f"{m.name}-{i}", pods[m.name][i]))
    finally:
        for names in pods.values():
            for p in names:
                netns.delete_netns(p)


def conf_for(kind: str, index: int, data_dir: str, socket_path: str | None) -> dict[str, object]:
    subnet = f"10.{250 + index}.0.0/24"
    ipam: dict[str, object] = {"subnet": subnet, "dataDir": data_dir}
    conf: dict[str, object] = {"cniVersion": "1.0.0", "name": f"bench{index}", "bridge": f"bbr{index}"}
    conf.update(isGateway=True, hairpinMode=True, mtu=1500)
    if kind == "reference":
        conf.update(type="bridge", ipMasq=False, ipam={"type": "host-local", **ipam})
    else:
        conf.update(type="podnet-cni", ipam={"type": "podnet-ipam", **ipam})
        if socket_path:
            conf["agentSocket"] = socket_path
    return conf


def wait_for_socket(path: str, proc: subprocess.Popen[bytes], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not os.path.exists(path):
        if proc.poll() is not None or time.monotonic() > deadline:
            raise SystemExit(f"resident server did not start (exit {proc.poll()})")
        time.sleep(0.02)


def inside(args: argparse.Namespace) -> None:
    """The driver proper, run inside the node namespace."""
    work = Path(tempfile.mkdtemp(prefix="cnibench-"))
    server: subprocess.Popen[bytes] | None = None
    try:
        launcher = str(install_cni_binary(work / "bin", sys.executable, ROOT))
        sock = str(work / "cni.sock")
        server = subprocess.Popen(
            [sys.executable, "-m", "podnet.agent.cni.server", "--socket", sock], cwd=ROOT
        )
        wait_for_socket(sock, server)
        modes = [
            Mode("reference", f"{REFERENCE_DIR}/bridge", conf_for("reference", 0, str(work / "ipam"), None)),
            Mode("podnet-resident", launcher, conf_for("podnet", 1, str(work / "ipam"), sock)),
            Mode("podnet-standalone", launcher, conf_for("podnet", 2, str(work / "ipam"), None)),
        ]
        counts = {
            m.name: args.standalone_count if m.name == "podnet-standalone" else args.count for m in modes
        }
        measure(modes, counts, args.tag)
        report(modes)
        floors(modes, args.count)
    finally:
        if server is not None:
            server.send_signal(signal.SIGTERM)
            server.wait(10)
        shutil.rmtree(work, ignore_errors=True)


def report(modes: list[Mode]) -> None:
    ref = modes[0]
    print(f"\n{'mode':<20}{'n':>5}{'ADD p50':>10}{'ADD p99':>10}{'DEL p50':>10}{'DEL p99':>10}   (ms)")
    for m in modes:
        row = [pct(m.add_ms, 50), pct(m.add_ms, 99), pct(m.del_ms, 50), pct(m.del_ms, 99)]
        print(f"{m.name:<20}{len(m.add_ms):>5}" + "".join(f"{v:>10.1f}" for v in row))
    print("\nratio to reference (lower is faster; target <= 1.0 for podnet-resident)")
    for m in modes[1:]:
        ratios = [
            pct(m.add_ms, 50) / pct(ref.add_ms, 50),
            pct(m.add_ms, 99) / pct(ref.add_ms, 99),
            pct(m.del_ms, 50) / pct(ref.del_ms, 50),
            pct(m.del_ms, 99) / pct(ref.del_ms, 99),
        ]
        print(f"{m.name:<20}     " + "".join(f"{r:>10.2f}" for r in ratios))


def floors(modes: list[Mode], count: int) -> None:
    """What a call costs before any work: process start (+ the round trip to the resident server)."""
    print("\nfloor: VERSION round trip, no work done (ms p50/p99)")
    rows = [
        ("reference bridge", [modes[0].binary], modes[0].conf),
        ("podnet-cni -> server", [modes[1].binary], modes[1].conf),
        ("python -I -S -c pass", [sys.executable, "-I", "-S", "-c", "pass"], {}),
    ]
    for label, argv, conf in rows:
        times = []
        for _ in range(count):
            start = time.perf_counter()
            subprocess.run(
                argv, input=json.dumps(conf).encode(), env={"CNI_COMMAND": "VERSION"}, capture_output=True
            )
            times.append((time.perf_counter() - start) * 1000)
        print(f"{label:<24}{pct(times, 50):>8.1f}{pct(times, 99):>8.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=100, help="containers per mode")
    parser.add_argument(
        "--standalone-count", type=int, default=30, help="containers for the slow standalone mode"
    )
    parser.add_argument("--inside", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--tag", default="", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.inside:
        inside(args)
        return
    if os.geteuid() != 0:
        raise SystemExit("needs root: builds network namespaces")
    if not os.path.exists(f"{REFERENCE_DIR}/bridge"):
        raise SystemExit("apt-get install -y containernetworking-plugins (the reference plugins) first")
    tag = secrets.token_hex(3)
    node = f"cnitest-bench-{tag}"
    netns.create_netns(node)
    try:
        cmd = ["ip", "netns", "exec", node, sys.executable, __file__, "--inside", "--tag", tag]
        cmd += ["--count", str(args.count), "--standalone-count", str(args.standalone_count)]
        subprocess.run(cmd, check=True)
    finally:
        netns.delete_netns(node)


if __name__ == "__main__":
    main()
