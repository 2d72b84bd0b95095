"""agnhost connect, serve-hostname and pause, the /agnhost shim, and the nginx image, run for real.

Address plan: 127.0.0.1 inside a private namespace; 10.9.0.0/24 is routed to ``lo`` there, so a SYN to
10.9.0.2 loops back to a namespace that does not own the address and is never answered: a timeout
without any filtering rule.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
from pathlib import Path

import pytest

from podnet.images.registry import agnhost_argv, agnhost_shim_script, resolve_image
from tests.helpers import wait_until
from tests.integration.images.conftest import POD_HOSTNAME, PYTHON, Netns, body_status


def serving(netns: Netns, proc: subprocess.Popen[bytes], url: str) -> None:
    wait_until(
        lambda: proc.poll() is None and body_status(netns.curl(url))[1] == 200, timeout=10, what=f"{url} up"
    )


def test_connect_success_refused_timeout(netns: Netns, tmp_path: Path) -> None:
    proc = netns.start(agnhost_argv(["netexec"], PYTHON), tmp_path / "netexec.log")
    serving(netns, proc, "http://127.0.0.1:8080/healthz")
    ok = netns.agnhost("connect", "127.0.0.1:8080", "--timeout=1s")
    assert (ok.returncode, ok.stderr) == (0, "")
    refused = netns.agnhost("connect", "127.0.0.1:9", "--timeout=1s")
    assert (refused.returncode, refused.stderr) == (1, "REFUSED\n")
    subprocess.run(["ip", "-n", netns.name, "route", "add", "10.9.0.0/24", "dev", "lo"], check=True)
    timeout = netns.agnhost("connect", "10.9.0.2:80", "--timeout=1s")
    assert (timeout.returncode, timeout.stderr) == (1, "TIMEOUT\n")
    other = netns.agnhost("connect", "10.77.0.1:80", "--timeout=1s")
    assert (other.returncode, other.stderr) == (
        1,
        "OTHER: dial tcp 10.77.0.1:80: connect: network is unreachable\n",
    )


def test_connect_udp_needs_an_answer(netns: Netns, tmp_path: Path) -> None:
    proc = netns.start(agnhost_argv(["netexec"], PYTHON), tmp_path / "netexec.log")
    serving(netns, proc, "http://127.0.0.1:8080/healthz")
    ok = netns.agnhost("connect", "127.0.0.1:8081", "--protocol=udp", "--timeout=1s")
    assert (ok.returncode, ok.stderr) == (0, "")
    refused = netns.agnhost("connect", "127.0.0.1:9", "--protocol=udp", "--timeout=1s")
    assert refused.returncode == 1
    assert re.fullmatch(
        r"REFUSED: read udp 127\.0\.0\.1:\d+->127\.0\.0\.1:9: read: connection refused\n", refused.stderr
    )


def test_serve_hostname_http_tcp_udp(netns: Netns, tmp_path: Path) -> None:
    http = netns.start(agnhost_argv(["serve-hostname"], PYTHON), tmp_path / "http.log")
    serving(netns, http, "http://127.0.0.1:9376/")
    assert body_status(netns.curl("http://127.0.0.1:9376/any/path")) == (POD_HOSTNAME, 200)
    raw = netns.start(
        agnhost_argv(["serve-hostname", "--tcp", "--udp", "--http=false", "--port=9377"], PYTHON),
        tmp_path / "raw.log",
    )
    wait_until(
        lambda: "Serving on port 9377" in (tmp_path / "raw.log").read_text(), timeout=10, what="raw up"
    )
    assert raw.poll() is None
    tcp = netns.run(["curl", "-sS", "--max-time", "5", "telnet://127.0.0.1:9377"])
    assert tcp.stdout == POD_HOSTNAME
    assert netns.udp(9377, "x").split("\n")[1] == POD_HOSTNAME


def test_serve_hostname_refuses_http_with_raw_modes(netns: Netns) -> None:
    done = netns.agnhost("serve-hostname", "--udp")
    assert done.returncode == 1
    assert done.stderr.endswith("Can't server TCP/UDP mode and HTTP mode at the same time\n")


@pytest.mark.parametrize(("signum", "code"), [(signal.SIGTERM, 2), (signal.SIGINT, 1)])
def test_pause_exit_codes(netns: Netns, tmp_path: Path, signum: signal.Signals, code: int) -> None:
    log = tmp_path / "pause.log"
    proc = netns.start(agnhost_argv(["pause"], PYTHON), log)
    wait_until(lambda: log.read_text() == "Paused\n", timeout=10, what="Paused")
    proc.send_signal(signum)
    assert proc.wait(timeout=10) == code
    assert log.read_text() == f"Paused\nexiting {code}\n"


def test_agnhost_shim_runs_the_builtin(netns: Netns, tmp_path: Path) -> None:
    shim = tmp_path / "agnhost"
    shim.write_text(agnhost_shim_script(PYTHON))
    os.chmod(shim, 0o755)
    done = netns.run([str(shim), "connect", "127.0.0.1:9", "--timeout=1s"])
    assert (done.returncode, done.stderr) == (1, "REFUSED\n")


def test_nginx_image_serves_the_welcome_page(netns: Netns, tmp_path: Path) -> None:
    argv = resolve_image("docker.io/library/nginx:1.27", None, None, python=PYTHON)
    assert isinstance(argv, list)
    proc = netns.start(argv, tmp_path / "nginx.log")
    serving(netns, proc, "http://127.0.0.1:80/")
    body, status = body_status(netns.curl("http://127.0.0.1/"))
    assert status == 200 and "<title>Welcome to nginx!</title>" in body
    assert body_status(netns.curl("http://127.0.0.1/missing"))[1] == 404
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=10) == 0
