"""netexec's handlers and command servers as functions: Requests in, Responses out, exits recorded.

Address plan: clients 10.244.1.7 (pods), servers 10.244.2.9; nothing is dialled except through fakes.
"""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import parse_qs

import pytest

from podnet.images.agnhost import dial
from podnet.images.agnhost.netexec import command_reply, parse_addresses
from podnet.images.agnhost.netexec_http import NetexecState, dial_many, make_handler
from podnet.images.httpserver import Request, Response, split_target


class Exits:
    """Records what the handlers asked for instead of ending the test process."""

    def __init__(self) -> None:
        self.codes: list[int] = []
        self.graceful: list[tuple[int, float]] = []
        self.slept: list[float] = []


def make_state(exits: Exits) -> NetexecState:
    return NetexecState(
        hostname=lambda: "web-0",
        exit=exits.codes.append,
        graceful_exit=lambda code, timeout: exits.graceful.append((code, timeout)),
        sleep=exits.slept.append,
        log=lambda _msg: None,
    )


def request(
    target: str, method: str = "GET", headers: dict[str, str] | None = None, body: bytes = b""
) -> Request:
    path, query = split_target(target)
    return Request(
        method=method,
        target=target,
        path=path,
        query=parse_qs(query, keep_blank_values=True),
        headers=headers or {},
        body=body,
        remote=("10.244.1.7", 40123),
    )


def call(state: NetexecState, target: str, **kw: object) -> Response | None:
    return make_handler(state)(request(target, **kw))  # type: ignore[arg-type]


def answer(resp: Response | None) -> tuple[int, str]:
    assert resp is not None
    return resp.status, resp.body.decode()


@pytest.fixture
def exits() -> Exits:
    return Exits()


@pytest.fixture
def state(exits: Exits) -> NetexecState:
    return make_state(exits)


@pytest.mark.parametrize(
    ("target", "want"),
    [
        ("/hostname", (200, "web-0")),
        ("/hostName", (200, "web-0")),
        ("/clientip", (200, "10.244.1.7:40123")),
        ("/echo?msg=hi%20there", (200, "hi there")),
        ("/echo?msg=x&code=503", (503, "x")),
        ("/echo?msg=x&code=abc", (200, "argument 'code' must be an integer or empty, got \"abc\"\n")),
        ("/healthz", (412, "")),
        ("/readyz", (412, "")),
        ("/dial?host=10.244.2.9&port=8080", (400, "request parameter not specified. <nil>\n")),
        (
            "/dial?request=x&tries=two",
            (400, 'tries parameter is invalid. strconv.Atoi: parsing "two": invalid syntax\n'),
        ),
        ("/dial?request=x&protocol=icmp", (400, "unsupported protocol. icmp\n")),
        (
            "/dial?request=x&host=10.244.2.9&port=nope",
            (400, "host and/or port param are invalid. lookup tcp/nope: unknown port\n"),
        ),
        ("/dial?request=hostname&host=10.244.2.9&port=8080&tries=0", (200, "{}")),
        (
            "/exit?timeout=soon",
            (200, "argument 'timeout' must be a valid golang duration or empty, got \"soon\"\n"),
        ),
    ],
)
def test_simple_endpoints(state: NetexecState, target: str, want: tuple[int, str]) -> None:
    assert answer(call(state, target)) == want


def test_unknown_paths_get_the_timestamp(state: NetexecState) -> None:
    status, body = answer(call(state, "/whatever"))
    assert status == 200 and body.startswith("NOW: ") and " m=+" in body


def test_readiness_follows_the_servers_and_sigterm(state: NetexecState) -> None:
    state.ready.set()
    assert (answer(call(state, "/healthz")), answer(call(state, "/readyz"))) == ((200, ""), (200, "ok"))
    state.terminating.set()
    assert (answer(call(state, "/healthz")), answer(call(state, "/readyz"))) == (
        (200, ""),
        (503, "shutting down"),
    )


def test_shutdown_exits_zero_without_answering(state: NetexecState, exits: Exits) -> None:
    assert call(state, "/shutdown") is None
    assert exits.codes == [0]


def test_exit_without_timeout_is_immediate(state: NetexecState, exits: Exits) -> None:
    assert call(state, "/exit?code=7&wait=2s") is None
    assert (exits.codes, exits.slept) == ([7], [2.0])


def test_exit_with_timeout_answers_then_shuts_down(state: NetexecState, exits: Exits) -> None:
    resp = call(state, "/exit?code=3&timeout=1500ms")
    assert resp is not None and (resp.status, resp.close) == (200, True)
    assert exits.graceful == []
    assert resp.after is not None
    resp.after()
    assert exits.graceful == [(3, 1.5)]


def test_form_values_from_a_post_body_win_over_the_query(state: NetexecState) -> None:
    resp = call(
        state,
        "/echo?msg=query",
        method="POST",
        headers={"content-type": "application/x-www-form-urlencoded"},
        body=b"msg=body",
    )
    assert answer(resp) == (200, "body")


def test_header_endpoint(state: NetexecState) -> None:
    headers = {"x-forwarded-for": "203.0.113.9", "user-agent": "probe/1", "host": "svc"}
    assert answer(call(state, "/header?key=X-Forwarded-For", headers=headers)) == (200, "203.0.113.9")
    _, body = answer(call(state, "/header", headers=headers))
    assert json.loads(body) == {"X-Forwarded-For": ["203.0.113.9"], "User-Agent": ["probe/1"]}


def test_http_override_serves_one_path_for_all(exits: Exits) -> None:
    handler = make_handler(make_state(exits), override="/echo?msg=fixed")
    assert answer(handler(request("/hostname"))) == (200, "fixed")


def test_redirect(state: NetexecState) -> None:
    resp = call(state, "/redirect?location=/echo%3Fmsg%3Dx&code=307")
    assert resp is not None
    assert (resp.status, dict(resp.headers)["Location"]) == (307, "/echo?msg=x")


def test_shell_runs_through_sh(state: NetexecState) -> None:
    assert json.loads(answer(call(state, "/shell?cmd=printf%20ok"))[1]) == {"output": "ok"}
    assert json.loads(answer(call(state, "/shell?shellCommand=exit%204"))[1]) == {"error": "exit status 4"}


def scripted(*outcomes: str | None) -> dial.DialError | object:
    """A dialer that answers each try from the script; None is a failure."""
    queue = list(outcomes)

    def dialer(request: str, addr: tuple[int, tuple[str, int]]) -> str:
        outcome = queue.pop(0)
        if outcome is None:
            raise dial.DialError(f"failed {request}")
        return outcome

    return dialer


@pytest.mark.parametrize(
    ("script", "want"),
    [
        (("a", "b"), {"responses": ["a", "b"]}),
        (("a", None), {"errors": ["failed hostname"]}),  # the last try failed: Go drops responses
        ((None, "b"), {"responses": ["b"], "errors": ["failed hostname"]}),
        ((None,), {"errors": ["failed hostname"]}),
    ],
)
def test_dial_many_keeps_gos_quirks(script: tuple[str | None, ...], want: dict[str, list[str]]) -> None:
    assert dial_many(scripted(*script), "hostname", (2, ("10.244.2.9", 8080)), len(script)) == want  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("message", "reply"),
    [
        (b"hostname", b"web-0"),
        (b"  HOSTNAME\n", b"web-0"),
        (b"echo Hello World", b"hello world"),
        (b"echo ", None),  # trimmed to "echo" first, which is no command
        (b"clientip", b"10.244.1.7:40123"),
        (b"what", None),
    ],
)
def test_command_reply(message: bytes, reply: bytes | None) -> None:
    assert command_reply(message, "10.244.1.7:40123", "web-0") == reply


def test_parse_addresses() -> None:
    assert parse_addresses("") == [""]
    assert parse_addresses("10.0.0.2,::1,10.0.0.2") == ["10.0.0.2", "::1"]
    with pytest.raises(ValueError, match="parseAddress: invalid address nope"):
        parse_addresses("10.0.0.1,nope")


def test_upload_writes_the_file_part(state: NetexecState, tmp_path: Path) -> None:
    state.uploads = str(tmp_path)
    body = (
        b'--XyZ\r\nContent-Disposition: form-data; name="file"; filename="a.txt"\r\n'
        b"Content-Type: text/plain\r\n\r\npayload\r\n--XyZ--\r\n"
    )
    resp = call(
        state,
        "/upload",
        method="POST",
        headers={"content-type": "multipart/form-data; boundary=XyZ"},
        body=body,
    )
    status, text = answer(resp)
    path = Path(json.loads(text)["output"])
    assert (status, path.parent, path.read_bytes(), path.stat().st_mode & 0o777) == (
        201,
        tmp_path,
        b"payload",
        0o700,
    )
    assert answer(call(state, "/upload", method="POST")) == (200, '{"error":"Unable to upload file."}')
