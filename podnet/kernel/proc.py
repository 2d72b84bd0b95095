"""Processes by PID, safely: a PID is only ours while its start time matches what we recorded."""

from __future__ import annotations

import os
import signal
from pathlib import Path


def start_ticks(pid: int) -> int | None:
    """The process start time in clock ticks since boot, or None if there is no such process."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    # comm (field 2) may hold spaces and parentheses: split after its last ')'.
    fields = stat[stat.rindex(")") + 2 :].split()
    if fields and fields[0] == "Z":  # a zombie has exited already
        return None
    return int(fields[19])


def same_process(pid: int, ticks: int) -> bool:
    return pid > 0 and start_ticks(pid) == ticks


def signal_if_same(pid: int, ticks: int, sig: int = signal.SIGTERM) -> bool:
    """Signal ``pid`` only if it is still the process started at ``ticks`` (PIDs are reused)."""
    if not same_process(pid, ticks):
        return False
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        return False
    return True
