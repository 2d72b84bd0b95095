"""Command-line flags parsed as spf13/pflag (cobra) parses them, with the same error wording.

agnhost users write flags the Go way: ``--http-port=8080`` or ``--http-port 8080``, booleans as ``--udp`` or
``--http=false``, durations as ``1s``/``500ms``. The e2e tests and manifests depend on that grammar, so it is
reproduced here rather than approximated with argparse (which also costs an import at every container start).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

Kind = Literal["int", "str", "bool", "duration"]


class FlagError(Exception):
    """Bad command line; the message is cobra's text after ``Error: ``."""


@dataclass(frozen=True)
class Flag:
    name: str
    kind: Kind
    default: object
    usage: str


_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "μs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}
_DURATION_PART = re.compile(r"(\d+\.?\d*|\.\d+)(ns|us|µs|μs|ms|s|m|h)")


def parse_duration(text: str) -> float:
    """Go's ``time.ParseDuration``, in seconds: ``1s``, ``1.5m``, ``1h30m``, ``-2ms``, ``0``."""
    s = text
    sign = 1.0
    if s[:1] in "+-" and s:
        sign = -1.0 if s[0] == "-" else 1.0
        s = s[1:]
    if s == "0":
        return 0.0
    if not s:
        raise ValueError(f'time: invalid duration "{text}"')
    total = 0.0
    pos = 0
    while pos < len(s):
        match = _DURATION_PART.match(s, pos)
        if match is None:
            if re.match(r"\d+\.?\d*$|\.\d+$", s[pos:]):
                raise ValueError(f'time: missing unit in duration "{text}"')
            raise ValueError(f'time: invalid duration "{text}"')
        total += float(match.group(1)) * _UNITS[match.group(2)]
        pos = match.end()
    return sign * total


def format_duration(seconds: float) -> str:
    """Go's ``Duration.String`` for the values agnhost logs: ``0s``, ``1.5s``, ``500ms``, ``1m0s``."""
    if seconds == 0:
        return "0s"
    if abs(seconds) < 1:
        return f"{seconds * 1000:g}ms"
    minutes, secs = divmod(seconds, 60)
    hours, minutes = divmod(int(minutes), 60)
    out = f"{secs:g}s"
    if minutes or hours:
        out = f"{minutes}m" + out
    if hours:
        out = f"{hours}h" + out
    return out


def _parse_int(text: str) -> int:
    """``strconv.ParseInt(s, 0, 64)``: decimal, 0x, 0o, 0b, underscores between digits."""
    try:
        return int(text, 0)
    except ValueError:
        raise ValueError(f'strconv.ParseInt: parsing "{text}": invalid syntax') from None


def _parse_bool(text: str) -> bool:
    if text in ("1", "t", "T", "true", "TRUE", "True"):
        return True
    if text in ("0", "f", "F", "false", "FALSE", "False"):
        return False
    raise ValueError(f'strconv.ParseBool: parsing "{text}": invalid syntax')


def _convert(flag: Flag, raw: str) -> object:
    try:
        if flag.kind == "int":
            return _parse_int(raw)
        if flag.kind == "bool":
            return _parse_bool(raw)
        if flag.kind == "duration":
            return parse_duration(raw)
        return raw
    except ValueError as exc:
        raise FlagError(f'invalid argument "{raw}" for "--{flag.name}" flag: {exc}') from None


def parse(flags: list[Flag], argv: list[str]) -> tuple[dict[str, object], list[str]]:
    """Return (values by flag name, positional args) or raise FlagError; ``-h``/``--help`` gives ``help``."""
    by_name = {f.name: f for f in flags}
    values: dict[str, object] = {f.name: f.default for f in flags}
    values["help"] = False
    positional: list[str] = []
    i = 0
    while i < len(argv):
        arg = argv[i]
        i += 1
        if arg == "--":
            positional += argv[i:]
            break
        if arg in ("-h", "--help"):
            values["help"] = True
            continue
        if not arg.startswith("-") or arg == "-":
            positional.append(arg)  # pflag intersperses flags and arguments
            continue
        if not arg.startswith("--"):
            raise FlagError(f"unknown shorthand flag: '{arg[1:2]}' in {arg}")
        name, has_value, raw = arg[2:].partition("=")
        flag = by_name.get(name)
        if flag is None:
            raise FlagError(f"unknown flag: --{name}")
        if not has_value:
            if flag.kind == "bool":
                raw = "true"
            elif i < len(argv):
                raw = argv[i]
                i += 1
            else:
                raise FlagError(f"flag needs an argument: --{name}")
        values[name] = _convert(flag, raw)
    return values, positional


def usage(command: str, flags: list[Flag], args_hint: str = "") -> str:
    """A cobra-style usage block."""
    lines = ["Usage:", f"  agnhost {command} {args_hint}[flags]".replace("  [", " ["), "", "Flags:"]
    for f in sorted(flags, key=lambda f: f.name):
        kind = {"int": " int", "str": " string", "bool": "", "duration": " duration"}[f.kind]
        default = "" if f.default in (False, "", None) else f" (default {_show_default(f)})"
        lines.append(f"      --{f.name}{kind}".ljust(36) + f"{f.usage}{default}")
    lines.append("  -h, --help".ljust(36) + f"help for {command}")
    return "\n".join(lines) + "\n"


def _show_default(flag: Flag) -> str:
    if flag.kind == "duration":
        return format_duration(float(str(flag.default)))
    if flag.kind == "str":
        return f'"{flag.default}"'
    return str(flag.default).lower() if flag.kind == "bool" else str(flag.default)
