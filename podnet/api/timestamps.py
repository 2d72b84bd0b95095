"""metav1.Time on the wire: RFC 3339 in UTC with second precision (MicroTime also parses)."""

from __future__ import annotations

import datetime as dt
import time


def rfc3339(t: float | None = None) -> str:
    """Epoch seconds (default: now) → ``2026-11-22T11:24:38Z``, as Kubernetes writes metav1.Time."""
    return dt.datetime.fromtimestamp(time.time() if t is None else t, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def micro_time(t: float | None = None) -> str:
    """metav1.MicroTime (Lease renewTime): ``2026-11-22T11:24:38.123456Z``."""
    return dt.datetime.fromtimestamp(time.time() if t is None else t, dt.UTC).strftime(
        "%Y-%m-%dT%H:%M:%S.%fZ"
    )


def parse_time(value: str | None) -> float | None:
    """Epoch seconds of an RFC 3339 timestamp (fractional seconds allowed); None when absent or malformed."""
    if not value:
        return None
    try:
        return dt.datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None
