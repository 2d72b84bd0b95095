"""etcd's own gRPC API against its JSON gateway: raw create transactions, one fresh etcd, one run.

Why podnet's etcd store moved its reads and writes to gRPC (podnet/store/README.md): --count txns
(compare create_revision == 0, put 1.1 KB) from --concurrency concurrent callers, through the JSON
gateway (aiohttp, base64, as the store used to) and through grpcio's asyncio channel with etcd's
published messages, alternating for --rounds; txn/s per round and the median.

    .venv/bin/python bench/etcd_transport.py
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from api_create import Etcd

from podnet.store.etcd import EtcdStore

VALUE = os.urandom(1100)


async def gateway(url: str, prefix: str, count: int, concurrency: int) -> float:
    b64 = lambda b: base64.b64encode(b).decode()  # noqa: E731
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=concurrency)) as s:
        keys = iter(range(count))

        async def worker() -> None:
            for i in keys:
                k = b64(f"{prefix}{i}".encode())
                body = {"compare": [{"key": k, "target": "CREATE", "result": "EQUAL", "create_revision": "0"}],
                        "success": [{"request_put": {"key": k, "value": b64(VALUE)}}]}  # fmt: skip
                async with s.post(f"{url}/v3/kv/txn", json=body) as r:
                    await r.read()

        t = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return count / (time.perf_counter() - t)


async def grpc(url: str, prefix: str, count: int, concurrency: int) -> float:
    store = EtcdStore([url])  # its create() is exactly one Txn over gRPC
    keys = iter(range(count))

    async def worker() -> None:
        for i in keys:
            await store.create(f"{prefix}{i}", VALUE)

    try:
        t = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return count / (time.perf_counter() - t)
    finally:
        await store.close()


async def main(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory(prefix="etcd-transport-") as work:
        etcd = Etcd(Path(work))
        url = etcd.start().replace("etcd://", "http://")
        try:
            rates: dict[str, list[float]] = {"JSON gateway": [], "gRPC": []}
            for r in range(args.rounds):
                rates["JSON gateway"].append(await gateway(url, f"/gw/{r}/", args.count, args.concurrency))
                rates["gRPC"].append(await grpc(url, f"/grpc/{r}/", args.count, args.concurrency))
        finally:
            etcd.stop()
    print(f"{args.count} create txns x {args.rounds} rounds, {args.concurrency} concurrent callers")
    for name, xs in rates.items():
        print(
            f"{name:<13} median {statistics.median(xs):7.0f} txn/s  rounds: {', '.join(f'{x:.0f}' for x in xs)}"
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=5000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=3)
    asyncio.run(main(parser.parse_args()))
