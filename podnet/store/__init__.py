"""Revisioned key-value stores with watch: the control plane's only persistence.

Exception tree (all in ``interface``)::

    StoreError
     +-- KeyExistsError      create of a key that exists
     +-- KeyNotFoundError    update/delete of a key that does not exist
     +-- ConflictError       compare-and-swap on a stale mod_revision
     +-- CompactedError      list/watch at a revision older than the last compaction
     +-- StoreUnavailable    the backend cannot be reached
"""

from podnet.store.interface import (
    CompactedError,
    ConflictError,
    Event,
    EventType,
    KeyExistsError,
    KeyNotFoundError,
    KeyValue,
    ListResult,
    Store,
    StoreError,
    StoreUnavailable,
    Watch,
)

__all__ = [
    "CompactedError",
    "ConflictError",
    "Event",
    "EventType",
    "KeyExistsError",
    "KeyNotFoundError",
    "KeyValue",
    "ListResult",
    "Store",
    "StoreError",
    "StoreUnavailable",
    "Watch",
]
