"""iptables mode: the chain layout Kubernetes documents and users debug with (pure render + apply).

KUBE-SERVICES (nat, from PREROUTING and OUTPUT) matches each VIP:port and jumps to KUBE-SVC-<hash>,
which picks a KUBE-SEP-<hash> per endpoint with statistic-mode random probabilities (1/n, 1/(n-1),
..., 1) and DNATs there; KUBE-EXT-<hash> handles external traffic (NodePorts via KUBE-NODEPORTS,
LoadBalancer IPs, externalIPs): KUBE-MARK-MASQ then KUBE-SVC (Cluster) or KUBE-SVL (Local, this
node's endpoints only); KUBE-POSTROUTING masquerades what carries mark 0x4000; hairpin traffic is
marked in each KUBE-SEP. Session affinity uses the ``recent`` match as kube-proxy does. Services
without endpoints are rejected in the filter table (KUBE-SERVICES / KUBE-EXTERNAL-SERVICES).

Applied with ``iptables-legacy-restore --noflush``: only our KUBE-* chains are declared (so flushed
and rewritten) and stale ones deleted; the base chains keep every rule that is not ours, and our
jump rules are inserted once. After the first sync only the chains whose rules changed are written
(KUBE-SERVICES is one of them whenever a service comes or goes), as kube-proxy's partial restores do. Legacy, not iptables-nft: KERNEL-NOTES measured iptables-nft's
``--noflush`` restore as quadratic (minutes at 10,000 services) and its per-packet rule walk ~4x
dearer; the nftables mode is podnet's default anyway. Only ``--lb-algorithm random`` exists here.
"""

from __future__ import annotations

import base64
import hashlib
import ipaddress
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from podnet.agent.proxy import conntrack
from podnet.agent.proxy.config import ProxyConfig
from podnet.agent.proxy.healthcheck import HealthChecks
from podnet.agent.proxy.model import (
    Endpoint,
    PortCache,
    ServicePort,
    cluster_endpoints,
    external_endpoints,
    local_endpoint_count,
    service_ports,
)
from podnet.agent.proxy.proxier import ProxyError, run_cmd
from podnet.agent.proxy.tracker import StateTracker, merged

Obj = dict[str, Any]
log = logging.getLogger(__name__)
RESTORE = "iptables-legacy-restore"
IPTABLES = "iptables-legacy"
MASQ = "0x4000/0x4000"
JUMPS = [  # (table, base chain, rule) inserted once, first in their chain
    (
        "nat",
        "PREROUTING",
        ["-m", "comment", "--comment", "kubernetes service portals", "-j", "KUBE-SERVICES"],
    ),
    ("nat", "OUTPUT", ["-m", "comment", "--comment", "kubernetes service portals", "-j", "KUBE-SERVICES"]),
    (
        "nat",
        "POSTROUTING",
        ["-m", "comment", "--comment", "kubernetes postrouting rules", "-j", "KUBE-POSTROUTING"],
    ),
    ("filter", "INPUT", ["-m", "conntrack", "--ctstate", "NEW", "-j", "KUBE-EXTERNAL-SERVICES"]),
    ("filter", "FORWARD", ["-m", "conntrack", "--ctstate", "NEW", "-j", "KUBE-EXTERNAL-SERVICES"]),
    ("filter", "INPUT", ["-m", "conntrack", "--ctstate", "NEW", "-j", "KUBE-SERVICES"]),
    ("filter", "FORWARD", ["-m", "conntrack", "--ctstate", "NEW", "-j", "KUBE-SERVICES"]),
    ("filter", "OUTPUT", ["-m", "conntrack", "--ctstate", "NEW", "-j", "KUBE-SERVICES"]),
]


def chain_hash(prefix: str, sp: ServicePort, extra: str = "") -> str:
    """kube-proxy's naming: a prefix and 16 base32 characters of a SHA-256 of the service port."""
    digest = hashlib.sha256(f"{sp.namespace}/{sp.name}:{sp.port_name}{sp.protocol}{extra}".encode()).digest()
    return prefix + base64.b32encode(digest).decode()[:16]


def _sep(sp: ServicePort, ep: Endpoint) -> str:
    return chain_hash("KUBE-SEP-", sp, f"{ep.ip}:{ep.port}")


def _balance(svc_chain: str, sp: ServicePort, eps: tuple[Endpoint, ...], rules: list[str]) -> None:
    n = len(eps)
    if sp.affinity_timeout:
        for ep in eps:
            rules.append(f"-A {svc_chain} -m recent --name {_sep(sp, ep)} --rcheck --seconds {sp.affinity_timeout} "
                         f"--reap -j {_sep(sp, ep)}")  # fmt: skip
    for i, ep in enumerate(eps):
        if i < n - 1:
            rules.append(
                f"-A {svc_chain} -m statistic --mode random --probability {1 / (n - i):.10f} -j {_sep(sp, ep)}"
            )
        else:
            rules.append(f"-A {svc_chain} -j {_sep(sp, ep)}")


def _external(
    sp: ServicePort,
    internal: tuple[Endpoint, ...],
    external: tuple[Endpoint, ...],
    cidr: str,
    comment: str,
    nat_chains: list[str],
    nat: list[str],
    flt: list[str],
) -> None:
    """KUBE-EXT-<hash> for a port's LoadBalancer IPs, externalIPs and NodePort, or their REJECT/DROP."""
    proto, port = sp.protocol, sp.port
    svc, ext, svl = chain_hash("KUBE-SVC-", sp), chain_hash("KUBE-EXT-", sp), chain_hash("KUBE-SVL-", sp)
    pods_short_circuit = sp.external_local and bool(internal)
    if external or pods_short_circuit:
        nat_chains.append(ext)
        if pods_short_circuit:  # pods and the node itself are not external clients: any endpoint serves them
            nat.append(f'-A {ext} -m comment --comment "pod traffic for {sp.key} external destinations" '
                       f"-s {cidr} -j {svc}")  # fmt: skip
            nat.append(f'-A {ext} -m comment --comment "masquerade LOCAL traffic for {sp.key} external destinations" '
                       f"-m addrtype --src-type LOCAL -j KUBE-MARK-MASQ")  # fmt: skip
            nat.append(f'-A {ext} -m comment --comment "route LOCAL traffic for {sp.key} external destinations" '
                       f"-m addrtype --src-type LOCAL -j {svc}")  # fmt: skip
        if external and sp.external_local:
            nat_chains.append(svl)
            _balance(svl, sp, external, nat)
            nat.append(f"-A {ext} -j {svl}")
        elif external:
            nat.append(f"-A {ext} -j KUBE-MARK-MASQ")
            nat.append(f"-A {ext} -j {svc if internal == external else svl}")
            if internal != external:
                nat_chains.append(svl)
                _balance(svl, sp, external, nat)
        for ip in sp.external_ips:
            nat.append(f"-A KUBE-SERVICES {comment} -d {ip}/32 -p {proto} --dport {port} -j {ext}")
        if sp.node_port:
            nat.append(f"-A KUBE-NODEPORTS {comment} -p {proto} --dport {sp.node_port} -j {ext}")
    if external:
        return
    # not DNATed above: endpoints elsewhere only (DROP, the load balancer must pick another node) or none
    action = "DROP" if sp.external_local and sp.endpoints else "REJECT"
    for ip in sp.external_ips:
        flt.append(f"-A KUBE-EXTERNAL-SERVICES {comment} -d {ip}/32 -p {proto} --dport {port} -j {action}")
    if sp.node_port:
        flt.append(f"-A KUBE-EXTERNAL-SERVICES {comment} -m addrtype --dst-type LOCAL -p {proto} "
                   f"--dport {sp.node_port} -j {action}")  # fmt: skip


@dataclass
class Tables:
    """Our chains' rules: nat chain -> its rules in order; the filter table's rules."""

    nat: dict[str, list[str]]
    flt: list[str]


def render_tables(ports: list[ServicePort], node: str, cluster_cidr: str) -> Tables:
    """Every KUBE-* chain of the nat table with its rules, and our filter rules (pure)."""
    cidr = str(ipaddress.IPv4Network(cluster_cidr))
    nat_chains = ["KUBE-SERVICES", "KUBE-NODEPORTS", "KUBE-POSTROUTING", "KUBE-MARK-MASQ"]
    nat = [
        "-A KUBE-POSTROUTING -m mark ! --mark 0x4000/0x4000 -j RETURN",
        "-A KUBE-POSTROUTING -j MARK --xor-mark 0x4000",
        '-A KUBE-POSTROUTING -m comment --comment "kubernetes service traffic requiring SNAT" -j MASQUERADE',
        "-A KUBE-MARK-MASQ -j MARK --or-mark 0x4000",
    ]
    flt: list[str] = []
    seps: dict[str, tuple[ServicePort, Endpoint]] = {}
    for sp in ports:
        proto, port = sp.protocol, sp.port
        comment = f'-m comment --comment "{sp.namespace}/{sp.name}:{sp.port_name}"'
        internal, external = cluster_endpoints(sp, node), external_endpoints(sp, node)
        svc = chain_hash("KUBE-SVC-", sp)
        for ep in {*internal, *external}:
            seps[_sep(sp, ep)] = (sp, ep)
        if internal:
            nat_chains.append(svc)
            nat.append(f"-A KUBE-SERVICES {comment} -d {sp.cluster_ip}/32 -p {proto} --dport {port} -j {svc}")
            nat.append(
                f"-A {svc} ! -s {cidr} -d {sp.cluster_ip}/32 -p {proto} --dport {port} -j KUBE-MARK-MASQ"
            )
            _balance(svc, sp, internal, nat)
        else:
            flt.append(
                f"-A KUBE-SERVICES {comment} -d {sp.cluster_ip}/32 -p {proto} --dport {port} -j REJECT"
            )
        if sp.external_ips or sp.node_port:
            _external(sp, internal, external, cidr, comment, nat_chains, nat, flt)
    for name, (sp, ep) in sorted(seps.items()):
        nat_chains.append(name)
        nat.append(f"-A {name} -s {ep.ip}/32 -j KUBE-MARK-MASQ")
        recent = f"-m recent --name {name} --set --rsource " if sp.affinity_timeout else ""
        nat.append(f"-A {name} -p {sp.protocol} {recent}-j DNAT --to-destination {ep.ip}:{ep.port}")
    nat.append("-A KUBE-SERVICES -m addrtype --dst-type LOCAL -j KUBE-NODEPORTS")
    chains: dict[str, list[str]] = {c: [] for c in nat_chains}
    for line in nat:
        chains[line.split(" ", 2)[1]].append(line)
    return Tables(chains, flt)


def restore_text(
    tables: Tables, previous: dict[str, list[str]] | None = None, stale: Iterable[str] = ()
) -> str:
    """iptables-restore --noflush input: the nat chains that differ from ``previous`` (all without
    it; a declared chain is flushed and rewritten, an undeclared one kept as is), ``stale`` chains
    flushed and deleted, and the whole filter part."""
    stale = sorted(stale)
    write = [c for c, rules in tables.nat.items() if previous is None or previous.get(c) != rules]
    text = ["*nat", *[f":{c} - [0:0]" for c in [*write, *stale]]]
    for c in write:
        text += tables.nat[c]
    text += [f"-X {c}" for c in stale]
    text += [
        "COMMIT",
        "*filter",
        ":KUBE-SERVICES - [0:0]",
        ":KUBE-EXTERNAL-SERVICES - [0:0]",
        *tables.flt,
        "COMMIT",
    ]
    return "\n".join(text) + "\n"


def render(ports: list[ServicePort], node: str, cluster_cidr: str) -> tuple[str, set[str]]:
    """The whole iptables-restore text for nat and filter, and the set of our nat chains."""
    tables = render_tables(ports, node, cluster_cidr)
    return restore_text(tables), set(tables.nat)


class IptablesProxier:
    """Keeps podnet's KUBE-* chains (and only those) equal to what the Services and EndpointSlices say."""

    def __init__(self, config: ProxyConfig) -> None:
        self.config = config
        self.health = HealthChecks(config.healthz_bind_address)
        self.port_cache: PortCache = {}  # unchanged services are not recomputed on each sync
        self.nat: dict[str, list[str]] | None = None  # what the kernel holds; None: unknown
        self.tracker = StateTracker(config.node_name)  # the previous model, for conntrack cleanup
        self.synced_once = False

    async def _ensure_jumps(self) -> None:
        """Our jump rules in the base chains, each inserted once (after a restore declared our chains)."""
        prefix = self.config.command_prefix
        for table, chain, rule in JUMPS:
            code, _ = await run_cmd(prefix, IPTABLES, "-w", "-t", table, "-C", chain, *rule)
            if code != 0:
                code, out = await run_cmd(prefix, IPTABLES, "-w", "-t", table, "-I", chain, "1", *rule)
                if code != 0:
                    raise ProxyError(f"{IPTABLES} -t {table} -I {chain}: {out.strip()}")

    async def sync(self, services: list[Obj], slices: list[Obj], full: bool = False) -> str:
        """Restore the chains that changed ("partial"), or all of them after a start or failure ("full")."""
        ports = service_ports(services, slices, self.port_cache)
        tables = render_tables(ports, self.config.node_name, self.config.cluster_cidr)
        previous, self.nat = (None if full else self.nat), None
        if previous is None:
            stale = await self._stale_chains(set(tables.nat))
        else:
            stale = [c for c in previous if c not in tables.nat]
        text = restore_text(tables, previous, stale)
        code, out = await run_cmd(self.config.command_prefix, RESTORE, "--noflush", stdin=text)
        if code != 0:
            raise ProxyError(f"{RESTORE} failed: {out.strip()[:500]}")
        if previous is None:
            await self._ensure_jumps()
        self.nat = tables.nat
        changes = self.tracker.update(ports)
        if self.synced_once:
            old, new = merged(changes.old_fragments), merged(changes.new_fragments)
            for args in conntrack.stale_udp_flows(old, new):
                await run_cmd(self.config.command_prefix, "conntrack", *args)
        self.synced_once = True
        await self.health.sync({
            sp.health_check_node_port: (sp.namespace, sp.name, local_endpoint_count(sp, self.config.node_name))
            for sp in ports if sp.external_local and sp.health_check_node_port
        })  # fmt: skip
        return "full" if previous is None else "partial"

    async def _stale_chains(self, wanted: set[str]) -> list[str]:
        """Our per-service chains in the kernel that ``wanted`` lacks (after a restart: from the kernel)."""
        code, out = await run_cmd(self.config.command_prefix, IPTABLES, "-w", "-t", "nat", "-S")
        if code != 0:
            return []
        ours = {line.split()[1] for line in out.splitlines() if line.startswith("-N KUBE-")}
        return sorted(
            c for c in ours - wanted if c.startswith(("KUBE-SVC-", "KUBE-SEP-", "KUBE-EXT-", "KUBE-SVL-"))
        )

    async def close(self) -> None:
        await self.health.close()
