"""The lab directory's tmpfs against a real kernel, in a private mount namespace of a child process."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

# unshare -m: the mounts below exist only in the child's own mount namespace and die with it
SCRIPT = """
import os, sys
from podnet.kernel.named_netns import fs_type, mount_tmpfs
d = sys.argv[1]
before = fs_type(d)
first, second = mount_tmpfs(d), mount_tmpfs(d)  # the second finds a tmpfs already
print(before, fs_type(d), first, second, oct(os.stat(d).st_mode & 0o777))
"""


def test_mount_tmpfs_mounts_once_and_is_seen_as_tmpfs(tmp_path: Path) -> None:
    d = tmp_path / "lab"
    d.mkdir()
    root = str(Path(__file__).resolve().parents[3])
    out = subprocess.run(
        ["unshare", "-m", "--propagation", "private", sys.executable, "-c", SCRIPT, str(d)],
        capture_output=True, text=True, check=True, timeout=30, cwd=root,
    ).stdout.split()  # fmt: skip
    assert out[1:] == ["tmpfs", "True", "False", "0o755"] and out[0] != "tmpfs"
    with open("/proc/self/mountinfo") as f:
        assert str(d) not in f.read()  # nothing reached this (the host's) mount namespace
