"""Runs one proxier inside a node namespace, as the agent does, driven by JSON lines on stdin.

Each line is ``{"services": [...], "slices": [...], "full": bool}``; the answer line is
``{"kind": "full" | "partial" | "none"}`` or ``{"error": "..."}``. Running in the node's namespace
(``ip netns exec NODE python -m tests.integration.proxy.driver``) gives the proxier the agent's
real setting: an empty command prefix and healthCheckNodePort servers bound in the node.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys

from podnet.agent.proxy.config import ProxyConfig
from podnet.agent.proxy.iptables import IptablesProxier
from podnet.agent.proxy.proxier import NftProxier


async def serve(config: ProxyConfig) -> None:
    proxier = NftProxier(config) if config.mode == "nftables" else IptablesProxier(config)
    loop = asyncio.get_running_loop()
    try:
        while line := await loop.run_in_executor(None, sys.stdin.readline):
            cmd = json.loads(line)
            try:
                kind = await proxier.sync(cmd["services"], cmd["slices"], full=bool(cmd.get("full")))
                reply: dict[str, str] = {"kind": kind}
            except Exception as exc:  # reported to the test, which decides
                reply = {"error": f"{type(exc).__name__}: {exc}"}
            print(json.dumps(reply), flush=True)
    finally:
        await proxier.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--node", required=True)
    parser.add_argument("--mode", default="nftables")
    parser.add_argument("--lb-algorithm", default="random")
    parser.add_argument("--service-cidr", default=None)
    args = parser.parse_args()
    config = ProxyConfig(
        node_name=args.node, mode=args.mode, lb_algorithm=args.lb_algorithm, service_cidr=args.service_cidr
    )
    asyncio.run(serve(config))


if __name__ == "__main__":
    main()
