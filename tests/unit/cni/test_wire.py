"""The thin client's framing and its config scan, which must never misread a config into a wrong socket."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest

from podnet.agent.cni import wire
from podnet.agent.cni.main import agent_socket


def test_request_round_trip() -> None:
    env = {b"CNI_COMMAND": b"ADD", b"CNI_ARGS": b"", b"CNI_NETNS": b"/run/netns/a=b"}
    data = wire.encode_request(env, b'{"x": "\\u0000"}\0tail')
    got_env, stdin = wire.decode_request(data)
    assert got_env == {"CNI_COMMAND": "ADD", "CNI_ARGS": "", "CNI_NETNS": "/run/netns/a=b"}
    assert stdin == b'{"x": "\\u0000"}\0tail'


def test_request_without_variables() -> None:
    assert wire.decode_request(wire.encode_request({}, b"{}")) == ({}, b"{}")


@pytest.mark.parametrize(
    "data", [b"", b"HTTP/1.1 GET /", wire.MAGIC + b"CNI_COMMAND=ADD", wire.MAGIC + b"NOEQUALS\0\0"]
)
def test_malformed_requests_are_refused(data: bytes) -> None:
    with pytest.raises(ValueError):
        wire.decode_request(data)


def test_response_round_trip() -> None:
    assert wire.decode_response(wire.encode_response(1, b'{"code": 7}\n')) == (1, b'{"code": 7}\n')
    with pytest.raises(ValueError):
        wire.decode_response(b"garbage")


@pytest.mark.parametrize(
    ("stdin", "expected"),
    [
        (
            json.dumps({"agentSocket": "/run/podnet/lab/node-1/cni.sock"}).encode(),
            b"/run/podnet/lab/node-1/cni.sock",
        ),
        (b'{"agentSocket"  :\n "/s.sock", "x": 1}', b"/s.sock"),
        (b'{"name": "x"}', None),
        (b'{"agentSocket": "relative.sock"}', None),
        (b'{"agentSocket": "/with\\"quote"}', None),  # escapes: leave it to the full parser (standalone)
        (b'{"agentSocket": null}', None),
        (b'{"agentSocket": "/unterminated', None),
        (b"", None),
    ],
)
def test_agent_socket_scan(stdin: bytes, expected: bytes | None) -> None:
    assert agent_socket(stdin) == expected


def test_forward_without_a_listening_server_means_standalone(tmp_path: Path) -> None:
    from podnet.agent.cni.main import forward

    assert forward(str(tmp_path / "absent.sock").encode(), b"{}") is None
    stale = tmp_path / "stale.sock"
    with socket.socket(socket.AF_UNIX) as s:
        s.bind(str(stale))  # bound, never listening: connect is refused
        assert forward(str(stale).encode(), b"{}") is None
