"""Recording core/v1 Events about an object, as client-go's EventRecorder does (controllers, the agent)."""

from __future__ import annotations

import logging
import time

from podnet.api.errors import StatusError
from podnet.api.scheme import lookup_plural
from podnet.api.timestamps import rfc3339
from podnet.client.interface import ApiClient, Obj

log = logging.getLogger(__name__)
EVENTS = lookup_plural("events")


async def record_event(
    client: ApiClient, obj: Obj, event_type: str, reason: str, message: str, component: str, now: float
) -> None:
    """Create one Event about ``obj``; failures are logged, never raised (events are best effort)."""
    assert EVENTS is not None
    meta = obj.get("metadata") or {}
    namespace = meta.get("namespace") or "default"
    ts = rfc3339(now)
    event: Obj = {
        # client-go's name: <object>.<unix nanoseconds in hex> (a generateName may not end in '.')
        "metadata": {"name": f"{meta.get('name', 'unknown')}.{time.time_ns():x}", "namespace": namespace},
        "involvedObject": {
            "kind": obj.get("kind", ""),
            "apiVersion": obj.get("apiVersion", ""),
            "name": meta.get("name", ""),
            "namespace": meta.get("namespace", ""),
            "uid": meta.get("uid", ""),
            "resourceVersion": meta.get("resourceVersion", ""),
        },
        "reason": reason,
        "message": message,
        "type": event_type,
        "source": {"component": component},
        "reportingComponent": component,
        "firstTimestamp": ts,
        "lastTimestamp": ts,
        "count": 1,
    }
    try:
        await client.create(EVENTS, namespace, event)
    except StatusError as exc:
        log.warning("could not record event %s on %s: %s", reason, meta.get("name"), exc)
