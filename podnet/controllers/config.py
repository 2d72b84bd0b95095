"""Settings of the controller manager, with kubeadm/kind defaults."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class ControllerConfig:
    cluster_cidr: str = "10.244.0.0/16"
    node_cidr_mask_size: int = 24
    max_endpoints_per_slice: int = 100
    # How long a node's Lease may go unrenewed before the node is Unknown (kube-controller-manager's
    # --node-monitor-grace-period), and how long after that its pods are evicted.
    node_monitor_grace_period: float = 40.0
    pod_eviction_timeout: float = 300.0
    # LoadBalancer IP pools: CIDRs ("172.18.255.0/24") or ranges ("172.18.255.200-172.18.255.250").
    lb_pools: list[str] = field(default_factory=list)
    # Wall-clock seconds; injected so lease expiry and eviction are testable without sleeping.
    clock: Callable[[], float] = time.time
    workers: int = 2
