"""``podnet dns``: UDP and TCP on port 53, the zone fed by informers, upstream forwarding, autopath.

UDP runs on uvloop's datagram transport: the hot path (``Responder.fast``) answers in the protocol
callback itself; anything else becomes a task. Forwarded answers are cached for their smallest TTL
(negative ones for the SOA minimum) and served with every TTL counted down as they age. Autopath
(as CoreDNS's plugin): a pod's first search-path query for a name that is not in the cluster
(``www.example.com.<ns>.svc.cluster.local``) is answered with a CNAME to the name itself plus its
records, sparing the client the rest of the search list.
"""

from __future__ import annotations

import asyncio
import logging
import struct
from collections.abc import Callable

import dns.exception
import dns.flags
import dns.message
import dns.query
import dns.rcode
import dns.rrset

from podnet.dns.responder import TTL, Responder, formerr, min_ttl, question_key, to_wire

log = logging.getLogger(__name__)
UPSTREAM_TIMEOUT_S = 2.0


class Forwarder:
    def __init__(self, upstreams: list[tuple[str, int]]) -> None:
        self.upstreams = upstreams

    async def resolve(self, query: dns.message.Message) -> dns.message.Message:
        """Ask each upstream in turn (UDP, then TCP when truncated); SERVFAIL when none answers."""
        for host, port in self.upstreams:
            try:
                resp = await asyncio.to_thread(
                    dns.query.udp, query, host, timeout=UPSTREAM_TIMEOUT_S, port=port
                )
                if resp.flags & dns.flags.TC:
                    resp = await asyncio.to_thread(
                        dns.query.tcp, query, host, timeout=UPSTREAM_TIMEOUT_S, port=port
                    )
                return resp
            except (dns.exception.DNSException, OSError) as exc:
                log.debug("upstream %s:%d: %r", host, port, exc)
        failed = dns.message.make_response(query)
        failed.set_rcode(dns.rcode.SERVFAIL)
        return failed


class DnsServer:
    def __init__(
        self, responder: Responder, forwarder: Forwarder, pod_namespace: Callable[[str], str | None],
        autopath: bool = True,
    ) -> None:  # fmt: skip
        self.responder, self.forwarder, self.pod_namespace = responder, forwarder, pod_namespace
        self.autopath = autopath
        self.queries = 0

    async def handle(self, data: bytes, client_ip: str, udp: bool) -> bytes | None:
        """The slow path: parse, answer or forward, remember for the hot path."""
        try:
            query = dns.message.from_wire(data)
        except Exception:  # any parse failure is the client's: FORMERR, never a crash
            return formerr(data)
        if query.flags & dns.flags.QR or len(query.question) != 1 or query.opcode() != 0:
            return formerr(data) if len(query.question) != 1 else None
        q = question_key(data)
        limit = (
            (q.edns_size if q and q.edns_size else (max(query.payload, 512) if query.edns >= 0 else 512))
            if udp
            else None
        )
        qn = query.question[0]
        name = qn.name.to_text().lower()
        if self.responder.is_ours(name, qn.rdtype):
            resp = self.responder.answer(query)
            if resp.rcode() == dns.rcode.NXDOMAIN and self.autopath:
                auto = await self._autopath(query, name, client_ip)
                if auto is not None:
                    return to_wire(auto, query, limit)
            wire = to_wire(resp, query, limit)
            if not wire[2] & 0x02:  # a truncated answer is not worth keeping
                self.responder.remember(data, wire)
            return wire
        resp = await self.forwarder.resolve(query)
        resp.id = query.id
        wire = to_wire(resp, query, limit)
        if resp.rcode() in (dns.rcode.NOERROR, dns.rcode.NXDOMAIN) and not wire[2] & 0x02:
            self.responder.remember(data, wire, ttl=min_ttl(resp))
        return wire

    async def _autopath(
        self, query: dns.message.Message, name: str, client_ip: str
    ) -> dns.message.Message | None:
        """``x.<ns>.svc.<zone>`` from a pod of ``ns``: resolve ``x`` server side and answer with a CNAME."""
        zone = self.responder.zone.origin
        ns = self.pod_namespace(client_ip)
        first_search = f".{ns}.svc.{zone}" if ns else None
        if first_search is None or not name.endswith(first_search):
            return None
        bare = name[: -len(first_search)]
        if not bare or bare.endswith(zone.rstrip(".")):
            return None
        qn = query.question[0]
        for candidate in (f"{bare}.svc.{zone}", f"{bare}.{zone}"):
            sub = dns.message.make_query(candidate, qn.rdtype)
            found = self.responder.answer(sub)
            if found.answer:
                return self._cname(query, candidate, found)
        sub = dns.message.make_query(bare + ".", qn.rdtype)
        found = await self.forwarder.resolve(sub)
        if found.rcode() != dns.rcode.NOERROR or not found.answer:
            return None
        return self._cname(query, bare + ".", found)

    def _cname(
        self, query: dns.message.Message, target: str, found: dns.message.Message
    ) -> dns.message.Message:
        resp = dns.message.make_response(query)
        resp.flags |= dns.flags.RA
        resp.answer.append(dns.rrset.from_text(query.question[0].name, TTL, "IN", "CNAME", target))
        resp.answer.extend(found.answer)
        return resp


class UdpProtocol(asyncio.DatagramProtocol):
    def __init__(self, server: DnsServer) -> None:
        self.server = server
        self.fast = server.responder.fast
        self.transport: asyncio.DatagramTransport | None = None
        self.pending: set[asyncio.Task[None]] = set()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        hit = self.server.responder.fast(data)
        if hit is not None:
            self.transport.sendto(hit, addr)  # type: ignore[union-attr]
            return
        if len(self.pending) > 10_000:
            return  # overload: drop, as any resolver under attack must
        task = asyncio.get_running_loop().create_task(self._slow(data, addr))
        self.pending.add(task)
        task.add_done_callback(self.pending.discard)

    async def _slow(self, data: bytes, addr: tuple[str, int]) -> None:
        try:
            out = await self.server.handle(data, addr[0], udp=True)
        except Exception:
            log.exception("query from %s failed", addr[0])
            out = formerr(data)
        if out is not None and self.transport is not None:
            self.transport.sendto(out, addr)


async def serve_tcp_client(
    server: DnsServer, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
) -> None:
    peer = (writer.get_extra_info("peername") or ("", 0))[0]
    try:
        for _ in range(1000):  # bounded per connection
            head = await asyncio.wait_for(reader.readexactly(2), 10)
            (length,) = struct.unpack("!H", head)
            data = await asyncio.wait_for(reader.readexactly(length), 10)
            out = server.responder.fast(data) or await server.handle(data, peer, udp=False)
            if out is None:
                break
            writer.write(struct.pack("!H", len(out)) + out)
            await writer.drain()
    except (asyncio.IncompleteReadError, TimeoutError, ConnectionError):
        pass
    finally:
        writer.close()
