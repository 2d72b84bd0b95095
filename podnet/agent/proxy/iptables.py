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
jump rules are inserted once. Legacy, not iptables-nft: KERNEL-NOTES measured iptables-nft's
``--noflush`` restore as quadratic (minutes at 10,000 services) and its per-packet rule walk ~4x
dearer; the nftables mode is podnet's default anyway. Only ``--lb-algorithm random`` exists here.
"""

from __future__ import annotations

import base64
import hashlib
import ipaddress
import logging

from podnet.agent.proxy import conntrack, nftables
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


def render(ports: list[ServicePort], node: str, cluster_cidr: str) -> tuple[str, set[str]]:
    """The iptables-restore text for nat and filter, and the set of our chains it declares."""
    cidr = str(ipaddress.IPv4Network(cluster_cidr))
    nat_chains = ["KUBE-SERVICES", "KUBE-NODEPORTS", "KUBE-POSTROUTING", "KUBE-MARK-MASQ"]
    nat = [
        "-A KUBE-POSTROUTING -m mark ! --mark 0x4000/0x4000 -j RETURN",
        "-A KUBE-POSTROUTING -j MARK --xor-mark 0x4000",
        '-A KUBE-POSTROUTING -m comment --comment "kubernetes service traffic requiring SNAT" -j MASQUERADE',
        "-A KUBE-MARK-MASQ -j MARK --or-mark 0x4000",
    ]
    flt_chains = ["KUBE-SERVICES", "KUBE-EXTERNAL-SERVICES"]
    flt: list[str] = []
    seps: dict[str, tuple[ServicePort, Endpoint]] = {}
    for sp in ports:
        proto, port = sp.protocol, sp.port
        comment = f'-m comment --comment "{sp.namespace}/{sp.name}:{sp.port_name}"'
        internal, external = cluster_endpoints(sp, node), external_endpoints(sp, node)
        svc, ext, svl = chain_hash("KUBE-SVC-", sp), chain_hash("KUBE-EXT-", sp), chain_hash("KUBE-SVL-", sp)
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
        if not (sp.external_ips or sp.node_port):
            continue
        if external:
            nat_chains.append(ext)
            if sp.external_local:
                nat_chains.append(svl)
                _balance(svl, sp, external, nat)
                nat.append(f"-A {ext} -j {svl}")
            else:
                nat.append(f"-A {ext} -j KUBE-MARK-MASQ")
                nat.append(f"-A {ext} -j {svc if internal == external else svl}")
                if internal != external:
                    nat_chains.append(svl)
                    _balance(svl, sp, external, nat)
            for ip in sp.external_ips:
                nat.append(f"-A KUBE-SERVICES {comment} -d {ip}/32 -p {proto} --dport {port} -j {ext}")
            if sp.node_port:
                nat.append(f"-A KUBE-NODEPORTS {comment} -p {proto} --dport {sp.node_port} -j {ext}")
        else:
            action = "DROP" if sp.external_local and sp.endpoints else "REJECT"
            for ip in sp.external_ips:
                flt.append(
                    f"-A KUBE-EXTERNAL-SERVICES {comment} -d {ip}/32 -p {proto} --dport {port} -j {action}"
                )
            if sp.node_port:
                flt.append(f"-A KUBE-EXTERNAL-SERVICES {comment} -m addrtype --dst-type LOCAL -p {proto} "
                           f"--dport {sp.node_port} -j {action}")  # fmt: skip
    for name, (sp, ep) in sorted(seps.items()):
        nat_chains.append(name)
        nat.append(f"-A {name} -s {ep.ip}/32 -j KUBE-MARK-MASQ")
        recent = f"-m recent --name {name} --set --rsource " if sp.affinity_timeout else ""
        nat.append(f"-A {name} -p {sp.protocol} {recent}-j DNAT --to-destination {ep.ip}:{ep.port}")
    nat.append("-A KUBE-SERVICES -m addrtype --dst-type LOCAL -j KUBE-NODEPORTS")
    text = ["*nat", *[f":{c} - [0:0]" for c in dict.fromkeys(nat_chains)], *nat, "COMMIT",
            "*filter", *[f":{c} - [0:0]" for c in flt_chains], *flt, "COMMIT"]  # fmt: skip
    return "\n".join(text) + "\n", set(nat_chains)


class IptablesProxier:
    def __init__(self, config: ProxyConfig) -> None:
        self.config = config
        self.health = HealthChecks(config.healthz_bind_address)
        self.port_cache: PortCache = {}  # unchanged services are not recomputed on each sync
        self.chains: set[str] | None = None
        self.state: nftables.State | None = None
        self.jumps_ok = False

    async def _ensure_jumps(self) -> None:
        prefix = self.config.command_prefix
        # the chains must exist before a base chain can jump to them: an empty restore declares them
        boot = "*nat\n:KUBE-SERVICES - [0:0]\n:KUBE-POSTROUTING - [0:0]\nCOMMIT\n*filter\n:KUBE-SERVICES - [0:0]\n:KUBE-EXTERNAL-SERVICES - [0:0]\nCOMMIT\n"
        if self.chains is None:
            await run_cmd(prefix, RESTORE, "--noflush", stdin=boot)
        for table, chain, rule in JUMPS:
            code, _ = await run_cmd(prefix, IPTABLES, "-w", "-t", table, "-C", chain, *rule)
            if code != 0:
                code, out = await run_cmd(prefix, IPTABLES, "-w", "-t", table, "-I", chain, "1", *rule)
                if code != 0:
                    raise ProxyError(f"{IPTABLES} -t {table} -I {chain}: {out.strip()}")
        self.jumps_ok = True

    async def sync(self, services: list[dict], slices: list[dict], full: bool = False) -> str:  # type: ignore[type-arg]
        ports = service_ports(services, slices, self.port_cache)
        text, chains = render(ports, self.config.node_name, self.config.cluster_cidr)
        if not self.jumps_ok or full:
            await self._ensure_jumps()
        stale = await self._stale_chains(chains)
        if stale:  # declared (so flushed) in the same restore, then deleted
            text = text.replace("*nat\n", "*nat\n" + "".join(f":{c} - [0:0]\n" for c in stale), 1)
            text = text.replace("COMMIT\n*filter", "".join(f"-X {c}\n" for c in stale) + "COMMIT\n*filter", 1)
        code, out = await run_cmd(self.config.command_prefix, RESTORE, "--noflush", stdin=text)
        if code != 0:
            raise ProxyError(f"{RESTORE} failed: {out.strip()[:500]}")
        new_state = nftables.build_state(ports, self.config.node_name)
        if self.state is not None:
            for args in conntrack.stale_udp_flows(self.state, new_state):
                await run_cmd(self.config.command_prefix, "conntrack", *args)
        self.state, self.chains = new_state, chains
        await self.health.sync({
            sp.health_check_node_port: (sp.namespace, sp.name, local_endpoint_count(sp, self.config.node_name))
            for sp in ports if sp.external_local and sp.health_check_node_port
        })  # fmt: skip
        return "full"

    async def _stale_chains(self, wanted: set[str]) -> list[str]:
        code, out = await run_cmd(self.config.command_prefix, IPTABLES, "-w", "-t", "nat", "-S")
        if code != 0:
            return []
        ours = {line.split()[1] for line in out.splitlines() if line.startswith("-N KUBE-")}
        return sorted(
            c for c in ours - wanted if c.startswith(("KUBE-SVC-", "KUBE-SEP-", "KUBE-EXT-", "KUBE-SVL-"))
        )

    async def close(self) -> None:
        await self.health.close()
