"""UDP conntrack cleanup: when a UDP endpoint goes, its flows must not stay pinned to it.

UDP has no connection to reset: a client sending to a VIP keeps hitting the conntrack entry made for
its first packet, DNATed to an endpoint that no longer exists (the classic DNS-after-pod-restart
black hole). kube-proxy deletes those entries; so does this, with the conntrack tool. A service port
that just got its first endpoint also loses its un-NATed entries, made while it was rejecting.
"""

from __future__ import annotations

from podnet.agent.proxy.nftables import State


def stale_udp_flows(old: State, new: State) -> list[list[str]]:
    """``conntrack -D`` argument lists for UDP flows to endpoints that left their service port."""
    cmds: list[list[str]] = []
    old_eps: dict[tuple[str, int], set[str]] = {}
    new_eps: dict[tuple[str, int], set[str]] = {}
    for (vip, proto, port, _i), (ip, _p) in old.backends.items():
        if proto == "udp":
            old_eps.setdefault((vip, port), set()).add(ip)
    for (vip, proto, port, _i), (ip, _p) in new.backends.items():
        if proto == "udp":
            new_eps.setdefault((vip, port), set()).add(ip)
    for (vip, port), ips in sorted(old_eps.items()):
        for ip in sorted(ips - new_eps.get((vip, port), set())):
            cmds.append(
                ["-D", "-p", "udp", "--orig-dst", vip, "--orig-port-dst", str(port), "--reply-src", ip]
            )
    for vip, port in sorted(set(new_eps) - set(old_eps)):
        cmds.append(["-D", "-p", "udp", "--orig-dst", vip, "--orig-port-dst", str(port)])
    old_np: dict[int, set[str]] = {}
    new_np: dict[int, set[str]] = {}
    for (proto, port, _i), (ip, _p) in old.np_backends.items():
        if proto == "udp":
            old_np.setdefault(port, set()).add(ip)
    for (proto, port, _i), (ip, _p) in new.np_backends.items():
        if proto == "udp":
            new_np.setdefault(port, set()).add(ip)
    for port, ips in sorted(old_np.items()):
        for ip in sorted(ips - new_np.get(port, set())):
            cmds.append(["-D", "-p", "udp", "--orig-port-dst", str(port), "--reply-src", ip])
    return cmds
