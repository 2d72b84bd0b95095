"""``podnet controller-manager``: the cluster-level control loops, as a client of the API."""

from __future__ import annotations

import argparse
import asyncio
import logging
from pathlib import Path


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("controller-manager", help="run the cluster controllers against an API server")
    p.add_argument("--kubeconfig", type=Path, default=None)
    p.add_argument("--unix-socket", type=Path, default=None)
    p.add_argument("--cluster-cidr", default="10.244.0.0/16")
    p.add_argument("--node-cidr-mask-size", type=int, default=24)
    p.add_argument("--lb-pool", action="append", default=[])
    p.add_argument("--node-monitor-grace-period", type=float, default=40.0)
    p.add_argument("--pod-eviction-timeout", type=float, default=300.0)
    p.add_argument("--controllers", default="*")
    p.add_argument("-v", "--verbose", action="store_true")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    return asyncio.run(_run(args))


async def _run(args: argparse.Namespace) -> int:
    from podnet.client.kubeconfig import ClientConfig, load_kubeconfig
    from podnet.client.rest import RestClient
    from podnet.controllers.config import ControllerConfig
    from podnet.controllers.manager import run_controllers

    if args.unix_socket:
        cfg = ClientConfig(unix_socket=str(args.unix_socket))
    elif args.kubeconfig:
        cfg = load_kubeconfig(args.kubeconfig)
    else:
        raise SystemExit("podnet controller-manager: give --kubeconfig or --unix-socket")
    client = RestClient(cfg)
    await client.wait_ready(timeout=30)
    config = ControllerConfig(
        cluster_cidr=args.cluster_cidr,
        node_cidr_mask_size=args.node_cidr_mask_size,
        node_monitor_grace_period=args.node_monitor_grace_period,
        pod_eviction_timeout=args.pod_eviction_timeout,
        lb_pools=list(args.lb_pool),
    )
    enabled = (
        None if args.controllers == "*" else {c.strip() for c in args.controllers.split(",") if c.strip()}
    )
    try:
        await run_controllers(client, config, enabled)
    finally:
        await client.close()
    return 0
