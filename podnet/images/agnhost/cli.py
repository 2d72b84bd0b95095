"""agnhost's command line: cobra-style subcommand dispatch, errors and exit codes.

Each subcommand's module is imported only when chosen, so ``pause`` and ``connect`` (run once per probe
by the NetworkPolicy tests) do not pay for the HTTP server's imports.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import TextIO

from podnet.images.agnhost import flags as flagmod


@dataclass(frozen=True)
class Command:
    module: str
    short: str
    max_args: int = 0
    exact_args: int | None = None
    args_hint: str = ""


COMMANDS: dict[str, Command] = {
    "connect": Command(
        "connect", "Attempts a TCP, UDP or SCTP connection and returns useful errors", 1, 1, "[host:port] "
    ),
    "dns-server-list": Command("misc", "Prints the host's configured DNS servers, separated by commas"),
    "dns-suffix": Command("misc", "Prints the host's configured DNS suffix list, separated by commas"),
    "etc-hosts": Command("misc", "Prints the host's /etc/hosts file"),
    "netexec": Command(
        "netexec", "Creates HTTP(S), UDP, and (optionally) SCTP servers with various endpoints"
    ),
    "pause": Command("pause", "Pauses the execution"),
    "serve-hostname": Command("servehostname", "Serves the hostname"),
}

MISC_FLAGS: list[flagmod.Flag] = []


def root_usage() -> str:
    lines = ["Usage:", "  agnhost [command]", "", "Available Commands:"]
    lines += [f"  {name.ljust(16)}{cmd.short}" for name, cmd in sorted(COMMANDS.items())]
    lines += ["", 'Use "agnhost [command] --help" for more information about a command.']
    return "\n".join(lines) + "\n"


def main(argv: list[str], stdout: TextIO | None = None, stderr: TextIO | None = None) -> int:
    out, err = stdout or sys.stdout, stderr or sys.stderr
    if not argv or argv[0] in ("-h", "--help", "help"):
        out.write(root_usage())
        return 0
    name, rest = argv[0], argv[1:]
    command = COMMANDS.get(name)
    if command is None:
        err.write(f'Error: unknown command "{name}" for "agnhost"\nRun \'agnhost --help\' for usage.\n')
        return 1
    module = importlib.import_module(f"podnet.images.agnhost.{command.module}")
    flag_list: list[flagmod.Flag] = getattr(module, "FLAGS", MISC_FLAGS)
    text_usage = flagmod.usage(name, flag_list, command.args_hint)
    try:
        values, args = flagmod.parse(flag_list, rest)
        _check_args(command, args)
    except flagmod.FlagError as exc:
        err.write(f"Error: {exc}\n{text_usage}")
        return 1
    if values["help"]:
        out.write(f"{command.short}\n\n{text_usage}")
        return 0
    return _run(name, module, values, args, err)


def _check_args(command: Command, args: list[str]) -> None:
    if command.exact_args is not None and len(args) != command.exact_args:
        raise flagmod.FlagError(f"accepts {command.exact_args} arg(s), received {len(args)}")
    if command.exact_args is None and len(args) > command.max_args:
        raise flagmod.FlagError(f"accepts at most {command.max_args} arg(s), received {len(args)}")


def _run(name: str, module: object, values: dict[str, object], args: list[str], err: TextIO) -> int:
    if name == "connect":
        outcome = module.connect(  # type: ignore[attr-defined]
            args[0],
            str(values["protocol"]),
            float(str(values["timeout"])),
            str(values["udp-data"]),
            str(values["sctp-data"]),
        )
        err.write(outcome.stderr)
        return int(outcome.code)
    if module.__name__.endswith(".misc"):  # type: ignore[attr-defined]
        runner: Callable[[dict[str, object], list[str]], int] = getattr(module, name.replace("-", "_"))
        return runner(values, args)
    return int(module.run(values))  # type: ignore[attr-defined]
