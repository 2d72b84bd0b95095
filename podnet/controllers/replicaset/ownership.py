"""Which objects a controller owns, adopts and releases: Kubernetes' ``BaseControllerRefManager.ClaimObject``.

Pure: the controller feeds every candidate in the namespace and applies the
answer. An object controlled by someone else is never touched; an orphan
that matches is adopted unless either side is being deleted; an owned
object that stopped matching is released unless the owner is being deleted
(its dependents then belong to the garbage collector).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from podnet.controllers.replicaset.pods import Obj, controller_ref, is_deleting, meta


@dataclass
class Claim:
    owned: list[Obj] = field(default_factory=list)  # already ours and still matching
    adopt: list[Obj] = field(default_factory=list)  # orphans to take: ours once patched
    release: list[Obj] = field(default_factory=list)  # ours but no longer matching


def claim(owner: Obj, candidates: list[Obj], matches: Callable[[Obj], bool]) -> Claim:
    out = Claim()
    uid = meta(owner).get("uid")
    owner_deleting = is_deleting(owner)
    for obj in candidates:
        ref = controller_ref(obj)
        if ref is not None:
            if ref.get("uid") != uid:
                continue
            if matches(obj):
                out.owned.append(obj)
            elif not owner_deleting:
                out.release.append(obj)
            continue
        if owner_deleting or is_deleting(obj) or not matches(obj):
            continue
        out.adopt.append(obj)
    return out
