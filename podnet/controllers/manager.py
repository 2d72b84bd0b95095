"""Runs the enabled controllers over one set of shared informers, like kube-controller-manager.

Names: endpointslice, endpoints, scheduler, nodeipam, lbipam, nodelifecycle,
and, when their packages exist, replicaset, deployment, garbagecollector,
namespace. Those four are found by convention: a ``Controller`` class in
``podnet.controllers.<pkg>`` or ``podnet.controllers.<pkg>.controller``, built
with ``Controller.from_factory(client, factory, config)`` if it has that
classmethod, else ``Controller(client, factory, config)``, and run with
``await controller.run(workers)``.
"""

from __future__ import annotations

import asyncio
import importlib
import logging
from collections.abc import Callable
from typing import Any, Protocol

from podnet.api.scheme import ResourceInfo, lookup_plural
from podnet.client.informer import InformerFactory
from podnet.client.interface import ApiClient
from podnet.controllers.config import ControllerConfig
from podnet.controllers.endpointslice.controller import EndpointsController, EndpointSliceController
from podnet.controllers.lbipam.controller import LBIPAMController
from podnet.controllers.nodeipam.controller import NodeIPAMController
from podnet.controllers.nodelifecycle.controller import LEASE_NAMESPACE, NodeLifecycleController
from podnet.controllers.scheduler.controller import BindingClient, SchedulerController

log = logging.getLogger(__name__)


class Runnable(Protocol):
    async def run(self, workers: int = 1) -> None: ...


def _res(plural: str) -> ResourceInfo:
    res = lookup_plural(plural)
    assert res is not None
    return res


Builder = Callable[[ApiClient, InformerFactory, ControllerConfig], Runnable]

BUILTIN: dict[str, Builder] = {
    "endpointslice": lambda c, f, cfg: EndpointSliceController(
        c, f.informer(_res("services")), f.informer(_res("pods")), f.informer(_res("endpointslices")), cfg
    ),
    "endpoints": lambda c, f, cfg: EndpointsController(
        c, f.informer(_res("services")), f.informer(_res("pods")), f.informer(_res("endpoints")), cfg
    ),
    "scheduler": lambda c, f, cfg: SchedulerController(
        _as_binder(c), f.informer(_res("pods")), f.informer(_res("nodes")), cfg
    ),
    "nodeipam": lambda c, f, cfg: NodeIPAMController(c, f.informer(_res("nodes")), cfg),
    "lbipam": lambda c, f, cfg: LBIPAMController(c, f.informer(_res("services")), cfg),
    "nodelifecycle": lambda c, f, cfg: NodeLifecycleController(
        c,
        f.informer(_res("nodes")),
        f.informer(_res("leases"), LEASE_NAMESPACE),
        f.informer(_res("pods")),
        cfg,
    ),
}

# Controllers another package provides: name → package under podnet.controllers.
EXTERNAL: dict[str, str] = {
    "replicaset": "replicaset",
    "deployment": "deployment",
    "garbagecollector": "gc",
    "namespace": "namespace",
}


def _as_binder(client: ApiClient) -> BindingClient:
    if not hasattr(client, "bind"):
        raise TypeError(f"{type(client).__name__} has no bind(); the scheduler needs pods/binding")
    return client  # type: ignore[return-value]


def _external_builder(package: str) -> Builder | None:
    for module in (f"podnet.controllers.{package}", f"podnet.controllers.{package}.controller"):
        try:
            mod = importlib.import_module(module)
        except ImportError:
            continue
        cls: Any = getattr(mod, "Controller", None)
        if cls is None:
            continue
        if hasattr(cls, "from_factory"):
            return lambda c, f, cfg: cls.from_factory(c, f, cfg)
        return lambda c, f, cfg: cls(c, f, cfg)
    return None


def build_controllers(
    client: ApiClient, factory: InformerFactory, config: ControllerConfig, enabled: set[str] | None = None
) -> dict[str, Runnable]:
    """The enabled controllers, wired to ``factory``'s informers (not yet running)."""
    builders: dict[str, Builder] = dict(BUILTIN)
    for name, package in EXTERNAL.items():
        builder = _external_builder(package)
        if builder is not None:
            builders[name] = builder
        elif enabled is not None and name in enabled:
            log.warning("controller %s is not available in this build", name)
    unknown = (enabled or set()) - set(builders) - set(EXTERNAL)
    if unknown:
        raise ValueError(f"unknown controllers: {', '.join(sorted(unknown))}")
    return {
        name: build(client, factory, config)
        for name, build in builders.items()
        if enabled is None or name in enabled
    }


async def run_controllers(
    client: ApiClient, config: ControllerConfig, enabled: set[str] | None = None
) -> None:
    """Start the shared informers once, wait for their caches, then run every enabled controller."""
    factory = InformerFactory(client)
    controllers = build_controllers(client, factory, config, enabled)
    factory.start()
    while not await factory.wait_for_sync(timeout=30):
        log.warning("informer caches not synced after 30s; still waiting")
    log.info("running controllers: %s", ", ".join(sorted(controllers)))
    tasks = {asyncio.ensure_future(c.run(config.workers)): name for name, c in controllers.items()}
    try:
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
        for task in done:
            if task.exception() is not None:
                log.error("controller %s stopped: %r", tasks[task], task.exception())
                raise task.exception()  # type: ignore[misc]
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await factory.stop()
