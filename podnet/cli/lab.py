"""``podnet up|down|status|kubeconfig|exec``: clusters on this machine, built from network namespaces."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from podnet.client.rest import RestClient
    from podnet.lab.status import LabStatus

NAME_HELP = "lab name (default: podnet)"


def add_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    up = sub.add_parser("up", help="build a multi-node cluster out of network namespaces")
    up.add_argument("--name", default="podnet", help=NAME_HELP)
    up.add_argument("--nodes", type=int, default=3)
    up.add_argument("--backend", choices=("host-gw", "vxlan"), default="host-gw")
    up.add_argument("--proxy-mode", choices=("nftables", "iptables"), default="nftables")
    up.add_argument(
        "--lb-algorithm",
        default="random",
        help="random, round-robin (IPVS rr) or source-hash (IPVS sh); the last two need --proxy-mode nftables",
    )
    up.add_argument("--datastore", default="sqlite", help="sqlite (default) or etcd://host:port,...")
    up.add_argument("--api-port", type=int, default=0, help="port on 127.0.0.1 (default: 6443 or next free)")
    up.add_argument("--node-network", default="172.18.0.0/16")
    up.add_argument("--restart-backoff", type=float, default=10.0, help="first crash-loop back-off, seconds")
    up.add_argument("--timeout", type=float, default=60.0, help="seconds to wait for the nodes to be Ready")
    up.add_argument("--retain", action="store_true", help="keep a lab that failed to come up, to debug it")
    up.add_argument("--no-dns", action="store_true", help="do not deploy the cluster DNS")
    up.set_defaults(func=run_up)

    down = sub.add_parser("down", help="remove a lab and everything it made")
    down.add_argument("--name", default="podnet", help=NAME_HELP)
    down.set_defaults(func=run_down)

    st = sub.add_parser("status", help="a lab's hosts, nodes and components")
    st.add_argument("--name", default="podnet", help=NAME_HELP)
    st.set_defaults(func=run_status)

    kc = sub.add_parser("kubeconfig", help="print the path of a lab's kubeconfig")
    kc.add_argument("--name", default="podnet", help=NAME_HELP)
    kc.set_defaults(func=run_kubeconfig)

    ex = sub.add_parser("exec", help="run a command in a pod (or, with --host, in a lab host)")
    ex.add_argument("--name", default="podnet", help=NAME_HELP)
    ex.add_argument("-n", "--namespace", default="default")
    ex.add_argument("-c", "--container", default="")
    ex.add_argument("--host", default="", help="a lab host: control-plane, node-1, ..., external")
    ex.add_argument("pod", nargs="?", default="")
    ex.add_argument("cmd", nargs=argparse.REMAINDER)
    ex.set_defaults(func=run_exec)


def _say(line: str) -> None:
    print(line, flush=True)


def run_up(args: argparse.Namespace) -> int:
    from podnet.lab import addons, cluster
    from podnet.lab.build import build
    from podnet.lab.state import LabError, load_state
    from podnet.lab.teardown import down
    from podnet.lab.topology import LabSpec

    spec = LabSpec(name=args.name, nodes=args.nodes, node_network=args.node_network, backend=args.backend)
    from podnet.agent.proxy.config import check_algorithm

    try:
        check_algorithm(args.proxy_mode, args.lb_algorithm)
    except ValueError as exc:
        print(f"podnet up: {exc}", file=sys.stderr)
        return 2
    if load_state(args.name) is not None:
        print(
            f"lab {args.name!r} already exists (`podnet status --name {args.name}`, `podnet down --name {args.name}`)"
        )
        return 1
    opts = cluster.ClusterOptions(
        proxy_mode=args.proxy_mode,
        lb_algorithm=args.lb_algorithm,
        datastore=args.datastore,
        api_port=args.api_port,
        restart_backoff=args.restart_backoff,
    )
    t0 = time.monotonic()
    _say(f"Creating lab {args.name!r}: {args.nodes} node(s), {args.backend}, proxy {args.proxy_mode}")
    state = build(spec)
    _say(
        f" ✓ switch, control-plane, {args.nodes} node(s) and external host wired ({time.monotonic() - t0:.2f}s)"
    )
    try:
        addons.start_external_services(state)
        _say(f" ✓ external host: dnsmasq (upstream DNS for {addons.EXTERNAL_DOMAIN}) and a web server")
        port = cluster.start_control_plane(state, opts)
        kubeconfig = cluster.write_user_kubeconfig(args.name, port)
        _say(
            f" ✓ control plane started (API on https://127.0.0.1:{port}, inside {state.host('control-plane').netns})"
        )
        nodes = [h.name for h in state.hosts if h.role == "node"]
        for node in nodes:
            cluster.start_agent(state, node, opts)
        _say(f" ✓ agents started on {', '.join(nodes)}")
        asyncio.run(cluster.wait_nodes_ready(kubeconfig, nodes, args.timeout, lambda s: _say(f" ✓ {s}")))
        if not args.no_dns:
            upstream = state.host("external").address.split("/")[0] + ":53"  # type: ignore[union-attr]
            asyncio.run(cluster.deploy_dns(kubeconfig, upstream, args.timeout, lambda s: _say(f" ✓ {s}")))
    except (Exception, KeyboardInterrupt) as exc:  # whatever failed, leave nothing half-made behind
        print(f"podnet up: {exc if isinstance(exc, LabError) else repr(exc)}", file=sys.stderr)
        if not args.retain:
            down(args.name, kill_strays=True)
            print(
                f"podnet up: lab {args.name!r} removed (use --retain to keep a failed lab)", file=sys.stderr
            )
        return 1
    _say(f"Lab {args.name!r} is ready in {time.monotonic() - t0:.1f}s.\n")
    _say(f"  export KUBECONFIG={kubeconfig}")
    _say("  kubectl get nodes -o wide")
    _say(
        "  kubectl create deployment web --image=registry.k8s.io/e2e-test-images/agnhost:2.53 --replicas=3 -- /agnhost netexec --http-port=8080"
    )
    _say("  kubectl get pods -o wide")
    _say(f"  podnet exec --name {args.name} POD -- /agnhost connect OTHER_POD_IP:8080 --timeout=1s")
    _say(f"  podnet exec --name {args.name} --host external -- curl -s http://NODE_IP:NODEPORT/hostname")
    _say(f"  podnet status --name {args.name}      podnet down --name {args.name}")
    return 0


def run_down(args: argparse.Namespace) -> int:
    from podnet.lab.teardown import down

    result = down(args.name, kill_strays=True)
    if not result.found_anything:
        print(f"lab {args.name!r}: nothing to remove")
        return 0
    print(
        f"lab {args.name!r} removed: {len(result.stopped) + len(result.killed_hard)} process(es) stopped, "
        f"{len(result.deleted_netns)} namespace(s) deleted"
    )
    for pid, why in result.skipped:
        print(f"  left process {pid} alone: {why}")
    if result.strays:
        print(f"  processes still in the lab's namespaces: {result.strays}", file=sys.stderr)
        return 1
    return 0


def run_status(args: argparse.Namespace) -> int:
    from podnet.lab.status import format_status, status

    st = status(args.name)
    print(format_status(st))
    try:
        nodes, rows = asyncio.run(_api_view(args.name, st))
    except Exception as exc:  # the API may be down: say so, the kernel view above still helps
        print(f"API server: unreachable ({exc})")
        return 1
    print(f"\n{'NODE':<12} {'INTERNAL-IP':<15} {'POD-CIDR':<16} {'READY':<8} {'LEASE-AGE'}")
    for line in nodes:
        print(line)
    print(f"\n{'COMPONENT':<20} {'WHERE':<14} HEALTH")
    for component, where, ok, detail in rows:
        print(f"{component:<20} {where:<14} {'ok' if ok else 'FAILING'}{': ' + detail if detail else ''}")
    return 0 if st.healthy and all(ok for _, _, ok, _ in rows) else 1


async def _api_view(lab: str, st: LabStatus) -> tuple[list[str], list[tuple[str, str, bool, str]]]:
    """The node lines and the component health rows, through one API client."""
    from podnet.api.scheme import resource
    from podnet.client.kubeconfig import load_kubeconfig
    from podnet.client.rest import RestClient
    from podnet.lab.state import kubeconfig_path

    client = RestClient(load_kubeconfig(kubeconfig_path(lab)))
    try:
        nodes = (await client.list(resource("nodes"))).get("items") or []
        lines = await _node_lines(client, nodes)
        return lines, await _component_health(client, lab, st, nodes)
    finally:
        await client.close()


async def _component_health(
    client: RestClient, lab: str, st: LabStatus, nodes: list[dict[str, Any]]
) -> list[tuple[str, str, bool, str]]:
    """(component, where, healthy, detail) for the API server, the controller-manager, every node's
    agent (its components, from the agent's /healthz?verbose) and cluster DNS."""
    from podnet.api.scheme import resource

    rows: list[tuple[str, str, bool, str]] = []
    session = await client.session()
    async with session.get(client.url("/readyz"), headers=client.headers("")) as resp:
        ready = resp.status == 200
        rows.append(("apiserver", "control-plane", ready, "" if ready else (await resp.text()).strip()[:200]))
    server = next((p for p in st.processes if p.name == "apiserver"), None)
    cm = _child_named(server.pid, "controller-manager") if server is not None and server.running else None
    rows.append(("controller-manager", "control-plane", cm is not None, "" if cm else "no process"))
    for n in nodes:
        ok, detail = await asyncio.to_thread(_agent_health, lab, n["metadata"]["name"], _internal_ip(n))
        rows.append(("agent", n["metadata"]["name"], ok, detail))
    for d in (await client.list(resource("deployments"), "kube-system")).get("items") or []:
        if (d["metadata"].get("labels") or {}).get("k8s-app") != "kube-dns":
            continue
        want = int((d.get("spec") or {}).get("replicas") or 0)
        have = int((d.get("status") or {}).get("readyReplicas") or 0)
        rows.append(("dns", "kube-system", have >= want > 0, f"{have}/{want} replicas ready"))
    return rows


def _internal_ip(node: dict[str, Any]) -> str:
    addresses = (node.get("status") or {}).get("addresses") or []
    return next((a["address"] for a in addresses if a.get("type") == "InternalIP"), "-")


def _child_named(pid: int, word: str) -> int | None:
    """A child of ``pid`` whose command line has ``word`` (the server's controller-manager)."""
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return None
    for child in children:
        try:
            if word in Path(f"/proc/{child}/cmdline").read_bytes().replace(b"\0", b" ").decode():
                return int(child)
        except OSError:
            continue
    return None


def _agent_health(lab: str, node: str, ip: str) -> tuple[bool, str]:
    """GET the agent's /healthz?verbose from inside the node (the kubelet port is on the node network)."""
    import urllib.error
    import urllib.request

    from podnet.agent.kubelet_api import KUBELET_PORT
    from podnet.kernel.named_netns import run_in_netns
    from podnet.lab.topology import netns_name

    def get() -> tuple[bool, str]:
        try:
            with urllib.request.urlopen(f"http://{ip}:{KUBELET_PORT}/healthz?verbose", timeout=2) as resp:
                body = resp.read().decode(errors="replace")
                return True, ", ".join(line[3:] for line in body.splitlines() if line.startswith("[+]"))
        except urllib.error.HTTPError as exc:
            body = exc.read().decode(errors="replace")
            return False, "; ".join(line[3:] for line in body.splitlines() if line.startswith("[-]"))
        except OSError as exc:
            return False, f"unreachable: {exc}"

    try:
        return run_in_netns(netns_name(lab, node), get)
    except OSError as exc:
        return False, f"node namespace: {exc}"


async def _node_lines(client: RestClient, nodes: list[dict[str, Any]]) -> list[str]:
    from podnet.api.scheme import resource
    from podnet.api.timestamps import parse_time

    leases = (await client.list(resource("leases"), "kube-node-lease")).get("items") or []
    renew = {le["metadata"]["name"]: parse_time((le.get("spec") or {}).get("renewTime")) for le in leases}
    out = []
    for n in nodes:
        name = n["metadata"]["name"]
        st = n.get("status") or {}
        ready = next((c.get("status") for c in st.get("conditions") or [] if c.get("type") == "Ready"), "-")
        ready = {"True": "Ready", "False": "NotReady"}.get(str(ready), "Unknown")
        at = renew.get(name)
        age = f"{time.time() - at:.0f}s" if at else "-"
        out.append(
            f"{name:<12} {_internal_ip(n):<15} {(n.get('spec') or {}).get('podCIDR', '-'):<16} {ready:<8} {age}"
        )
    return out


def run_kubeconfig(args: argparse.Namespace) -> int:
    from podnet.lab.state import kubeconfig_path

    path = kubeconfig_path(args.name)
    if not path.exists():
        print(f"podnet kubeconfig: lab {args.name!r} does not exist", file=sys.stderr)
        return 1
    print(path)
    return 0


def run_exec(args: argparse.Namespace) -> int:
    cmd = list(args.cmd)
    if args.host:  # no POD: argparse took the command's first word for it
        cmd = ([args.pod] if args.pod else []) + cmd
        cmd = cmd[1:] if cmd[:1] == ["--"] else cmd
        args.pod = ""
    elif "--" in cmd:  # options may follow POD: `podnet exec POD -c C -- CMD`
        at = cmd.index("--")
        late = argparse.ArgumentParser(prog="podnet exec", add_help=False)
        late.add_argument("-c", "--container", default=args.container)
        late.add_argument("-n", "--namespace", default=args.namespace)
        opts = late.parse_args(cmd[:at])
        args.container, args.namespace, cmd = opts.container, opts.namespace, cmd[at + 1 :]
    if not cmd:
        print("podnet exec: give a command after --", file=sys.stderr)
        return 2
    if args.host:
        from podnet.lab.hosts import exec_in_host

        return exec_in_host(args.name, args.host, cmd)
    if not args.pod:
        print("podnet exec: give a POD or --host HOST", file=sys.stderr)
        return 2
    argv, env = asyncio.run(_pod_exec_argv(args.name, args.namespace, args.pod, args.container, cmd))
    os.execvpe(argv[0], argv, env)
    return 126  # not reached


async def _pod_exec_argv(
    lab: str, namespace: str, name: str, container: str, cmd: list[str], pod: dict[str, Any] | None = None
) -> tuple[list[str], dict[str, str]]:
    """enter.py --join <the pod's pause> -- CMD, with the container's own environment (as kubectl exec);
    ``pod``: the object, when the caller has fetched it already."""
    from podnet.agent.pods.sandbox import join_argv
    from podnet.api.scheme import resource
    from podnet.client.kubeconfig import load_kubeconfig
    from podnet.client.rest import RestClient
    from podnet.images.registry import AGNHOST_NAMES, agnhost_argv
    from podnet.lab.cluster import agent_dir
    from podnet.lab.state import kubeconfig_path

    if pod is None:
        client = RestClient(load_kubeconfig(kubeconfig_path(lab)))
        try:
            pod = await client.get(resource("pods"), namespace, name)
        finally:
            await client.close()
    if pod is None:
        raise SystemExit(f'podnet exec: pods "{name}" not found in namespace "{namespace}"')
    node = (pod.get("spec") or {}).get("nodeName")
    names = [c["name"] for c in (pod.get("spec") or {}).get("containers") or []]
    container = container or (names[0] if names else "")
    if container not in names:
        raise SystemExit(
            f"podnet exec: container {container!r} is not valid for pod {name}: choose one of {names}"
        )
    record = agent_dir(lab, str(node)) / "pods" / pod["metadata"]["uid"] / "sandbox.json"
    try:
        sandbox = json.loads(record.read_text())
    except (OSError, ValueError):
        raise SystemExit(f"podnet exec: pod {name} has no sandbox on {node or 'any node'} yet") from None
    pause = (sandbox.get("pause") or {}).get("pid")
    if not pause:
        raise SystemExit(f"podnet exec: pod {name} has no running sandbox")
    env = {
        "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        "TERM": os.environ.get("TERM", "xterm"),
    }
    running = (sandbox.get("containers") or {}).get(container) or {}
    try:
        raw = Path(f"/proc/{running.get('pid')}/environ").read_bytes()
        env.update(dict(kv.split("=", 1) for kv in raw.decode(errors="replace").split("\0") if "=" in kv))
    except OSError:
        pass  # the container is not running: exec with a plain environment into its sandbox
    if cmd[0] in AGNHOST_NAMES:
        cmd = agnhost_argv(cmd[1:])
    return join_argv(int(pause), cmd), env
