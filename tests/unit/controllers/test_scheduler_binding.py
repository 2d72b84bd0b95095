"""The scheduler's binding cycle: decisions do not wait for bindings, failed bindings are retried."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from podnet.api.errors import StatusError
from podnet.controllers.config import ControllerConfig
from podnet.controllers.scheduler.controller import SchedulerController

Obj = dict[str, Any]


class FakeInformer:
    def __init__(self, objs: list[Obj]) -> None:
        self.objs = {
            f"{o['metadata'].get('namespace', '')}/{o['metadata']['name']}".lstrip("/"): o for o in objs
        }

    def add_handler(self, *_handlers: Callable[..., None]) -> None:
        pass

    def has_index(self, _name: str) -> bool:
        return hasattr(self, "index_fn")

    def add_index(self, _name: str, fn: Callable[[Obj], list[str]]) -> None:
        self.index_fn = fn

    def index_count(self, _name: str, value: str) -> int:
        return sum(value in self.index_fn(o) for o in self.objs.values())

    def get(self, key: str) -> Obj | None:
        return self.objs.get(key)

    def list(self) -> list[Obj]:
        return list(self.objs.values())


class SlowBinder:
    """Binds after ``gate`` opens; the first bind of ``fail_once`` answers 500."""

    def __init__(self, fail_once: str = "") -> None:
        self.gate = asyncio.Event()
        self.bound: dict[str, str] = {}
        self.fail_once = fail_once
        self.events: list[Obj] = []

    async def bind(self, namespace: str, name: str, node: str) -> None:
        await self.gate.wait()
        if name == self.fail_once:
            self.fail_once = ""
            raise StatusError(500, "InternalError", "etcd went away")
        self.bound[name] = node

    async def create(self, _resource: Any, _namespace: str, obj: Obj) -> Obj:
        self.events.append(obj)
        return obj


def node(name: str) -> Obj:
    return {"metadata": {"name": name}, "status": {"conditions": [{"type": "Ready", "status": "True"}]}}


def pod(name: str) -> Obj:
    return {"metadata": {"name": name, "namespace": "default"}, "spec": {"containers": [{"name": "c"}]}}


async def test_decisions_run_ahead_of_slow_bindings_and_count_the_assumed_pods() -> None:
    binder = SlowBinder()
    pods = FakeInformer([pod(f"p{i}") for i in range(4)])
    sched = SchedulerController(binder, pods, FakeInformer([node("n1"), node("n2")]), ControllerConfig())  # type: ignore[arg-type]
    for i in range(4):
        await asyncio.wait_for(sched.sync(f"default/p{i}"), 1)  # returns with every binding still pending
    assert binder.bound == {} and sorted(sched._assumed.values()) == ["n1", "n1", "n2", "n2"]  # spread
    binder.gate.set()
    await asyncio.gather(*sched._binding)
    assert sorted(binder.bound.values()) == ["n1", "n1", "n2", "n2"]
    assert [e["reason"] for e in binder.events] == ["Scheduled"] * 4


async def test_a_failed_binding_forgets_its_assumption_and_requeues_the_pod() -> None:
    binder = SlowBinder(fail_once="p0")
    binder.gate.set()
    sched = SchedulerController(
        binder, FakeInformer([pod("p0")]), FakeInformer([node("n1")]), ControllerConfig()
    )  # type: ignore[arg-type]
    await sched.sync("default/p0")
    await asyncio.gather(*sched._binding)
    assert binder.bound == {} and sched._assumed == {}
    assert sched.queue.num_requeues("default/p0") == 1  # back in the queue, with back-off
    await sched.sync("default/p0")
    await asyncio.gather(*sched._binding)
    assert binder.bound == {"p0": "n1"}
