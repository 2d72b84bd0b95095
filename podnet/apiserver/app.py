"""The API server process: TLS + bearer-token HTTPS on TCP, plain HTTP on a root-only unix socket.

The unix socket is authenticated by its file mode (0600, root), like
docker.sock: it is how components on the control-plane host (the controller
manager) reach the API without handling credentials.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import ipaddress
import logging
import os
import secrets
import socket
import ssl
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiohttp import web

from podnet.api import errors
from podnet.apiserver import bootstrap, discovery, openapi
from podnet.apiserver.allocators import IPAllocator, PortAllocator
from podnet.apiserver.certs import PKI, ensure_pki, write_kubeconfig
from podnet.apiserver.handlers import ResourceHandler, json_response, status_response
from podnet.apiserver.nscache import NamespaceCache
from podnet.apiserver.registry import Registry, decode
from podnet.apiserver.services import ServiceAllocator
from podnet.store import Store

log = logging.getLogger(__name__)

MAX_BODY = 3 * 1024 * 1024  # Kubernetes' MaxRequestBodyBytes
_PUBLIC_PATHS = ("/healthz", "/livez", "/readyz", "/version")


@dataclass
class ServerConfig:
    data_dir: Path
    bind_address: str = "127.0.0.1"
    secure_port: int = 6443
    unix_socket: Path | None = None
    advertise_address: str = ""
    extra_sans: list[str] = field(default_factory=list)
    service_cidr: str = "10.96.0.0/12"
    node_port_range: tuple[int, int] = (30000, 32767)
    compaction_interval: float = 300.0
    bookmark_interval: float = 60.0
    # Listening sockets made before the server entered its network namespace (a lab's API on the
    # machine's 127.0.0.1 while the server lives in the control-plane namespace).
    extra_sockets: list[socket.socket] = field(default_factory=list)

    @property
    def socket_path(self) -> Path:
        return self.unix_socket or self.data_dir / "apiserver.sock"


def _is_unix(request: web.Request) -> bool:
    transport = request.transport
    return transport is not None and isinstance(transport.get_extra_info("sockname"), str)


def make_app(registry: Registry, token: str, config: ServerConfig) -> web.Application:
    @web.middleware
    async def errors_mw(
        request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        try:
            if request.path not in _PUBLIC_PATHS and not _is_unix(request):
                auth = request.headers.get("Authorization", "")
                if not (auth.startswith("Bearer ") and secrets.compare_digest(auth[7:].strip(), token)):
                    raise errors.unauthorized()
            return await handler(request)
        except errors.StatusError as exc:
            return status_response(exc)
        except web.HTTPRequestEntityTooLarge:
            return status_response(errors.request_entity_too_large(MAX_BODY))
        except web.HTTPException as exc:
            if exc.status == 404:
                return status_response(errors.not_found_path(request.path))
            if exc.status == 405:
                return status_response(
                    errors.StatusError(405, "MethodNotAllowed", f"{request.method} is not allowed")
                )
            raise
        except Exception as exc:  # the server must answer, whatever broke
            log.exception("internal error serving %s %s", request.method, request.path)
            return status_response(errors.internal_error(repr(exc)))

    app = web.Application(middlewares=[errors_mw], client_max_size=MAX_BODY)
    app["max_body"] = MAX_BODY
    app["now"] = lambda: dt.datetime.now(dt.UTC)
    app["bookmark_interval"] = config.bookmark_interval
    handler = ResourceHandler(registry)
    server_address = f"{config.advertise_address or config.bind_address}:{config.secure_port}"

    async def ok(_: web.Request) -> web.Response:
        return web.Response(text="ok")

    async def version(_: web.Request) -> web.Response:
        return json_response(discovery.version_info())

    async def api(_: web.Request) -> web.Response:
        return json_response(discovery.api_versions(server_address))

    async def apis(_: web.Request) -> web.Response:
        return json_response(discovery.api_group_list())

    for path in _PUBLIC_PATHS[:3]:
        app.router.add_get(path, ok)
    app.router.add_get("/version", version)
    app.router.add_get("/api", api)
    app.router.add_get("/api/", api)
    app.router.add_get("/apis", apis)
    app.router.add_get("/apis/", apis)
    openapi.add_routes(app)
    app.router.add_route("*", "/api/{tail:.*}", handler)
    app.router.add_route("*", "/apis/{tail:.*}", handler)
    return app


def _sans(config: ServerConfig) -> list[str]:
    first_service_ip = str(ipaddress.ip_network(config.service_cidr, strict=False)[1])
    hosts = [
        "127.0.0.1",
        "localhost",
        "kubernetes",
        "kubernetes.default",
        "kubernetes.default.svc",
        "kubernetes.default.svc.cluster.local",
        first_service_ip,
        *config.extra_sans,
    ]
    for addr in (config.bind_address, config.advertise_address):
        if addr and addr != "0.0.0.0":
            hosts.append(addr)
    return hosts


async def build_registry(store: Store, config: ServerConfig) -> Registry:
    ips = IPAllocator(ipaddress.IPv4Network(config.service_cidr, strict=False))
    ports = PortAllocator(*config.node_port_range)
    services = ServiceAllocator(ips, ports)
    registry = Registry(store, services)
    registry.namespaces = NamespaceCache(store)
    await registry.namespaces.start()
    listing = await store.list("/registry/services/")
    services.load([decode(kv) for kv in listing.items])
    return registry


async def compaction_loop(store: Store, interval: float) -> None:
    """Keep one interval of history (what watches may resume from), like the apiserver's compactor."""
    previous = await store.current_revision()
    while True:
        await asyncio.sleep(interval)
        current = await store.current_revision()
        if previous > 0:
            try:
                await store.compact(previous)
            except Exception:
                log.exception("compaction at revision %d failed", previous)
        previous = current


@dataclass
class RunningServer:
    runner: web.AppRunner
    registry: Registry
    pki: PKI
    kubeconfig: Path
    url: str
    tasks: list[asyncio.Task[Any]]

    async def stop(self) -> None:
        for task in self.tasks:
            task.cancel()
        if self.registry.namespaces is not None:
            await self.registry.namespaces.stop()
        await self.runner.cleanup()


async def start_server(store: Store, config: ServerConfig) -> RunningServer:
    config.data_dir.mkdir(parents=True, exist_ok=True)
    pki = ensure_pki(config.data_dir, _sans(config))
    registry = await build_registry(store, config)
    await bootstrap.ensure_defaults(
        registry, config.service_cidr, config.advertise_address or config.bind_address, config.secure_port
    )
    app = make_app(registry, pki.token, config)
    runner = web.AppRunner(app, access_log=None, handler_cancellation=True)
    await runner.setup()
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(pki.serving_cert, pki.serving_key)
    site = web.TCPSite(
        runner, config.bind_address, config.secure_port, ssl_context=ctx, backlog=1024, reuse_address=True
    )
    await site.start()
    for listener in config.extra_sockets:
        await web.SockSite(runner, listener, ssl_context=ctx, backlog=1024).start()
    sock = config.socket_path
    sock.parent.mkdir(parents=True, exist_ok=True)
    if sock.exists():
        sock.unlink()
    old_umask = os.umask(0o177)
    try:
        await web.UnixSite(runner, str(sock)).start()
    finally:
        os.umask(old_umask)
    host = config.advertise_address or config.bind_address
    if host == "0.0.0.0":
        host = "127.0.0.1"
    url = f"https://{host}:{config.secure_port}"
    kubeconfig = config.data_dir / "kubeconfig"
    write_kubeconfig(kubeconfig, url, pki)
    tasks = [asyncio.ensure_future(compaction_loop(store, config.compaction_interval))]
    return RunningServer(runner, registry, pki, kubeconfig, url, tasks)
