"""``plugin.handle`` end to end for everything decided before the kernel is touched.

These run as any user and never open a netlink socket: every case here fails (or finishes) in
validation or in the IPAM directory under tmp_path, which is the point the spec cares about —
bad input changes nothing.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from podnet.agent.cni.plugin import handle


def conf(tmp_path: Path, version: str = "1.1.0", **extra: Any) -> bytes:
    doc = {
        "cniVersion": version,
        "name": "podnet",
        "type": "podnet-cni",
        "ipam": {"type": "podnet-ipam", "subnet": "10.244.1.0/29", "dataDir": str(tmp_path)},
        **extra,
    }
    return json.dumps(doc).encode()


def run(env: dict[str, str], stdin: bytes) -> tuple[int, dict[str, Any] | None]:
    status, out = handle(env, stdin)
    return status, json.loads(out) if out else None


ADD = {"CNI_COMMAND": "ADD", "CNI_CONTAINERID": "c1", "CNI_IFNAME": "eth0", "CNI_PATH": "/opt/cni/bin"}


def test_version_echoes_a_supported_request_version() -> None:
    assert run({"CNI_COMMAND": "VERSION"}, b'{"cniVersion": "0.4.0"}') == (
        0,
        {"cniVersion": "0.4.0", "supportedVersions": ["0.4.0", "1.0.0", "1.1.0"]},
    )
    assert run({"CNI_COMMAND": "VERSION"}, b"")[1] == {
        "cniVersion": "1.1.0",
        "supportedVersions": ["0.4.0", "1.0.0", "1.1.0"],
    }


def test_error_json_shape_and_version(tmp_path: Path) -> None:
    status, out = run({"CNI_COMMAND": "ADD"}, conf(tmp_path, "1.0.0"))
    assert status == 1
    assert out == {"cniVersion": "1.0.0", "code": 4, "msg": "CNI_CONTAINERID is required"}


def test_add_into_a_missing_netns_is_code_4_and_reserves_nothing(tmp_path: Path) -> None:
    status, out = run({**ADD, "CNI_NETNS": "/run/netns/does-not-exist-cnitest"}, conf(tmp_path))
    assert (status, out and out["code"]) == (1, 4)
    assert list(tmp_path.iterdir()) == []


def test_bad_stdin_is_code_6_and_touches_nothing(tmp_path: Path) -> None:
    status, out = run({**ADD, "CNI_NETNS": "/proc/self/ns/net"}, b"{oops")
    assert (status, out and out["code"]) == (1, 6)
    assert list(tmp_path.iterdir()) == []


def test_unsupported_version_is_code_1(tmp_path: Path) -> None:
    status, out = run({**ADD, "CNI_NETNS": "/proc/self/ns/net"}, conf(tmp_path, "0.3.1"))
    assert (status, out and out["code"]) == (1, 1)
    assert out and out["cniVersion"] == "1.1.0"


def test_status_ready_then_exhausted(tmp_path: Path) -> None:
    assert run({"CNI_COMMAND": "STATUS"}, conf(tmp_path)) == (0, None)
    net = tmp_path / "podnet"
    for i in range(2, 7):
        (net / f"10.244.1.{i}").write_text(f"c{i}\neth0")
    status, out = run({"CNI_COMMAND": "STATUS"}, conf(tmp_path))
    assert (status, out and out["code"]) == (1, 50)


def test_status_and_gc_need_1_1_0(tmp_path: Path) -> None:
    for command in ("STATUS", "GC"):
        status, out = run({"CNI_COMMAND": command}, conf(tmp_path, "1.0.0"))
        assert (status, out and out["code"]) == (1, 1), command


def test_gc_without_valid_attachments_is_code_7(tmp_path: Path) -> None:
    status, out = run({"CNI_COMMAND": "GC"}, conf(tmp_path))
    assert (status, out and out["code"]) == (1, 7)


def test_check_without_prev_result_is_code_7(tmp_path: Path) -> None:
    env = {**ADD, "CNI_COMMAND": "CHECK", "CNI_NETNS": "/proc/self/ns/net"}
    status, out = run(env, conf(tmp_path))
    assert (status, out and out["code"]) == (1, 7)
