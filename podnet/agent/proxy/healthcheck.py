"""healthCheckNodePort servers: what a cloud load balancer asks each node for Local-policy services.

``GET /healthz`` answers 200 with this node's usable endpoint count when it has any, 503 otherwise,
with kube-proxy's JSON body, so the load balancer sends traffic only to nodes that can serve it
without a second hop (and without losing the client's address).
"""

from __future__ import annotations

import json
import logging

from aiohttp import web

log = logging.getLogger(__name__)


class HealthChecks:
    """One HTTP server per healthCheckNodePort, bound in the node's namespace, answering from ``counts``."""

    def __init__(self, address: str = "0.0.0.0") -> None:
        self.address = address
        self.counts: dict[int, tuple[str, str, int]] = {}  # port -> (namespace, name, local endpoints)
        self.runners: dict[int, web.AppRunner] = {}

    def _app(self, port: int) -> web.Application:
        async def healthz(_request: web.Request) -> web.Response:
            ns, name, count = self.counts.get(port, ("", "", 0))
            body = {"service": {"namespace": ns, "name": name}, "localEndpoints": count,
                    "serviceProxyHealthy": True}  # fmt: skip
            return web.Response(status=200 if count > 0 else 503, text=json.dumps(body),
                                content_type="application/json")  # fmt: skip

        app = web.Application()
        app.router.add_get("/healthz", healthz)
        app.router.add_get("/", healthz)
        return app

    async def sync(self, wanted: dict[int, tuple[str, str, int]]) -> None:
        """Serve exactly ``wanted`` (port -> namespace, name, local endpoints): new counts apply at once."""
        self.counts = dict(wanted)
        for port in sorted(set(self.runners) - set(wanted)):
            await self.runners.pop(port).cleanup()
        for port in sorted(set(wanted) - set(self.runners)):
            runner = web.AppRunner(self._app(port), access_log=None)
            await runner.setup()
            try:
                await web.TCPSite(runner, self.address, port, reuse_address=True).start()
            except OSError as exc:
                log.warning("healthCheckNodePort %d: cannot listen: %s", port, exc)
                await runner.cleanup()
                continue
            self.runners[port] = runner

    async def close(self) -> None:
        await self.sync({})
