"""`podnet trace`: every rule a connection's first packets meet, node by node (pure parts).

The kernel does the tracing: a throwaway table in each node marks the packets of interest with
``meta nftrace set 1`` (after conntrack, before NAT: priority -150), and ``nft monitor trace``
reports each base chain and rule a marked packet passes, with the verdict. Marked are the first
packet of the probe's connection and, for TCP, the SYN-ACK coming back, so a user sees the DNAT of
the service proxy, the policy verdicts and the masquerade on every node the packet crosses.

The probe's packets are recognised by a DSCP value its socket sets (``IP_TOS``), not by address:
NAT rewrites addresses on the way (a NodePort on node-1 whose backend is on node-2 reaches node-2
from node-1's address) but leaves the DSCP alone. Replies carry no DSCP, so each node remembers,
after its own NAT (postrouting), the source address and port the connection left with — where the
reply will be addressed — and marks the reply arriving there. This module renders the rules and
reads the monitor's lines; ``podnet.cli.trace`` runs them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

PRIORITY = -150  # after conntrack (-200), so ``ct state`` is known; before DNAT (-100)


DSCP = 0x2A  # carried by the probe's packets (IP_TOS = DSCP << 2); marked on every node whatever NAT did
TOS = DSCP << 2


def trace_table(name: str, protocol: str) -> str:
    """The marking table for one node (``nft -f`` text); ``name`` is unique per run."""
    first = f"ip dscp {DSCP:#x} ct state new meta l4proto {protocol} meta nftrace set 1"
    reply = (
        "tcp flags & (syn | ack) == syn | ack"
        if protocol == "tcp"
        else "ct state established meta l4proto udp"
    )
    return (
        f"table ip {name} {{\n"
        f"\tset flows {{ type ipv4_addr . inet_service; flags timeout; timeout 1m; }}\n"
        f"\tchain marker {{\n"
        f"\t\ttype filter hook prerouting priority {PRIORITY}; policy accept;\n"
        f"\t\t{first}\n"
        f"\t\tct direction reply ip daddr . th dport @flows {reply} meta nftrace set 1\n"
        f"\t}}\n"
        f"\tchain marker-local {{\n"  # the probe runs on this node (a host probe from a node)
        f"\t\ttype filter hook output priority {PRIORITY}; policy accept;\n"
        f"\t\t{first}\n"
        f"\t}}\n"
        f"\tchain remember {{\n"  # after this node's source NAT: where its reply will come back to
        f"\t\ttype filter hook postrouting priority 200; policy accept;\n"
        f"\t\tip dscp {DSCP:#x} ct direction original ct state new meta l4proto {protocol} "
        f"update @flows {{ ip saddr . th sport }}\n"
        f"\t}}\n"
        f"}}\n"
    )


@dataclass
class Step:
    table: str
    chain: str
    kind: str  # "packet" (entering a base chain), "rule" or "policy"
    text: str
    verdict: str = ""


@dataclass
class Trace:
    trace_id: str
    steps: list[Step] = field(default_factory=list)


_LINE = re.compile(r"^trace id (\S+) (\S+) (\S+) (\S+) (packet|rule|policy):? ?(.*)$")
_VERDICT = re.compile(r"\s*\(verdict ([^)]*)\)\s*$")


def parse(lines: list[str], skip_table: str = "") -> list[Trace]:
    """``nft monitor trace`` lines → traces in order of first appearance (``skip_table``: ours)."""
    traces: dict[str, Trace] = {}
    for line in lines:
        m = _LINE.match(line.strip())
        if m is None:
            continue
        trace_id, family, table, chain, kind, rest = m.groups()
        if table == skip_table:
            continue
        verdict = ""
        if kind == "rule":
            v = _VERDICT.search(rest)
            if v:
                verdict, rest = v.group(1), rest[: v.start()]
        elif kind == "policy":
            verdict, rest = rest.strip(), ""
        trace = traces.setdefault(trace_id, Trace(trace_id))
        trace.steps.append(Step(f"{family} {table}", chain, kind, rest.strip(), verdict))
    return list(traces.values())


_FIELDS = re.compile(
    r'(iif|oif) "([^"]+)"|ip (saddr|daddr) (\S+)|(tcp|udp) (sport|dport) (\d+)|tcp flags == (\S+)'
)


_TCP_FLAGS = ((0x02, "syn"), (0x10, "ack"), (0x01, "fin"), (0x04, "rst"), (0x08, "psh"), (0x20, "urg"))


def _flags(text: str) -> str:
    """nft prints a flag combination it has no name for as hex (``0x12``): spell it out."""
    if not text.startswith("0x"):
        return text
    value = int(text, 16)
    return ",".join(name for bit, name in _TCP_FLAGS if value & bit) or text


def packet_summary(text: str) -> str:
    """``iif cbr0 10.244.1.3:49912 -> 10.96.0.10:80 tcp syn`` from a trace's packet description."""
    got: dict[str, str] = {}
    for m in _FIELDS.finditer(text):
        if m.group(1):
            got[m.group(1)] = m.group(2)
        elif m.group(3):
            got[m.group(3)] = m.group(4)
        elif m.group(5):
            got["proto"], got[m.group(6)] = m.group(5), m.group(7)
        elif m.group(8):
            got["flags"] = _flags(m.group(8))
    ends = " ".join(f"{k} {got[k]}" for k in ("iif", "oif") if k in got)
    src = got.get("saddr", "?") + (f":{got['sport']}" if "sport" in got else "")
    dst = got.get("daddr", "?") + (f":{got['dport']}" if "dport" in got else "")
    tail = " ".join(x for x in (got.get("proto", ""), got.get("flags", "")) if x)
    return f"{ends} {src} -> {dst} {tail}".strip()


def render(node: str, traces: list[Trace]) -> list[str]:
    """Human lines for one node: each packet, then each base chain it entered and what decided."""
    out = [f"{node}:"] if traces else [f"{node}: (no marked packet crossed this node)"]
    for t in traces:
        first = next((s for s in t.steps if s.kind == "packet"), None)
        out.append(f"  packet {packet_summary(first.text) if first else '?'}")
        for s in t.steps:
            where = f"{s.table} {s.chain}"
            if s.kind == "packet":
                out.append(f"    {where:<38} enter   {packet_summary(s.text)}")
            elif s.kind == "rule":
                out.append(f"    {where:<38} rule    {s.text}  => {s.verdict}")
            else:
                out.append(f"    {where:<38} policy  {s.verdict}")
    return out
