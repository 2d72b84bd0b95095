"""Field checks shared by several kinds: ports, IANA service names, IPs, CIDRs, immutability.

Messages are apimachinery's (``util/validation``) and core validation's, word for word.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Any, TypeGuard

from podnet.api import errors
from podnet.api.errors import Cause
from podnet.api.meta import FIELD_IMMUTABLE, Go, dns1123_label_errors, dns1123_subdomain_errors

PORT_RANGE = "must be between 1 and 65535, inclusive"
NON_NEGATIVE = "must be greater than or equal to 0"
PROTOCOLS = ["SCTP", "TCP", "UDP"]  # sets.List order
IP_MSG = "must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)"
CIDR_MSG = "must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)"
_PORT_NAME_CHARS = re.compile(r"^[-a-z0-9]+$")
_HAS_LETTER = re.compile(r"[a-z]")
_V4_SLOPPY = re.compile(r"^\d+\.\d+\.\d+\.\d+$")

Obj = dict[str, Any]


def is_int(value: Any) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


def dicts(items: Any) -> list[Obj]:
    """The list's elements, with non-objects replaced by {} so a malformed item cannot crash a check."""
    return [i if isinstance(i, dict) else {} for i in items] if isinstance(items, list) else []


def sub(obj: Obj, key: str) -> Obj:
    """``obj[key]`` when it is an object, else {}: checks read malformed input without crashing."""
    value = obj.get(key)
    return value if isinstance(value, dict) else {}


def port_name_errors(name: str) -> list[str]:
    """IsValidPortName: an IANA_SVC_NAME (RFC 6335), lower case only."""
    errs = []
    if len(name) > 15:
        errs.append("must be no more than 15 characters")
    if not _PORT_NAME_CHARS.match(name):
        errs.append("must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)")
    if not _HAS_LETTER.search(name):
        errs.append("must contain at least one letter (a-z)")
    if "--" in name:
        errs.append("must not contain consecutive hyphens")
    if name and (name[0] == "-" or name[-1] == "-"):
        errs.append("must not begin or end with a hyphen")
    return errs


def port_number(path: str, value: Any) -> list[Cause]:
    if not is_int(value) or not 1 <= value <= 65535:
        return [errors.invalid(path, value if is_int(value) else Go(str(value)), PORT_RANGE)]
    return []


def iana_name(path: str, value: str) -> list[Cause]:
    return [errors.invalid(path, value, m) for m in port_name_errors(value)]


def port_num_or_name(path: str, value: Any) -> list[Cause]:
    """ValidatePortNumOrName for an IntOrString: a JSON string is always a name, even "8080"."""
    if isinstance(value, str):
        return iana_name(path, value)
    return port_number(path, value)


def protocol(path: str, value: Any) -> list[Cause]:
    if not value:
        return [errors.required(path)]
    if value not in PROTOCOLS:
        return [errors.not_supported(path, value, PROTOCOLS)]
    return []


def non_negative(path: str, value: Any) -> list[Cause]:
    if is_int(value) and value < 0:
        return [errors.invalid(path, value, NON_NEGATIVE)]
    return []


def dns_label(path: str, value: str) -> list[Cause]:
    return [errors.invalid(path, value, m) for m in dns1123_label_errors(value)]


def dns_subdomain(path: str, value: str) -> list[Cause]:
    return [errors.invalid(path, value, m) for m in dns1123_subdomain_errors(value)]


def parse_ip(value: Any) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """netutils.ParseIPSloppy: like Go's net.ParseIP, but IPv4 octets may carry leading zeros."""
    if not isinstance(value, str) or not value:
        return None
    text = value
    if _V4_SLOPPY.match(text):
        text = ".".join(str(int(octet)) for octet in text.split("."))
    if "%" in text:
        return None  # Go rejects zones
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def parse_cidr(value: Any) -> ipaddress.IPv4Network | ipaddress.IPv6Network | None:
    """netutils.ParseCIDRSloppy: ``addr/prefix`` with a numeric prefix; host bits may be set."""
    if not isinstance(value, str) or "/" not in value:
        return None
    addr, _, prefix = value.partition("/")
    ip = parse_ip(addr)
    if ip is None or not prefix.isdigit() or int(prefix) > ip.max_prefixlen:
        return None
    return ipaddress.ip_network(f"{ip}/{int(prefix)}", strict=False)


def ip(path: str, value: Any) -> list[Cause]:
    if parse_ip(value) is None:
        return [errors.invalid(path, value if isinstance(value, str) else Go(str(value)), IP_MSG)]
    return []


def cidr(path: str, value: Any) -> list[Cause]:
    if parse_cidr(value) is None:
        return [errors.invalid(path, value if isinstance(value, str) else Go(str(value)), CIDR_MSG)]
    return []


def non_special_ip(path: str, value: str, *, allow_loopback: bool = False) -> list[Cause]:
    """ValidateNonSpecialIP: endpoints must not point at the unspecified, loopback or link-local ranges.

    ``allow_loopback`` is podnet's one deviation: on a single host the API server publishes its own
    ``kubernetes`` Endpoints/EndpointSlice at 127.0.0.1 (see apiserver/bootstrap.py).
    """
    addr = parse_ip(value)
    if addr is None:
        return [errors.invalid(path, value, "must be a valid IP address")]
    causes: list[Cause] = []
    if addr.is_unspecified:
        causes.append(errors.invalid(path, value, f"may not be unspecified ({value})"))
    if addr.is_loopback and not allow_loopback:
        causes.append(errors.invalid(path, value, "may not be in the loopback range (127.0.0.0/8, ::1/128)"))
    if addr.is_link_local:
        causes.append(
            errors.invalid(path, value, "may not be in the link-local range (169.254.0.0/16, fe80::/10)")
        )
    link_local_multicast = ipaddress.ip_network("224.0.0.0/24" if addr.version == 4 else "ff02::/16")
    if addr in link_local_multicast:
        causes.append(
            errors.invalid(
                path, value, "may not be in the link-local multicast range (224.0.0.0/24, ff02::/10)"
            )
        )
    return causes


def immutable(path: str, new: Any, old: Any, shown: Any = None) -> list[Cause]:
    """ValidateImmutableField; ``shown`` is the value to print when ``new`` needs Go formatting."""
    if new == old:
        return []
    return [errors.invalid(path, new if shown is None else shown, FIELD_IMMUTABLE)]


def config_key_errors(key: str) -> list[str]:
    """IsConfigMapKey: ConfigMap and Secret data keys (they become file names in volumes)."""
    errs = []
    if len(key) > 253:
        errs.append("must be no more than 253 characters")
    if not re.match(r"^[-._a-zA-Z0-9]+$", key):
        errs.append(
            "a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or "
            "'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')"
        )
    if key == ".":
        errs.append("must not be '.'")
    elif key == "..":
        errs.append("must not be '..'")
    elif key.startswith(".."):
        errs.append("must not start with '..'")
    return errs
