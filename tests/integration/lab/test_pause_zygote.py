"""The sandbox zygote against a real kernel: pauses forked into a pod's namespaces, errors, restarts."""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
from pathlib import Path

import pytest

from podnet.agent.pods.pause import PauseError, PauseLauncher
from podnet.kernel import proc

pytestmark = pytest.mark.integration

PAUSE = ["/bin/sleep", "infinity"]


@pytest.fixture
def netns_name():
    ns = f"pn-zy-{secrets.token_hex(3)}"
    subprocess.run(["ip", "netns", "add", ns], check=True)
    yield ns
    subprocess.run(["ip", "netns", "del", ns], check=False)


@pytest.fixture
async def launcher():
    started: list[int] = []
    pauses = PauseLauncher()
    yield pauses, started
    for pid in started:
        ticks = proc.start_ticks(pid)
        if ticks is not None:
            proc.signal_if_same(pid, ticks, signal.SIGKILL)
    await pauses.close()


def in_pod(pid: int, *argv: str) -> str:
    cmd = ["nsenter", "-t", str(pid), "-n", "-u", "-m", "--", *argv]
    return subprocess.run(cmd, capture_output=True, text=True, check=True, timeout=10).stdout


async def test_a_pause_holds_the_pods_network_uts_and_mount_namespaces(netns_name, launcher, tmp_path: Path):
    pauses, started = launcher
    (tmp_path / "hosts").write_text("10.244.9.9 zygote-pod\n")
    (tmp_path / "resolv.conf").write_text("nameserver 10.96.0.10\nsearch default.svc.cluster.local\n")
    pid = await pauses.start(
        f"/run/netns/{netns_name}", str(tmp_path), "zygote-pod", PAUSE, str(tmp_path / "log")
    )
    started.append(pid)

    assert os.readlink(f"/proc/{pid}/exe").endswith("sleep")  # answered only after the exec
    assert os.stat(f"/proc/{pid}/ns/net").st_ino == os.stat(f"/run/netns/{netns_name}").st_ino
    assert os.stat(f"/proc/{pid}/ns/uts").st_ino != os.stat("/proc/self/ns/uts").st_ino
    assert os.getsid(pid) == pid  # its own session: it outlives the zygote and the agent
    ignored = int(
        next(
            x for x in Path(f"/proc/{pid}/status").read_text().splitlines() if x.startswith("SigIgn:")
        ).split()[1],
        16,
    )
    assert not ignored & (1 << (signal.SIGPIPE - 1))  # Python's SIGPIPE ignore is not inherited
    assert in_pod(pid, "hostname").strip() == "zygote-pod"
    assert "zygote-pod" in in_pod(pid, "cat", "/etc/hosts")
    assert "10.96.0.10" in in_pod(pid, "cat", "/etc/resolv.conf")
    assert "UP" in in_pod(pid, "ip", "link", "show", "lo")
    # the host's own files are untouched
    assert "zygote-pod" not in Path("/etc/hosts").read_text()


async def test_errors_are_reported_and_leave_no_process(netns_name, launcher, tmp_path: Path):
    pauses, started = launcher
    with pytest.raises(PauseError, match=r"pn-zy-absent"):
        await pauses.start("/run/netns/pn-zy-absent", None, None, PAUSE, str(tmp_path / "log"))
    with pytest.raises(PauseError, match="not-a-binary"):
        await pauses.start(
            f"/run/netns/{netns_name}", None, None, ["/nonexistent/not-a-binary"], str(tmp_path / "log")
        )
    with pytest.raises(PauseError, match="bad request"):
        await pauses.start(f"/run/netns/{netns_name}", None, None, [], str(tmp_path / "log"))
    # after all that nothing of the failed children is left (reaped), and the zygote still serves
    assert pauses._zygote is not None
    children = Path(f"/proc/{pauses._zygote.pid}/task/{pauses._zygote.pid}/children").read_text()
    assert children.split() == []
    pid = await pauses.start(f"/run/netns/{netns_name}", None, "ok", PAUSE, str(tmp_path / "log"))
    started.append(pid)
    assert in_pod(pid, "hostname").strip() == "ok"


async def test_a_dead_zygote_is_restarted_on_the_next_request(netns_name, launcher, tmp_path: Path):
    pauses, started = launcher
    first = await pauses.start(f"/run/netns/{netns_name}", None, None, PAUSE, str(tmp_path / "log"))
    started.append(first)
    zygote = pauses._zygote
    assert zygote is not None
    zygote.kill()
    await zygote.wait()
    second = await pauses.start(f"/run/netns/{netns_name}", None, None, PAUSE, str(tmp_path / "log"))
    started.append(second)
    assert pauses._zygote is not zygote and second != first
    assert proc.start_ticks(first) is not None  # the first pause outlived its zygote


async def test_root_files_appear_in_the_pods_own_root_only(netns_name, launcher, tmp_path: Path):
    pauses, started = launcher
    name = f"/pn-zy-{secrets.token_hex(3)}"  # a path the node must never get
    script = '#!/bin/sh\necho from-the-image "$@"\n'
    pid = await pauses.start(f"/run/netns/{netns_name}", str(tmp_path), "ov", PAUSE, str(tmp_path / "log"),
                             root_files={name: script})  # fmt: skip
    started.append(pid)
    assert in_pod(pid, "sh", "-c", f"{name} works").strip() == "from-the-image works"
    in_pod(pid, "sh", "-c", f"echo x > {name}-written")  # writes land in the pod's overlay
    assert not os.path.exists(name) and not os.path.exists(f"{name}-written")
    assert in_pod(pid, "hostname").strip() == "ov" and "UP" in in_pod(pid, "ip", "link", "show", "lo")
    assert in_pod(pid, "cat", "/proc/self/status")  # /proc, /dev... are still there
    with pytest.raises(PauseError, match="rootFiles"):
        await pauses.start(f"/run/netns/{netns_name}", str(tmp_path), None, PAUSE, str(tmp_path / "log"),
                           root_files={"/etc/passwd": "no"})  # fmt: skip
