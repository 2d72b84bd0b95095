"""The protobuf subset kubectl's generators send: decoded exactly, garbage refused."""

from __future__ import annotations

import pytest

from podnet.apiserver.protobuf import MAGIC, ProtobufError, decode


def field(number: int, payload: bytes) -> bytes:
    assert len(payload) < 128
    return bytes([number << 3 | 2, len(payload)]) + payload


def varint_field(number: int, value: int) -> bytes:
    assert value < 128
    return bytes([number << 3, value])


def envelope(api_version: bytes, kind: bytes, raw: bytes) -> bytes:
    return MAGIC + field(1, field(1, api_version) + field(2, kind)) + field(2, raw)


def test_namespace_with_labels() -> None:
    meta = field(1, b"ns1") + field(2, b"") + field(11, field(1, b"team") + field(2, b"a"))
    assert decode(envelope(b"v1", b"Namespace", field(1, meta))) == {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {"name": "ns1", "labels": {"team": "a"}},
    }


def test_service_port_target_port_int_or_string() -> None:
    port = field(2, b"TCP") + varint_field(3, 80) + field(4, varint_field(1, 1) + field(3, b"http"))
    raw = field(1, field(1, b"s")) + field(2, field(1, port) + field(4, b"ClusterIP"))
    obj = decode(envelope(b"v1", b"Service", raw))
    assert obj["spec"] == {
        "ports": [{"protocol": "TCP", "port": 80, "targetPort": "http"}],
        "type": "ClusterIP",
    }


@pytest.mark.parametrize(
    "body",
    [b"", b"not protobuf", MAGIC + b"\xff\xff", envelope(b"v1", b"Pod", b""), MAGIC + field(2, b"\x0a\x50")],
)
def test_garbage_and_unsupported_kinds_are_refused(body: bytes) -> None:
    with pytest.raises(ProtobufError):
        decode(body)
