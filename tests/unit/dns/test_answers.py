"""The cluster zone's answers from a table of queries, and the wire-level edge cases."""

from __future__ import annotations

import random

import dns.flags
import dns.message
import dns.rcode
import dns.rdatatype
import dns.rrset
import pytest

from podnet.dns.records import build_zone
from podnet.dns.responder import Responder, formerr, question_key, to_wire

SERVICES = [
    {"metadata": {"name": "web", "namespace": "shop"},
     "spec": {"clusterIP": "10.96.0.20", "clusterIPs": ["10.96.0.20"],
              "ports": [{"name": "http", "port": 80, "protocol": "TCP"}, {"port": 81}]}},
    {"metadata": {"name": "db", "namespace": "shop"}, "spec": {"clusterIP": "None",
                                                             "ports": [{"name": "pg", "port": 5432}]}},
    {"metadata": {"name": "ext", "namespace": "shop"}, "spec": {"type": "ExternalName", "externalName": "db.example.com"}},
]  # fmt: skip
SLICES = [{
    "metadata": {"name": "db-1", "namespace": "shop", "labels": {"kubernetes.io/service-name": "db"}},
    "addressType": "IPv4",
    "ports": [{"name": "pg", "port": 5432, "protocol": "TCP"}],
    "endpoints": [
        {"addresses": ["10.244.1.5"], "hostname": "db-0", "conditions": {"ready": True}},
        {"addresses": ["10.244.2.6"], "conditions": {"ready": True}},
        {"addresses": ["10.244.2.7"], "conditions": {"ready": False}},
    ],
}]  # fmt: skip
PODS = [
    {
        "metadata": {"name": "p", "namespace": "shop"},
        "status": {"podIP": "10.244.1.5", "podIPs": [{"ip": "10.244.1.5"}]},
    }
]


@pytest.fixture
def responder() -> Responder:
    return Responder(build_zone(SERVICES, SLICES, PODS))


def ask(r: Responder, name: str, rdtype: str) -> dns.message.Message:
    return r.answer(dns.message.make_query(name, rdtype))


def values(msg: dns.message.Message) -> set[str]:
    return {rd.to_text() for rrset in msg.answer for rd in rrset}


TABLE = [
    ("web.shop.svc.cluster.local.", "A", "NOERROR", {"10.96.0.20"}),
    ("WEB.Shop.SVC.cluster.local.", "A", "NOERROR", {"10.96.0.20"}),
    ("web.shop.svc.cluster.local.", "AAAA", "NOERROR", set()),  # exists, no data: NODATA
    ("db.shop.svc.cluster.local.", "A", "NOERROR", {"10.244.1.5", "10.244.2.6"}),  # ready endpoints only
    ("db-0.db.shop.svc.cluster.local.", "A", "NOERROR", {"10.244.1.5"}),
    ("_http._tcp.web.shop.svc.cluster.local.", "SRV", "NOERROR", {"0 100 80 web.shop.svc.cluster.local."}),
    ("_pg._tcp.db.shop.svc.cluster.local.", "SRV", "NOERROR",
     {"0 100 5432 db-0.db.shop.svc.cluster.local.", "0 100 5432 10-244-2-6.db.shop.svc.cluster.local."}),
    ("ext.shop.svc.cluster.local.", "A", "NOERROR", {"db.example.com."}),
    ("20.0.96.10.in-addr.arpa.", "PTR", "NOERROR", {"web.shop.svc.cluster.local."}),
    ("5.1.244.10.in-addr.arpa.", "PTR", "NOERROR", {"db-0.db.shop.svc.cluster.local."}),
    ("10-244-1-5.shop.pod.cluster.local.", "A", "NOERROR", {"10.244.1.5"}),
    ("10-244-9-9.shop.pod.cluster.local.", "A", "NXDOMAIN", set()),
    ("dns-version.cluster.local.", "TXT", "NOERROR", {'"1.1.0"'}),
    ("nope.shop.svc.cluster.local.", "A", "NXDOMAIN", set()),
    ("shop.svc.cluster.local.", "A", "NOERROR", set()),  # an empty non-terminal exists
]  # fmt: skip


@pytest.mark.parametrize(("name", "rdtype", "rcode", "expected"), TABLE)
def test_answer_table(responder: Responder, name: str, rdtype: str, rcode: str, expected: set[str]) -> None:
    msg = ask(responder, name, rdtype)
    assert dns.rcode.to_text(msg.rcode()) == rcode
    assert values(msg) == expected
    assert msg.flags & dns.flags.AA
    if not expected:
        assert [rr.rdtype for rr in msg.authority] == [dns.rdatatype.SOA]
    for rrset in msg.answer:
        assert rrset.ttl == 5


def test_srv_answers_carry_target_addresses(responder: Responder) -> None:
    msg = ask(responder, "_pg._tcp.db.shop.svc.cluster.local.", "SRV")
    assert {rd.to_text() for rrset in msg.additional for rd in rrset} == {"10.244.1.5", "10.244.2.6"}


def test_hot_path_replays_a_remembered_answer_with_the_new_id(responder: Responder) -> None:
    q = dns.message.make_query("web.shop.svc.cluster.local.", "A")
    wire = q.to_wire()
    assert responder.fast(wire) is None
    responder.remember(wire, to_wire(responder.answer(q), q, 512))
    q2 = dns.message.make_query("WEB.shop.svc.cluster.local.", "A")
    hit = responder.fast(q2.to_wire())
    assert hit is not None
    resp = dns.message.from_wire(hit)
    assert resp.id == q2.id and values(resp) == {"10.96.0.20"}
    responder.set_zone(build_zone([], [], []))  # any change empties the hot path
    assert responder.fast(q2.to_wire()) is None


def test_edns_and_rd_are_part_of_the_key() -> None:
    plain = dns.message.make_query("a.b.", "A").to_wire()
    edns = dns.message.make_query("a.b.", "A", use_edns=0, payload=1232).to_wire()
    norec = bytearray(plain)
    norec[2] &= 0xFE
    keys = {question_key(plain).key, question_key(edns).key, question_key(bytes(norec)).key}  # type: ignore[union-attr]
    assert len(keys) == 3
    assert question_key(edns).edns_size == 1232  # type: ignore[union-attr]


def test_large_answers_truncate_over_udp(responder: Responder) -> None:
    eps = [{"addresses": [f"10.244.3.{i}"], "conditions": {"ready": True}} for i in range(1, 101)]
    big = [{"metadata": {"name": "h", "namespace": "x", "labels": {"kubernetes.io/service-name": "big"}},
            "addressType": "IPv4", "ports": [], "endpoints": eps}]  # fmt: skip
    svc = [{"metadata": {"name": "big", "namespace": "x"}, "spec": {"clusterIP": "None"}}]
    r = Responder(build_zone(svc, big, []))
    q = dns.message.make_query("big.x.svc.cluster.local.", "A")
    wire = to_wire(r.answer(q), q, 512)
    msg = dns.message.from_wire(wire)
    assert msg.flags & dns.flags.TC and not msg.answer
    full = dns.message.from_wire(to_wire(r.answer(q), q, None))  # TCP: everything
    assert len(values(full)) == 100


def test_formerr_and_garbage_never_crash() -> None:
    assert formerr(b"\x12") is None  # shorter than a header: dropped
    reply = formerr(b"\xab\xcd\x01\x00" + b"\x00" * 8 + b"\x99\x99")
    assert reply is not None and reply[:2] == b"\xab\xcd" and reply[3] & 0x0F == dns.rcode.FORMERR
    rng = random.Random(7)
    for _ in range(2000):  # bounded fuzz of the hot-path parser
        blob = bytes(rng.getrandbits(8) for _ in range(rng.randint(0, 80)))
        question_key(blob)


def test_a_cached_forwarded_answer_counts_its_ttls_down_and_expires(
    responder: Responder, monkeypatch: pytest.MonkeyPatch
) -> None:
    import podnet.dns.responder as mod

    clock = [1000.0]
    monkeypatch.setattr(mod.time, "monotonic", lambda: clock[0])
    q = dns.message.make_query("www.example.com.", "A", use_edns=0, payload=1232)
    r = dns.message.make_response(q)
    r.answer.append(dns.rrset.from_text("www.example.com.", 300, "IN", "CNAME", "web.example.com."))
    r.answer.append(dns.rrset.from_text("web.example.com.", 60, "IN", "A", "203.0.113.1"))
    r.authority.append(dns.rrset.from_text("example.com.", 120, "IN", "NS", "ns.example.com."))
    responder.remember(q.to_wire(), r.to_wire(), ttl=60)

    def ttls_at(t: float) -> dict[str, int] | None:
        clock[0] = t
        hit = responder.fast(q.to_wire())
        if hit is None:
            return None
        m = dns.message.from_wire(hit)
        assert m.edns == 0 and m.payload == r.payload  # OPT's TTL field (EDNS flags) is left alone
        return {f"{rr.name} {dns.rdatatype.to_text(rr.rdtype)}": rr.ttl for rr in m.answer + m.authority}

    assert ttls_at(1000.2) == {
        "www.example.com. CNAME": 300,
        "web.example.com. A": 60,
        "example.com. NS": 120,
    }
    assert ttls_at(1041.9) == {"www.example.com. CNAME": 259, "web.example.com. A": 19, "example.com. NS": 79}
    assert ttls_at(1059.5) == {"www.example.com. CNAME": 241, "web.example.com. A": 1, "example.com. NS": 61}
    assert ttls_at(1060.0) is None  # the smallest TTL is up: back to the upstream


def test_an_unparseable_forwarded_answer_is_not_cached(responder: Responder) -> None:
    q = dns.message.make_query("www.example.com.", "A")
    r = dns.message.make_response(q)
    r.answer.append(dns.rrset.from_text("www.example.com.", 300, "IN", "A", "203.0.113.1"))
    responder.remember(q.to_wire(), r.to_wire()[:-3], ttl=300)  # cut inside the last record
    assert responder.fast(q.to_wire()) is None
