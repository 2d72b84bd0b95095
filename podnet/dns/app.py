"""Run the cluster DNS: informers → zone, sockets, health endpoints (CoreDNS's /health and /ready)."""

from __future__ import annotations

import asyncio
import logging
import socket
from dataclasses import dataclass, field

from aiohttp import web

from podnet.api.scheme import resource
from podnet.client.informer import InformerFactory
from podnet.client.interface import ApiClient
from podnet.dns.records import build_zone
from podnet.dns.responder import Responder
from podnet.dns.server import DnsServer, Forwarder, UdpProtocol, serve_tcp_client

log = logging.getLogger(__name__)
REBUILD_DEBOUNCE_S = 0.05


@dataclass
class DnsConfig:
    listen: tuple[str, int] = ("0.0.0.0", 53)
    domain: str = "cluster.local"
    upstreams: list[tuple[str, int]] = field(default_factory=list)
    health_port: int = 8080
    ready_port: int = 8181
    autopath: bool = True


async def _health(port: int, ready: asyncio.Event | None) -> web.AppRunner:
    async def handler(_request: web.Request) -> web.Response:
        if ready is not None and not ready.is_set():
            return web.Response(status=503, text="not ready: informers not synced\n")
        return web.Response(text="OK")

    app = web.Application()
    app.router.add_get("/health" if ready is None else "/ready", handler)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "0.0.0.0", port, reuse_address=True).start()
    return runner


async def run_dns(client: ApiClient, config: DnsConfig, stop: asyncio.Event) -> None:
    ready = asyncio.Event()
    runners = [await _health(config.health_port, None), await _health(config.ready_port, ready)]
    factory = InformerFactory(client)
    services = factory.informer(resource("services"))
    slices = factory.informer(resource("endpointslices"))
    pods = factory.informer(resource("pods"))
    changed = asyncio.Event()
    for inf in (services, slices, pods):
        inf.add_handler(lambda _o: changed.set(), lambda _a, _b: changed.set(), lambda _o: changed.set())
    factory.start()
    await factory.wait_for_sync()

    def zone() -> object:
        return build_zone(services.list(), slices.list(), pods.list(), config.domain)

    responder = Responder(zone())  # type: ignore[arg-type]
    pod_ns: dict[str, str] = {}

    def refresh_pods() -> None:
        pod_ns.clear()
        for p in pods.list():
            ip = (p.get("status") or {}).get("podIP")
            if ip:
                pod_ns[ip] = p["metadata"].get("namespace", "default")

    refresh_pods()
    server = DnsServer(responder, Forwarder(config.upstreams), pod_ns.get, config.autopath)
    loop = asyncio.get_running_loop()
    host, port = config.listen
    udp_sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    udp_sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    udp_sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
    udp_sock.bind((host, port))
    transport, _ = await loop.create_datagram_endpoint(lambda: UdpProtocol(server), sock=udp_sock)
    tcp = await asyncio.start_server(
        lambda r, w: serve_tcp_client(server, r, w), host, port, reuse_address=True
    )
    ready.set()
    log.info(
        "podnet dns serving %s on %s:%d (udp, tcp); upstreams %s", config.domain, host, port, config.upstreams
    )
    try:
        while not stop.is_set():
            waits = [asyncio.ensure_future(changed.wait()), asyncio.ensure_future(stop.wait())]
            await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
            for w in waits:
                w.cancel()
            if stop.is_set():
                break
            await asyncio.sleep(REBUILD_DEBOUNCE_S)  # a burst of changes: one rebuild
            changed.clear()
            responder.set_zone(zone())  # type: ignore[arg-type]
            refresh_pods()
    finally:
        transport.close()
        tcp.close()
        await factory.stop()
        for r in runners:
            await r.cleanup()
