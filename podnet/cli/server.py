"""``podnet server``: the control plane alone (API server + controller manager)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ctypes
import logging
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

from podnet.apiserver.allocators import parse_port_range
from podnet.apiserver.app import ServerConfig, start_server
from podnet.store.factory import open_store

log = logging.getLogger("podnet.server")


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("server", help="run the control plane (API server and controllers)")
    p.add_argument("--data-dir", type=Path, required=True, help="state, PKI and kubeconfig live here")
    p.add_argument(
        "--datastore", default="sqlite", help="sqlite (default) or etcd://host:port[,host:port...]"
    )
    p.add_argument("--bind-address", default="127.0.0.1")
    p.add_argument("--secure-port", type=int, default=6443)
    p.add_argument("--unix-socket", type=Path, default=None, help="default: DATA_DIR/apiserver.sock")
    p.add_argument("--advertise-address", default="", help="address other hosts reach the API on")
    p.add_argument("--service-cluster-ip-range", default="10.96.0.0/12")
    p.add_argument("--service-node-port-range", default="30000-32767")
    p.add_argument("--cluster-cidr", default="10.244.0.0/16")
    p.add_argument("--node-cidr-mask-size", type=int, default=24)
    p.add_argument(
        "--lb-pool", action="append", default=[], help="LoadBalancer IP pool: CIDR or A-B (repeatable)"
    )
    p.add_argument("--node-monitor-grace-period", type=float, default=40.0)
    p.add_argument("--pod-eviction-timeout", type=float, default=300.0)
    p.add_argument("--controllers", default="*", help="'*' (all), 'none', or a comma-separated list")
    p.add_argument("--compaction-interval", type=float, default=300.0)
    p.add_argument(
        "--host-listen",
        default="",
        help="ADDR:PORT to listen on before entering --netns (a lab's API on the machine's loopback)",
    )
    p.add_argument("--netns", default="", help="run inside this network namespace (a /run/netns path)")
    p.add_argument("-v", "--verbose", action="store_true")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    port_range = parse_port_range(args.service_node_port_range)
    extra = [_listen(args.host_listen)] if args.host_listen else []
    if args.netns:
        _enter_netns(args.netns)
    config = ServerConfig(
        data_dir=args.data_dir.resolve(),
        bind_address=args.bind_address,
        secure_port=args.secure_port,
        unix_socket=args.unix_socket,
        advertise_address=args.advertise_address,
        service_cidr=args.service_cluster_ip_range,
        node_port_range=port_range,
        compaction_interval=args.compaction_interval,
        extra_sockets=extra,
    )
    try:
        import uvloop

        uvloop.install()
    except ImportError:  # pragma: no cover - uvloop is a dependency; plain asyncio still works
        pass
    return asyncio.run(_serve(args, config))


def _listen(addr: str) -> socket.socket:
    """A listening TCP socket in the namespace we start in (kept when the process moves)."""
    host, _, port = addr.rpartition(":")
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host or "127.0.0.1", int(port)))
    sock.listen(1024)
    sock.setblocking(False)
    return sock


def _enter_netns(path: str) -> None:
    """Move this (still single-threaded) process into ``path``'s network namespace for good."""
    clone_newnet = 0x40000000
    libc = ctypes.CDLL(None, use_errno=True)
    fd = os.open(path, os.O_RDONLY)
    try:
        if libc.setns(fd, clone_newnet) != 0:
            err = ctypes.get_errno()
            raise OSError(err, f"setns {path}: {os.strerror(err)}")
    finally:
        os.close(fd)


def _die_with_parent() -> None:
    """In the child: get SIGTERM when the server dies, even by SIGKILL, so no controller is orphaned."""
    libc = ctypes.CDLL(None, use_errno=True)
    pr_set_pdeathsig = 1
    libc.prctl(pr_set_pdeathsig, signal.SIGTERM, 0, 0, 0)


def _controller_argv(args: argparse.Namespace, config: ServerConfig) -> list[str]:
    argv = [
        sys.executable,
        "-m",
        "podnet",
        "controller-manager",
        "--unix-socket",
        str(config.socket_path),
        "--cluster-cidr",
        args.cluster_cidr,
        "--node-cidr-mask-size",
        str(args.node_cidr_mask_size),
        "--node-monitor-grace-period",
        str(args.node_monitor_grace_period),
        "--pod-eviction-timeout",
        str(args.pod_eviction_timeout),
        "--controllers",
        args.controllers,
    ]
    for pool in args.lb_pool:
        argv += ["--lb-pool", pool]
    return argv


async def _serve(args: argparse.Namespace, config: ServerConfig) -> int:
    store = open_store(args.datastore, config.data_dir)
    server = await start_server(store, config)
    print(
        f"podnet API server listening on {server.url} and unix:{config.socket_path}; "
        f"kubeconfig: {server.kubeconfig}",
        flush=True,
    )
    child: subprocess.Popen[bytes] | None = None
    if args.controllers != "none":
        child = subprocess.Popen(_controller_argv(args, config), preexec_fn=_die_with_parent)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    if child is not None:
        child.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            child.wait(timeout=5)
        if child.poll() is None:
            os.kill(child.pid, signal.SIGKILL)
    await server.stop()
    await store.close()
    return 0
