"""podnet trace's pure parts: the marking table, and reading `nft monitor trace`."""

from __future__ import annotations

from podnet.lab import trace as tr

LINES = """\
trace id 84b6bf5b ip podnet-trace-x marker packet: iif "cbr0" ether saddr 4e:01:ae:67:97:2e ip saddr 10.244.1.3 ip daddr 10.98.109.153 ip ttl 64 tcp sport 49912 tcp dport 80 tcp flags == syn tcp window 64240
trace id 84b6bf5b ip podnet-trace-x marker rule ip saddr 10.244.1.3 ct state new meta l4proto tcp meta nftrace set 1 (verdict continue)
trace id 84b6bf5b ip podnet-proxy prerouting packet: iif "cbr0" ether saddr 4e:01:ae:67:97:2e ip saddr 10.244.1.3 ip daddr 10.98.109.153 tcp sport 49912 tcp dport 80 tcp flags == syn
trace id 84b6bf5b ip podnet-proxy prerouting rule jump entry (verdict jump entry)
trace id 84b6bf5b ip podnet-proxy entry rule ip daddr . meta l4proto . th dport vmap @services (verdict goto sel-2)
trace id 84b6bf5b ip podnet-proxy sel-2 rule dnat ip to ip daddr . meta l4proto . th dport . numgen random mod 2 map @backends (verdict accept)
trace id 84b6bf5b ip podnet-policy forward packet: iif "cbr0" oif "eth0" ip saddr 10.244.1.3 ip daddr 10.244.0.2 tcp sport 49912 tcp dport 8080 tcp flags == syn
trace id 84b6bf5b ip podnet-policy forward rule ip daddr vmap @ingress-pods (verdict jump in-dbd63ade68ba)
trace id 84b6bf5b ip podnet-policy in-dbd63ade68ba rule counter name "drop-in-dbd63ade68ba" drop (verdict drop)
some unrelated line
trace id 5a8c7cba ip podnet-policy forward packet: iif "cbr0" oif "cbr0" ip saddr 10.244.1.2 ip daddr 10.244.1.3 tcp sport 8080 tcp dport 49912 tcp flags == 0x12
trace id 5a8c7cba ip podnet-policy forward policy accept
""".splitlines()


def test_traces_are_grouped_by_id_without_our_own_table() -> None:
    traces = tr.parse(LINES, skip_table="podnet-trace-x")
    assert [t.trace_id for t in traces] == ["84b6bf5b", "5a8c7cba"]
    steps = traces[0].steps
    assert [(s.table, s.chain, s.kind, s.verdict) for s in steps] == [
        ("ip podnet-proxy", "prerouting", "packet", ""),
        ("ip podnet-proxy", "prerouting", "rule", "jump entry"),
        ("ip podnet-proxy", "entry", "rule", "goto sel-2"),
        ("ip podnet-proxy", "sel-2", "rule", "accept"),
        ("ip podnet-policy", "forward", "packet", ""),
        ("ip podnet-policy", "forward", "rule", "jump in-dbd63ade68ba"),
        ("ip podnet-policy", "in-dbd63ade68ba", "rule", "drop"),
    ]
    assert steps[6].text == 'counter name "drop-in-dbd63ade68ba" drop'
    assert traces[1].steps[1].verdict == "accept"


def test_packets_are_summarised_with_nat_visible_and_flags_named() -> None:
    traces = tr.parse(LINES, skip_table="podnet-trace-x")
    assert (
        tr.packet_summary(traces[0].steps[0].text) == "iif cbr0 10.244.1.3:49912 -> 10.98.109.153:80 tcp syn"
    )
    assert (
        tr.packet_summary(traces[0].steps[4].text)
        == "iif cbr0 oif eth0 10.244.1.3:49912 -> 10.244.0.2:8080 tcp syn"
    )
    assert tr.packet_summary(traces[1].steps[0].text).endswith(
        "10.244.1.2:8080 -> 10.244.1.3:49912 tcp syn,ack"
    )
    lines = tr.render("node-1", traces)
    assert lines[0] == "node-1:" and any("=> drop" in line and "in-dbd63ade68ba" in line for line in lines)
    assert tr.render("node-2", []) == ["node-2: (no marked packet crossed this node)"]


def test_the_marking_table_marks_the_probes_packets_by_dscp_and_replies_by_remembered_address() -> None:
    tcp = tr.trace_table("podnet-trace-ab", "tcp")
    assert "type filter hook prerouting priority -150; policy accept;" in tcp
    assert "type filter hook output priority -150; policy accept;" in tcp  # a probe from the node itself
    assert "ip dscp 0x2a ct state new meta l4proto tcp meta nftrace set 1" in tcp
    assert "update @flows { ip saddr . th sport }" in tcp.split("hook postrouting priority 200")[1]
    assert (
        "ct direction reply ip daddr . th dport @flows tcp flags & (syn | ack) == syn | ack meta nftrace set 1"
        in tcp
    )
    assert "ct state established meta l4proto udp meta nftrace set 1" in tr.trace_table(
        "podnet-trace-ab", "udp"
    )
    assert tr.TOS == 0x2A << 2
