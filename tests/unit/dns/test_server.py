"""The server over real sockets on loopback: UDP hot and slow paths, TCP, forwarding, cache, autopath."""

from __future__ import annotations

import asyncio
import socket

import dns.asyncquery
import dns.message
import dns.rcode
import dns.rrset

from podnet.dns.records import build_zone
from podnet.dns.responder import Responder
from podnet.dns.server import DnsServer, Forwarder, UdpProtocol, serve_tcp_client

SERVICES = [
    {"metadata": {"name": "web", "namespace": "shop"}, "spec": {"clusterIP": "10.96.0.20", "ports": []}}
]


class Upstream(asyncio.DatagramProtocol):
    """A tiny authoritative upstream: www.example.com A 203.0.113.1, NXDOMAIN otherwise; counts queries."""

    def __init__(self) -> None:
        self.count = 0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        self.count += 1
        q = dns.message.from_wire(data)
        r = dns.message.make_response(q)
        if q.question[0].name.to_text().lower() == "www.example.com.":
            r.answer.append(dns.rrset.from_text("www.example.com.", 300, "IN", "A", "203.0.113.1"))
        else:
            r.set_rcode(dns.rcode.NXDOMAIN)
            r.authority.append(dns.rrset.from_text("example.com.", 60, "IN", "SOA", "ns. h. 1 2 3 4 30"))
        self.transport.sendto(r.to_wire(), addr)  # type: ignore[attr-defined]


async def start() -> tuple[int, Upstream, DnsServer, list[object]]:
    loop = asyncio.get_running_loop()
    up = Upstream()
    up_t, _ = await loop.create_datagram_endpoint(lambda: up, local_addr=("127.0.0.1", 0))
    up_port = up_t.get_extra_info("sockname")[1]
    pods = {"127.0.0.1": "shop"}  # the test client is "a pod of namespace shop"
    server = DnsServer(Responder(build_zone(SERVICES, [], [])), Forwarder([("127.0.0.1", up_port)]), pods.get)
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    t, _ = await loop.create_datagram_endpoint(lambda: UdpProtocol(server), sock=sock)
    tcp = await asyncio.start_server(lambda r, w: serve_tcp_client(server, r, w), "127.0.0.1", port)
    return port, up, server, [t, up_t, tcp]


async def stop(handles: list[object]) -> None:
    for h in handles:
        h.close()  # type: ignore[attr-defined]


async def test_udp_tcp_forward_cache_and_autopath() -> None:
    port, up, server, handles = await start()
    try:
        q = dns.message.make_query("web.shop.svc.cluster.local.", "A")
        r = await dns.asyncquery.udp(q, "127.0.0.1", port=port, timeout=2)
        assert r.answer[0][0].to_text() == "10.96.0.20"
        r = await dns.asyncquery.udp(q, "127.0.0.1", port=port, timeout=2)  # now from the hot path
        assert r.answer[0][0].to_text() == "10.96.0.20" and r.id == q.id
        r = await dns.asyncquery.tcp(q, "127.0.0.1", port=port, timeout=2)
        assert r.answer[0][0].to_text() == "10.96.0.20"
        ext = dns.message.make_query("www.example.com.", "A")
        for _ in range(3):
            r = await dns.asyncquery.udp(ext, "127.0.0.1", port=port, timeout=2)
            assert r.answer[0][0].to_text() == "203.0.113.1"
        assert up.count == 1  # cached for its TTL
        miss = await dns.asyncquery.udp(
            dns.message.make_query("nope.example.com.", "A"), "127.0.0.1", port=port, timeout=2
        )
        assert miss.rcode() == dns.rcode.NXDOMAIN
        # autopath: the first search-path name of a pod in "shop" gets the external answer at once
        auto = await dns.asyncquery.udp(
            dns.message.make_query("www.example.com.shop.svc.cluster.local.", "A"),
            "127.0.0.1",
            port=port,
            timeout=2,
        )
        texts = [rr.to_text() for rr in auto.answer]
        assert "CNAME www.example.com." in texts[0] and "203.0.113.1" in texts[1]
        # garbage with a readable header gets FORMERR; shorter garbage is ignored; the server lives on
        loop = asyncio.get_running_loop()
        got: asyncio.Future[bytes] = loop.create_future()

        class Client(asyncio.DatagramProtocol):
            def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
                if not got.done():
                    got.set_result(data)

        ct, _ = await loop.create_datagram_endpoint(Client, remote_addr=("127.0.0.1", port))
        ct.sendto(b"\x01")
        ct.sendto(b"\xbe\xef\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\xff\xff")
        reply = await asyncio.wait_for(got, 2)
        ct.close()
        assert reply[:2] == b"\xbe\xef" and reply[3] & 0x0F == dns.rcode.FORMERR
        r = await dns.asyncquery.udp(q, "127.0.0.1", port=port, timeout=2)
        assert r.answer
    finally:
        await stop(handles)
    assert server is not None
