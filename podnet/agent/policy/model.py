"""NetworkPolicy semantics, exactly as Kubernetes defines them (pure): who is isolated, who may talk.

- A pod is isolated for a direction only when some policy of that type selects it; otherwise open.
- policyTypes defaults to [Ingress], plus Egress when the policy has an egress section.
- Rules of all policies selecting a pod are unioned; within a rule, peers are ORed, ports ORed.
- A peer is a podSelector (the policy's namespace), a namespaceSelector (all its pods), both (AND),
  or an ipBlock (cidr minus except). An empty or missing ``from``/``to`` means every peer; an empty
  or missing ``ports`` means every port. Named ports resolve on the destination pod's containers.
- ipBlock here matches any address, pod IPs included (the spec leaves pod IPs to implementations;
  Calico does the same); externalTrafficPolicy Cluster traffic arrives masqueraded to a node
  address, so ipBlock sees the node, not the client (Local keeps the client address).
"""

from __future__ import annotations

import functools
import ipaddress
import json
from dataclasses import dataclass, field
from typing import Any

from podnet.api.labels import DOUBLE_EQUALS, EQUALS, IN, Selector, selector_from_label_selector

Obj = dict[str, Any]
PROTOCOLS = ("TCP", "UDP", "SCTP")


@dataclass(frozen=True)
class Pod:
    namespace: str
    name: str
    uid: str
    ip: str
    labels: tuple[tuple[str, str], ...]
    node: str
    ports: tuple[tuple[str, str, int], ...] = ()  # (name, protocol, containerPort)

    @property
    def label_dict(self) -> dict[str, str]:
        return dict(self.labels)

    def named_port(self, name: str, protocol: str) -> int | None:
        for n, proto, port in self.ports:
            if n == name and proto == protocol:
                return port
        return None


def pod_of(obj: Obj) -> Pod | None:
    """A pod that takes part in pod networking: it has an IP and is not on the host network."""
    meta, spec, status = obj.get("metadata") or {}, obj.get("spec") or {}, obj.get("status") or {}
    ip = status.get("podIP")
    if not ip or spec.get("hostNetwork") or status.get("phase") in ("Succeeded", "Failed"):
        return None
    ports = tuple(
        (p.get("name") or "", p.get("protocol") or "TCP", int(p.get("containerPort") or 0))
        for c in spec.get("containers") or [] for p in c.get("ports") or [] if p.get("name")
    )  # fmt: skip
    labels = tuple(sorted((meta.get("labels") or {}).items()))
    return Pod(meta.get("namespace") or "default", meta.get("name") or "", meta.get("uid") or "", ip, labels,
               spec.get("nodeName") or "", ports)  # fmt: skip


@dataclass(frozen=True)
class PortRule:
    protocol: str  # TCP | UDP | SCTP
    port: int | None = None  # None: every port of the protocol
    end_port: int | None = None
    name: str | None = None  # a named port, resolved per destination pod

    def matches(self, port: int, protocol: str, dst: Pod | None) -> bool:
        if protocol != self.protocol:
            return False
        if self.name is not None:
            return dst is not None and dst.named_port(self.name, protocol) == port
        if self.port is None:
            return True
        return self.port <= port <= (self.end_port or self.port)


@dataclass(frozen=True)
class Peer:
    pods: frozenset[str] | None = None  # pod IPs a pod/namespace selector chose (now)
    cidr: str | None = None
    excepts: tuple[str, ...] = ()
    source: str = ""  # the peer's definition (selectors and scope): what names its address set

    def matches(self, ip: str) -> bool:
        if self.pods is not None:
            return ip in self.pods
        addr = ipaddress.ip_address(ip)
        if self.cidr is None or addr not in ipaddress.ip_network(self.cidr, strict=False):
            return False
        return not any(addr in ipaddress.ip_network(e, strict=False) for e in self.excepts)


@dataclass(frozen=True)
class Rule:
    peers: tuple[Peer, ...] | None  # None: every peer
    ports: tuple[PortRule, ...] | None  # None: every port

    def allows(self, peer_ip: str, port: int, protocol: str, dst: Pod | None) -> bool:
        if self.peers is not None and not any(p.matches(peer_ip) for p in self.peers):
            return False
        return self.ports is None or any(p.matches(port, protocol, dst) for p in self.ports)


@dataclass
class Policy:
    namespace: str
    name: str
    selects: frozenset[str]  # pod IPs it applies to
    ingress: tuple[Rule, ...] | None  # None: not an Ingress policy
    egress: tuple[Rule, ...] | None
    raw: Obj = field(default_factory=dict, repr=False)

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.name}"


def policy_types(spec: Obj) -> list[str]:
    types = spec.get("policyTypes")
    if types:
        return list(types)
    return ["Ingress"] + (["Egress"] if spec.get("egress") is not None else [])


def _selector(ls: Obj | None) -> Selector:
    # every recompile parses every policy's selectors again; the parse, not the match, was a
    # third of a 1,000-policy recompile
    return _parsed(json.dumps(ls if ls is not None else {}, sort_keys=True))


@functools.lru_cache(maxsize=8192)
def _parsed(text: str) -> Selector:
    return selector_from_label_selector(json.loads(text))


_EMPTY: frozenset[str] = frozenset()


def _union(sets: list[Any]) -> Any:
    """One set as it is (no copy of a whole namespace for a single value), several merged."""
    return sets[0] if len(sets) == 1 else set().union(*sets)


class PodIndex:
    """Pods by namespace and by label, so a selector costs set intersections, not a scan of every pod
    (1,000 policies over 1,000 pods is a million label matches otherwise)."""

    def __init__(self, pods: list[Pod]) -> None:
        self.by_ip = {p.ip: p for p in pods}
        self.by_ns: dict[str, set[str]] = {}
        self.by_label: dict[tuple[str, str], set[str]] = {}
        for p in pods:
            self.by_ns.setdefault(p.namespace, set()).add(p.ip)
            for kv in p.labels:
                self.by_label.setdefault(kv, set()).add(p.ip)

    def select(self, sel: Selector, namespaces: set[str]) -> frozenset[str]:
        if sel.matches_nothing:
            return frozenset()
        narrowing: list[set[str]] = []
        rest = []
        for r in sel.requirements:
            if r.op in (EQUALS, DOUBLE_EQUALS, IN):
                narrowing.append(_union([self.by_label.get((r.key, v), _EMPTY) for v in r.values]))
            else:
                rest.append(r)
        narrowing.append(_union([self.by_ns.get(n, _EMPTY) for n in namespaces]))
        # intersect from the smallest set: a label selecting 2 pods costs 2 lookups, not a copy
        # of the whole namespace
        narrowing.sort(key=len)
        cand = set(narrowing[0]).intersection(*narrowing[1:])
        if rest:
            cand = {ip for ip in cand if all(r.matches(self.by_ip[ip].label_dict) for r in rest)}
        return frozenset(cand)


def _peer(peer: Obj, namespace: str, index: PodIndex, namespaces: dict[str, dict[str, str]]) -> Peer:
    if peer.get("ipBlock"):
        block = peer["ipBlock"]
        return Peer(cidr=block.get("cidr"), excepts=tuple(block.get("except") or ()))
    pod_sel = _selector(peer.get("podSelector")) if "podSelector" in peer else Selector.everything()
    if "namespaceSelector" in peer:
        ns_sel = _selector(peer.get("namespaceSelector"))
        allowed_ns = {n for n, labels in namespaces.items() if ns_sel.matches(labels)}
    else:
        allowed_ns = {namespace}
    scope = namespace if "namespaceSelector" not in peer else ""
    source = json.dumps([scope, peer.get("podSelector"), peer.get("namespaceSelector")], sort_keys=True)
    return Peer(pods=index.select(pod_sel, allowed_ns), source=source)


def _ports(ports: list[Obj] | None) -> tuple[PortRule, ...] | None:
    if not ports:
        return None
    out = []
    for p in ports:
        proto = p.get("protocol") or "TCP"
        port = p.get("port")
        if isinstance(port, str) and not port.isdigit():
            out.append(PortRule(proto, name=port))
        else:
            out.append(PortRule(proto, int(port) if port is not None else None, p.get("endPort")))
    return tuple(out)


def _rules(
    section: list[Obj] | None,
    key: str,
    namespace: str,
    pods: PodIndex,
    namespaces: dict[str, dict[str, str]],
) -> tuple[Rule, ...]:
    rules = []
    for rule in section or []:
        peers_raw = rule.get(key)
        peers = tuple(_peer(p, namespace, pods, namespaces) for p in peers_raw) if peers_raw else None
        rules.append(Rule(peers, _ports(rule.get("ports"))))
    return tuple(rules)


def resolve(policies: list[Obj], pods: list[Pod], namespaces: dict[str, dict[str, str]]) -> list[Policy]:
    """Policies with their selectors and peers resolved against the current pods and namespaces."""
    out = []
    index = PodIndex(pods)
    for obj in policies:
        meta, spec = obj.get("metadata") or {}, obj.get("spec") or {}
        ns = meta.get("namespace") or "default"
        selects = index.select(_selector(spec.get("podSelector")), {ns})
        types = policy_types(spec)
        out.append(Policy(
            ns, meta.get("name") or "", selects,
            _rules(spec.get("ingress"), "from", ns, index, namespaces) if "Ingress" in types else None,
            _rules(spec.get("egress"), "to", ns, index, namespaces) if "Egress" in types else None,
            obj,
        ))  # fmt: skip
    return out


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    isolating: tuple[str, ...]  # policies that select the pod for the direction that decided
    allowed_by: tuple[str, ...] = ()
    direction: str = ""  # "ingress" or "egress": the side that denied


def evaluate(
    src_ip: str, dst_ip: str, port: int, protocol: str, policies: list[Policy], pods_by_ip: dict[str, Pod]
) -> Verdict:
    """Would Kubernetes let a new connection src -> dst:port/protocol through? Egress, then ingress.

    A pod talking to itself never leaves its namespace (loopback): no policy applies, as the
    upstream NetworkPolicy e2e matrix also expects.
    """
    if src_ip == dst_ip:
        return Verdict(True, ())
    dst = pods_by_ip.get(dst_ip)
    egress = [p for p in policies if p.egress is not None and src_ip in p.selects]
    if egress:
        by = tuple(
            p.key for p in egress if any(r.allows(dst_ip, port, protocol, dst) for r in p.egress or ())
        )
        if not by:
            return Verdict(False, tuple(p.key for p in egress), (), "egress")
    ingress = [p for p in policies if p.ingress is not None and dst_ip in p.selects]
    if ingress:
        by = tuple(
            p.key for p in ingress if any(r.allows(src_ip, port, protocol, dst) for r in p.ingress or ())
        )
        if not by:
            return Verdict(False, tuple(p.key for p in ingress), (), "ingress")
        return Verdict(True, tuple(p.key for p in ingress), by)
    return Verdict(True, ())
