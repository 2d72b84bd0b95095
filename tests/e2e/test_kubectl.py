"""The machine's kubectl against a real ``podnet server``: every verb issue 2 names.

Address plan: services 10.96.0.0/12 (``kubernetes`` at 10.96.0.1), NodePorts
30000-32767, LoadBalancer pool 172.18.255.200-202 (set by the fixture).
"""

from __future__ import annotations

import json
import os
import re
import select
import stat
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.helpers import Kubectl, ServerProcess, free_port, wait_until

pytestmark = pytest.mark.e2e


def deployment(
    name: str, replicas: int = 2, image: str = "agnhost", labels: dict[str, str] | None = None
) -> dict:
    labels = labels or {"app": name}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "labels": dict(labels)},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": dict(labels)},
            "template": {
                "metadata": {"labels": dict(labels)},
                "spec": {
                    "containers": [
                        {
                            "name": "main",
                            "image": image,
                            "args": ["netexec", "--http-port=8080"],
                            "env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}],
                            "ports": [{"containerPort": 8080, "name": "http"}],
                        }
                    ]
                },
            },
        },
    }


def service(name: str, **spec: object) -> dict:
    base = {"selector": {"app": name}, "ports": [{"port": 80, "targetPort": "http"}]}
    base.update(spec)
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name}, "spec": base}


def test_api_resources_lists_every_kind_with_short_names(kubectl: Kubectl) -> None:
    out = kubectl("api-resources", "--no-headers")
    rows = {line.split()[0]: line.split() for line in out.splitlines()}
    for name in (
        "namespaces",
        "nodes",
        "pods",
        "services",
        "endpoints",
        "endpointslices",
        "networkpolicies",
        "ingresses",
        "ingressclasses",
        "secrets",
        "configmaps",
        "deployments",
        "replicasets",
        "leases",
        "events",
    ):
        assert name in rows, out
    assert rows["services"][1] == "svc"
    assert rows["deployments"][1:4] == ["deploy", "apps/v1", "true"]
    assert rows["networkpolicies"][1:4] == ["netpol", "networking.k8s.io/v1", "true"]
    assert rows["nodes"][1:4] == ["no", "v1", "false"]


def test_bootstrap_objects(kubectl: Kubectl) -> None:
    names = kubectl("get", "ns", "-o", "name").split()
    assert {
        "namespace/default",
        "namespace/kube-system",
        "namespace/kube-public",
        "namespace/kube-node-lease",
    } <= set(names)
    svc = kubectl.json("get", "svc", "kubernetes", "-n", "default")
    assert svc["spec"]["clusterIP"] == "10.96.0.1"
    ns = kubectl.json("get", "ns", "kube-system")
    assert ns["metadata"]["labels"]["kubernetes.io/metadata.name"] == "kube-system"
    assert ns["status"]["phase"] == "Active"


def test_apply_create_then_update_keeps_last_applied(kubectl: Kubectl) -> None:
    dep = deployment("applied")
    assert "deployment.apps/applied created" in kubectl.apply(dep)
    live = kubectl.json("get", "deploy", "applied")
    last = json.loads(live["metadata"]["annotations"]["kubectl.kubernetes.io/last-applied-configuration"])
    assert last["spec"]["replicas"] == 2
    assert live["metadata"]["generation"] == 1
    # Drop env B, change replicas, add a label: a three-way strategic merge patch.
    container = dep["spec"]["template"]["spec"]["containers"][0]
    container["env"] = [{"name": "A", "value": "1"}]
    dep["spec"]["replicas"] = 3
    dep["metadata"]["labels"]["tier"] = "web"
    assert "deployment.apps/applied configured" in kubectl.apply(dep)
    live = kubectl.json("get", "deploy", "applied")
    assert live["spec"]["replicas"] == 3
    assert live["spec"]["template"]["spec"]["containers"][0]["env"] == [{"name": "A", "value": "1"}]
    assert live["metadata"]["labels"] == {"app": "applied", "tier": "web"}
    assert live["metadata"]["generation"] == 2
    assert "deployment.apps/applied unchanged" in kubectl.apply(dep)
    kubectl("delete", "deploy", "applied")


def test_get_output_formats_and_selectors(kubectl: Kubectl) -> None:
    kubectl.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "sel"}})
    for name, labels in (
        ("a", {"env": "prod", "tier": "web"}),
        ("b", {"env": "dev", "tier": "web"}),
        ("c", {"env": "prod"}),
    ):
        kubectl.apply(
            {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {"name": name, "namespace": "sel", "labels": labels},
                "data": {"k": name},
            }
        )

    def names(*args: str) -> list[str]:
        return sorted(kubectl("get", "cm", "-n", "sel", "-o", "name", *args).split())

    assert names("-l", "env=prod") == ["configmap/a", "configmap/c"]
    assert names("-l", "env!=prod") == ["configmap/b"]
    assert names("-l", "env in (dev,staging)") == ["configmap/b"]
    assert names("-l", "env notin (dev),tier") == ["configmap/a"]
    assert names("-l", "!tier") == ["configmap/c"]
    assert names("--field-selector", "metadata.name=b") == ["configmap/b"]
    assert names("--field-selector", "metadata.name!=b") == ["configmap/a", "configmap/c"]
    assert kubectl("get", "cm", "a", "-n", "sel", "-o", "jsonpath={.data.k}") == "a"
    doc = yaml.safe_load(kubectl("get", "cm", "a", "-n", "sel", "-o", "yaml"))
    assert doc["metadata"]["labels"] == {"env": "prod", "tier": "web"}
    table = kubectl("get", "cm", "-n", "sel")
    assert table.splitlines()[0].split() == ["NAME", "DATA", "AGE"]
    all_ns = kubectl("get", "cm", "-A", "--no-headers")
    assert any(line.split()[:2] == ["sel", "a"] for line in all_ns.splitlines()), all_ns
    # Chunked lists (limit/continue) return everything exactly once.
    chunked = kubectl("get", "cm", "-n", "sel", "--chunk-size=1", "-o", "name").split()
    assert sorted(chunked) == ["configmap/a", "configmap/b", "configmap/c"]
    assert "deleted" in kubectl("delete", "cm", "-n", "sel", "-l", "env=prod")
    assert names() == ["configmap/b"]


def test_get_wide_and_tables(kubectl: Kubectl) -> None:
    kubectl.apply([deployment("tables"), service("tables", type="NodePort")])
    header = kubectl("get", "svc", "tables", "-o", "wide").splitlines()[0].split()
    assert header == ["NAME", "TYPE", "CLUSTER-IP", "EXTERNAL-IP", "PORT(S)", "AGE", "SELECTOR"]
    row = kubectl("get", "svc", "tables", "--no-headers").split()
    svc = kubectl.json("get", "svc", "tables")
    assert row[1] == "NodePort" and row[2] == svc["spec"]["clusterIP"]
    assert row[4] == f"80:{svc['spec']['ports'][0]['nodePort']}/TCP"
    header = kubectl("get", "deploy", "tables", "-o", "wide").splitlines()[0].split()
    assert header[:5] == ["NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"]
    assert header[5:] == ["CONTAINERS", "IMAGES", "SELECTOR"]
    kubectl("delete", "-f", "-", input=yaml.safe_dump_all([deployment("tables"), service("tables")]))


def test_watch_streams_changes(kubectl: Kubectl) -> None:
    kubectl.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "watched"}})
    env = dict(os.environ, KUBECONFIG=str(kubectl.kubeconfig))
    proc = subprocess.Popen(
        ["kubectl", "get", "cm", "-n", "watched", "-w", "-o", "name"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        kubectl.apply(
            {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "w1", "namespace": "watched"}}
        )
        # readline blocks: wait for the pipe to become readable, with a deadline, first.
        readable, _, _ = select.select([proc.stdout], [], [], 15)
        assert readable, "no watch event within 15 s"
        line = proc.stdout.readline()
        assert line.strip() == "configmap/w1"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_describe(kubectl: Kubectl) -> None:
    kubectl.apply(service("described", type="ClusterIP"))
    out = kubectl("describe", "svc", "described")
    assert "Name:" in out and "described" in out
    assert re.search(r"TargetPort:\s+http/TCP", out), out
    kubectl("delete", "svc", "described")


def test_scale_patch_edit(kubectl: Kubectl, tmp_path: Path) -> None:
    kubectl.apply(deployment("scaled"))
    assert "scaled" in kubectl("scale", "deployment", "scaled", "--replicas=5")
    assert kubectl.json("get", "deploy", "scaled")["spec"]["replicas"] == 5
    kubectl("patch", "deploy", "scaled", "--type=merge", "-p", '{"metadata":{"labels":{"m":"1"}}}')
    kubectl(
        "patch",
        "deploy",
        "scaled",
        "--type=json",
        "-p",
        '[{"op":"replace","path":"/spec/replicas","value":1}]',
    )
    kubectl(
        "patch",
        "deploy",
        "scaled",
        "-p",
        '{"spec":{"template":{"spec":{"containers":[{"name":"main","image":"agnhost:2.40"}]}}}}',
    )
    live = kubectl.json("get", "deploy", "scaled")
    assert live["metadata"]["labels"]["m"] == "1"
    assert live["spec"]["replicas"] == 1
    container = live["spec"]["template"]["spec"]["containers"][0]
    assert container["image"] == "agnhost:2.40" and container["env"][1]["name"] == "B"  # merged, not replaced
    editor = tmp_path / "editor.sh"
    editor.write_text("#!/bin/sh\nsed -i 's/replicas: 1/replicas: 4/' \"$1\"\n")
    editor.chmod(editor.stat().st_mode | stat.S_IEXEC)
    env_editor = {"KUBE_EDITOR": str(editor)}
    proc = subprocess.run(
        ["kubectl", "edit", "deploy", "scaled"],
        capture_output=True,
        text=True,
        env=dict(os.environ, KUBECONFIG=str(kubectl.kubeconfig), **env_editor),
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    assert kubectl.json("get", "deploy", "scaled")["spec"]["replicas"] == 4
    kubectl("delete", "deploy", "scaled")


def test_create_generators(kubectl: Kubectl) -> None:
    # These kubectl verbs send protobuf (typed clients): the server decodes that encoding for them.
    kubectl("create", "namespace", "gen")
    kubectl("create", "deployment", "gd", "-n", "gen", "--image=nginx", "--replicas=2", "--port=80")
    kubectl("create", "service", "clusterip", "gs", "-n", "gen", "--tcp=80:8080")
    kubectl("create", "service", "nodeport", "gn", "-n", "gen", "--tcp=80:8080", "--node-port=30123")
    kubectl("create", "configmap", "gc", "-n", "gen", "--from-literal=k=v")
    dep = kubectl.json("get", "deploy", "gd", "-n", "gen")
    assert dep["spec"]["replicas"] == 2
    container = dep["spec"]["template"]["spec"]["containers"][0]
    assert container["image"] == "nginx" and container["ports"] == [{"containerPort": 80, "protocol": "TCP"}]
    assert dep["spec"]["selector"] == {"matchLabels": {"app": "gd"}}
    svc = kubectl.json("get", "svc", "gs", "-n", "gen")
    assert svc["spec"]["ports"][0]["targetPort"] == 8080 and svc["spec"]["selector"] == {"app": "gs"}
    assert kubectl.json("get", "svc", "gn", "-n", "gen")["spec"]["ports"][0]["nodePort"] == 30123
    assert kubectl.json("get", "cm", "gc", "-n", "gen")["data"] == {"k": "v"}
    kubectl("create", "secret", "generic", "gsec", "-n", "gen", "--from-literal=user=admin")
    sec = kubectl.json("get", "secret", "gsec", "-n", "gen")
    assert sec["type"] == "Opaque" and sec["data"] == {"user": "YWRtaW4="}
    kubectl("create", "serviceaccount", "gsa", "-n", "gen")
    kubectl(
        "create", "ingress", "gi", "-n", "gen", "--class=podnet", "--rule=shop.example.com/cart*=cart:8080"
    )
    ing = kubectl.json("get", "ingress", "gi", "-n", "gen")["spec"]
    assert ing["ingressClassName"] == "podnet"
    assert ing["rules"] == [
        {
            "host": "shop.example.com",
            "http": {
                "paths": [
                    {
                        "path": "/cart",
                        "pathType": "Prefix",
                        "backend": {"service": {"name": "cart", "port": {"number": 8080}}},
                    }
                ]
            },
        }
    ]
    out = kubectl.run("create", "namespace", "gen", check=False)
    assert out.returncode != 0 and 'namespaces "gen" already exists' in out.stderr


def test_validation_errors_speak_kubernetes(kubectl: Kubectl) -> None:
    bad_name = kubectl.run(
        "create",
        "-f",
        "-",
        check=False,
        input=json.dumps({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "Bad_Name"}}),
    )
    assert bad_name.returncode != 0
    assert 'The Namespace "Bad_Name" is invalid' in bad_name.stderr
    bad_port = kubectl.run(
        "apply",
        "-f",
        "-",
        check=False,
        input=yaml.safe_dump(
            {
                "apiVersion": "v1",
                "kind": "Service",
                "metadata": {"name": "badport"},
                "spec": {"ports": [{"port": 70000}]},
            }
        ),
    )
    assert (
        "spec.ports[0].port: Invalid value: 70000: must be between 1 and 65535, inclusive" in bad_port.stderr
    )
    dep = deployment("mismatch")
    dep["spec"]["selector"] = {"matchLabels": {"app": "other"}}
    mismatch = kubectl.run("apply", "-f", "-", check=False, input=yaml.safe_dump(dep))
    assert "selector` does not match template `labels`" in mismatch.stderr
    unknown = deployment("unknownfield")
    unknown["spec"]["template"]["spec"]["containers"][0]["bogus"] = 1
    out = kubectl.run("apply", "-f", "-", check=False, input=yaml.safe_dump(unknown))
    assert 'strict decoding error: unknown field "spec.template.spec.containers[0].bogus"' in out.stderr
    assert kubectl.run("get", "deploy", "unknownfield", check=False).returncode != 0  # nothing written


def test_cluster_ip_allocation(kubectl: Kubectl) -> None:
    kubectl.apply(service("ipfixed", clusterIP="10.96.100.100"))
    assert kubectl.json("get", "svc", "ipfixed")["spec"]["clusterIPs"] == ["10.96.100.100"]
    taken = kubectl.run(
        "apply", "-f", "-", check=False, input=yaml.safe_dump(service("iptaken", clusterIP="10.96.100.100"))
    )
    assert "failed to allocate IP 10.96.100.100: provided IP is already allocated" in taken.stderr
    outside = kubectl.run(
        "apply", "-f", "-", check=False, input=yaml.safe_dump(service("ipout", clusterIP="192.168.0.1"))
    )
    assert "the provided IP (192.168.0.1) is not in the valid range" in outside.stderr
    immutable = kubectl.run(
        "patch", "svc", "ipfixed", "-p", '{"spec":{"clusterIP":"10.96.100.101"}}', check=False
    )
    assert "may not change once set" in immutable.stderr
    kubectl.apply(service("headless", clusterIP="None"))
    assert kubectl.json("get", "svc", "headless")["spec"]["clusterIP"] == "None"
    kubectl("delete", "svc", "ipfixed")
    kubectl.apply(service("iptaken", clusterIP="10.96.100.100"))  # released on delete
    kubectl("delete", "svc", "iptaken", "headless")


def test_type_change_to_external_name_releases_the_cluster_ip(kubectl: Kubectl) -> None:
    kubectl.apply(service("tochange", clusterIP="10.96.100.120"))
    kubectl(
        "patch", "svc", "tochange", "-p", '{"spec":{"type":"ExternalName","externalName":"db.example.com"}}'
    )
    spec = kubectl.json("get", "svc", "tochange")["spec"]
    assert spec["type"] == "ExternalName" and "clusterIP" not in spec and "clusterIPs" not in spec
    assert "ipFamilies" not in spec
    kubectl.apply(service("takesit", clusterIP="10.96.100.120"))  # the address was released
    kubectl("delete", "svc", "tochange", "takesit")


def test_node_port_allocation(kubectl: Kubectl) -> None:
    fixed = service("np", type="NodePort", ports=[{"port": 80, "nodePort": 30080}])
    kubectl.apply(fixed)
    other = service("np2", type="NodePort", ports=[{"port": 80, "nodePort": 30080}])
    taken = kubectl.run("apply", "-f", "-", check=False, input=yaml.safe_dump(other))
    assert "spec.ports[0].nodePort: Invalid value: 30080: provided port is already allocated" in taken.stderr
    low = service("np3", type="NodePort", ports=[{"port": 80, "nodePort": 80}])
    out = kubectl.run("apply", "-f", "-", check=False, input=yaml.safe_dump(low))
    assert "provided port is not in the valid range. The range of valid ports is 30000-32767" in out.stderr
    # A type change back to ClusterIP releases the port.
    kubectl("patch", "svc", "np", "-p", '{"spec":{"type":"ClusterIP"}}')
    assert "nodePort" not in kubectl.json("get", "svc", "np")["spec"]["ports"][0]
    kubectl.apply(other)
    kubectl("delete", "svc", "np2")
    kubectl.apply(other)  # released on delete
    auto = kubectl.json("get", "svc", "np2")["spec"]["ports"][0]["nodePort"]
    assert auto == 30080
    kubectl("delete", "svc", "np", "np2")


def test_finalizers_hold_deletion(kubectl: Kubectl) -> None:
    kubectl.apply(
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "held", "finalizers": ["example.com/hold"]},
        }
    )
    kubectl("delete", "cm", "held", "--wait=false")
    live = kubectl.json("get", "cm", "held")
    assert live["metadata"]["deletionTimestamp"]
    kubectl("patch", "cm", "held", "--type=json", "-p", '[{"op":"remove","path":"/metadata/finalizers"}]')
    wait_until(lambda: kubectl.run("get", "cm", "held", check=False).returncode != 0, 10, what="cm gone")


def test_optimistic_concurrency(kubectl: Kubectl) -> None:
    kubectl.apply({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "occ"}, "data": {"v": "1"}})
    stale = kubectl.json("get", "cm", "occ")
    kubectl("patch", "cm", "occ", "-p", '{"data":{"v":"2"}}')
    stale["data"]["v"] = "3"
    out = kubectl.run("replace", "-f", "-", check=False, input=json.dumps(stale))
    assert out.returncode != 0
    assert "the object has been modified; please apply your changes to the latest version" in out.stderr
    kubectl("delete", "cm", "occ")


def test_kill9_restart_keeps_everything(server: ServerProcess, kubectl: Kubectl) -> None:
    kubectl.apply(
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "durable"}, "data": {"x": "v"}}
    )
    before = kubectl.json("get", "cm", "durable")
    rv_before = int(before["metadata"]["resourceVersion"])
    server.kill9()
    server.start()
    after = kubectl.json("get", "cm", "durable")
    assert after["metadata"]["uid"] == before["metadata"]["uid"]
    assert after["data"] == {"x": "v"}
    kubectl("patch", "cm", "durable", "-p", '{"data":{"x":"z"}}')
    assert int(kubectl.json("get", "cm", "durable")["metadata"]["resourceVersion"]) > rv_before


def test_controllers_through_the_api(kubectl: Kubectl) -> None:
    """Deployment → ReplicaSet → Pods; GC on delete; namespace deletion empties and removes it."""
    kubectl.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "ctl"}})
    dep = deployment("ctl-web", replicas=3)
    dep["metadata"]["namespace"] = "ctl"
    kubectl.apply(dep)

    def pods() -> list[dict]:
        return kubectl.json("get", "pods", "-n", "ctl")["items"]

    wait_until(lambda: len(pods()) == 3, 20, what="3 pods from the deployment")
    owners = {p["metadata"]["ownerReferences"][0]["kind"] for p in pods()}
    assert owners == {"ReplicaSet"}
    kubectl("delete", "deploy", "ctl-web", "-n", "ctl")
    wait_until(
        lambda: not pods() and not kubectl.json("get", "rs", "-n", "ctl")["items"],
        30,
        what="garbage collection of the ReplicaSet and its pods",
    )
    kubectl.apply({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "namespace": "ctl"}})
    kubectl("delete", "namespace", "ctl", "--wait=false")
    wait_until(
        lambda: kubectl.run("get", "ns", "ctl", check=False).returncode != 0, 30, what="namespace ctl deleted"
    )


def test_controller_manager_dies_with_a_killed_server(tmp_path: Path) -> None:
    srv = ServerProcess(tmp_path / "data", free_port())
    srv.start()
    assert srv.proc is not None
    children = wait_until(lambda: _children(srv.proc.pid), 10, what="controller-manager child")
    srv.kill9()
    for pid in children:
        wait_until(
            lambda pid=pid: not Path(f"/proc/{pid}").exists() or _zombie(pid),
            10,
            what=f"controller-manager {pid} gone",
        )


def _children(pid: int) -> list[int]:
    out = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat_fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(stat_fields[1]) == pid:
                out.append(int(entry.name))
    return out


def _zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return True


def test_apply_a_list_of_objects(kubectl: Kubectl) -> None:
    # kind: List goes through kubectl's client-side OpenAPI v2 path: the content type must parse
    doc = {"apiVersion": "v1", "kind": "List", "items": [
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "inlist"}, "data": {"a": "b"}},
    ]}  # fmt: skip
    kubectl.apply(doc)
    assert kubectl.json("get", "cm", "inlist")["data"] == {"a": "b"}
    doc["items"][0]["bogus"] = 1
    out = kubectl.run("apply", "-f", "-", input=yaml.safe_dump(doc), check=False)
    assert out.returncode != 0 and 'unknown field "bogus"' in out.stderr
    kubectl("delete", "cm", "inlist")


@pytest.mark.parametrize(
    ("peer_or_port", "message"),
    [
        ({"from": [{"ipBlock": {"cidr": "10.0.0.0/33"}}]}, "must be a valid CIDR value"),
        (
            {"from": [{"ipBlock": {"cidr": "10.0.0.0/8", "except": ["192.168.0.0/16"]}}]},
            "must be a strict subset of `cidr`",
        ),
        ({"ports": [{"port": 90, "endPort": 80}]}, "must be greater than or equal to `port`"),
        ({"ports": [{"port": "http", "endPort": 90}]}, "may not be specified when `port` is non-numeric"),
    ],
)
def test_bad_network_policies_are_refused(kubectl: Kubectl, peer_or_port: dict, message: str) -> None:
    doc = {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": {"name": "bad"},
           "spec": {"podSelector": {}, "ingress": [peer_or_port]}}  # fmt: skip
    out = kubectl.run("apply", "-f", "-", input=yaml.safe_dump(doc), check=False)
    assert (
        out.returncode != 0 and 'The NetworkPolicy "bad" is invalid' in out.stderr and message in out.stderr
    )
