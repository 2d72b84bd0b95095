"""``GET .../pods/<name>/log``: the API server proxies to the agent on the pod's node, as to a kubelet.

The container defaults to the pod's only container; with several, Kubernetes' own error asks for one.
Query parameters (follow, tailLines, previous, limitBytes, timestamps) pass through; the body streams.
"""

from __future__ import annotations

import aiohttp
from aiohttp import web

from podnet.api import errors
from podnet.api.scheme import resource
from podnet.apiserver.registry import Registry

PODS, NODES = resource("pods"), resource("nodes")
KUBELET_PORT = 10250
PASSED = ("follow", "tailLines", "previous", "limitBytes", "timestamps", "sinceSeconds")


def choose_container(pod: dict, requested: str) -> str:
    spec = pod.get("spec") or {}
    names = [c["name"] for c in spec.get("containers") or []]
    inits = [c["name"] for c in spec.get("initContainers") or []]
    name = pod["metadata"]["name"]
    if requested:
        if requested not in names + inits:
            raise errors.bad_request(f"container {requested} is not valid for pod {name}")
        return requested
    if len(names) == 1:
        return names[0]
    raise errors.bad_request(
        f"a container name must be specified for pod {name}, choose one of: [{' '.join(names)}]"
        + (f" or one of the init containers: [{' '.join(inits)}]" if inits else "")
    )


async def pod_log(request: web.Request, registry: Registry, namespace: str, name: str) -> web.StreamResponse:
    pod = await registry.get(PODS, namespace, name)
    container = choose_container(pod, request.query.get("container", ""))
    node_name = (pod.get("spec") or {}).get("nodeName")
    if not node_name:
        raise errors.bad_request(f"pod {name} does not have a host assigned")
    node = await registry.get(NODES, None, node_name)
    addresses = (node.get("status") or {}).get("addresses") or []
    ip = next((a["address"] for a in addresses if a.get("type") == "InternalIP"), None)
    if ip is None:
        raise errors.bad_request(f"node {node_name} has no InternalIP")
    params = {k: request.query[k] for k in PASSED if k in request.query}
    url = f"http://{ip}:{KUBELET_PORT}/containerLogs/{namespace}/{name}/{container}"
    timeout = aiohttp.ClientTimeout(total=None, connect=5, sock_read=None)
    try:
        async with (
            aiohttp.ClientSession(timeout=timeout) as session,
            session.get(url, params=params) as upstream,
        ):
            if upstream.status != 200:
                text = (await upstream.text()).strip()
                raise errors.bad_request(text or f"kubelet on {node_name} answered {upstream.status}")
            resp = web.StreamResponse(headers={"Content-Type": "text/plain"})
            await resp.prepare(request)
            async for chunk in upstream.content.iter_any():
                await resp.write(chunk)
            await resp.write_eof()
            return resp
    except aiohttp.ClientError as exc:
        raise errors.StatusError(
            500, "InternalError", f'Get "{url}": the agent on {node_name} is unreachable: {exc}'
        ) from None
