"""Where the API server is and how to authenticate: from a kubeconfig file or a unix socket.

``load_kubeconfig`` follows kubectl for the fields podnet uses: the current
context (or the one named) selects a cluster (``server``,
``certificate-authority-data`` or ``certificate-authority``,
``insecure-skip-tls-verify``) and a user (``token``/``tokenFile``,
``client-certificate-data``/``client-key-data`` or their file forms). Relative
file paths are relative to the kubeconfig's folder, as in kubectl.
"""

from __future__ import annotations

import base64
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml


class KubeconfigError(Exception):
    """The kubeconfig cannot be used; the message names what is missing."""


@dataclass(frozen=True)
class ClientConfig:
    """How to reach one API server. PEM material is kept as bytes, never written out by the caller."""

    server: str = ""
    ca_data: bytes | None = None
    token: str | None = None
    client_cert_data: bytes | None = None
    client_key_data: bytes | None = None
    insecure_skip_tls_verify: bool = False
    unix_socket: str | None = None  # plain HTTP over the server's socket, no authentication
    tls_server_name: str | None = None

    @property
    def base_url(self) -> str:
        if self.unix_socket:
            return "http://localhost"
        return self.server.rstrip("/")


def _named(entries: list[dict[str, Any]] | None, name: str, what: str) -> dict[str, Any]:
    for entry in entries or []:
        if entry.get("name") == name:
            return dict(entry.get(what) or {})
    raise KubeconfigError(f"{what} {name!r} not found in kubeconfig")


def _read_data(section: dict[str, Any], key: str, base: Path) -> bytes | None:
    """``<key>-data`` (base64) or ``<key>`` (a file path)."""
    data = section.get(f"{key}-data")
    if data:
        return base64.b64decode(data)
    path = section.get(key)
    if path:
        p = Path(os.path.expanduser(str(path)))
        return (p if p.is_absolute() else base / p).read_bytes()
    return None


def parse_kubeconfig(doc: dict[str, Any], base: Path, context: str | None = None) -> ClientConfig:
    """The ClientConfig a parsed kubeconfig document describes."""
    ctx_name = context or doc.get("current-context") or ""
    if not ctx_name:
        raise KubeconfigError("kubeconfig has no current-context")
    ctx = _named(doc.get("contexts"), ctx_name, "context")
    cluster = _named(doc.get("clusters"), str(ctx.get("cluster") or ""), "cluster")
    user = _named(doc.get("users"), str(ctx.get("user") or ""), "user") if ctx.get("user") else {}
    server = str(cluster.get("server") or "")
    if not server:
        raise KubeconfigError(f"cluster {ctx.get('cluster')!r} has no server")
    token = user.get("token")
    if not token and user.get("tokenFile"):
        token = (base / os.path.expanduser(str(user["tokenFile"]))).read_text().strip()
    return ClientConfig(
        server=server,
        ca_data=_read_data(cluster, "certificate-authority", base),
        token=str(token) if token else None,
        client_cert_data=_read_data(user, "client-certificate", base),
        client_key_data=_read_data(user, "client-key", base),
        insecure_skip_tls_verify=bool(cluster.get("insecure-skip-tls-verify")),
        tls_server_name=cluster.get("tls-server-name"),
    )


def load_kubeconfig(path: str | os.PathLike[str], context: str | None = None) -> ClientConfig:
    p = Path(path)
    try:
        doc = yaml.safe_load(p.read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise KubeconfigError(f"cannot read kubeconfig {p}: {exc}") from exc
    if not isinstance(doc, dict):
        raise KubeconfigError(f"kubeconfig {p} is not a mapping")
    return parse_kubeconfig(doc, p.parent, context)
