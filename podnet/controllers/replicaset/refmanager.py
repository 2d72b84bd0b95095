"""Applying a ``Claim``: patch controllerRefs on adopted objects and off released ones (``ControllerRefManager``).

Shared by the ReplicaSet controller (pods) and the Deployment controller
(ReplicaSets). Patches carry the object's resourceVersion, so a concurrent
writer makes the patch fail with 409 and the object is simply left for the
next sync; a 404 means it is gone already.
"""

from __future__ import annotations

from podnet.api.errors import StatusError
from podnet.api.scheme import ResourceInfo
from podnet.client.interface import ApiClient, Obj
from podnet.controllers.replicaset.pods import (
    is_deleting,
    meta,
    new_controller_ref,
    owner_refs_patch,
    refs_with,
    refs_without,
)


async def can_adopt(client: ApiClient, owner_res: ResourceInfo, owner: Obj) -> bool:
    """Re-read the owner live: a cache can still show an owner that is being deleted or replaced."""
    fresh = await client.get(owner_res, meta(owner).get("namespace"), meta(owner).get("name", ""))
    return fresh is not None and meta(fresh).get("uid") == meta(owner).get("uid") and not is_deleting(fresh)


async def adopt(
    client: ApiClient, owner_res: ResourceInfo, res: ResourceInfo, owner: Obj, orphans: list[Obj]
) -> list[Obj]:
    """Make ``owner`` the controller of each orphan; returns those now owned (as written)."""
    if not orphans or not await can_adopt(client, owner_res, owner):
        return []
    ref, adopted = new_controller_ref(owner), []
    for obj in orphans:
        try:
            out = await client.patch(
                res, meta(obj).get("namespace"), meta(obj)["name"], owner_refs_patch(obj, refs_with(obj, ref))
            )
        except StatusError as exc:
            if exc.code in (404, 409):
                continue
            raise
        adopted.append(out)
    return adopted


async def release(client: ApiClient, res: ResourceInfo, owner: Obj, objs: list[Obj]) -> None:
    """Drop ``owner``'s reference from objects whose labels no longer match its selector."""
    uid = meta(owner).get("uid", "")
    for obj in objs:
        try:
            await client.patch(
                res,
                meta(obj).get("namespace"),
                meta(obj)["name"],
                owner_refs_patch(obj, refs_without(obj, uid)),
            )
        except StatusError as exc:
            if exc.code not in (404, 409):
                raise
