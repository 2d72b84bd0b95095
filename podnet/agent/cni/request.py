"""The CNI_* environment of one invocation, validated (pure): bad or missing variables are code 4."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from podnet.agent.cni.config import valid_ifname
from podnet.agent.cni.errors import INVALID_ENVIRONMENT, CNIError

COMMANDS = ("ADD", "DEL", "CHECK", "VERSION", "STATUS", "GC")
# The spec's grammar for container IDs.
CONTAINER_ID = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_.\-]*$")


@dataclass(frozen=True)
class CniRequest:
    command: str
    container_id: str = ""
    netns: str = ""  # empty on DEL when the runtime no longer has one
    ifname: str = ""
    args: str = ""
    path: str = ""


def _bad(msg: str) -> CNIError:
    return CNIError(INVALID_ENVIRONMENT, msg)


def parse_env(env: Mapping[str, str]) -> CniRequest:
    """The request the environment describes; raises code 4 naming the first bad variable."""
    command = env.get("CNI_COMMAND", "")
    if not command:
        raise _bad("CNI_COMMAND is required")
    if command not in COMMANDS:
        raise _bad(f"CNI_COMMAND {command!r} is not one of {', '.join(COMMANDS)}")
    if command in ("VERSION", "STATUS", "GC"):
        return CniRequest(command=command, path=env.get("CNI_PATH", ""))
    container_id = env.get("CNI_CONTAINERID", "")
    if not container_id:
        raise _bad("CNI_CONTAINERID is required")
    if not CONTAINER_ID.match(container_id):
        raise _bad(
            f"CNI_CONTAINERID {container_id!r} must start with a letter or digit and hold only [A-Za-z0-9_.-]"
        )
    ifname = env.get("CNI_IFNAME", "")
    if not ifname:
        raise _bad("CNI_IFNAME is required")
    if not valid_ifname(ifname):
        raise _bad(f"CNI_IFNAME {ifname!r} is not a valid interface name")
    netns = env.get("CNI_NETNS", "")
    if command != "DEL" and not netns:
        raise _bad("CNI_NETNS is required")
    if netns and not netns.startswith("/"):
        raise _bad(f"CNI_NETNS {netns!r} must be an absolute path")
    return CniRequest(
        command=command,
        container_id=container_id,
        netns=netns,
        ifname=ifname,
        args=env.get("CNI_ARGS", ""),
        path=env.get("CNI_PATH", ""),
    )
