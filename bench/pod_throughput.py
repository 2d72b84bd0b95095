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

Next to them, the same run measures the floors of this kernel for the same shapes, built by hand
with `ip` (no podnet involved): the topology alone (a bridge per node, two veths per pod, the lab's
switch between nodes, plain routes or a flannel-style VXLAN device; no netfilter at all), and the
same with the least any Kubernetes node has once a Service proxy runs — conntrack (a `ct state`
accept rule and a masquerade for non-cluster destinations; br_netfilter on, as Services between
pods on one bridge need). "node to node" is the lab's underlay (node-1 to node-2 over the switch),
the "bare metal" of public CNI benchmarks. The floors tell podnet's own cost (lab / floor) from what
the kernel charges for the path itself (floor / raw).

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

from podnet.lab.topology import pod_netns_name

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
    in_a, in_b = netns(stack, a), netns(stack, b)
    in_a("link", "add", "v0", "type", "veth", "peer", "name", "v1", "netns", b)
    in_a("addr", "add", "10.99.0.1/24", "dev", "v0")
    in_b("addr", "add", "10.99.0.2/24", "dev", "v1")
    in_a("link", "set", "v0", "up")
    in_b("link", "set", "v1", "up")
    iperf_server(stack, b)
    return (lambda argv: run(["ip", "netns", "exec", a, *argv])), "10.99.0.2"


def wait_listening(ns: str, port: int = 5201, timeout: float = 10.0) -> None:
    """Until something listens on ``port`` in namespace ``ns`` (bounded)."""
    deadline = time.monotonic() + timeout
    while not run(["ip", "netns", "exec", ns, "ss", "-Hltn", f"sport = :{port}"]).strip():
        if time.monotonic() > deadline:
            raise RuntimeError(f"nothing listens on :{port} in {ns}")
        time.sleep(0.02)


def iperf_server(stack: ExitStack, ns: str) -> None:
    server = subprocess.Popen(["ip", "netns", "exec", ns, "iperf3", "-s"], stdout=subprocess.DEVNULL)
    stack.callback(server.wait)
    stack.callback(server.kill)
    wait_listening(ns)


def netns(stack: ExitStack, ns: str) -> Callable[..., str]:
    """Create ``ns`` (removed with the stack); returns ``ip -n ns ...`` as a function."""
    stack.callback(subprocess.run, ["ip", "netns", "del", ns], capture_output=True)
    run(["ip", "netns", "add", ns])
    return lambda *argv: run(["ip", "-n", ns, *argv])


CONNTRACK_RULES = """
table inet floor {
  chain forward { type filter hook forward priority 0; policy accept; ct state established,related accept; }
  chain postrouting { type nat hook postrouting priority 100; ip daddr != 10.244.0.0/16 masquerade; }
  chain rawpre { type filter hook prerouting priority raw; udp dport 8472 notrack; }
  chain rawout { type filter hook output priority raw; udp dport 8472 notrack; }
}
"""


def floor_node(
    stack: ExitStack, ns: str, pods: list[tuple[str, str]], mtu: int, conntrack: bool
) -> Callable[..., str]:
    """A node namespace with bridge cbr0 (``.1`` of the pods' /24) and one veth pair per pod; its
    ``ip -n`` function."""
    ip = netns(stack, ns)
    run(["ip", "netns", "exec", ns, "sysctl", "-qw", "net.ipv4.ip_forward=1",
         f"net.bridge.bridge-nf-call-iptables={int(conntrack)}"])  # fmt: skip
    gateway = pods[0][1].rsplit(".", 1)[0] + ".1"
    ip("link", "add", "cbr0", "mtu", str(mtu), "type", "bridge")
    ip("addr", "add", f"{gateway}/24", "dev", "cbr0")
    ip("link", "set", "cbr0", "up")
    for n, (pod_ns, pod_ip) in enumerate(pods):
        in_pod = netns(stack, pod_ns)
        ip("link", "add", f"h{n}", "mtu", str(mtu), "type", "veth", "peer", "name", "eth0", "netns", pod_ns)
        ip("link", "set", f"h{n}", "master", "cbr0", "up")
        in_pod("addr", "add", f"{pod_ip}/24", "dev", "eth0")
        in_pod("link", "set", "eth0", "up")
        in_pod("route", "add", "default", "via", gateway)
    if conntrack:
        subprocess.run(["ip", "netns", "exec", ns, "nft", "-f", "-"], input=CONNTRACK_RULES, text=True,
                       check=True, capture_output=True)  # fmt: skip
    return ip


def floor_same_node(stack: ExitStack, conntrack: bool) -> tuple[Client, str]:
    tag = f"tpfloor-{secrets.token_hex(2)}"
    floor_node(stack, f"{tag}-n", [(f"{tag}-a", "10.244.0.5"), (f"{tag}-b", "10.244.0.6")], 1500, conntrack)
    iperf_server(stack, f"{tag}-b")
    return (lambda argv: run(["ip", "netns", "exec", f"{tag}-a", *argv])), "10.244.0.6"


def floor_two_nodes(stack: ExitStack, backend: str, conntrack: bool) -> tuple[Client, str]:
    """Two node namespaces on a switch bridge, a pod on each, host-gw routes or flannel-style VXLAN."""
    tag = f"tpfloor-{secrets.token_hex(2)}"
    switch = netns(stack, f"{tag}-sw")
    run(["ip", "netns", "exec", f"{tag}-sw", "sysctl", "-qw", "net.bridge.bridge-nf-call-iptables=0"])
    switch("link", "add", "br0", "type", "bridge")
    switch("link", "set", "br0", "up")
    mtu = 1450 if backend == "vxlan" else 1500
    nodes = [("192.168.77.2", "10.244.0"), ("192.168.77.3", "10.244.1")]
    macs = ["02:00:00:00:77:02", "02:00:00:00:77:03"]
    for n, (node_ip, prefix) in enumerate(nodes):
        ns = f"{tag}-n{n}"
        ip = floor_node(stack, ns, [(f"{tag}-p{n}", f"{prefix}.5")], mtu, conntrack)
        ip("link", "add", "eth0", "type", "veth", "peer", "name", f"up{n}", "netns", f"{tag}-sw")
        switch("link", "set", f"up{n}", "master", "br0", "up")
        ip("addr", "add", f"{node_ip}/24", "dev", "eth0")
        ip("link", "set", "eth0", "up")
        other_ip, other_prefix = nodes[1 - n]
        if backend == "host-gw":
            ip("route", "add", f"{other_prefix}.0/24", "via", other_ip)
            continue
        ip("link", "add", "vx", "address", macs[n], "mtu", "1450", "type", "vxlan", "id", "1", "local",
           node_ip, "dev", "eth0", "dstport", "8472", "nolearning")  # fmt: skip
        ip("addr", "add", f"{prefix}.0/32", "dev", "vx")
        ip("link", "set", "vx", "up")
        ip("neigh", "add", f"{other_prefix}.0", "lladdr", macs[1 - n], "dev", "vx", "nud", "permanent")
        run(["bridge", "-n", ns, "fdb", "append", macs[1 - n], "dev", "vx", "dst", other_ip])
        ip("route", "add", f"{other_prefix}.0/24", "via", f"{other_prefix}.0", "dev", "vx", "onlink")
    iperf_server(stack, f"{tag}-p1")
    return (lambda argv: run(["ip", "netns", "exec", f"{tag}-p0", *argv])), "10.244.1.5"


def pod(name: str, node: str, command: list[str]) -> dict:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
            "spec": {"nodeSelector": {"kubernetes.io/hostname": node},
                     "containers": [{"name": "c", "image": "busybox", "command": command}]}}  # fmt: skip


def lab(stack: ExitStack, backend: str) -> tuple[Client, dict[str, str], str]:
    """A 2-node lab with a client pod on node-1 and iperf3 servers on node-1 and node-2; its name."""
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
    for server in ("same", "other"):  # Ready means started, not yet listening
        wait_listening(
            pod_netns_name(name, run([*kube, "get", "pod", server, "-o", "jsonpath={.metadata.uid}"]))
        )
    ips = {p: run([*kube, "get", "pod", p, "-o", "jsonpath={.status.podIP}"]) for p in ("same", "other")}
    address = 'jsonpath={.status.addresses[?(@.type=="InternalIP")].address}'
    ips["node-2"] = run([*kube, "get", "node", "node-2", "-o", address])
    return (lambda argv: run([*PODNET, "exec", "--name", name, "client", "--", *argv])), ips, name


def underlay(stack: ExitStack, name: str, node_2_ip: str) -> tuple[Client, str]:
    """node-1 to node-2 of a lab over its switch: the network the pods' packets cross."""
    iperf_server(stack, f"podnet-{name}-node-2")
    return (lambda argv: run(["ip", "netns", "exec", f"podnet-{name}-node-1", *argv])), node_2_ip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=3)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--no-floors", action="store_true", help="only the raw pair and the labs")
    args = parser.parse_args()
    with ExitStack() as stack:
        raw_client, raw_ip = raw_veth(stack)
        hg_client, hg_ips, hg_name = lab(stack, "host-gw")
        vx_client, vx_ips, _ = lab(stack, "vxlan")
        paths: dict[str, tuple[Client, str]] = {
            "raw veth pair": (raw_client, raw_ip),
            "same node": (hg_client, hg_ips["same"]),
            "two nodes, host-gw": (hg_client, hg_ips["other"]),
            "two nodes, vxlan": (vx_client, vx_ips["other"]),
        }
        if not args.no_floors:
            paths |= {
                "node to node": underlay(stack, hg_name, hg_ips["node-2"]),
                "floor same node": floor_same_node(stack, conntrack=False),
                "floor same node+ct": floor_same_node(stack, conntrack=True),
                "floor host-gw": floor_two_nodes(stack, "host-gw", conntrack=False),
                "floor host-gw+ct": floor_two_nodes(stack, "host-gw", conntrack=True),
                "floor vxlan": floor_two_nodes(stack, "vxlan", conntrack=False),
                "floor vxlan+ct": floor_two_nodes(stack, "vxlan", conntrack=True),
            }
        gbps: dict[str, list[float]] = {k: [] for k in paths}
        names = list(paths)
        for r in range(args.repeat):
            for label in names[r % len(names) :] + names[: r % len(names)]:
                client, ip = paths[label]
                gbps[label].append(iperf(client, ip, args.seconds))
        lat = {label: rtt(client, ip) for label, (client, ip) in paths.items()}
    base = gbps["raw veth pair"]
    print(f"{'path':<22} {'Gbit/s median':>14} {'min-max':>13} {'ratio':>6} {'per-round':>10} {'RTT avg':>8}")
    for label, vals in gbps.items():
        med = statistics.median(vals)
        per_round = statistics.median(v / b for v, b in zip(vals, base, strict=True))
        print(f"{label:<22} {med:>14.2f} {min(vals):>6.2f}-{max(vals):<6.2f} {med / statistics.median(base):>6.2f} "
              f"{per_round:>10.2f} {lat[label]:>6.0f}us")  # fmt: skip
    if not args.no_floors:
        # podnet's own share: each lab path against the same shape built by hand with conntrack,
        # per round (both measured in that round) and as a ratio of medians
        print(f"\n{'podnet / floor+ct':<22} {'ratio':>6} {'per-round':>10}")
        for label, floor in FLOOR_OF.items():
            own, ref = gbps[label], gbps[floor]
            per_round = statistics.median(v / f for v, f in zip(own, ref, strict=True))
            print(f"{label.removeprefix('two nodes, '):<22} "
                  f"{statistics.median(own) / statistics.median(ref):>6.2f} {per_round:>10.2f}")  # fmt: skip
    return 0


FLOOR_OF = {
    "same node": "floor same node+ct",
    "two nodes, host-gw": "floor host-gw+ct",
    "two nodes, vxlan": "floor vxlan+ct",
}


if __name__ == "__main__":
    sys.exit(main())
