"""The ``pod-template-hash`` that names a Deployment's ReplicaSets (Kubernetes' ``controller.ComputeHash``).

Kubernetes feeds FNV-32a with a deep print of the Go struct; podnet feeds it
the template's canonical JSON (sorted keys, no spaces), which is stable
across processes and key order but does not reproduce Kubernetes' hash
values. ``collisionCount`` is appended as 8 bytes, its little-endian uint32
first, exactly as Kubernetes does, and the decimal sum is rendered with
``rand.SafeEncodeString``'s alphabet, so names look like Kubernetes' own.
"""

from __future__ import annotations

import copy
import json
import struct
from typing import Any

POD_TEMPLATE_HASH_LABEL = "pod-template-hash"
SAFE_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"  # no vowels (no words), no 0/1/3 (look like letters)

_FNV32_OFFSET = 0x811C9DC5
_FNV32_PRIME = 0x01000193


def fnv32a(data: bytes) -> int:
    h = _FNV32_OFFSET
    for byte in data:
        h ^= byte
        h = (h * _FNV32_PRIME) & 0xFFFFFFFF
    return h


def safe_encode(s: str) -> str:
    """Kubernetes' ``rand.SafeEncodeString``: each byte mapped into the safe alphabet."""
    return "".join(SAFE_ALPHABET[b % len(SAFE_ALPHABET)] for b in s.encode())


def compute_hash(template: dict[str, Any], collision_count: int | None = None) -> str:
    data = json.dumps(template, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    if collision_count is not None:
        data += struct.pack("<I", collision_count & 0xFFFFFFFF) + bytes(4)
    return safe_encode(str(fnv32a(data)))


def _normalized(value: Any) -> Any:
    """Drop empty maps, lists and nulls: Kubernetes' semantic equality treats them as absent."""
    if isinstance(value, dict):
        out = {k: _normalized(v) for k, v in value.items()}
        return {k: v for k, v in out.items() if v not in (None, {}, [])}
    if isinstance(value, list):
        return [_normalized(v) for v in value]
    return value


def without_hash_label(template: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(template)
    labels = (out.get("metadata") or {}).get("labels")
    if isinstance(labels, dict):
        labels.pop(POD_TEMPLATE_HASH_LABEL, None)
    return out


def equal_ignore_hash(a: dict[str, Any], b: dict[str, Any]) -> bool:
    """Whether two pod templates differ at most in the pod-template-hash label (``EqualIgnoreHash``)."""
    return bool(_normalized(without_hash_label(a)) == _normalized(without_hash_label(b)))
