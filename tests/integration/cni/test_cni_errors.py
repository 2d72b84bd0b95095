"""Bad config, stdin and environment get the spec's codes and leave nothing behind; STATUS; GC."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.helpers import wait_until
from tests.integration.cni.conftest import Node, ip

pytestmark = pytest.mark.integration


def assert_nothing_left(node: Node) -> None:
    assert node.ip_files() == {}
    wait_until(lambda: node.pod_veths() == [], timeout=5, what="no pod veth on the node")


@pytest.mark.parametrize(
    ("case", "code"),
    [
        ({"stdin": b"{not json"}, 6),
        ({"stdin": b""}, 6),
        ({"conf": {"cniVersion": "0.3.1"}}, 1),
        ({"conf": {"cniVersion": None}}, 7),
        ({"conf": {"type": "bridge"}}, 7),
        ({"conf": {"ipMasq": True}}, 2),
        ({"conf": {"mtu": 20}}, 7),
        ({"conf": {"ipam": {"type": "podnet-ipam", "subnet": "10.244.1.0/33"}}}, 7),
        ({"conf": {"mtu": None, "uplinkInterface": "nosuchif0"}}, 7),  # only the kernel can tell
        ({"env": {"CNI_CONTAINERID": None}}, 4),
        ({"env": {"CNI_IFNAME": "much-too-long-ifname"}}, 4),
        ({"env": {"CNI_NETNS": None}}, 4),
        ({"env": {"CNI_NETNS": "/run/netns/cnitest-does-not-exist"}}, 4),
        ({"env": {"CNI_COMMAND": None}}, 4),
    ],
)
def test_bad_input_gets_the_spec_code_and_changes_nothing(
    node: Node, case: dict[str, Any], code: int
) -> None:
    pod = node.new_pod()
    if "stdin" in case:
        conf: Any = case["stdin"]
    else:
        conf = {k: v for k, v in {**node.conf(), **case.get("conf", {})}.items() if v is not None}
        if "ipam" in case.get("conf", {}):
            conf["ipam"]["dataDir"] = str(node.data_dir)
    got = node.cni("ADD", "ctr-bad", pod, conf=conf, env=case.get("env"))
    assert (got.status, got.code) == (1, code), (got.out, got.stderr)
    assert got.out and isinstance(got.out["msg"], str) and got.out["msg"]
    assert_nothing_left(node)
    assert [link["ifname"] for link in json.loads(ip("-j", "-n", pod.rsplit("/", 1)[1], "link").stdout)] == [
        "lo"
    ]


def test_failure_after_allocation_is_rolled_back(node: Node) -> None:
    """The pod already has an eth0: the veth cannot be made, the reserved address is released."""
    pod = node.new_pod()
    ip("-n", pod.rsplit("/", 1)[1], "link", "add", "eth0", "type", "veth", "peer", "name", "eth0peer")
    got = node.cni("ADD", "ctr-clash", pod)
    assert (got.status, got.code) == (1, 100), got.out
    assert got.out and "eth0" in got.out["msg"]
    assert_nothing_left(node)


def test_exhausted_range_is_code_101_and_changes_nothing(node: Node) -> None:
    small = {"type": "podnet-ipam", "subnet": "10.244.9.0/29", "dataDir": str(node.data_dir)}
    for i in range(5):  # .2 - .6
        node.add(f"ctr-{i}", node.new_pod(), conf=node.conf(ipam=small))
    got = node.cni("ADD", "ctr-full", node.new_pod(), conf=node.conf(ipam=small))
    assert (got.status, got.code) == (1, 101)
    assert len(node.ip_files()) == 5
    assert len(node.pod_veths()) == 5
    status = node.cni("STATUS", conf=node.conf(ipam=small))
    assert (status.status, status.code) == (1, 50)


def test_status_ready(node: Node) -> None:
    got = node.cni("STATUS")
    assert (got.status, got.out) == (0, None), got.stderr


def test_gc_releases_what_the_runtime_no_longer_knows(node: Node) -> None:
    keep, drop = node.new_pod(), node.new_pod()
    kept = node.add("ctr-keep", keep)
    dropped = node.add("ctr-drop", drop)
    valid = [{"containerID": "ctr-keep", "ifname": "eth0"}]
    got = node.cni("GC", conf=node.conf(**{"cni.dev/valid-attachments": valid}))
    assert (got.status, got.out) == (0, None), got.stderr
    assert node.ip_files() == {kept["ips"][0]["address"].split("/")[0]: "ctr-keep\neth0"}
    wait_until(
        lambda: node.pod_veths() == [kept["interfaces"][1]["name"]], timeout=5, what="only the kept veth"
    )
    assert dropped["interfaces"][1]["name"] not in node.host_links()


def test_resident_server_refuses_callers_in_another_namespace(node: Node) -> None:
    if node.server is None:
        pytest.skip("resident mode only")
    pod = node.new_pod()
    got = node.cni("ADD", "ctr-elsewhere", pod, run_in=pod.rsplit("/", 1)[1])
    assert (got.status, got.code) == (1, 103)
    assert got.out and "another network namespace" in got.out["msg"]
    assert_nothing_left(node)
