"""metav1.Time on the wire: RFC 3339 in UTC with second precision (MicroTime also parses)."""

from __future__ import annotations

import datetime as dt


def rfc3339(t: float) -> str:
    """Epoch seconds → ``2026-11-22T11:24:38Z``, as Kubernetes writes metav1.Time."""
    return dt.datetime.fromtimestamp(t, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(value: str | None) -> float | None:
    """Epoch seconds of an RFC 3339 timestamp (fractional seconds allowed); None when absent or malformed."""
    if not value:
        return None
    try:
        return dt.datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None
