"""Container logs as kubelet serves them to the API server (``kubectl logs``), from the agent's files.

Each run of a container writes ``<pod dir>/logs/<container>/<restart count>.log``; the current log is
the newest, ``previous`` the one before. ``follow`` streams what the container writes until it exits
or the client goes away.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

FOLLOW_POLL_S = 0.2
CHUNK = 65536


def run_logs(pod_dir: Path, container: str) -> list[Path]:
    """The container's log files, oldest run first."""
    d = pod_dir / "logs" / container
    files = [p for p in d.glob("*.log") if p.stem.isdigit()]
    return sorted(files, key=lambda p: int(p.stem))


def tail_bytes(data: bytes, lines: int | None) -> bytes:
    if lines is None:
        return data
    if lines <= 0:
        return b""
    parts = data.splitlines(keepends=True)
    return b"".join(parts[-lines:])


async def stream_log(
    path: Path,
    tail_lines: int | None,
    follow: bool,
    still_running: callable,
    limit_bytes: int | None = None,  # type: ignore[valid-type]
) -> AsyncIterator[bytes]:
    """The log's bytes (last ``tail_lines`` lines), then, with ``follow``, new bytes as they come."""
    with open(path, "rb") as f:
        data = tail_bytes(f.read(), tail_lines)
        sent = 0
        if data:
            if limit_bytes is not None:
                data = data[:limit_bytes]
            sent += len(data)
            yield data
        while follow and (limit_bytes is None or sent < limit_bytes):
            chunk = f.read(CHUNK)
            if chunk:
                sent += len(chunk)
                yield chunk
                continue
            if not still_running():
                rest = f.read()
                if rest:
                    yield rest
                return
            await asyncio.sleep(FOLLOW_POLL_S)
