"""The agent's kubelet-style HTTP endpoint on the node (port 10250): what the API server proxies to.

``GET /containerLogs/<namespace>/<pod>/<container>?follow=&tailLines=&previous=&limitBytes=`` is what
the API server calls for ``kubectl logs``; ``/healthz`` answers for the agent's components. Plain HTTP on the node network:
in a lab that network is private to the lab (a real deployment would put TLS here, as kubelet does).
"""

from __future__ import annotations

from aiohttp import web

from podnet.agent.health import Health
from podnet.agent.pods.logs import run_logs, stream_log
from podnet.agent.pods.manager import PodManager

KUBELET_PORT = 10250


def _int(value: str | None) -> int | None:
    return int(value) if value not in (None, "") and value.lstrip("-").isdigit() else None  # type: ignore[union-attr]


def make_app(manager: PodManager, health: Health | None = None) -> web.Application:
    async def healthz(request: web.Request) -> web.Response:
        """ "ok" (200) while every component runs; ``?verbose`` lists them as Kubernetes' healthz does."""
        if health is None:
            return web.Response(text="ok")
        ok, text = health.report()
        return web.Response(
            text=text if "verbose" in request.query or not ok else "ok", status=200 if ok else 500
        )

    async def container_logs(request: web.Request) -> web.StreamResponse:
        ns, pod, name = request.match_info["ns"], request.match_info["pod"], request.match_info["container"]
        worker = manager.find(ns, pod)
        if worker is None:
            raise web.HTTPNotFound(text=f'pod "{pod}" not found on this node')
        container = next((c for c in worker.containers if c.name == name), None)
        if container is None:
            raise web.HTTPNotFound(text=f'container "{name}" not found in pod "{pod}"')
        runs = run_logs(worker.sandboxes.pod_dir(worker.uid), name)
        previous = request.query.get("previous") in ("true", "1")
        if previous:
            if len(runs) < 2:
                raise web.HTTPBadRequest(
                    text=f'previous terminated container "{name}" in pod "{pod}" not found'
                )
            path = runs[-2]
        elif runs:
            path = runs[-1]
        else:
            raise web.HTTPBadRequest(text=f'container "{name}" in pod "{pod}" is waiting to start')
        follow = request.query.get("follow") in ("true", "1") and not previous
        handle = container.handle

        def running() -> bool:
            return container.handle is not None and container.handle is handle

        resp = web.StreamResponse(headers={"Content-Type": "text/plain"})
        await resp.prepare(request)
        tail, limit = _int(request.query.get("tailLines")), _int(request.query.get("limitBytes"))
        async for chunk in stream_log(path, tail, follow, running, limit):
            await resp.write(chunk)
        await resp.write_eof()
        return resp

    app = web.Application()
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/containerLogs/{ns}/{pod}/{container}", container_logs)
    return app


async def serve(
    manager: PodManager, address: str, port: int = KUBELET_PORT, health: Health | None = None
) -> web.AppRunner:
    runner = web.AppRunner(make_app(manager, health), access_log=None)
    await runner.setup()
    await web.TCPSite(runner, address, port, reuse_address=True).start()
    return runner
