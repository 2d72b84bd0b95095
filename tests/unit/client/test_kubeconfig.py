"""Kubeconfig parsing: current context → cluster/user, inline data and files, and the unix socket form."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
import yaml

from podnet.client.kubeconfig import ClientConfig, KubeconfigError, load_kubeconfig


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def write(tmp_path: Path, doc: dict) -> Path:
    p = tmp_path / "config"
    p.write_text(yaml.safe_dump(doc))
    return p


def doc(cluster: dict, user: dict, current: str = "ctx") -> dict:
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "current-context": current,
        "contexts": [
            {"name": "ctx", "context": {"cluster": "c", "user": "u"}},
            {"name": "other", "context": {"cluster": "c2", "user": "u"}},
        ],
        "clusters": [
            {"name": "c", "cluster": cluster},
            {"name": "c2", "cluster": {"server": "https://other:6443"}},
        ],
        "users": [{"name": "u", "user": user}],
    }


def test_inline_ca_and_client_certificate(tmp_path: Path) -> None:
    p = write(
        tmp_path,
        doc(
            {"server": "https://127.0.0.1:6443", "certificate-authority-data": b64(b"CA")},
            {"client-certificate-data": b64(b"CERT"), "client-key-data": b64(b"KEY")},
        ),
    )
    assert load_kubeconfig(p) == ClientConfig(
        server="https://127.0.0.1:6443", ca_data=b"CA", client_cert_data=b"CERT", client_key_data=b"KEY"
    )


def test_files_relative_to_kubeconfig_token_and_insecure(tmp_path: Path) -> None:
    (tmp_path / "ca.crt").write_bytes(b"CAFILE")
    p = write(
        tmp_path,
        doc(
            {"server": "https://h:6443", "certificate-authority": "ca.crt", "insecure-skip-tls-verify": True},
            {"token": "t0k"},
        ),
    )
    cfg = load_kubeconfig(p)
    assert (cfg.ca_data, cfg.token, cfg.insecure_skip_tls_verify) == (b"CAFILE", "t0k", True)
    assert cfg.base_url == "https://h:6443"


def test_named_context_and_errors(tmp_path: Path) -> None:
    p = write(tmp_path, doc({"server": "https://h:6443"}, {}))
    assert load_kubeconfig(p, context="other").server == "https://other:6443"
    with pytest.raises(KubeconfigError, match="context 'nope' not found"):
        load_kubeconfig(p, context="nope")
    with pytest.raises(KubeconfigError, match="no current-context"):
        load_kubeconfig(write(tmp_path, doc({"server": "x"}, {}, current="")))


def test_unix_socket_config() -> None:
    cfg = ClientConfig(unix_socket="/run/podnet/api.sock")
    assert cfg.base_url == "http://localhost" and cfg.token is None
