"""Answers: a dict of precomputed wire responses on the hot path, dnspython for everything else.

The hot path is what makes a Python server as fast as dnsmasq: a query's question (name in lower
case, type, class), its RD bit and its EDNS size key a dict of finished responses; a hit costs a
slice and a concatenation (the client's ID in front). Everything else — the first query for a name,
malformed packets, forwarding, autopath — goes through dnspython, and fills the dict.
"""

from __future__ import annotations

import struct
import time
from dataclasses import dataclass

import dns.flags
import dns.message
import dns.rcode
import dns.rdatatype
import dns.rrset

from podnet.dns.records import Zone

TTL = 5
MAX_FORWARD_TTL = 3600
MAX_CACHE = 200_000  # entries; the dict is cleared when it grows past this (bounded memory)


@dataclass(frozen=True)
class Question:
    key: bytes  # what the hot-path dict is keyed by
    edns_size: int  # 0: the client sent no EDNS


def question_key(data: bytes) -> Question | None:
    """The hot-path key of a plain query, or None when the packet needs the slow path."""
    n = len(data)
    if n < 17 or data[2] & 0xFA or data[3] & 0x70 or data[4:10] != b"\x00\x01\x00\x00\x00\x00":
        return None  # a response, another opcode, TC or Z bits set, not exactly one question
    i = 12
    for _ in range(128):
        length = data[i]
        if length == 0:
            break
        if length > 63:
            return None  # compression in a question, or garbage
        i += length + 1
        if i >= n:
            return None
    else:
        return None
    qend = i + 5
    if qend > n:
        return None
    name, rest = data[12 : i + 1].lower(), data[i + 1 : qend]
    arcount = data[10:12]
    if arcount == b"\x00\x00":
        if qend != n:
            return None
        return Question(name + rest + bytes([data[2] & 1, 0]), 0)
    if arcount != b"\x00\x01" or n < qend + 11 or data[qend] != 0 or data[qend + 1 : qend + 3] != b"\x00\x29":
        return None
    size = int.from_bytes(data[qend + 3 : qend + 5], "big")
    do = data[qend + 7] & 0x80
    return Question(
        name + rest + bytes([data[2] & 1, 1]) + data[qend + 3 : qend + 5] + bytes([do]), max(size, 512)
    )


def formerr(data: bytes) -> bytes | None:
    """FORMERR for a packet whose header we can read; None (drop it) for anything shorter."""
    if len(data) < 12 or data[2] & 0x80:
        return None
    flags = 0x80 | (data[2] & 0x79)
    return data[:2] + bytes([flags, 0x80 | dns.rcode.FORMERR]) + b"\x00" * 8


def _skip_name(wire: bytes, i: int) -> int:
    """The offset just past the (possibly compressed) name starting at ``i``."""
    for _ in range(128):
        length = wire[i]
        if length == 0:
            return i + 1
        if length & 0xC0 == 0xC0:
            return i + 2  # a pointer ends the name
        i += length + 1
    raise ValueError("name too long")


def ttl_offsets(wire: bytes) -> list[tuple[int, int]]:
    """(offset, TTL) of every record's TTL field, OPT's excepted (its TTL field is EDNS flags).

    A cached forwarded answer must age: a client served from the cache 40 s later must see 40 s
    less, or it would keep the record past the authority's deadline (RFC 1035 §7.3; CoreDNS's
    cache does the same).
    """
    counts = struct.unpack("!HHHH", wire[4:12])
    i = 12
    for _ in range(counts[0]):
        i = _skip_name(wire, i) + 4
    out = []
    for _ in range(counts[1] + counts[2] + counts[3]):
        i = _skip_name(wire, i)
        rtype, _cls, ttl, rdlen = struct.unpack("!HHIH", wire[i : i + 10])
        if rtype != dns.rdatatype.OPT:
            out.append((i + 4, ttl))
        i += 10 + rdlen
    if i > len(wire):
        raise ValueError("truncated message")
    return out


class Forwarded:
    """A forwarded answer on the hot path, with its TTLs counted down as it ages."""

    __slots__ = ("aged", "born", "expires", "offsets", "wire")

    def __init__(self, wire: bytes, ttl: float, now: float) -> None:
        self.wire, self.born, self.expires = wire, now, now + ttl
        self.offsets = ttl_offsets(wire)
        self.aged: tuple[int, bytes] = (0, wire)

    def at(self, now: float) -> bytes:
        age = int(now - self.born)
        if age != self.aged[0]:  # rewritten once per second of age, not per query
            buf = bytearray(self.wire)
            for off, ttl in self.offsets:
                struct.pack_into("!I", buf, off, max(ttl - age, 0))
            self.aged = (age, bytes(buf))
        return self.aged[1]


class Responder:
    def __init__(self, zone: Zone) -> None:
        self.zone = zone
        self.cache: dict[bytes, bytes] = {}
        self.forwarded: dict[bytes, Forwarded] = {}
        self.serial = int(time.time())

    def set_zone(self, zone: Zone) -> None:
        self.zone, self.serial = zone, self.serial + 1
        self.cache = {}

    def fast(self, data: bytes) -> bytes | None:
        q = question_key(data)
        if q is None:
            return None
        hit = self.cache.get(q.key)
        if hit is None:
            fwd = self.forwarded.get(q.key)
            if fwd is None:
                return None
            now = time.monotonic()
            if fwd.expires <= now:
                return None
            hit = fwd.at(now)
        return data[:2] + hit[2:]

    def remember(self, data: bytes, response: bytes, ttl: float | None = None) -> None:
        """Keep a response for the hot path (``ttl``: a forwarded answer, kept that long)."""
        q = question_key(data)
        if q is None:
            return
        if len(self.cache) + len(self.forwarded) > MAX_CACHE:
            self.cache.clear()
            self.forwarded.clear()
        if ttl is None:
            self.cache[q.key] = response
        elif ttl > 0:
            try:
                self.forwarded[q.key] = Forwarded(response, ttl, time.monotonic())
            except (ValueError, struct.error, IndexError):  # an upstream's odd message: not cached
                pass

    # ---- the cluster zone ---------------------------------------------------------------------

    def is_ours(self, qname: str, rdtype: int) -> bool:
        if qname.endswith(self.zone.origin) or qname == self.zone.origin:
            return True
        return rdtype == dns.rdatatype.PTR and (qname, "PTR") in self.zone.records

    def soa(self) -> dns.rrset.RRset:
        o = self.zone.origin
        return dns.rrset.from_text(
            o, TTL, "IN", "SOA", f"ns.dns.{o} hostmaster.{o} {self.serial} 7200 1800 86400 {TTL}"
        )

    def answer(self, query: dns.message.Message) -> dns.message.Message:
        """The authoritative answer for a question in the cluster zone."""
        resp = dns.message.make_response(query)
        resp.flags |= dns.flags.AA | dns.flags.RA
        qn = query.question[0]
        name, rdtype = qn.name.to_text().lower(), qn.rdtype
        tname = dns.rdatatype.to_text(rdtype)
        cname = self.zone.records.get((name, "CNAME"))
        if cname and rdtype != dns.rdatatype.CNAME:
            resp.answer.append(dns.rrset.from_text(qn.name, TTL, "IN", "CNAME", *cname))
            return resp  # the target lies outside the zone: the client's resolver follows it
        values = self.zone.records.get((name, tname))
        if rdtype == dns.rdatatype.ANY:
            for (n, t), vals in self.zone.records.items():
                if n == name:
                    resp.answer.append(dns.rrset.from_text(qn.name, TTL, "IN", t, *vals))
        elif values:
            resp.answer.append(dns.rrset.from_text(qn.name, TTL, "IN", tname, *values))
            if rdtype == dns.rdatatype.SRV:  # the targets' addresses, as CoreDNS adds them
                for v in values:
                    target = v.split()[-1]
                    for t in ("A", "AAAA"):
                        addrs = self.zone.records.get((target, t))
                        if addrs:
                            resp.additional.append(dns.rrset.from_text(target, TTL, "IN", t, *addrs))
        if not resp.answer:
            if name not in self.zone.names and (name, "PTR") not in self.zone.records:
                resp.set_rcode(dns.rcode.NXDOMAIN)
            resp.authority.append(self.soa())
        return resp


def to_wire(resp: dns.message.Message, query: dns.message.Message, udp_limit: int | None) -> bytes:
    """Wire form, truncated (TC, question only) when it does not fit the client's UDP size."""
    wire = resp.to_wire()
    if udp_limit is None or len(wire) <= udp_limit:
        return wire
    small = dns.message.make_response(query)
    small.flags |= dns.flags.TC | (resp.flags & (dns.flags.AA | dns.flags.RA))
    small.set_rcode(resp.rcode())
    return small.to_wire()


def min_ttl(resp: dns.message.Message) -> int:
    """How long a forwarded answer may be cached: its smallest TTL, or the SOA minimum if negative."""
    ttls = [rr.ttl for rr in resp.answer]
    if not ttls:
        for rr in resp.authority:
            if rr.rdtype == dns.rdatatype.SOA:
                ttls.append(min(rr.ttl, rr[0].minimum))
    return min(min(ttls, default=0), MAX_FORWARD_TTL)
