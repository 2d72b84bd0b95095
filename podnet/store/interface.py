"""The Store contract every backend (memory, sqlite, etcd) implements.

The model is etcd's: one global, strictly increasing revision counter; every
mutation gets the next revision; each key remembers the revision that created
it and the one that last modified it. The API server turns ``mod_revision``
into ``metadata.resourceVersion``, so revisions must stay monotonic across
restarts of the server and of the backend.
"""

from __future__ import annotations

import enum
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Protocol


class StoreError(Exception):
    """Base of every store failure."""


class KeyExistsError(StoreError):
    """create() of a key that already exists."""


class KeyNotFoundError(StoreError):
    """update()/delete() of a key that does not exist."""


class ConflictError(StoreError):
    """A compare-and-swap saw a different mod_revision; ``current`` is what is stored now."""

    def __init__(self, message: str, current: KeyValue | None = None) -> None:
        super().__init__(message)
        self.current = current


class CompactedError(StoreError):
    """The asked revision is older than the compaction point; ``compact_revision`` says where it is."""

    def __init__(self, message: str, compact_revision: int = 0) -> None:
        super().__init__(message)
        self.compact_revision = compact_revision


class StoreUnavailable(StoreError):
    """The backend cannot be reached (etcd down, database closed)."""


@dataclass(frozen=True, slots=True)
class KeyValue:
    key: str
    value: bytes
    create_revision: int
    mod_revision: int


class EventType(enum.Enum):
    PUT = "PUT"  # a create (kv.create_revision == kv.mod_revision) or an update
    DELETE = "DELETE"


@dataclass(frozen=True, slots=True)
class Event:
    """One change. ``revision`` is the revision of the change itself.

    For PUT, ``kv`` is the new value and ``prev`` the old one (None on create).
    For DELETE, ``kv`` holds the last value the key had, with ``mod_revision``
    set to the delete's revision (so the API server stamps the DELETED object
    with the resourceVersion of its deletion, as Kubernetes does), and ``prev``
    is the last value as it was stored.
    """

    type: EventType
    kv: KeyValue
    prev: KeyValue | None
    revision: int

    @property
    def is_create(self) -> bool:
        return self.type is EventType.PUT and self.prev is None


@dataclass(frozen=True, slots=True)
class ListResult:
    items: list[KeyValue]  # sorted by key
    revision: int  # the store revision the list reflects
    more: bool  # True when limit cut the list short


class Watch(Protocol):
    """An async iterator of events; ``close()`` ends it (idempotent)."""

    def __aiter__(self) -> AsyncIterator[Event]: ...

    async def close(self) -> None: ...


class Store(Protocol):
    async def get(self, key: str) -> KeyValue | None: ...

    async def list(
        self, prefix: str, *, revision: int = 0, limit: int = 0, start_after: str = ""
    ) -> ListResult:
        """Keys starting with ``prefix`` (sorted), as of ``revision`` (0: now).

        ``start_after`` resumes a paginated list: only keys strictly greater.
        ``limit`` 0 means no limit. Raises CompactedError when ``revision`` is
        older than the compaction point.
        """
        ...

    async def create(self, key: str, value: bytes) -> KeyValue: ...

    async def update(self, key: str, value: bytes, expected_mod_revision: int) -> KeyValue:
        """Compare-and-swap. ``expected_mod_revision`` 0 means unconditional."""
        ...

    async def delete(self, key: str, expected_mod_revision: int = 0) -> KeyValue:
        """Delete; returns the deleted value with ``mod_revision`` = the delete's revision."""
        ...

    def watch(self, prefix: str, from_revision: int) -> Watch:
        """Events on keys under ``prefix`` with revision > ``from_revision``, in order.

        from_revision 0 means "from now". Iterating raises CompactedError at once
        when ``from_revision`` is older than the compaction point.
        """
        ...

    async def current_revision(self) -> int: ...

    async def compact(self, revision: int) -> None:
        """Forget history at or below ``revision`` (current values stay)."""
        ...

    async def close(self) -> None: ...
