"""podnet.kernel.spawn: vfork'd children whose exit is awaited through a pidfd."""

from __future__ import annotations

import asyncio
import signal

import pytest

from podnet.kernel.spawn import PIPE, spawn


async def test_exit_status_is_awaited_by_every_waiter() -> None:
    child = await spawn(["sh", "-c", "sleep 0.05; exit 3"])
    assert child.returncode is None
    first, second = await asyncio.gather(child.wait(), child.wait())
    assert (first, second, child.returncode) == (3, 3, 3)
    assert await child.wait() == 3  # after the fact, too


async def test_a_killed_child_reports_the_signal_and_a_late_kill_is_harmless() -> None:
    child = await spawn(["sleep", "30"], start_new_session=True)
    child.kill()
    assert await child.wait() == -signal.SIGKILL
    child.kill()  # reaped: the PID may belong to someone else now, so nothing is sent


async def test_communicate_feeds_stdin_and_reads_both_pipes() -> None:
    child = await spawn(["sh", "-c", "tr a-z A-Z; echo oops >&2"], stdin=PIPE, stdout=PIPE, stderr=PIPE)
    out, err = await child.communicate(b"hello\n", 5)
    assert (out, err, await child.wait()) == (b"HELLO\n", b"oops\n", 0)


async def test_communicate_times_out_and_the_child_can_still_be_killed() -> None:
    child = await spawn(["sleep", "30"], stdin=PIPE, stdout=PIPE, stderr=PIPE)
    with pytest.raises(TimeoutError):
        await child.communicate(b"", 0.1)
    child.kill()
    assert await child.wait() == -signal.SIGKILL


async def test_a_missing_program_raises_at_spawn() -> None:
    with pytest.raises(FileNotFoundError):
        await spawn(["/nonexistent/podnet-test-binary"])


async def test_the_environment_is_exactly_what_was_given() -> None:
    child = await spawn(["/usr/bin/env"], env={"ONLY": "this"}, stdout=PIPE)
    out, _ = await child.communicate(None, 5)
    assert out == b"ONLY=this\n"
