"""LoadBalancer IP election through Leases, over a FakeClient and fake ARP responders.

Two nodes run the same step against one API: exactly one holds each IP; the holder renews; when it
stops (its node died), the other takes the IP over once the Lease has expired, counting a transition
and announcing (gratuitous ARP) at once; a node that is no longer eligible releases. Time is the
``now`` each step is given, never the wall clock. Node network 172.18.0.0/16, LB pool 172.18.255.200+.
"""

from __future__ import annotations

from typing import Any

from podnet.agent.proxy.announce import LEASE_SECONDS, NAMESPACE, Announcer, lease_name
from podnet.api.scheme import resource
from podnet.client.fake import FakeClient

LEASES = resource("leases")
IP = "172.18.255.200"
T0 = 1_795_341_600.0


class FakeResponder:
    def __init__(self) -> None:
        self.ips: set[str] = set()
        self.announced: list[str] = []

    def announce(self, ip: str) -> None:
        self.announced.append(ip)


def leases(client: FakeClient) -> dict[str, dict[str, Any]]:
    return {le["metadata"]["name"]: le for le in client.objects(LEASES, NAMESPACE)}


def pair(client: FakeClient) -> tuple[Announcer, FakeResponder, Announcer, FakeResponder]:
    r1, r2 = FakeResponder(), FakeResponder()
    return Announcer(client, "node-1", r1), r1, Announcer(client, "node-2", r2), r2


async def test_one_holder_then_failover_after_expiry() -> None:
    client = FakeClient(clock=lambda: T0)
    a1, r1, a2, r2 = pair(client)
    await a1.step({IP}, leases(client), T0)
    await a2.step({IP}, leases(client), T0 + 0.1)
    assert r1.ips == {IP} and r2.ips == set() and r1.announced == [IP]
    lease = leases(client)[lease_name(IP)]
    assert lease["spec"]["holderIdentity"] == "node-1"
    assert lease["spec"]["leaseDurationSeconds"] == LEASE_SECONDS
    await a1.step({IP}, leases(client), T0 + 1)  # renews: node-2 still sees a live holder
    await a2.step({IP}, leases(client), T0 + 1 + LEASE_SECONDS - 0.5)
    assert r2.ips == set()
    # node-1 dies (no more steps); after the lease duration node-2 takes over
    await a2.step({IP}, leases(client), T0 + 1 + LEASE_SECONDS + 0.5)
    lease = leases(client)[lease_name(IP)]
    assert r2.ips == {IP} and r2.announced == [IP]
    assert lease["spec"]["holderIdentity"] == "node-2" and lease["spec"]["leaseTransitions"] == 1


async def test_a_node_that_is_no_longer_eligible_releases_the_ip() -> None:
    client = FakeClient(clock=lambda: T0)
    a1, r1, a2, r2 = pair(client)
    await a1.step({IP}, leases(client), T0)
    await a1.step(set(), leases(client), T0 + 1)  # e.g. Local policy: its last local endpoint left
    assert r1.ips == set() and lease_name(IP) not in leases(client)
    await a2.step({IP}, leases(client), T0 + 1.1)  # the other node need not wait for an expiry
    assert r2.ips == {IP}


async def test_two_nodes_racing_for_a_free_ip_get_one_winner() -> None:
    client = FakeClient(clock=lambda: T0)
    a1, r1, a2, r2 = pair(client)
    snapshot = leases(client)  # both saw "nobody holds it"
    await a1.step({IP}, snapshot, T0)
    await a2.step({IP}, snapshot, T0)  # its create hits 409 AlreadyExists
    assert (r1.ips, r2.ips) == ({IP}, set())
