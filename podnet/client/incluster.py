"""In-cluster configuration, as client-go's rest.InClusterConfig: how a pod finds the API server.

``KUBERNETES_SERVICE_HOST``/``KUBERNETES_SERVICE_PORT`` (the service variables every container gets)
and the service account mounted at /var/run/secrets/kubernetes.io/serviceaccount (token, ca.crt).
``PODNET_SERVICEACCOUNT_DIR`` points elsewhere for tests.
"""

from __future__ import annotations

import os
from pathlib import Path

from podnet.client.kubeconfig import ClientConfig, KubeconfigError

SERVICE_ACCOUNT_DIR = "/var/run/secrets/kubernetes.io/serviceaccount"


def in_cluster_config() -> ClientConfig:
    host, port = os.environ.get("KUBERNETES_SERVICE_HOST"), os.environ.get("KUBERNETES_SERVICE_PORT")
    if not host or not port:
        raise KubeconfigError(
            "not running in a cluster: KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT are not set"
        )
    base = Path(os.environ.get("PODNET_SERVICEACCOUNT_DIR") or SERVICE_ACCOUNT_DIR)
    try:
        token = (base / "token").read_text().strip()
        ca = (base / "ca.crt").read_bytes()
    except OSError as exc:
        raise KubeconfigError(f"no service account at {base}: {exc}") from None
    server_host = f"[{host}]" if ":" in host else host
    return ClientConfig(server=f"https://{server_host}:{port}", ca_data=ca, token=token)
