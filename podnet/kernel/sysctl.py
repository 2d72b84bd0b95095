"""sysctl reads and writes in the calling process's own network namespace (``/proc/sys`` is per netns)."""

from __future__ import annotations


def sysctl_path(key: str) -> str:
    parts = key.split(".")
    if not all(parts) or any(p in ("..", ".") or "/" in p for p in parts):
        raise ValueError(f"bad sysctl key {key!r}")
    return "/proc/sys/" + "/".join(parts)


def read_sysctl(key: str) -> str:
    with open(sysctl_path(key), encoding="ascii") as f:
        return f.read().strip()


def ensure_sysctl(key: str, value: str) -> bool:
    """Set ``key`` to ``value`` unless it already has it; True when it was written."""
    if read_sysctl(key) == value:
        return False
    with open(sysctl_path(key), "w", encoding="ascii") as f:
        f.write(value)
    return True
