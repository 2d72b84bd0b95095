"""The service proxy's settings (kube-proxy's flags that matter here)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

IPVS_ONLY = ("lc", "wlc", "lblc", "lblcr", "sed", "nq", "dh", "wrr", "mh", "ovf")


@dataclass(frozen=True)
class ProxyConfig:
    """kube-proxy's flags that matter here; the agent builds one from its own."""

    node_name: str
    mode: Literal["nftables", "iptables"] = "nftables"
    cluster_cidr: str = "10.244.0.0/16"
    service_cidr: str | None = None  # set: unserved ClusterIP ports rejected, unallocated IPs dropped
    lb_algorithm: Literal["random", "round-robin", "source-hash"] = "random"
    min_sync_period: float = 0.0  # debounce: changes arriving closer than this are synced together
    sync_period: float = 30.0  # periodic full resync (repairs hand-made damage)
    healthz_bind_address: str = "0.0.0.0"
    command_prefix: tuple[str, ...] = ()  # e.g. ("ip", "netns", "exec", "ns1") in tests


def check_algorithm(mode: str, algorithm: str) -> None:
    """One clear error for schedulers this data path cannot offer."""
    if algorithm in IPVS_ONLY:
        raise ValueError(
            f"--lb-algorithm {algorithm}: this IPVS scheduler needs IPVS, which this kernel lacks; "
            "podnet offers random, round-robin (IPVS rr) and source-hash (IPVS sh) in nftables mode"
        )
    if algorithm not in ("random", "round-robin", "source-hash"):
        raise ValueError(f"--lb-algorithm {algorithm!r}: use random, round-robin or source-hash")
    if mode == "iptables" and algorithm != "random":
        raise ValueError(
            f"--lb-algorithm {algorithm} needs --proxy-mode nftables: iptables mode picks endpoints with "
            "statistic-mode random probabilities only, as kube-proxy does"
        )
