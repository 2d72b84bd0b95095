"""The contract of an API client: what controllers, agents and DNS program against.

Two implementations: ``rest.RestClient`` (HTTPS or unix socket to a real API
server) and ``fake.FakeClient`` (in memory, for unit tests). Errors are
``podnet.api.errors.StatusError`` carrying the server's Status (code, reason).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from podnet.api.scheme import ResourceInfo

Obj = dict[str, Any]
PatchType = Literal["merge", "strategic", "json"]
WatchEventType = Literal["ADDED", "MODIFIED", "DELETED", "BOOKMARK", "ERROR"]


@dataclass(frozen=True, slots=True)
class WatchEvent:
    type: WatchEventType
    object: Obj


class WatchStream(Protocol):
    def __aiter__(self) -> AsyncIterator[WatchEvent]: ...

    async def close(self) -> None: ...


class ApiClient(Protocol):
    async def get(
        self, res: ResourceInfo, namespace: str | None, name: str, subresource: str = ""
    ) -> Obj | None:
        """The object, or None on 404."""
        ...

    async def list(
        self,
        res: ResourceInfo,
        namespace: str | None = None,
        *,
        label_selector: str = "",
        field_selector: str = "",
        limit: int = 0,
        continue_: str = "",
        resource_version: str = "",
    ) -> Obj:
        """The ``<Kind>List`` object (items, metadata.resourceVersion, metadata.continue)."""
        ...

    async def create(self, res: ResourceInfo, namespace: str | None, obj: Obj) -> Obj: ...

    async def update(self, res: ResourceInfo, namespace: str | None, obj: Obj, subresource: str = "") -> Obj:
        """PUT; a stale metadata.resourceVersion raises StatusError 409 Conflict."""
        ...

    async def patch(
        self,
        res: ResourceInfo,
        namespace: str | None,
        name: str,
        patch: Any,
        patch_type: PatchType = "merge",
        subresource: str = "",
    ) -> Obj: ...

    async def delete(
        self,
        res: ResourceInfo,
        namespace: str | None,
        name: str,
        *,
        grace_period_seconds: int | None = None,
        propagation_policy: str | None = None,
        precondition_uid: str | None = None,
        precondition_resource_version: str | None = None,
    ) -> Obj | None:
        """DELETE; returns the object (still there while finalizers/grace run) or None if gone/404."""
        ...

    def watch(
        self,
        res: ResourceInfo,
        namespace: str | None = None,
        *,
        resource_version: str = "",
        label_selector: str = "",
        field_selector: str = "",
        allow_bookmarks: bool = True,
        timeout_seconds: int | None = None,
    ) -> WatchStream:
        """Events after ``resource_version``. A 410 arrives as StatusError(410) when iterating."""
        ...

    async def close(self) -> None: ...
