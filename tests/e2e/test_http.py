"""The wire contract, checked below kubectl: auth, bad input, pagination, watch, Python client."""

from __future__ import annotations

import http.client as httpclient
import json
import ssl
from typing import Any

import pytest

from tests.helpers import ServerProcess

pytestmark = pytest.mark.e2e


class Http:
    def __init__(self, server: ServerProcess, token: str | None = "") -> None:
        self.server = server
        self.token = server.token() if token == "" else token
        self.ctx = ssl.create_default_context(cafile=str(server.data_dir / "pki" / "ca.crt"))

    def request(
        self, method: str, path: str, body: bytes | None = None, ctype: str = "application/json"
    ) -> tuple[int, Any]:
        conn = httpclient.HTTPSConnection("127.0.0.1", self.server.port, context=self.ctx, timeout=10)
        headers = {"Content-Type": ctype}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        conn.request(method, path, body=body, headers=headers)
        resp = conn.getresponse()
        data = resp.read()
        conn.close()
        try:
            return resp.status, json.loads(data)
        except ValueError:
            return resp.status, data

    def post(self, path: str, obj: Any) -> tuple[int, Any]:
        return self.request("POST", path, json.dumps(obj).encode())


@pytest.fixture(scope="module")
def http(server: ServerProcess) -> Http:
    return Http(server)


def test_unauthenticated_requests_get_401(server: ServerProcess) -> None:
    for token in (None, "wrong"):
        status, body = Http(server, token).request("GET", "/api/v1/namespaces")
        assert status == 401
        assert body["kind"] == "Status" and body["reason"] == "Unauthorized" and body["code"] == 401


def test_bad_input_is_refused_whole(http: Http) -> None:
    base = "/api/v1/namespaces/default/configmaps"
    status, body = http.request("POST", base, b"{not json")
    assert status == 400 and body["reason"] == "BadRequest"
    status, body = http.post(base, {"apiVersion": "v2", "kind": "ConfigMap", "metadata": {"name": "x"}})
    assert status == 400 and "does not match the expected API version" in body["message"]
    status, body = http.post(base, {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "x"}})
    assert status == 400 and "kind" in body["message"]
    big = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "big"},
        "data": {"k": "x" * (4 << 20)},
    }
    status, body = http.post(base, big)
    assert status == 413 and body["reason"] == "RequestEntityTooLarge"
    status, body = http.request("GET", "/api/v1/frobnicators")
    assert status == 404 and body["kind"] == "Status"
    status, body = http.request("GET", "/apis/nosuch.group/v1/things")
    assert status == 404
    status, body = http.post(base, {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "dup"}})
    assert status == 201
    status, body = http.post(base, {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "dup"}})
    assert status == 409 and body["reason"] == "AlreadyExists"
    assert body["message"] == 'configmaps "dup" already exists'
    status, body = http.request("GET", base)
    names = [i["metadata"]["name"] for i in body["items"]]
    assert "x" not in names and "big" not in names


def test_pagination_and_watch_from_resource_version(http: Http) -> None:
    status, _ = http.post(
        "/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "paged"}}
    )
    assert status == 201
    for i in range(7):
        status, _ = http.post(
            "/api/v1/namespaces/paged/configmaps", {"metadata": {"name": f"cm{i}"}, "data": {"i": str(i)}}
        )
        assert status == 201
    seen: list[str] = []
    token = ""
    for _ in range(10):
        status, page = http.request("GET", f"/api/v1/namespaces/paged/configmaps?limit=3&continue={token}")
        assert status == 200 and len(page["items"]) <= 3
        seen += [i["metadata"]["name"] for i in page["items"]]
        token = page["metadata"].get("continue", "")
        if not token:
            break
    assert seen == [f"cm{i}" for i in range(7)]
    # Watch from the rv of cm3's creation: exactly the later events, in order.
    _, cm3 = http.request("GET", "/api/v1/namespaces/paged/configmaps/cm3")
    rv = cm3["metadata"]["resourceVersion"]
    conn = http_conn(http)
    conn.request(
        "GET",
        f"/api/v1/namespaces/paged/configmaps?watch=1&resourceVersion={rv}&timeoutSeconds=2",
        headers={"Authorization": f"Bearer {http.token}"},
    )
    resp = conn.getresponse()
    events = [json.loads(line) for line in resp.read().splitlines() if line.strip()]
    conn.close()
    assert [(e["type"], e["object"]["metadata"]["name"]) for e in events] == [
        ("ADDED", "cm4"),
        ("ADDED", "cm5"),
        ("ADDED", "cm6"),
    ]


def http_conn(client: Http) -> httpclient.HTTPSConnection:
    return httpclient.HTTPSConnection("127.0.0.1", client.server.port, context=client.ctx, timeout=10)


def test_python_kubernetes_client(server: ServerProcess) -> None:
    kubernetes = pytest.importorskip("kubernetes")
    api_client = kubernetes.config.new_client_from_config(config_file=str(server.kubeconfig))
    core = kubernetes.client.CoreV1Api(api_client)
    names = {ns.metadata.name for ns in core.list_namespace().items}
    assert "default" in names
    body = kubernetes.client.V1ConfigMap(
        metadata=kubernetes.client.V1ObjectMeta(name="pyclient"), data={"a": "b"}
    )
    created = core.create_namespaced_config_map("default", body)
    assert created.metadata.uid
    w = kubernetes.watch.Watch()
    events = []
    for event in w.stream(
        core.list_namespaced_config_map, "default", field_selector="metadata.name=pyclient", timeout_seconds=2
    ):
        events.append((event["type"], event["object"].metadata.name))
        w.stop()
    assert events == [("ADDED", "pyclient")]
    apps = kubernetes.client.AppsV1Api(api_client)
    with pytest.raises(kubernetes.client.ApiException) as err:
        apps.read_namespaced_deployment("nope", "default")
    assert err.value.status == 404
    core.delete_namespaced_config_map("pyclient", "default")
    api_client.close()
