"""A stand-in for the kernel tools in run_proxy's unit tests: records each command and its stdin.

Used as ``ProxyConfig.command_prefix = (python, recorder.py, LOG)``: the proxier then runs
``python recorder.py LOG nft -f -``, which appends one JSON line ``{"argv": [...], "stdin": "..."}``
to LOG and succeeds (or fails when argv[0] is listed in the FAIL environment variable).
"""

from __future__ import annotations

import json
import os
import sys


def main() -> int:
    log, argv = sys.argv[1], sys.argv[2:]
    stdin = sys.stdin.read() if argv[-1:] == ["-"] else ""
    with open(log, "a", encoding="utf-8") as f:
        f.write(json.dumps({"argv": argv, "stdin": stdin}) + "\n")
    return 1 if argv and argv[0] in os.environ.get("FAIL", "").split(",") else 0


if __name__ == "__main__":
    sys.exit(main())
