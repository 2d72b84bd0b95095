"""Run commands inside a lab host: ``podnet exec --host`` and the processes ``podnet up`` starts.

A command runs in the host's network namespace, with its own mount namespace where the host's
``/run/podnet/<lab>/<host>/hosts`` and ``resolv.conf`` are bound over /etc, /sys shows the host's
links, and the hostname is the host's name. ``enter.py`` does the entering in the child itself, then
execs the command, so the child's PID is the command's (record it with ``state.record_process``).
The caller's namespaces never change.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from podnet.lab import netns
from podnet.lab.state import RUN_DIR, LabNotFoundError, host_dir, load_state
from podnet.lab.topology import netns_name

ENTER = str(Path(__file__).resolve().parents[1] / "kernel" / "enter.py")  # shared with pod sandboxes


def host_command(lab: str, host: str, argv: Sequence[str], run_dir: Path = RUN_DIR) -> list[str]:
    """The argv that runs ``argv`` inside ``host`` of ``lab`` (pure)."""
    if not argv:
        raise ValueError("no command given")
    ns_path = str(netns.netns_path(netns_name(lab, host)))
    # -I -S: no site, no user paths, no PYTHON* variables: enter.py needs only the standard library.
    files = str(host_dir(lab, host, run_dir))
    return [
        sys.executable,
        "-I",
        "-S",
        ENTER,
        "--net",
        ns_path,
        "--files",
        files,
        "--hostname",
        host,
        "--",
        *argv,
    ]


def check_host(lab: str, host: str, run_dir: Path = RUN_DIR) -> None:
    """Fail with one clear line unless ``host`` is a host of a lab that exists."""
    state = load_state(lab, run_dir)
    if state is None:
        raise LabNotFoundError(f"lab {lab!r} does not exist (start it with `podnet up --name {lab}`)")
    state.host(host)
    if netns.netns_inode(netns_name(lab, host)) is None:
        raise LabNotFoundError(f"lab {lab!r}: the namespace of host {host!r} is gone; recreate the lab")


def spawn_in_host(
    lab: str,
    host: str,
    argv: Sequence[str],
    *,
    env: Mapping[str, str] | None = None,
    run_dir: Path = RUN_DIR,
    **popen: Any,
) -> subprocess.Popen[Any]:
    """Start ``argv`` inside a lab host and return at once; ``popen`` goes to ``subprocess.Popen``."""
    check_host(lab, host, run_dir)
    environ = dict(os.environ if env is None else env)
    return subprocess.Popen(host_command(lab, host, argv, run_dir), env=environ, **popen)


def exec_in_host(
    lab: str, host: str, argv: Sequence[str], env: Mapping[str, str] | None = None, *, run_dir: Path = RUN_DIR
) -> int:
    """Run ``argv`` inside a lab host with our stdin/stdout/stderr; return its exit code (128+N on signal N)."""
    proc = spawn_in_host(lab, host, argv, env=env, run_dir=run_dir)
    for _ in range(3):
        try:
            return _exit_code(proc.wait())
        except KeyboardInterrupt:
            # The terminal sent SIGINT to the child too; pass it on and wait, as the shells do.
            proc.send_signal(signal.SIGINT)
    proc.kill()
    return _exit_code(proc.wait())


def _exit_code(code: int) -> int:
    return 128 - code if code < 0 else code
