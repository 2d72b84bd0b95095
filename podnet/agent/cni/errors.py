"""CNI errors, worded and numbered as the spec's "Well-known Error Codes" section has them.

Exception tree::

    CNIError(code, msg, details)      -> the spec's error JSON on stdout, exit status 1

Codes 1-99 are reserved by the spec; 100 and up are ours. An exhausted address range gets our own
code (101), not 11 "try again later": 11 is for transient conditions that clear on their own, while
a full range only frees up when someone deletes a pod, and the reference host-local plugin also
reports it as a plain (non-transient) error.
"""

from __future__ import annotations

import json

INCOMPATIBLE_VERSION = 1
UNSUPPORTED_FIELD = 2
UNKNOWN_CONTAINER = 3
INVALID_ENVIRONMENT = 4
IO_FAILURE = 5
DECODING_FAILURE = 6
INVALID_NETWORK_CONFIG = 7
TRY_AGAIN_LATER = 11
PLUGIN_NOT_AVAILABLE = 50
# podnet's own codes
KERNEL_FAILURE = 100
ADDRESSES_EXHAUSTED = 101
CHECK_FAILED = 102
AGENT_MISMATCH = 103
INTERNAL_ERROR = 104

DEFAULT_VERSION = "1.1.0"


class CNIError(Exception):
    """A failure reported to the runtime as CNI error JSON."""

    def __init__(self, code: int, msg: str, details: str = "") -> None:
        super().__init__(msg)
        self.code = code
        self.msg = msg
        self.details = details

    def to_json(self, cni_version: str = DEFAULT_VERSION) -> bytes:
        body: dict[str, object] = {"cniVersion": cni_version, "code": self.code, "msg": self.msg}
        if self.details:
            body["details"] = self.details
        return json.dumps(body).encode() + b"\n"

    def __repr__(self) -> str:
        return f"CNIError({self.code}, {self.msg!r})"
