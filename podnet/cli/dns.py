"""``podnet dns``: the cluster DNS server (deployed by `podnet up` as kube-system/podnet-dns)."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
from pathlib import Path


def _hostport(value: str, default_port: int) -> tuple[str, int]:
    host, sep, port = value.rpartition(":")
    if not sep:
        return value, default_port
    return host, int(port)


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("dns", help="serve cluster DNS (the Kubernetes DNS spec) from the API")
    p.add_argument("--kubeconfig", type=Path, default=None, help="default: in-cluster config")
    p.add_argument("--listen", default="0.0.0.0:53")
    p.add_argument("--cluster-domain", default="cluster.local")
    p.add_argument(
        "--upstream", action="append", default=[], help="HOST[:PORT], repeatable; default: /etc/resolv.conf"
    )
    p.add_argument("--health-port", type=int, default=8080)
    p.add_argument("--ready-port", type=int, default=8181)
    p.add_argument("--no-autopath", action="store_true", help="answer search-path queries one by one")
    p.add_argument("-v", "--verbose", action="store_true")
    p.set_defaults(func=run)


def _resolv_upstreams(listen_host: str) -> list[tuple[str, int]]:
    try:
        lines = Path("/etc/resolv.conf").read_text().splitlines()
    except OSError:
        return []
    out = []
    for line in lines:
        parts = line.split()
        if len(parts) >= 2 and parts[0] == "nameserver" and parts[1] != listen_host:
            out.append((parts[1], 53))
    return out


def run(args: argparse.Namespace) -> int:
    import uvloop

    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format="%(asctime)s %(levelname)s dns %(name)s: %(message)s")  # fmt: skip
    return uvloop.run(_run(args))


async def _run(args: argparse.Namespace) -> int:
    from podnet.client.incluster import in_cluster_config
    from podnet.client.kubeconfig import load_kubeconfig
    from podnet.client.rest import RestClient
    from podnet.dns.app import DnsConfig, run_dns

    listen = _hostport(args.listen, 53)
    upstreams = [_hostport(u, 53) for u in args.upstream] or _resolv_upstreams(listen[0])
    config = DnsConfig(
        listen, args.cluster_domain, upstreams, args.health_port, args.ready_port, not args.no_autopath
    )
    client = RestClient(
        load_kubeconfig(args.kubeconfig) if args.kubeconfig else in_cluster_config(), user_agent="podnet-dns"
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        await client.wait_ready(timeout=60)
        await run_dns(client, config, stop)
    finally:
        await client.close()
    return 0
