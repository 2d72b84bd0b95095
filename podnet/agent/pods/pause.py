"""The agent's side of the sandbox zygote (``podnet/kernel/zygote.py``): pause processes on request.

One zygote per agent, started on first use and again whenever it is found dead. Requests go one at
a time (the zygote forks sequentially anyway, ~1 ms each). A request is never retried once sent:
if the zygote dies mid-request, the caller's sync round fails and the next round asks again, so a
pause can never be started twice for one request.
"""

from __future__ import annotations

import asyncio
import json
import socket
import sys
from pathlib import Path

from podnet.kernel.spawn import Child, spawn

ZYGOTE = str(Path(__file__).resolve().parents[2] / "kernel" / "zygote.py")
REPLY_TIMEOUT_S = 10.0


class PauseError(Exception):
    """The pause could not be started; the message says why (for the pod's events)."""


class PauseLauncher:
    def __init__(self) -> None:
        self._sock: socket.socket | None = None
        self._zygote: Child | None = None
        self._lock = asyncio.Lock()

    async def _ensure(self) -> socket.socket:
        if self._sock is not None and self._zygote is not None and self._zygote.returncode is None:
            return self._sock
        await self._stop()
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        try:
            argv = [sys.executable, "-I", "-S", ZYGOTE, "--fd", str(theirs.fileno())]
            # stderr inherited: a zygote that crashes leaves its traceback in the agent's log
            self._zygote = await spawn(argv, stderr=None, pass_fds=(theirs.fileno(),))
        except BaseException:
            ours.close()
            raise
        finally:
            theirs.close()
        ours.setblocking(False)
        self._sock = ours
        return ours

    async def start(
        self,
        net: str,
        files: str | None,
        hostname: str | None,
        argv: list[str] | tuple[str, ...],
        log: str,
        root_files: dict[str, str] | None = None,
    ) -> int:
        """The PID of a new sandbox holder that has exec'd ``argv`` inside its namespaces.

        ``root_files`` ({"/agnhost": script}): files the pod sees at its root, through an overlay of
        the node's root (see enter.new_sandbox); the node's own ``/`` is never written.
        """
        req = {"net": net, "files": files, "hostname": hostname, "argv": list(argv), "log": log}
        if root_files:
            req["rootFiles"] = root_files
        request = json.dumps(req).encode()
        loop = asyncio.get_running_loop()
        async with self._lock:
            try:
                sock = await self._ensure()
                await loop.sock_sendall(sock, request)
                data = await asyncio.wait_for(loop.sock_recv(sock, 65536), REPLY_TIMEOUT_S)
            except (OSError, TimeoutError) as exc:
                await self._stop()
                raise PauseError(f"the sandbox zygote failed: {exc}") from None
            if not data:
                await self._stop()
                raise PauseError("the sandbox zygote exited")
        reply = json.loads(data)
        if "error" in reply:
            raise PauseError(reply["error"])
        return int(reply["pid"])

    async def _stop(self) -> None:
        if self._sock is not None:
            self._sock.close()  # EOF: the zygote returns
            self._sock = None
        if self._zygote is not None:
            zygote, self._zygote = self._zygote, None
            try:
                await asyncio.wait_for(zygote.wait(), 2.0)
            except TimeoutError:
                zygote.kill()
                await zygote.wait()

    async def close(self) -> None:
        """Stop the zygote; the pauses it started live on (their pods still run)."""
        async with self._lock:
            await self._stop()
