"""NetworkPolicy enforcement on this node's pods, in nftables."""

from __future__ import annotations

import asyncio
import logging

from podnet.agent.policy.compile import Rendered, render, render_partial
from podnet.agent.policy.model import pod_of, resolve
from podnet.api.scheme import resource
from podnet.client.informer import InformerFactory
from podnet.client.interface import ApiClient

__all__ = ["run_policy"]
log = logging.getLogger(__name__)


async def _nft(prefix: tuple[str, ...], text: str) -> tuple[int, str]:
    proc = await asyncio.create_subprocess_exec(
        *prefix, "nft", "-f", "-", stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    out, _ = await asyncio.wait_for(proc.communicate(text.encode()), 120)
    return int(proc.returncode or 0), out.decode(errors="replace")


async def run_policy(
    client: ApiClient, node_name: str, stop: asyncio.Event, *, command_prefix: tuple[str, ...] = (),
    factory: InformerFactory | None = None,
) -> None:  # fmt: skip
    """Recompile and apply on every change to policies, pods or namespaces, until ``stop``."""
    factory = factory or InformerFactory(client)
    policies = factory.informer(resource("networkpolicies"))
    pods = factory.informer(resource("pods"))
    namespaces = factory.informer(resource("namespaces"))
    changed = asyncio.Event()
    for inf in (policies, pods, namespaces):
        inf.add_handler(lambda _o: changed.set(), lambda _a, _b: changed.set(), lambda _o: changed.set())
    factory.start()
    await asyncio.gather(policies.wait_synced(), pods.wait_synced(), namespaces.wait_synced())
    last: Rendered | None = None
    full_due = asyncio.get_running_loop().time() + 30
    while not stop.is_set():
        changed.clear()
        pod_list = [p for p in (pod_of(o) for o in pods.list()) if p is not None]
        ns_labels = {n["metadata"]["name"]: (n["metadata"].get("labels") or {}) for n in namespaces.list()}
        try:
            new = render(resolve(policies.list(), pod_list, ns_labels), pod_list, node_name)
        except ValueError as exc:  # an invalid selector the API let through: keep the last good rules
            log.warning("policy: cannot compile: %s", exc)
            new = last
        if new is not None and (last is None or new.text != last.text):
            now = asyncio.get_running_loop().time()
            partial = None if last is None or now > full_due else render_partial(last, new)
            code, out = await _nft(command_prefix, new.text if partial is None else partial)
            if code != 0:
                log.warning("policy: nft -f failed: %s", out.strip()[:500])
                last = None  # the kernel may hold anything: the next round replaces the table
                await asyncio.sleep(1.0)
                continue
            if partial is None:
                full_due = now + 30  # a periodic whole replace repairs anything a partial missed
            last = new
        waits = [asyncio.ensure_future(changed.wait()), asyncio.ensure_future(stop.wait())]
        await asyncio.wait(waits, timeout=30, return_when=asyncio.FIRST_COMPLETED)
        for w in waits:
            w.cancel()
