"""Creations and deletions a controller made but has not yet seen in its cache (``ControllerExpectations``).

Informer caches trail the controller's own writes. Pods come from
``generateName``, so nothing on the server stops a sync on a stale cache
from creating the same replicas twice; the controller therefore skips
``manageReplicas`` for a key until its earlier writes have been observed,
or until the expectations are older than ``ttl`` (a lost watch event must
not wedge the RS forever).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

EXPECTATIONS_TTL = 300.0  # Kubernetes' ExpectationsTimeout


@dataclass
class _Pending:
    adds: int
    deletes: set[str] = field(default_factory=set)
    at: float = 0.0


class Expectations:
    def __init__(self, clock: Callable[[], float], ttl: float = EXPECTATIONS_TTL) -> None:
        self._clock, self._ttl = clock, ttl
        self._pending: dict[str, _Pending] = {}

    def expect_creations(self, key: str, count: int) -> None:
        self._pending[key] = _Pending(adds=count, at=self._clock())

    def expect_deletions(self, key: str, uids: list[str]) -> None:
        self._pending[key] = _Pending(adds=0, deletes=set(uids), at=self._clock())

    def creation_observed(self, key: str, count: int = 1) -> None:
        """A pod of ``key`` appeared, or a create failed and will never appear."""
        pending = self._pending.get(key)
        if pending is not None:
            pending.adds = max(0, pending.adds - count)

    def deletion_observed(self, key: str, uid: str) -> None:
        pending = self._pending.get(key)
        if pending is not None:
            pending.deletes.discard(uid)

    def satisfied(self, key: str) -> bool:
        pending = self._pending.get(key)
        if pending is None:
            return True
        if (pending.adds <= 0 and not pending.deletes) or self._clock() - pending.at > self._ttl:
            del self._pending[key]
            return True
        return False

    def forget(self, key: str) -> None:
        self._pending.pop(key, None)
