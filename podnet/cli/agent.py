"""``podnet agent``: one node's agent (pods, CNI, routing, service proxy, NetworkPolicy)."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import socket
from pathlib import Path


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("agent", help="run one node's agent against an API server")
    p.add_argument("--kubeconfig", type=Path, required=True)
    p.add_argument("--node-name", default=socket.gethostname())
    p.add_argument("--node-ip", required=True, help="the node's InternalIP on the node network")
    p.add_argument("--state-dir", type=Path, default=Path("/var/lib/podnet/agent"))
    p.add_argument(
        "--lab", default="podnet", help="name prefix of pod sandbox namespaces: podnet-<lab>-pod-<uid>"
    )
    p.add_argument("--backend", choices=("host-gw", "vxlan"), default="host-gw")
    p.add_argument("--proxy-mode", choices=("nftables", "iptables"), default="nftables")
    p.add_argument("--lb-algorithm", default="random", help="random, round-robin or source-hash")
    p.add_argument("--cluster-cidr", default="10.244.0.0/16")
    p.add_argument("--service-cidr", default="10.96.0.0/12", help="the cluster's service IP range")
    p.add_argument("--cluster-dns", default="10.96.0.10")
    p.add_argument("--cluster-domain", default="cluster.local")
    p.add_argument("--uplink", default="eth0", help="the interface on the node network")
    p.add_argument("--restart-backoff", type=float, default=10.0, help="first crash-loop back-off, seconds")
    p.add_argument("--components", default="pods,routing,proxy,policy")
    p.add_argument("-v", "--verbose", action="store_true")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import uvloop

    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format=f"%(asctime)s %(levelname)s {args.node_name} %(name)s: %(message)s",
    )
    return uvloop.run(_run(args))


async def _run(args: argparse.Namespace) -> int:
    from podnet.agent.agent import AgentConfig, run_agent
    from podnet.client.kubeconfig import load_kubeconfig
    from podnet.client.rest import RestClient

    client_config = load_kubeconfig(args.kubeconfig)
    cfg = AgentConfig(
        node_name=args.node_name,
        node_ip=args.node_ip,
        state_dir=args.state_dir,
        lab=args.lab,
        backend=args.backend,
        proxy_mode=args.proxy_mode,
        lb_algorithm=args.lb_algorithm,
        cluster_cidr=args.cluster_cidr,
        service_cidr=args.service_cidr,
        cluster_dns=args.cluster_dns,
        cluster_domain=args.cluster_domain,
        uplink=args.uplink,
        restart_backoff=args.restart_backoff,
        components=frozenset(c.strip() for c in args.components.split(",") if c.strip()),
        service_account_token=client_config.token or "",
        ca_pem=client_config.ca_data or b"",
    )
    client = RestClient(client_config, user_agent=f"podnet-agent/{args.node_name}")
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        await client.wait_ready(timeout=60)
        await run_agent(client, cfg, stop)
    finally:
        await client.close()
    return 0
