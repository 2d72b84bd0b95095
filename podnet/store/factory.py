"""Open the datastore named on the command line (``--datastore``)."""

from __future__ import annotations

from pathlib import Path

from podnet.store.interface import Store

_USAGE = 'expected "sqlite", "memory" or "etcd://host:port[,host:port...]"'


def open_store(datastore: str, data_dir: Path) -> Store:
    """``sqlite`` (data_dir/state.db), ``memory`` or ``etcd://h:p[,h:p...]``; ValueError otherwise."""
    if datastore == "sqlite":
        from podnet.store.sqlite import SqliteStore

        data_dir.mkdir(parents=True, exist_ok=True)
        return SqliteStore(data_dir / "state.db")
    if datastore == "memory":
        from podnet.store.memory import MemoryStore

        return MemoryStore()
    if datastore.startswith("etcd://"):
        from podnet.store.etcd import EtcdStore

        return EtcdStore(parse_etcd_endpoints(datastore))
    raise ValueError(f"invalid datastore {datastore!r}: {_USAGE}")


def parse_etcd_endpoints(datastore: str) -> list[str]:
    """``etcd://a:1,b:2`` → ``["http://a:1", "http://b:2"]``; ValueError on a malformed list."""
    endpoints = []
    for part in datastore.removeprefix("etcd://").split(","):
        host, sep, port = part.strip().rpartition(":")
        if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise ValueError(f"invalid datastore {datastore!r}: bad endpoint {part!r}, {_USAGE}")
        endpoints.append(f"http://{host}:{port}")
    return endpoints
