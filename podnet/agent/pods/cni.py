"""Calling the CNI plugin as a container runtime does (libcni's exec protocol), not as a library.

The agent finds the network config in the node's CNI config directory (the lexically first
``*.conf``/``*.conflist``/``*.json``, as containerd does), runs the plugin named by its ``type`` from
the CNI bin dir with the ``CNI_*`` environment and the config on stdin, and parses the result JSON
from stdout. A failure is the plugin's own error JSON, kept whole in ``CniError``.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from podnet.kernel.spawn import PIPE, spawn

Obj = dict[str, Any]
TIMEOUT_S = 60.0


class CniError(Exception):
    """The plugin failed: its CNI error code and message (or ours when it could not run at all)."""

    def __init__(self, code: int, msg: str, details: str = "") -> None:
        super().__init__(f"CNI error {code}: {msg}" + (f" ({details})" if details else ""))
        self.code, self.msg, self.details = code, msg, details


@dataclass(frozen=True)
class CniNetwork:
    """One plugin invocation target: the config bytes the plugin gets and the executable to run."""

    name: str
    config: Obj
    plugins: tuple[Obj, ...]  # a .conf is a list of one


def load_network(conf_dir: str | Path) -> CniNetwork:
    """The first network config in ``conf_dir``; a clear error when there is none or it is malformed."""
    paths = sorted(p for p in Path(conf_dir).glob("*") if p.suffix in (".conf", ".conflist", ".json"))
    if not paths:
        raise CniError(1, f"no network config found in {conf_dir}")
    try:
        config = json.loads(paths[0].read_text())
    except (OSError, ValueError) as exc:
        raise CniError(6, f"cannot read network config {paths[0]}: {exc}") from None
    plugins = config.get("plugins") if paths[0].suffix == ".conflist" else [config]
    if (
        not isinstance(plugins, list)
        or not plugins
        or not all(isinstance(p, dict) and p.get("type") for p in plugins)
    ):
        raise CniError(6, f"network config {paths[0]} names no plugin type")
    return CniNetwork(name=str(config.get("name") or ""), config=config, plugins=tuple(plugins))


def plugin_stdin(network: CniNetwork, plugin: Obj, prev_result: Obj | None) -> bytes:
    """A conflist entry gets the list's name and cniVersion injected, as libcni does."""
    conf = dict(plugin)
    conf.setdefault("name", network.name)
    conf.setdefault("cniVersion", network.config.get("cniVersion", "1.1.0"))
    if prev_result is not None:
        conf["prevResult"] = prev_result
    return json.dumps(conf).encode()


async def exec_plugin(bin_dir: str, plugin: str, env: dict[str, str], stdin: bytes) -> Obj:
    """Run one plugin and return its parsed stdout (empty dict for DEL's empty success)."""
    path = os.path.join(bin_dir, plugin)
    if "/" in plugin or not os.access(path, os.X_OK):
        raise CniError(1, f"failed to find plugin {plugin!r} in path [{bin_dir}]")
    try:
        child = await spawn(
            [path],
            env={**env, "PATH": os.environ.get("PATH", "/usr/bin:/bin")},
            stdin=PIPE,
            stdout=PIPE,
            stderr=PIPE,
        )
    except OSError as exc:
        raise CniError(1, f"failed to run plugin {plugin!r}: {exc}") from None
    try:
        out, err = await child.communicate(stdin, TIMEOUT_S)
    except TimeoutError:
        child.kill()
        await child.wait()
        raise CniError(100, f"plugin {plugin} did not answer within {TIMEOUT_S:.0f}s") from None
    result: Obj = {}
    if out.strip():
        try:
            result = json.loads(out)
        except ValueError:
            raise CniError(
                100, f"plugin {plugin} wrote no JSON", out[:200].decode(errors="replace")
            ) from None
    if await child.wait() != 0:
        raise CniError(
            int(result.get("code") or 100),
            str(result.get("msg") or err.decode(errors="replace")[:300]),
            str(result.get("details") or ""),
        )
    return result


async def cni_call(
    command: str,
    network: CniNetwork,
    bin_dir: str,
    container_id: str,
    netns: str,
    ifname: str = "eth0",
    args: str = "",
    prev_result: Obj | None = None,
) -> Obj:
    """ADD runs the chain in order feeding prevResult along; DEL runs it in reverse; the final result."""
    env = {
        "CNI_COMMAND": command,
        "CNI_CONTAINERID": container_id,
        "CNI_NETNS": netns,
        "CNI_IFNAME": ifname,
        "CNI_PATH": bin_dir,
        "CNI_ARGS": args,
    }
    plugins = network.plugins if command != "DEL" else tuple(reversed(network.plugins))
    result = prev_result
    for plugin in plugins:
        out = await exec_plugin(bin_dir, str(plugin["type"]), env, plugin_stdin(network, plugin, result))
        if command == "ADD":
            result = out
    return result or {}


def result_ips(result: Obj) -> list[str]:
    """The addresses (without prefix) a result assigned to the container interface."""
    return [
        str(ip.get("address", "")).split("/", 1)[0] for ip in result.get("ips") or [] if ip.get("address")
    ]
