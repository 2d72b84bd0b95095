"""How the plugin reaches the node's kernel: fresh per call (standalone) or kept warm (resident server).

``NodeKernel`` is the one difference between the two ways of running: where the node namespace's
netlink handle comes from, what has already been verified, and when a deleted pod's veth is finally
unregistered. Everything else is the same code.
"""

from __future__ import annotations

import errno
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Protocol

from podnet.kernel.netlink import Link, Rtnl, rtnl
from podnet.kernel.rtnl_batch import RtnlBatch


class NodeKernel(Protocol):
    # (bridge name, "gateway/prefix" or "") -> the bridge as last checked: up, holding the gateway
    bridges: dict[tuple[str, str], Link]

    def host(self) -> AbstractContextManager[Rtnl]:
        """A netlink handle in the node (the caller's) namespace."""
        ...

    def retire(self, name: str) -> None:
        """Get rid of a pod's host veth (absent is fine): cut off at once, unregistered now or soon."""
        ...


class Standalone:
    """One plugin process per call: nothing outlives it, so a veth is deleted before it exits."""

    def __init__(self) -> None:
        self.bridges: dict[tuple[str, str], Link] = {}

    @contextmanager
    def host(self) -> Iterator[Rtnl]:
        with rtnl() as handle:
            yield handle

    def retire(self, name: str) -> None:
        try:
            RtnlBatch().delete_link(name).send()
        except OSError as exc:
            if exc.errno != errno.ENODEV:
                raise
