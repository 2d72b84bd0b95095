"""Child process of test_sqlite_kill: create keys forever, printing "<revision> <key>" after each commit."""

from __future__ import annotations

import asyncio
import sys

from podnet.store.sqlite import SqliteStore


async def main(path: str, count: int) -> None:
    store = SqliteStore(path)
    for i in range(count):
        kv = await store.create(f"/kill/{i:07d}", f"value {i}".encode())
        sys.stdout.write(f"{kv.mod_revision} {kv.key}\n")
        sys.stdout.flush()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], int(sys.argv[2])))
