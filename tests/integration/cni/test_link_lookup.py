"""rtnl_batch.link_by_name against a real kernel: the uplink lookup of every CNI ADD."""

from __future__ import annotations

import secrets
import subprocess

import pytest

from podnet.kernel import rtnl_batch
from podnet.kernel.named_netns import run_in_netns

pytestmark = pytest.mark.integration


def test_a_link_is_found_by_name_with_its_mtu_and_a_missing_one_is_none() -> None:
    ns = f"pn-lk-{secrets.token_hex(3)}"
    subprocess.run(["ip", "netns", "add", ns], check=True)
    try:
        subprocess.run(["ip", "-n", ns, "link", "add", "up0", "mtu", "1400", "type", "bridge"], check=True)
        found, missing = run_in_netns(
            ns, lambda: (rtnl_batch.link_by_name("up0"), rtnl_batch.link_by_name("nope"))
        )
        assert found is not None and (found.name, found.mtu) == ("up0", 1400) and found.index > 1
        assert missing is None
    finally:
        subprocess.run(["ip", "netns", "del", ns], check=False)
