"""The agent's components as ``/healthz`` reports them (kubelet's and kube-proxy's healthz style).

Each supervised component (pods, routing, proxy, policy) is "running" while its loop runs and
"failed" from the moment it raised until it is started again, with the error and how many times it
was restarted. ``podnet status`` reads ``/healthz?verbose`` from every node, so a user sees which
part of which node is broken instead of a single "running" per process.
"""

from __future__ import annotations

import time
from dataclasses import dataclass


@dataclass
class ComponentHealth:
    state: str = "starting"  # starting | running | failed | stopped
    restarts: int = 0
    error: str = ""
    since: float = 0.0


class Health:
    def __init__(self) -> None:
        self.components: dict[str, ComponentHealth] = {}

    def _get(self, name: str) -> ComponentHealth:
        return self.components.setdefault(name, ComponentHealth(since=time.time()))

    def running(self, name: str) -> None:
        c = self._get(name)
        if c.state == "failed":
            c.restarts += 1
        c.state, c.since = "running", time.time()

    def failed(self, name: str, error: str) -> None:
        c = self._get(name)
        c.state, c.error, c.since = "failed", error[:300], time.time()

    def stopped(self, name: str) -> None:
        c = self._get(name)
        c.state, c.since = "stopped", time.time()

    def report(self) -> tuple[bool, str]:
        """(healthy, Kubernetes' verbose healthz text: one ``[+]``/``[-]`` line per check)."""
        lines, ok = [], True
        for name, c in sorted(self.components.items()):
            if c.state == "failed":
                ok = False
                lines.append(f"[-]{name} failed: {c.error} (restarts {c.restarts})")
            else:
                extra = f" (restarts {c.restarts})" if c.restarts else ""
                lines.append(f"[+]{name} ok{extra}")
        lines.append("healthz check passed" if ok else "healthz check failed")
        return ok, "\n".join(lines) + "\n"
