"""``podnet netpol matrix|drops``: what NetworkPolicies allow, probed for real and computed, side by side."""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
from typing import Any

Obj = dict[str, Any]
PROBE_CONCURRENCY = 8


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("netpol", help="NetworkPolicy tools: the connectivity matrix, drop counters")
    nsub = p.add_subparsers(dest="netpol_command", required=True, metavar="SUBCOMMAND")
    m = nsub.add_parser("matrix", help="probe every pod pair and compare with the policies' verdict")
    m.add_argument("--name", default="podnet", help="lab name")
    m.add_argument(
        "-n", "--namespace", action="append", default=[], help="repeatable (default: all but kube-system)"
    )
    m.add_argument("--ports", default="80", help="comma-separated ports")
    m.add_argument("--protocols", default="tcp", help="comma-separated: tcp,udp,sctp")
    m.add_argument("-o", "--output", choices=("table", "json"), default="table")
    m.set_defaults(func=run_matrix)
    d = nsub.add_parser("drops", help="packets dropped by policy, per pod and direction, with the policies")
    d.add_argument("--name", default="podnet", help="lab name")
    d.add_argument("-n", "--namespace", action="append", default=[])
    d.add_argument("pod", nargs="?", default="")
    d.set_defaults(func=run_drops)


async def _cluster(lab: str) -> tuple[list[Obj], list[Obj], list[Obj]]:
    from podnet.api.scheme import resource
    from podnet.client.kubeconfig import load_kubeconfig
    from podnet.client.rest import RestClient
    from podnet.lab.state import kubeconfig_path

    client = RestClient(load_kubeconfig(kubeconfig_path(lab)))
    try:
        pods = (await client.list(resource("pods"))).get("items") or []
        pols = (await client.list(resource("networkpolicies"))).get("items") or []
        nss = (await client.list(resource("namespaces"))).get("items") or []
    finally:
        await client.close()
    return pods, pols, nss


def _model(pods: list[Obj], pols: list[Obj], nss: list[Obj]):  # type: ignore[no-untyped-def]
    from podnet.agent.policy.model import pod_of, resolve

    plist = [p for p in (pod_of(o) for o in pods) if p is not None]
    labels = {n["metadata"]["name"]: n["metadata"].get("labels") or {} for n in nss}
    return plist, resolve(pols, plist, labels)


async def _probe(lab: str, src: Any, dst_ip: str, port: int, proto: str, sem: asyncio.Semaphore) -> bool:
    from podnet.images.registry import agnhost_argv
    from podnet.lab.cluster import agent_dir

    record = agent_dir(lab, src.node) / "pods" / src.uid / "sandbox.json"
    pause = (json.loads(record.read_text()).get("pause") or {}).get("pid")
    argv = ["nsenter", "-t", str(pause), "-n", "--", *agnhost_argv(
        ["connect", f"{dst_ip}:{port}", "--timeout=1s", f"--protocol={proto}"])]  # fmt: skip
    async with sem:
        proc = await asyncio.create_subprocess_exec(
            *argv, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL
        )
        return await asyncio.wait_for(proc.wait(), 10) == 0


async def _matrix(args: argparse.Namespace) -> tuple[dict[str, Any], bool]:
    from podnet.agent.policy.model import evaluate

    pods, pols, nss = await _cluster(args.name)
    plist, policies = _model(pods, pols, nss)
    wanted = set(args.namespace) or {n["metadata"]["name"] for n in nss} - {
        "kube-system",
        "kube-node-lease",
        "kube-public",
    }
    chosen = sorted((p for p in plist if p.namespace in wanted), key=lambda p: (p.namespace, p.name))
    by_ip = {p.ip: p for p in plist}
    ports = [int(x) for x in args.ports.split(",") if x]
    protos = [x.strip().lower() for x in args.protocols.split(",") if x.strip()]
    sem = asyncio.Semaphore(PROBE_CONCURRENCY)
    cases = [(s, d, port, proto) for port in ports for proto in protos for s in chosen for d in chosen]
    observed = await asyncio.gather(
        *(_probe(args.name, s, d.ip, port, proto, sem) for s, d, port, proto in cases)
    )
    results = []
    ok = True
    for (s, d, port, proto), seen in zip(cases, observed, strict=True):
        verdict = evaluate(s.ip, d.ip, port, proto.upper(), policies, by_ip)
        results.append({"from": f"{s.namespace}/{s.name}", "to": f"{d.namespace}/{d.name}", "port": port,
                        "protocol": proto, "observed": seen, "expected": verdict.allowed,
                        "deciding_policies": list(verdict.isolating), "allowed_by": list(verdict.allowed_by)})  # fmt: skip
        ok = ok and seen == verdict.allowed
    return {"pods": [f"{p.namespace}/{p.name}" for p in chosen], "results": results}, ok


def _table(doc: dict[str, Any]) -> str:
    names = doc["pods"]
    out = []
    groups: dict[tuple[int, str], dict[tuple[str, str], Obj]] = {}
    for r in doc["results"]:
        groups.setdefault((r["port"], r["protocol"]), {})[(r["from"], r["to"])] = r
    width = max([len(n) for n in names] + [8])
    for (port, proto), cells in sorted(groups.items()):
        out.append(
            f"\n{proto.upper()}/{port}: observed (probed from inside the pods) | expected (policies)   . allowed  X denied  ! differs"
        )
        out.append(" " * width + "  " + " ".join(f"{i:>2}" for i in range(len(names))) + "   | "
                   + " ".join(f"{i:>2}" for i in range(len(names))))  # fmt: skip
        for i, src in enumerate(names):
            seen = " ".join(f"{_mark(cells[(src, d)], 'observed'):>2}" for d in names)
            want = " ".join(f"{_mark(cells[(src, d)], 'expected'):>2}" for d in names)
            out.append(f"{src:<{width}}  {seen}   | {want}   ({i})")
    diffs = [r for r in doc["results"] if r["observed"] != r["expected"]]
    out.append("")
    out += [f"! {r['from']} -> {r['to']} {r['protocol']}/{r['port']}: observed "
            f"{'allowed' if r['observed'] else 'denied'}, policies say {'allowed' if r['expected'] else 'denied'}"
            f" (policies: {', '.join(r['deciding_policies']) or 'none'})" for r in diffs]  # fmt: skip
    out.append("observed matches the policies" if not diffs else f"{len(diffs)} difference(s)")
    return "\n".join(out)


def _mark(r: Obj, key: str) -> str:
    if r["observed"] != r["expected"]:
        return "!"
    return "." if r[key] else "X"


def run_matrix(args: argparse.Namespace) -> int:
    doc, ok = asyncio.run(_matrix(args))
    print(json.dumps(doc, indent=2) if args.output == "json" else _table(doc))
    return 0 if ok else 1


def run_drops(args: argparse.Namespace) -> int:
    from podnet.agent.policy.compile import pod_id
    from podnet.lab.hosts import spawn_in_host
    from podnet.lab.state import load_state

    state = load_state(args.name)
    if state is None:
        print(f"podnet netpol drops: lab {args.name!r} does not exist", file=sys.stderr)
        return 1
    pods, pols, nss = asyncio.run(_cluster(args.name))
    plist, policies = _model(pods, pols, nss)
    by_id = {pod_id(p): p for p in plist}
    rows = []
    for host in (h.name for h in state.hosts if h.role == "node"):
        proc = spawn_in_host(args.name, host, ["nft", "-j", "list", "counters", "table", "ip", "podnet-policy"],
                             stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)  # fmt: skip
        out, _ = proc.communicate(timeout=30)
        for item in json.loads(out or b"{}").get("nftables") or []:
            c = item.get("counter")
            if not c or not c.get("name", "").startswith("drop-"):
                continue
            _, direction, pid = c["name"].split("-", 2)
            pod = by_id.get(pid)
            if (
                pod is None
                or (args.namespace and pod.namespace not in args.namespace)
                or (args.pod and pod.name != args.pod)
            ):
                continue
            kind = "ingress" if direction == "in" else "egress"
            deciding = [p.key for p in policies if pod.ip in p.selects and getattr(p, kind) is not None]
            rows.append(
                (f"{pod.namespace}/{pod.name}", kind, int(c.get("packets", 0)), ",".join(deciding), host)
            )
    print(f"{'POD':<30} {'DIRECTION':<9} {'DROPPED':>8}  {'POLICIES (isolating the pod)':<40} NODE")
    for row in sorted(rows):
        print(f"{row[0]:<30} {row[1]:<9} {row[2]:>8}  {row[3]:<40} {row[4]}")
    return 0
