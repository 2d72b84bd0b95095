"""The pflag grammar, Go durations, Go host:port splitting and agnhost's subcommand dispatch (no sockets)."""

from __future__ import annotations

import io

import pytest

from podnet.images.agnhost import cli, flags
from podnet.images.agnhost.flags import Flag, FlagError, format_duration, parse, parse_duration
from podnet.images.agnhost.gostyle import go_json, split_host_port

SPEC = [
    Flag("http-port", "int", 8080, ""),
    Flag("udp", "bool", False, ""),
    Flag("http", "bool", True, ""),
    Flag("timeout", "duration", 0.0, ""),
    Flag("protocol", "str", "tcp", ""),
]


@pytest.mark.parametrize(
    ("argv", "changed", "positional"),
    [
        ([], {}, []),
        (["--http-port=9000"], {"http-port": 9000}, []),
        (["--http-port", "0x10"], {"http-port": 16}, []),
        (["--udp", "--http=false"], {"udp": True, "http": False}, []),
        (
            ["10.0.0.1:80", "--timeout=1.5s", "--protocol", "udp"],
            {"timeout": 1.5, "protocol": "udp"},
            ["10.0.0.1:80"],
        ),
        (["--", "--udp"], {}, ["--udp"]),
        (["-h"], {"help": True}, []),
    ],
)
def test_parse(argv: list[str], changed: dict[str, object], positional: list[str]) -> None:
    values, args = parse(SPEC, argv)
    defaults = {f.name: f.default for f in SPEC} | {"help": False}
    assert (values, args) == (defaults | changed, positional)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--nope"], "unknown flag: --nope"),
        (["-x"], "unknown shorthand flag: 'x' in -x"),
        (["--http-port"], "flag needs an argument: --http-port"),
        (
            ["--http-port=abc"],
            'invalid argument "abc" for "--http-port" flag: strconv.ParseInt: parsing "abc": invalid syntax',
        ),
        (
            ["--udp=maybe"],
            'invalid argument "maybe" for "--udp" flag: strconv.ParseBool: parsing "maybe": invalid syntax',
        ),
        (["--timeout=5"], 'invalid argument "5" for "--timeout" flag: time: missing unit in duration "5"'),
        (["--timeout=x"], 'invalid argument "x" for "--timeout" flag: time: invalid duration "x"'),
    ],
)
def test_parse_errors(argv: list[str], message: str) -> None:
    with pytest.raises(FlagError) as err:
        parse(SPEC, argv)
    assert str(err.value) == message


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("0", 0.0),
        ("1s", 1.0),
        ("500ms", 0.5),
        ("1m30s", 90.0),
        ("1.5h", 5400.0),
        ("-2s", -2.0),
        ("250us", 0.00025),
    ],
)
def test_parse_duration(text: str, seconds: float) -> None:
    assert parse_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize(
    ("seconds", "text"), [(0, "0s"), (1, "1s"), (1.5, "1.5s"), (0.5, "500ms"), (60, "1m0s"), (3661, "1h1m1s")]
)
def test_format_duration(seconds: float, text: str) -> None:
    assert format_duration(seconds) == text


@pytest.mark.parametrize(
    ("address", "result"),
    [
        ("10.0.0.1:80", ("10.0.0.1", "80")),
        ("[fd00::1]:8080", ("fd00::1", "8080")),
        ("svc.ns.svc.cluster.local:http", ("svc.ns.svc.cluster.local", "http")),
        (":80", ("", "80")),
        ("10.0.0.1", "address 10.0.0.1: missing port in address"),
        ("fd00::1:80", "address fd00::1:80: too many colons in address"),
        ("[fd00::1", "address [fd00::1: missing ']' in address"),
    ],
)
def test_split_host_port(address: str, result: tuple[str, str] | str) -> None:
    if isinstance(result, tuple):
        assert split_host_port(address) == result
    else:
        with pytest.raises(ValueError) as err:
            split_host_port(address)
        assert str(err.value) == result


def test_go_json_sorts_keys_and_escapes_html() -> None:
    assert (
        go_json({"responses": ["<a&b>"], "errors": ["é"]})
        == '{"errors":["é"],"responses":["\\u003ca\\u0026b\\u003e"]}'
    )


def run_cli(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = cli.main(list(argv), out, err)
    return code, out.getvalue(), err.getvalue()


def test_unknown_subcommand_exits_1_with_cobra_wording() -> None:
    assert run_cli("frobnicate") == (
        1,
        "",
        'Error: unknown command "frobnicate" for "agnhost"\nRun \'agnhost --help\' for usage.\n',
    )


def test_no_subcommand_prints_usage_and_succeeds() -> None:
    code, out, err = run_cli()
    assert (code, err) == (0, "")
    listed = [
        line.split()[0]
        for line in out.splitlines()
        if line.startswith("  ") and not line.startswith("  agnhost")
    ]
    assert listed == sorted(cli.COMMANDS)


def test_connect_argument_errors() -> None:
    code, out, err = run_cli("connect")
    assert (code, out, err.splitlines()[0]) == (1, "", "Error: accepts 1 arg(s), received 0")
    code, out, err = run_cli("connect", "10.0.0.1:80", "--timeout=soon")
    assert (
        err.splitlines()[0]
        == 'Error: invalid argument "soon" for "--timeout" flag: time: invalid duration "soon"'
    )


def test_connect_classifies_bad_addresses_without_network() -> None:
    assert run_cli("connect", "10.0.0.1") == (1, "", "UNKNOWN: address 10.0.0.1: missing port in address\n")
    assert run_cli("connect", "10.0.0.1:80", "--protocol=icmp") == (1, "", "Unsupported protocol\nicmp")
    assert run_cli("connect", "10.0.0.1:nope") == (1, "", "DNS: lookup tcp/nope: unknown port\n")


def test_netexec_rejects_positional_args() -> None:
    code, _, err = run_cli("netexec", "extra")
    assert (code, err.splitlines()[0]) == (1, "Error: accepts at most 0 arg(s), received 1")


def test_subcommand_help_lists_its_flags() -> None:
    code, out, _ = run_cli("pause", "--help")
    assert code == 0
    assert out.splitlines()[:4] == ["Pauses the execution", "", "Usage:", "  agnhost pause [flags]"]
    assert any(line.lstrip().startswith("--delay-shutdown int") for line in out.splitlines())
    assert flags.usage("pause", []).startswith("Usage:\n  agnhost pause [flags]\n")
