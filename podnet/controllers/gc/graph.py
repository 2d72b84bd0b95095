"""What the garbage collector does with one object, as pure functions (Kubernetes' ``attemptToDeleteItem``).

Each owner reference of a dependent is *solid* (the owner exists with that
uid), *dangling* (no object of that name, or one with another uid: the
owner was deleted and maybe recreated) or *waiting* (the owner is being
deleted in the foreground and waits for its dependents). Then:

- some solid owner: keep the object, but drop references to dangling and
  waiting owners;
- only waiting/dangling owners, and the object has dependents of its own
  while an owner waits: delete it in the foreground too, so the wait chains;
- otherwise delete it, with the propagation its own finalizers ask for
  (orphan, foreground, else background).

An owner being deleted with ``foregroundDeletion`` keeps the finalizer until
no dependent with ``blockOwnerDeletion`` is left; with ``orphan`` its
dependents lose their reference to it, then the finalizer goes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from podnet.api.scheme import RESOURCES, ResourceInfo

Obj = dict[str, Any]
OwnerState = Literal["solid", "dangling", "waiting"]

FOREGROUND = "foregroundDeletion"
ORPHAN = "orphan"


def meta(obj: Obj) -> Obj:
    return obj.get("metadata") or {}


def finalizers(obj: Obj) -> list[str]:
    return list(meta(obj).get("finalizers") or [])


def owner_refs(obj: Obj) -> list[Obj]:
    return list(meta(obj).get("ownerReferences") or [])


def is_deleting(obj: Obj) -> bool:
    return bool(meta(obj).get("deletionTimestamp"))


def deleting_dependents(obj: Obj) -> bool:
    return is_deleting(obj) and FOREGROUND in finalizers(obj)


def orphaning(obj: Obj) -> bool:
    return is_deleting(obj) and ORPHAN in finalizers(obj)


def resource_for_ref(ref: Obj) -> ResourceInfo | None:
    """The served resource an ownerReference names; the version may differ, as in Kubernetes."""
    api_version = str(ref.get("apiVersion") or "")
    group = api_version.rpartition("/")[0] if "/" in api_version else ""
    return next((r for r in RESOURCES if r.group == group and r.kind == ref.get("kind")), None)


def owner_state(ref: Obj, owner: Obj | None) -> OwnerState:
    if owner is None or meta(owner).get("uid") != ref.get("uid"):
        return "dangling"
    return "waiting" if deleting_dependents(owner) else "solid"


@dataclass(frozen=True)
class Keep:
    pass


@dataclass(frozen=True)
class RemoveRefs:
    uids: tuple[str, ...]


@dataclass(frozen=True)
class Delete:
    policy: str  # "Background", "Foreground" or "Orphan"


Action = Keep | RemoveRefs | Delete


def decide(obj: Obj, states: list[tuple[Obj, OwnerState]], has_dependents: bool) -> Action:
    """The fate of a dependent given the state of each of its owners."""
    if not states:
        return Keep()
    solid = [ref for ref, s in states if s == "solid"]
    gone = [str(ref.get("uid")) for ref, s in states if s != "solid"]
    if solid:
        return RemoveRefs(tuple(gone)) if gone else Keep()
    if any(s == "waiting" for _, s in states) and has_dependents:
        return Delete("Foreground")
    if ORPHAN in finalizers(obj):
        return Delete("Orphan")
    if FOREGROUND in finalizers(obj):
        return Delete("Foreground")
    return Delete("Background")


def refs_to(obj: Obj, uid: str) -> list[Obj]:
    return [r for r in owner_refs(obj) if r.get("uid") == uid]


def blocking_dependents(owner: Obj, dependents: list[Obj]) -> list[Obj]:
    """Dependents that hold up the owner's foreground deletion."""
    uid = meta(owner).get("uid", "")
    return [d for d in dependents if any(r.get("blockOwnerDeletion") for r in refs_to(d, uid))]


def remaining_refs(obj: Obj, drop_uids: tuple[str, ...] | list[str]) -> list[Obj]:
    return [r for r in owner_refs(obj) if r.get("uid") not in set(drop_uids)]


def owner_namespace(dependent: Obj, owner_res: ResourceInfo) -> tuple[bool, str | None]:
    """Where to look for an owner: (valid, namespace). A cluster-scoped object cannot have a namespaced owner."""
    if not owner_res.namespaced:
        return True, None
    ns = meta(dependent).get("namespace")
    return (True, ns) if ns else (False, None)
