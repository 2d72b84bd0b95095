"""What starting one child costs a process of an agent's size: uvloop's spawn against vfork.

The agent (~75 MB resident) starts three children per pod. ``asyncio.create_subprocess_exec`` on
uvloop forks the whole process (libuv's uv_spawn); ``subprocess.Popen`` uses vfork when nothing runs
between fork and exec, which ``podnet.kernel.spawn`` relies on. Both spawn ``/bin/true`` --count
times from a process with --ballast-mb of heap, interleaved in --rounds; wall time and the parent's
CPU per spawn, medians over rounds.

    .venv/bin/python bench/spawn_cost.py
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import subprocess
import sys
import time

import uvloop


async def uv_spawn(count: int) -> tuple[float, float]:
    t, c = time.perf_counter(), time.process_time()
    for _ in range(count):
        p = await asyncio.create_subprocess_exec("/bin/true", stdin=asyncio.subprocess.DEVNULL,
                                                 stdout=asyncio.subprocess.DEVNULL, start_new_session=True)  # fmt: skip
        await p.wait()
    return (time.perf_counter() - t) / count * 1e3, (time.process_time() - c) / count * 1e3


async def vfork_spawn(count: int) -> tuple[float, float]:
    t, c = time.perf_counter(), time.process_time()
    for _ in range(count):
        subprocess.Popen(["/bin/true"], stdout=subprocess.DEVNULL, start_new_session=True).wait()
    return (time.perf_counter() - t) / count * 1e3, (time.process_time() - c) / count * 1e3


async def main(args: argparse.Namespace) -> None:
    ballast = [bytearray(1024) for _ in range(args.ballast_mb * 1024)]  # a heap of the agent's size
    results: dict[str, list[tuple[float, float]]] = {"uvloop create_subprocess_exec": [], "Popen (vfork)": []}
    for _ in range(args.rounds):
        results["uvloop create_subprocess_exec"].append(await uv_spawn(args.count))
        results["Popen (vfork)"].append(await vfork_spawn(args.count))
    print(f"{args.ballast_mb} MB of heap, {args.rounds} rounds x {args.count} spawns of /bin/true")
    for name, rows in results.items():
        wall, cpu = statistics.median(r[0] for r in rows), statistics.median(r[1] for r in rows)
        print(f"{name:<32} wall {wall:.2f} ms  parent CPU {cpu:.2f} ms per spawn")
    del ballast


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--ballast-mb", type=int, default=60)
    uvloop.run(main(parser.parse_args()))
    sys.exit(0)
