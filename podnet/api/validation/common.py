"""Shared field checks: ports, IANA service names, IPs and CIDRs."""

from __future__ import annotations

import ipaddress
import re
from typing import Any

from podnet.api import errors
from podnet.api.errors import Cause

PORT_RANGE = "must be between 1 and 65535, inclusive"
PROTOCOLS = ["SCTP", "TCP", "UDP"]
_IANA = re.compile(r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?$")


def port_number(path: str, value: Any) -> list[Cause]:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 65535:
        return [errors.invalid(path, value, PORT_RANGE)]
    return []


def iana_name(path: str, value: str) -> list[Cause]:
    out: list[Cause] = []
    if len(value) > 15:
        out.append(errors.invalid(path, value, "must be no more than 15 characters"))
    if not _IANA.match(value):
        out.append(
            errors.invalid(
                path, value, "must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)"
            )
        )
    elif "--" in value:
        out.append(errors.invalid(path, value, "must not contain consecutive hyphens"))
    if not re.search(r"[a-z]", value):
        out.append(errors.invalid(path, value, "must contain at least one letter (a-z)"))
    return out


def int_or_name_port(path: str, value: Any) -> list[Cause]:
    if isinstance(value, str):
        if value.isdigit():
            return port_number(path, int(value))
        return iana_name(path, value)
    return port_number(path, value)


def protocol(path: str, value: Any) -> list[Cause]:
    if value not in PROTOCOLS:
        return [errors.not_supported(path, value, PROTOCOLS)]
    return []


def ip(path: str, value: Any) -> list[Cause]:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return [errors.invalid(path, value, "must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)")]
    return []


def cidr(path: str, value: Any) -> list[Cause]:
    try:
        ipaddress.ip_network(value, strict=False)
    except (ValueError, TypeError):
        return [
            errors.invalid(path, value, "must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)")
        ]
    return []


def immutable(path: str, new: Any, old: Any) -> list[Cause]:
    return [errors.invalid(path, new, "field is immutable")] if new != old else []
