"""``podnet``: one entry point, one module per command."""

from __future__ import annotations

import argparse
import sys

from podnet.cli import agent, controller_manager, dns, lab, netpol, server, trace


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="podnet", description="Kubernetes networking, for real, on Linux.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    server.add_parser(sub)
    controller_manager.add_parser(sub)
    agent.add_parser(sub)
    dns.add_parser(sub)
    netpol.add_parser(sub)
    lab.add_parsers(sub)
    trace.add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        return 130
    except SystemExit:
        raise
    except Exception as exc:  # one clear line, non-zero exit
        print(f"podnet {args.command}: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
