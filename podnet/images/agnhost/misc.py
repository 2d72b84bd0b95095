"""Small agnhost subcommands that read the pod's own files: etc-hosts, dns-suffix, dns-server-list.

The DNS e2e tests use them to check what the kubelet wrote into the pod.
"""

from __future__ import annotations

import sys

RESOLV_CONF = "/etc/resolv.conf"
HOSTS = "/etc/hosts"


def resolv_field(content: str, key: str) -> list[str]:
    """All values of ``nameserver`` lines, or the words of the last ``search`` line, as glibc reads them."""
    values: list[str] = []
    for line in content.splitlines():
        words = line.split()
        if not words or words[0] != key:
            continue
        if key == "search":
            values = words[1:]
        else:
            values += words[1:2]
    return values


def etc_hosts(_values: dict[str, object], _args: list[str]) -> int:
    with open(HOSTS, encoding="utf-8", errors="replace") as f:
        sys.stdout.write(f.read())
    return 0


def dns_suffix(_values: dict[str, object], _args: list[str]) -> int:
    with open(RESOLV_CONF, encoding="utf-8", errors="replace") as f:
        sys.stdout.write(",".join(resolv_field(f.read(), "search")))
    return 0


def dns_server_list(_values: dict[str, object], _args: list[str]) -> int:
    with open(RESOLV_CONF, encoding="utf-8", errors="replace") as f:
        sys.stdout.write(",".join(resolv_field(f.read(), "nameserver")))
    return 0
