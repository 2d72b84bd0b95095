"""Child processes started with vfork, their exit awaited on the event loop through a pidfd.

Why not ``asyncio.create_subprocess_exec``: under uvloop it forks the whole agent (libuv's
``uv_spawn``), copying the page tables of a ~75 MB process for every child. Measured here from
a process of that size (bench/spawn_cost.py): 3–4 ms of wall time and 1–1.5 ms of the parent's CPU per spawn, against
0.4 ms and 0.1 ms for ``subprocess.Popen``, which uses vfork when nothing has to run between
fork and exec. A pod start spawns three children (the CNI plugin, the pause, the container), and
in a burst of 100 pods py-spy put a quarter of the agent's busy time inside the spawn call.

``Popen`` itself is synchronous but returns as soon as the child has exec'd; the exit is watched
with a pidfd on the running loop, so nothing blocks and no SIGCHLD handler is involved.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
from collections.abc import Sequence
from typing import IO, Any

DEVNULL = subprocess.DEVNULL
PIPE = subprocess.PIPE

_Target = int | IO[Any] | None


def on_exit(pid: int) -> asyncio.Future[None]:
    """Done when process ``pid`` exits: its pidfd, watched on the running loop (closed when the
    future is done or cancelled). Works for any process, our child or not."""
    loop = asyncio.get_running_loop()
    fd = os.pidfd_open(pid)
    done: asyncio.Future[None] = loop.create_future()

    def close(_: asyncio.Future[None]) -> None:
        loop.remove_reader(fd)
        os.close(fd)

    loop.add_reader(fd, lambda: done.done() or done.set_result(None))
    done.add_done_callback(close)
    return done


class Child:
    """A spawned process; ``wait`` may be awaited from any number of tasks."""

    def __init__(self, popen: subprocess.Popen[bytes]) -> None:
        self._popen = popen
        self.pid = popen.pid
        self._exited: asyncio.Future[int] | None = None  # the reaping, shared by every waiter

    @property
    def returncode(self) -> int | None:
        return self._popen.poll() if self._exited is None else self._popen.returncode

    async def wait(self) -> int:
        """The exit status (negative: killed by that signal), as ``Popen.returncode`` gives it."""
        if self._exited is None:
            self._exited = asyncio.ensure_future(self._reap())
        return await asyncio.shield(self._exited)

    async def _reap(self) -> int:
        if self._popen.poll() is None:
            try:
                await on_exit(self.pid)
            except ProcessLookupError:  # reaped meanwhile (communicate's thread): wait() has the code
                pass
        return self._popen.wait()  # the child has exited: this reaps it, it does not block

    def send_signal(self, sig: int) -> None:
        if self._popen.poll() is None:  # not reaped yet, so the PID is still this child's
            self._popen.send_signal(sig)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)

    async def communicate(self, data: bytes | None, timeout: float) -> tuple[bytes, bytes]:
        """Feed ``data`` and read both pipes to the end, on a worker thread; TimeoutError after ``timeout``."""
        try:
            out, err = await asyncio.to_thread(self._popen.communicate, data, timeout)
        except subprocess.TimeoutExpired:
            raise TimeoutError(f"pid {self.pid} did not finish within {timeout:.0f}s") from None
        return out or b"", err or b""


async def spawn(
    argv: Sequence[str],
    *,
    env: dict[str, str] | None = None,
    stdin: _Target = DEVNULL,
    stdout: _Target = DEVNULL,
    stderr: _Target = DEVNULL,
    start_new_session: bool = False,
    cwd: str | None = None,
    pass_fds: Sequence[int] = (),
) -> Child:
    """Start ``argv``; OSError (FileNotFoundError, PermissionError...) when it cannot be exec'd."""
    popen = subprocess.Popen(
        list(argv),
        env=env,
        stdin=stdin,
        stdout=stdout,
        stderr=stderr,
        start_new_session=start_new_session,
        cwd=cwd,
        close_fds=True,
        pass_fds=tuple(pass_fds),
    )
    return Child(popen)
