"""agnhost netexec as a pod runs it: HTTP endpoints, /dial over HTTP and UDP, UDP commands, lifecycle.

Address plan: everything is 127.0.0.1 inside a private namespace (see conftest); netexec keeps its
default ports, 8080/TCP and 8081/UDP, as in a pod.
"""

from __future__ import annotations

import json
import re
import signal
from pathlib import Path

from podnet.images.registry import agnhost_argv
from tests.helpers import wait_until
from tests.integration.images.conftest import POD_HOSTNAME, PYTHON, Netns, body_status

BASE = "http://127.0.0.1:8080"


def start_netexec(netns: Netns, tmp_path: Path, *flags: str) -> None:
    proc = netns.start(agnhost_argv(["netexec", *flags], PYTHON), tmp_path / "netexec.log")
    wait_until(
        lambda: proc.poll() is None and body_status(netns.curl(f"{BASE}/hostname"))[1] == 200,
        timeout=10,
        what="netexec serving",
    )


def get(netns: Netns, path: str) -> tuple[str, int]:
    return body_status(netns.curl(BASE + path))


def test_hostname_clientip_echo_and_unknown_paths(netns: Netns, tmp_path: Path) -> None:
    start_netexec(netns, tmp_path)
    assert get(netns, "/hostname") == (POD_HOSTNAME, 200)
    assert get(netns, "/hostName") == (POD_HOSTNAME, 200)
    body, status = get(netns, "/clientip")
    assert status == 200 and re.fullmatch(r"127\.0\.0\.1:\d+", body), body
    assert get(netns, "/echo?msg=hello%20there") == ("hello there", 200)
    assert get(netns, "/echo?msg=gone&code=404") == ("gone", 404)
    body, status = get(netns, "/no/such/path")
    assert status == 200 and body.startswith("NOW: "), body


def test_dial_http_and_udp_to_itself(netns: Netns, tmp_path: Path) -> None:
    start_netexec(netns, tmp_path)
    body, status = get(netns, "/dial?request=hostname&protocol=http&host=127.0.0.1&port=8080&tries=3")
    assert (json.loads(body), status) == ({"responses": [POD_HOSTNAME] * 3}, 200)
    body, _ = get(netns, "/dial?request=hostname&protocol=udp&host=127.0.0.1&port=8081&tries=2")
    assert json.loads(body) == {"responses": [POD_HOSTNAME] * 2}
    body, _ = get(netns, "/dial?request=clientip&host=127.0.0.1&port=8080")
    (seen,) = json.loads(body)["responses"]
    assert re.fullmatch(r"127\.0\.0\.1:\d+", seen), seen


def test_dial_failures_are_reported_as_go_does(netns: Netns, tmp_path: Path) -> None:
    start_netexec(netns, tmp_path)
    body, status = get(netns, "/dial?request=hostname&protocol=http&host=127.0.0.1&port=9&tries=2")
    refused = 'Get "http://127.0.0.1:9/hostname": dial tcp 127.0.0.1:9: connect: connection refused'
    assert (json.loads(body), status) == ({"errors": [refused, refused]}, 200)
    body, _ = get(netns, "/dial?request=hostname&protocol=udp&host=127.0.0.1&port=9")
    (error,) = json.loads(body)["errors"]
    assert re.fullmatch(
        r"reading from udp connection failed\. err:'read udp 127\.0\.0\.1:\d+->127\.0\.0\.1:9: "
        r"read: connection refused'",
        error,
    ), error
    assert get(netns, "/dial?host=127.0.0.1&port=8080") == ("request parameter not specified. <nil>\n", 400)
    assert get(netns, "/dial?request=x&protocol=icmp&host=127.0.0.1&port=1") == (
        "unsupported protocol. icmp\n",
        400,
    )


def test_udp_commands(netns: Netns, tmp_path: Path) -> None:
    start_netexec(netns, tmp_path)
    assert netns.udp(8081, "hostname").split("\n")[1] == POD_HOSTNAME
    assert netns.udp(8081, "echo Hello World\n").split("\n")[1] == "hello world"  # lower-cased, as in Go
    port, reply = netns.udp(8081, "clientip").split("\n")[:2]
    assert reply == f"127.0.0.1:{port}"


def test_shell_and_header(netns: Netns, tmp_path: Path) -> None:
    start_netexec(netns, tmp_path)
    body, status = get(netns, "/shell?shellCommand=echo%20out%3B%20exit%203")
    assert (json.loads(body), status) == ({"output": "out\n", "error": "exit status 3"}, 200)
    done = netns.curl(f"{BASE}/header?key=X-Probe", "-H", "X-Probe: 42")
    assert body_status(done) == ("42", 200)


def test_sigterm_turns_readyz_503_then_exits_zero(netns: Netns, tmp_path: Path) -> None:
    start_netexec(netns, tmp_path, "--delay-shutdown=3")
    assert get(netns, "/readyz") == ("ok", 200)
    assert get(netns, "/healthz") == ("", 200)
    proc = netns.procs[0]
    proc.send_signal(signal.SIGTERM)
    assert wait_until(lambda: get(netns, "/readyz") == ("shutting down", 503), timeout=5, what="readyz 503")
    assert get(netns, "/healthz") == ("", 200)
    assert wait_until(lambda: proc.poll() is not None, timeout=10, what="exit after the delay")
    assert proc.returncode == 0


def test_exit_endpoint_answers_then_exits_with_the_code(netns: Netns, tmp_path: Path) -> None:
    start_netexec(netns, tmp_path)
    assert get(netns, "/exit?code=3&timeout=2s") == ("", 200)
    proc = netns.procs[0]
    assert wait_until(lambda: proc.poll() is not None, timeout=10, what="exit")
    assert proc.returncode == 3


def test_healthz_stays_412_without_a_udp_server(netns: Netns, tmp_path: Path) -> None:
    start_netexec(netns, tmp_path, "--udp-port=-1")
    assert get(netns, "/healthz") == ("", 412)
    assert get(netns, "/readyz") == ("", 412)


def test_sctp_port_on_a_kernel_without_sctp_is_reported_not_fatal(netns: Netns, tmp_path: Path) -> None:
    start_netexec(netns, tmp_path, "--sctp-port=8082")
    log = (tmp_path / "netexec.log").read_text()
    sctp = netns.agnhost("connect", "127.0.0.1:8082", "--protocol=sctp", "--timeout=2s")
    if "SCTP is not available in this kernel" in log:
        assert (sctp.returncode, sctp.stderr) == (1, "OTHER: protocol not supported\n")
    else:
        assert (sctp.returncode, sctp.stderr) == (0, "")
    assert get(netns, "/healthz") == ("", 200)
