"""Readiness, liveness and startup probes, run from the node as kubelet runs them.

One check is a pure decision over I/O: ``check(probe, ...)`` does one httpGet / tcpSocket / exec
attempt; ``ProbeTracker`` applies Kubernetes' thresholds (successThreshold, failureThreshold) so a
result flips only after enough consecutive outcomes. httpGet counts 200-399 as success, like kubelet.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

Obj = dict[str, Any]
ExecFn = Callable[[list[str], float], Awaitable[int]]
USER_AGENT = "kube-probe/1.32"


def resolve_port(port: Any, container: Obj) -> int | None:
    """A probe port by number, or by name from the container's ports."""
    if isinstance(port, int):
        return port
    if isinstance(port, str) and port.isdigit():
        return int(port)
    for p in container.get("ports") or []:
        if p.get("name") == port:
            return int(p.get("containerPort"))
    return None


async def _http(get: Obj, host: str, port: int, timeout: float) -> tuple[bool, str]:
    scheme = (get.get("scheme") or "HTTP").upper()
    context = None
    if scheme == "HTTPS":
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE  # kubelet does not verify probe certificates either
    path = get.get("path") or "/"
    headers = {"Host": f"{host}:{port}", "User-Agent": USER_AGENT, "Accept": "*/*", "Connection": "close"}
    for h in get.get("httpHeaders") or []:
        headers[str(h.get("name"))] = str(h.get("value"))
    reader, writer = await asyncio.open_connection(host, port, ssl=context)
    try:
        head = f"GET {path} HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n"
        writer.write(head.encode())
        await writer.drain()
        line = await reader.readline()
    finally:
        writer.close()
    parts = line.decode(errors="replace").split()
    code = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else 0
    if 200 <= code < 400:
        return True, ""
    return False, f"HTTP probe failed with statuscode: {code}"


async def check(probe: Obj, pod_ip: str, container: Obj, exec_fn: ExecFn) -> tuple[bool, str]:
    """One probe attempt: (success, message for the event when it failed)."""
    timeout = float(probe.get("timeoutSeconds") or 1)
    try:
        if "exec" in probe:
            command = list((probe.get("exec") or {}).get("command") or [])
            code = await exec_fn(command, timeout)
            return code == 0, "" if code == 0 else f"command {command!r} exited with {code}"
        action = probe.get("httpGet") or probe.get("tcpSocket")
        if action is None:
            return False, "probe has no supported handler (httpGet, tcpSocket, exec)"
        port = resolve_port(action.get("port"), container)
        if port is None:
            return False, f"port {action.get('port')!r} is not a container port"
        host = action.get("host") or pod_ip
        if "httpGet" in probe:
            return await asyncio.wait_for(_http(action, host, port, timeout), timeout)
        _, writer = await asyncio.wait_for(asyncio.open_connection(host, port), timeout)
        writer.close()
        return True, ""
    except TimeoutError:
        return False, f"probe timed out after {timeout:g}s"
    except OSError as exc:
        return False, str(exc.strerror or exc)


@dataclass
class ProbeTracker:
    """Consecutive-outcome thresholds; ``result`` starts at ``initial`` (readiness False, liveness True)."""

    success_threshold: int
    failure_threshold: int
    result: bool
    _successes: int = 0
    _failures: int = 0

    @classmethod
    def of(cls, probe: Obj, initial: bool) -> ProbeTracker:
        return cls(int(probe.get("successThreshold") or 1), int(probe.get("failureThreshold") or 3), initial)

    def observe(self, ok: bool) -> bool:
        """Record one outcome; True when ``result`` changed."""
        if ok:
            self._successes, self._failures = self._successes + 1, 0
            if not self.result and self._successes >= self.success_threshold:
                self.result = True
                return True
        else:
            self._failures, self._successes = self._failures + 1, 0
            if self.result and self._failures >= self.failure_threshold:
                self.result = False
                return True
        return False
