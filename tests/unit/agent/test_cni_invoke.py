import json
from pathlib import Path

import pytest

from podnet.agent.agent import AgentConfig, cni_network_config, write_cni_config
from podnet.agent.pods.cni import CniError, exec_plugin, load_network, plugin_stdin, result_ips


def test_first_config_wins_and_conflist_entries_get_name_and_version(tmp_path: Path) -> None:
    (tmp_path / "20-other.conf").write_text(
        json.dumps({"cniVersion": "0.4.0", "name": "x", "type": "bridge"})
    )
    cfg = AgentConfig(node_name="n", node_ip="172.18.0.3", state_dir=tmp_path / "s", backend="vxlan")
    write_cni_config(cfg, "10.244.3.0/24")
    net = load_network(cfg.cni_conf_dir)
    assert net.name == "podnet" and net.plugins[0]["type"] == "podnet-cni"
    conf = json.loads(plugin_stdin(net, net.plugins[0], {"ips": []}))
    assert conf["name"] == "podnet" and conf["cniVersion"] == "1.1.0" and conf["prevResult"] == {"ips": []}
    assert conf["ipam"]["gateway"] == "10.244.3.1" and conf["backendOverhead"] == 50
    assert cni_network_config(cfg, "10.244.3.0/24")["plugins"][0]["agentSocket"].endswith("cni.sock")


def test_missing_and_malformed_configs(tmp_path: Path) -> None:
    with pytest.raises(CniError, match="no network config"):
        load_network(tmp_path)
    (tmp_path / "10-bad.conflist").write_text("{not json")
    with pytest.raises(CniError) as err:
        load_network(tmp_path)
    assert err.value.code == 6


async def test_plugin_error_json_is_kept(tmp_path: Path) -> None:
    plugin = tmp_path / "failing"
    plugin.write_text('#!/bin/sh\necho \'{"cniVersion":"1.1.0","code":11,"msg":"try again"}\'\nexit 1\n')
    plugin.chmod(0o755)
    with pytest.raises(CniError) as err:
        await exec_plugin(str(tmp_path), "failing", {"CNI_COMMAND": "ADD"}, b"{}")
    assert err.value.code == 11 and err.value.msg == "try again"
    with pytest.raises(CniError, match="failed to find plugin"):
        await exec_plugin(str(tmp_path), "absent", {}, b"{}")


def test_result_ips() -> None:
    assert result_ips({"ips": [{"address": "10.244.0.5/24"}, {"address": "fd00::5/64"}]}) == [
        "10.244.0.5",
        "fd00::5",
    ]
