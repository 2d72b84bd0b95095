"""Server-side Tables: the columns and cells of Kubernetes' printers, per kind, for ``kubectl get``.

Every row is compared whole (wide cells included: the apiserver always prints them and kubectl
hides priority-1 columns unless ``-o wide``). Expected cells follow printers.go of Kubernetes
v1.32; human_duration's cases are apimachinery's own duration_test.go boundaries.

Address plan: pods 10.244.0.0/16, services 10.96.0.0/12, nodes 172.18.0.0/16, external 203.0.113.0/24.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from podnet.api.errors import StatusError
from podnet.api.scheme import ResourceInfo, lookup_plural
from podnet.apiserver.table import human_duration, to_table

Obj = dict[str, Any]

NOW = dt.datetime(2026, 3, 1, 12, 0, 0, tzinfo=dt.UTC)


def ago(seconds: float) -> str:
    return (NOW - dt.timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%SZ")


def res(plural: str) -> ResourceInfo:
    info = lookup_plural(plural)
    assert info is not None
    return info


def meta(name: str, age: float = 300, **extra: Any) -> Obj:
    return {"name": name, "namespace": "default", "creationTimestamp": ago(age), **extra}


def cells(plural: str, obj: Obj) -> list[Any]:
    table = to_table(res(plural), [obj], now=NOW)
    return list(table["rows"][0]["cells"])


def columns(plural: str) -> list[tuple[str, str, str, int]]:
    table = to_table(res(plural), [], now=NOW)
    return [(c["name"], c["type"], c["format"], c["priority"]) for c in table["columnDefinitions"]]


# ---------------------------------------------------------------- HumanDuration

MS = 0.001
HOUR = 3600
DAY = 24 * HOUR
YEAR = 365 * DAY


@pytest.mark.parametrize(
    ("seconds", "want"),
    [
        (1, "1s"), (70, "70s"), (190, "3m10s"), (70 * 60, "70m"), (47 * HOUR, "47h"), (49 * HOUR, "2d1h"),
        ((8 * 24 + 2) * HOUR, "8d"), (367 * DAY, "367d"), (2 * YEAR + 25 * HOUR, "2y1d"),
        (8 * YEAR + 2 * HOUR, "8y"), (-2, "<invalid>"), (-2 + 1e-9, "0s"), (0, "0s"), (1 - MS, "0s"),
        (120 - MS, "119s"), (120, "2m"), (121, "2m1s"), (600 - MS, "9m59s"), (600, "10m"), (601, "10m"),
        (3 * HOUR - MS, "179m"), (3 * HOUR, "3h"), (3 * HOUR + 60, "3h1m"), (8 * HOUR - MS, "7h59m"),
        (8 * HOUR, "8h"), (8 * HOUR + 59 * 60, "8h"), (2 * DAY - MS, "47h"), (2 * DAY, "2d"),
        (2 * DAY + HOUR, "2d1h"), (8 * DAY - MS, "7d23h"), (8 * DAY, "8d"), (8 * DAY + 23 * HOUR, "8d"),
        (2 * YEAR - MS, "729d"), (2 * YEAR, "2y"), (2 * YEAR + DAY - MS, "2y"), (2 * YEAR + DAY, "2y1d"),
        (7 * YEAR, "7y"), (8 * YEAR - MS, "7y364d"), (8 * YEAR, "8y"), (8 * YEAR + 364 * DAY, "8y"),
        (9 * YEAR, "9y"),
    ],
)  # fmt: skip
def test_human_duration_matches_apimachinery(seconds: float, want: str) -> None:
    assert human_duration(seconds) == want


# ---------------------------------------------------------------- columns

NAME = ("Name", "string", "name", 0)
AGE = ("Age", "string", "", 0)


@pytest.mark.parametrize(
    ("plural", "want"),
    [
        ("namespaces", [NAME, ("Status", "string", "", 0), AGE]),
        ("nodes", [
            NAME, ("Status", "string", "", 0), ("Roles", "string", "", 0), AGE, ("Version", "string", "", 0),
            ("Internal-IP", "string", "", 1), ("External-IP", "string", "", 1), ("OS-Image", "string", "", 1),
            ("Kernel-Version", "string", "", 1), ("Container-Runtime", "string", "", 1),
        ]),
        ("pods", [
            NAME, ("Ready", "string", "", 0), ("Status", "string", "", 0), ("Restarts", "string", "", 0), AGE,
            ("IP", "string", "", 1), ("Node", "string", "", 1), ("Nominated Node", "string", "", 1),
            ("Readiness Gates", "string", "", 1),
        ]),
        ("services", [
            NAME, ("Type", "string", "", 0), ("Cluster-IP", "string", "", 0), ("External-IP", "string", "", 0),
            ("Port(s)", "string", "", 0), AGE, ("Selector", "string", "", 1),
        ]),
        ("endpoints", [NAME, ("Endpoints", "string", "", 0), AGE]),
        ("endpointslices", [
            NAME, ("AddressType", "string", "", 0), ("Ports", "string", "", 0), ("Endpoints", "string", "", 0), AGE,
        ]),
        ("deployments", [
            NAME, ("Ready", "string", "", 0), ("Up-to-date", "string", "", 0), ("Available", "string", "", 0), AGE,
            ("Containers", "string", "", 1), ("Images", "string", "", 1), ("Selector", "string", "", 1),
        ]),
        ("replicasets", [
            NAME, ("Desired", "integer", "", 0), ("Current", "integer", "", 0), ("Ready", "integer", "", 0), AGE,
            ("Containers", "string", "", 1), ("Images", "string", "", 1), ("Selector", "string", "", 1),
        ]),
        ("networkpolicies", [NAME, ("Pod-Selector", "string", "", 0), AGE]),
        ("ingresses", [
            NAME, ("Class", "string", "", 0), ("Hosts", "string", "", 0), ("Address", "string", "", 0),
            ("Ports", "string", "", 0), AGE,
        ]),
        ("ingressclasses", [NAME, ("Controller", "string", "", 0), ("Parameters", "string", "", 0), AGE]),
        ("secrets", [NAME, ("Type", "string", "", 0), ("Data", "string", "", 0), AGE]),
        ("configmaps", [NAME, ("Data", "string", "", 0), AGE]),
        ("leases", [NAME, ("Holder", "string", "", 0), AGE]),
        ("serviceaccounts", [NAME, ("Secrets", "string", "", 0), AGE]),
        ("events", [
            ("Last Seen", "string", "", 0), ("Type", "string", "", 0), ("Reason", "string", "", 0),
            ("Object", "string", "", 0), ("Subobject", "string", "", 1), ("Source", "string", "", 1),
            ("Message", "string", "", 0), ("First Seen", "string", "", 1), ("Count", "string", "", 1),
            ("Name", "string", "name", 1),
        ]),
    ],
)  # fmt: skip
def test_columns_match_kubernetes_printers(plural: str, want: list[tuple[str, str, str, int]]) -> None:
    assert columns(plural) == want


def test_column_descriptions_are_the_api_documentation() -> None:
    defs = to_table(res("pods"), [], now=NOW)["columnDefinitions"]
    assert defs[0]["description"].startswith("Name must be unique within a namespace.")
    assert defs[5]["description"] == (
        "podIP address allocated to the pod. Routable at least within the cluster. Empty if not yet allocated."
    )


def test_kind_without_printer_gets_the_default_name_and_created_at() -> None:
    widget = ResourceInfo("example.com", "v1", "Widget", "widgets", "widget", True)
    table = to_table(
        widget, [{"metadata": {"name": "w", "creationTimestamp": "2026-02-01T10:00:00+02:00"}}], now=NOW
    )
    assert [(c["name"], c["type"]) for c in table["columnDefinitions"]] == [
        ("Name", "string"),
        ("Created At", "date"),
    ]
    assert table["rows"][0]["cells"] == ["w", "2026-02-01T08:00:00Z"]


# ---------------------------------------------------------------- pods


def container_status(name: str, state: Obj, *, ready: bool = False, restarts: int = 0, **extra: Any) -> Obj:
    return {"name": name, "state": state, "ready": ready, "restartCount": restarts, "image": "img", **extra}


def pod(
    name: str,
    statuses: list[Obj],
    *,
    phase: str = "Running",
    containers: int = 1,
    init: list[Obj] | None = None,
    init_statuses: list[Obj] | None = None,
    conditions: list[Obj] | None = None,
    node: str = "node-1",
    ip: str = "10.244.1.5",
    **status: Any,
) -> Obj:
    spec: Obj = {"containers": [{"name": f"c{i}", "image": "img"} for i in range(containers)]}
    if node:
        spec["nodeName"] = node
    if init is not None:
        spec["initContainers"] = init
    st: Obj = {"phase": phase, "containerStatuses": statuses, "conditions": conditions or [], **status}
    if ip:
        st["podIP"], st["podIPs"] = ip, [{"ip": ip}]
    if init_statuses is not None:
        st["initContainerStatuses"] = init_statuses
    return {"metadata": meta(name, 125), "spec": spec, "status": st}


RUNNING = {"running": {"startedAt": ago(100)}}
READY_COND = [{"type": "Initialized", "status": "True"}, {"type": "Ready", "status": "True"}]
TAIL = ["2m5s", "10.244.1.5", "node-1", "<none>", "<none>"]


def waiting(reason: str) -> Obj:
    return {"waiting": {"reason": reason}}


def terminated(exit_code: int, reason: str = "", signal: int = 0, finished: float = 30) -> Obj:
    t: Obj = {"exitCode": exit_code, "finishedAt": ago(finished)}
    if reason:
        t["reason"] = reason
    if signal:
        t["signal"] = signal
    return {"terminated": t}


@pytest.mark.parametrize(
    ("obj", "want"),
    [
        pytest.param(
            pod("web", [container_status("c0", RUNNING, ready=True)], conditions=READY_COND),
            ["web", "1/1", "Running", "0", *TAIL], id="running",
        ),
        pytest.param(
            pod("new", [], phase="Pending", node="", ip=""),
            ["new", "0/1", "Pending", "0", "2m5s", "<none>", "<none>", "<none>", "<none>"], id="unscheduled",
        ),
        pytest.param(
            pod("boot", [container_status("c0", waiting("ContainerCreating"))], phase="Pending", ip=""),
            ["boot", "0/1", "ContainerCreating", "0", "2m5s", "<none>", "node-1", "<none>", "<none>"],
            id="container-creating",
        ),
        pytest.param(
            pod("crash", [container_status(
                "c0", waiting("CrashLoopBackOff"), restarts=3, lastState=terminated(1, "Error", finished=10),
            )]),
            ["crash", "0/1", "CrashLoopBackOff", "3 (10s ago)", *TAIL], id="crash-loop-with-last-restart",
        ),
        pytest.param(
            pod("job", [container_status("c0", terminated(0, "Completed"))], phase="Succeeded"),
            ["job", "0/1", "Completed", "0", *TAIL], id="completed",
        ),
        pytest.param(
            pod("oom", [container_status("c0", terminated(137, "OOMKilled"), restarts=1)], phase="Running"),
            ["oom", "0/1", "OOMKilled", "1", *TAIL], id="terminated-reason-without-last-state",
        ),
        pytest.param(
            pod("sig", [container_status("c0", terminated(137, signal=9))]),
            ["sig", "0/1", "Signal:9", "0", *TAIL], id="terminated-by-signal",
        ),
        pytest.param(
            pod("code", [container_status("c0", terminated(3))]),
            ["code", "0/1", "ExitCode:3", "0", *TAIL], id="terminated-exit-code",
        ),
        pytest.param(
            pod("half", [
                container_status("c0", terminated(0, "Completed")),
                container_status("c1", RUNNING, ready=True),
            ], containers=2, conditions=READY_COND),
            ["half", "1/2", "Running", "0", *TAIL], id="completed-container-beside-a-ready-one",
        ),
        pytest.param(
            pod("half2", [
                container_status("c0", terminated(0, "Completed")),
                container_status("c1", RUNNING, ready=True),
            ], containers=2),
            ["half2", "1/2", "NotReady", "0", *TAIL], id="completed-container-pod-not-ready",
        ),
        pytest.param(
            pod("init", [container_status("c0", waiting("PodInitializing"))], phase="Pending",
                init=[{"name": "i0"}, {"name": "i1"}],
                init_statuses=[container_status("i0", RUNNING), container_status("i1", waiting("PodInitializing"))]),
            ["init", "0/1", "Init:0/2", "0", *TAIL], id="init-running",
        ),
        pytest.param(
            pod("initcrash", [], phase="Pending", init=[{"name": "i0"}, {"name": "i1"}],
                init_statuses=[
                    container_status("i0", terminated(0, "Completed")),
                    container_status("i1", waiting("CrashLoopBackOff"), restarts=4,
                                     lastState=terminated(1, "Error", finished=200)),
                ]),
            ["initcrash", "0/1", "Init:CrashLoopBackOff", "4 (3m20s ago)", *TAIL], id="init-crash-loop",
        ),
        pytest.param(
            pod("initerr", [], phase="Pending", init=[{"name": "i0"}],
                init_statuses=[container_status("i0", terminated(2, "Error"))]),
            ["initerr", "0/1", "Init:Error", "0", *TAIL], id="init-error",
        ),
        pytest.param(
            pod("initsig", [], phase="Pending", init=[{"name": "i0"}],
                init_statuses=[container_status("i0", terminated(137, signal=9))]),
            ["initsig", "0/1", "Init:Signal:9", "0", *TAIL], id="init-signal",
        ),
        pytest.param(
            pod("sidecar", [container_status("c0", RUNNING, ready=True, restarts=1)],
                init=[{"name": "proxy", "restartPolicy": "Always"}],
                init_statuses=[container_status("proxy", RUNNING, ready=True, started=True, restarts=2,
                                                lastState=terminated(1, "Error", finished=40))],
                conditions=READY_COND),
            ["sidecar", "2/2", "Running", "3 (40s ago)", *TAIL], id="restartable-init-container",
        ),
        pytest.param(
            pod("gated", [], phase="Pending", node="", ip="",
                conditions=[{"type": "PodScheduled", "status": "False", "reason": "SchedulingGated"}]),
            ["gated", "0/1", "SchedulingGated", "0", "2m5s", "<none>", "<none>", "<none>", "<none>"],
            id="scheduling-gated",
        ),
        pytest.param(
            pod("evicted", [], phase="Failed", reason="Evicted"),
            ["evicted", "0/1", "Evicted", "0", *TAIL], id="evicted",
        ),
        pytest.param(
            pod("pre", [], phase="Pending", node="", ip="", nominatedNodeName="node-2"),
            ["pre", "0/1", "Pending", "0", "2m5s", "<none>", "<none>", "node-2", "<none>"], id="nominated-node",
        ),
    ],
)  # fmt: skip
def test_pod_rows(obj: Obj, want: list[Any]) -> None:
    assert cells("pods", obj) == want


def test_pod_being_deleted_is_terminating_unless_node_lost_or_finished() -> None:
    running = pod("p", [container_status("c0", RUNNING, ready=True)], conditions=READY_COND)
    running["metadata"]["deletionTimestamp"] = ago(5)
    lost = pod("q", [container_status("c0", RUNNING, ready=True)], reason="NodeLost")
    lost["metadata"]["deletionTimestamp"] = ago(5)
    done = pod("r", [container_status("c0", terminated(0, "Completed"))], phase="Succeeded")
    done["metadata"]["deletionTimestamp"] = ago(5)
    assert [cells("pods", p)[2] for p in (running, lost, done)] == ["Terminating", "Unknown", "Completed"]


def test_pod_readiness_gates_count_true_conditions() -> None:
    p = pod(
        "g",
        [container_status("c0", RUNNING, ready=True)],
        conditions=[
            {"type": "example.com/lb", "status": "True"},
            {"type": "example.com/fw", "status": "False"},
        ],
    )
    p["spec"]["readinessGates"] = [
        {"conditionType": "example.com/lb"},
        {"conditionType": "example.com/fw"},
        {"conditionType": "example.com/absent"},
    ]
    assert cells("pods", p)[-1] == "1/3"


def test_finished_pods_carry_a_completed_row_condition() -> None:
    rows = to_table(
        res("pods"),
        [
            pod("ok", [], phase="Succeeded"),
            pod("bad", [], phase="Failed"),
            pod("run", []),
        ],
        now=NOW,
    )["rows"]
    assert [r.get("conditions") for r in rows] == [
        [{"type": "Completed", "status": "True", "reason": "Succeeded",
          "message": "The pod has completed successfully."}],
        [{"type": "Completed", "status": "True", "reason": "Failed", "message": "The pod failed."}],
        None,
    ]  # fmt: skip


# ---------------------------------------------------------------- other kinds


def svc(name: str, stype: str, ports: list[Obj], **spec: Any) -> Obj:
    status = spec.pop("status", {})
    return {
        "metadata": meta(name, 3 * DAY + 2 * HOUR),
        "spec": {"type": stype, "ports": ports, **spec},
        "status": status,
    }


P80 = {"name": "http", "port": 80, "protocol": "TCP", "targetPort": 8080}


@pytest.mark.parametrize(
    ("obj", "want"),
    [
        pytest.param(
            svc("web", "ClusterIP", [P80], clusterIP="10.96.0.20", clusterIPs=["10.96.0.20"],
                selector={"tier": "fe", "app": "web"}),
            ["web", "ClusterIP", "10.96.0.20", "<none>", "80/TCP", "3d2h", "app=web,tier=fe"], id="cluster-ip",
        ),
        pytest.param(
            svc("np", "NodePort", [{**P80, "nodePort": 30080}, {"port": 53, "protocol": "UDP", "nodePort": 30053}],
                clusterIPs=["10.96.0.21"], externalIPs=["203.0.113.7"]),
            ["np", "NodePort", "10.96.0.21", "203.0.113.7", "80:30080/TCP,53:30053/UDP", "3d2h", "<none>"],
            id="node-port-with-external-ip",
        ),
        pytest.param(
            svc("lb", "LoadBalancer", [{**P80, "nodePort": 31000}], clusterIPs=["10.96.0.22"]),
            ["lb", "LoadBalancer", "10.96.0.22", "<pending>", "80:31000/TCP", "3d2h", "<none>"], id="lb-pending",
        ),
        pytest.param(
            svc("lb2", "LoadBalancer", [{**P80, "nodePort": 31001}], clusterIPs=["10.96.0.23"],
                status={"loadBalancer": {"ingress": [{"ip": "172.18.255.201"}, {"hostname": "lb.example.com"},
                                                     {"ip": "172.18.255.200"}]}}),
            ["lb2", "LoadBalancer", "10.96.0.23", "172.18.255.200,172.18.255.201,lb.example.com", "80:31001/TCP",
             "3d2h", "<none>"],
            id="lb-ingress-sorted-untruncated",
        ),
        pytest.param(
            svc("lb3", "LoadBalancer", [{**P80, "nodePort": 31002}], clusterIPs=["10.96.0.24"],
                externalIPs=["203.0.113.9"], status={"loadBalancer": {"ingress": [{"ip": "172.18.255.202"}]}}),
            ["lb3", "LoadBalancer", "10.96.0.24", "172.18.255.202,203.0.113.9", "80:31002/TCP", "3d2h", "<none>"],
            id="lb-ingress-then-external-ips",
        ),
        pytest.param(
            svc("db", "ClusterIP", [], clusterIP="None", clusterIPs=["None"], selector={"app": "db"}),
            ["db", "ClusterIP", "None", "<none>", "<none>", "3d2h", "app=db"], id="headless-no-ports",
        ),
        pytest.param(
            svc("ext", "ExternalName", [], externalName="db.example.com"),
            ["ext", "ExternalName", "<none>", "db.example.com", "<none>", "3d2h", "<none>"], id="external-name",
        ),
    ],
)  # fmt: skip
def test_service_rows(obj: Obj, want: list[Any]) -> None:
    assert cells("services", obj) == want


def addresses(*ips: str) -> list[Obj]:
    return [{"ip": ip} for ip in ips]


@pytest.mark.parametrize(
    ("subsets", "want"),
    [
        ([], "<none>"),
        ([{"addresses": addresses("10.244.1.5", "10.244.2.6"), "ports": [{"port": 8080}]}],
         "10.244.1.5:8080,10.244.2.6:8080"),
        ([{"addresses": addresses("10.244.1.5", "10.244.2.6"), "ports": [{"name": "a", "port": 80},
                                                                         {"name": "b", "port": 443}]}],
         "10.244.1.5:80,10.244.2.6:80,10.244.1.5:443 + 1 more..."),
        ([{"addresses": addresses("10.244.1.5", "10.244.1.6", "10.244.1.7", "10.244.1.8", "10.244.1.9")}],
         "10.244.1.5,10.244.1.6,10.244.1.7 + 2 more..."),
        ([{"addresses": addresses("fd00::5"), "ports": [{"port": 80}]},
          {"notReadyAddresses": addresses("10.244.3.3"), "ports": [{"port": 80}]}], "[fd00::5]:80"),
    ],
)  # fmt: skip
def test_endpoints_rows(subsets: list[Obj], want: str) -> None:
    assert cells("endpoints", {"metadata": meta("web", 30), "subsets": subsets}) == ["web", want, "30s"]


def test_endpoint_slice_row() -> None:
    eps = {
        "metadata": meta("web-abc12", 30),
        "addressType": "IPv4",
        "ports": [{"name": "http", "port": 80}, {"name": "named"}, {}, {"port": 9000}],
        "endpoints": [{"addresses": [f"10.244.1.{i}"]} for i in range(1, 6)],
    }
    empty = {"metadata": meta("empty", 30), "addressType": "IPv4", "endpoints": []}
    assert cells("endpointslices", eps) == [
        "web-abc12", "IPv4", "80,named,* + 1 more...", "10.244.1.1,10.244.1.2,10.244.1.3 + 2 more...", "30s",
    ]  # fmt: skip
    assert cells("endpointslices", empty) == ["empty", "IPv4", "<unset>", "<unset>", "30s"]


TEMPLATE = {
    "spec": {"containers": [{"name": "web", "image": "nginx:1.27"}, {"name": "log", "image": "busybox"}]}
}


def test_deployment_and_replicaset_rows() -> None:
    selector = {"matchLabels": {"app": "web"}, "matchExpressions": [
        {"key": "env", "operator": "In", "values": ["prod", "dev"]}, {"key": "canary", "operator": "DoesNotExist"},
    ]}  # fmt: skip
    deploy = {
        "metadata": meta("web", 700),
        "spec": {"replicas": 3, "selector": selector, "template": TEMPLATE},
        "status": {"replicas": 3, "readyReplicas": 2, "updatedReplicas": 3, "availableReplicas": 2},
    }
    rs = {
        "metadata": meta("web-5d4f", 700),
        "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "web", "pod-template-hash": "5d4f"}},
                 "template": TEMPLATE},
        "status": {"replicas": 3, "readyReplicas": 2},
    }  # fmt: skip
    assert cells("deployments", deploy) == [
        "web", "2/3", 3, 2, "11m", "web,log", "nginx:1.27,busybox", "app=web,!canary,env in (dev,prod)",
    ]  # fmt: skip
    assert cells("replicasets", rs) == [
        "web-5d4f", 3, 3, 2, "11m", "web,log", "nginx:1.27,busybox", "app=web,pod-template-hash=5d4f",
    ]  # fmt: skip
    bad = {
        **deploy,
        "spec": {**deploy["spec"], "selector": {"matchExpressions": [{"key": "x", "operator": "Gt"}]}},
    }
    assert cells("deployments", bad)[-1] == "<invalid>"


def test_node_rows() -> None:
    node = {
        "metadata": {"name": "control-plane", "creationTimestamp": ago(2 * DAY + 3 * HOUR), "labels": {
            "node-role.kubernetes.io/control-plane": "", "node-role.kubernetes.io/": "", "kubernetes.io/role": "etcd",
        }},
        "spec": {"unschedulable": True},
        "status": {
            "conditions": [{"type": "MemoryPressure", "status": "False"}, {"type": "Ready", "status": "True"}],
            "addresses": [{"type": "Hostname", "address": "control-plane"},
                          {"type": "InternalIP", "address": "172.18.0.2"}],
            "nodeInfo": {"kubeletVersion": "v1.32.0-podnet", "osImage": "Debian GNU/Linux 12 (bookworm)",
                         "kernelVersion": "6.8.0", "containerRuntimeVersion": "podnet://0.1.0"},
        },
    }  # fmt: skip
    bare = {"metadata": {"name": "node-1", "creationTimestamp": ago(60)}, "status": {
        "conditions": [{"type": "Ready", "status": "Unknown"}]}}  # fmt: skip
    assert cells("nodes", node) == [
        "control-plane", "Ready,SchedulingDisabled", "control-plane,etcd", "2d3h", "v1.32.0-podnet",
        "172.18.0.2", "<none>", "Debian GNU/Linux 12 (bookworm)", "6.8.0", "podnet://0.1.0",
    ]  # fmt: skip
    assert cells("nodes", bare) == [
        "node-1", "NotReady", "<none>", "60s", "", "<none>", "<none>", "<unknown>", "<unknown>", "<unknown>",
    ]  # fmt: skip
    assert cells("nodes", {"metadata": {"name": "n"}})[1:4] == ["Unknown", "<none>", "<unknown>"]


def test_networking_rows() -> None:
    netpol = {"metadata": meta("deny", 90), "spec": {"podSelector": {"matchLabels": {"app": "web"}}}}
    everything = {"metadata": meta("all", 90), "spec": {"podSelector": {}}}
    ing = {
        "metadata": meta("web", 90),
        "spec": {"ingressClassName": "podnet", "tls": [{"hosts": ["a.example.com"]}],
                 "rules": [{"host": h} for h in ("a.example.com", "", "b.example.com", "c.example.com", "d.example.com")]},
        "status": {"loadBalancer": {"ingress": [{"ip": "172.18.255.200"}]}},
    }  # fmt: skip
    catch_all = {"metadata": meta("default", 90), "spec": {"defaultBackend": {}}}
    cls = {"metadata": {"name": "podnet", "creationTimestamp": ago(90)},
           "spec": {"controller": "podnet.dev/ingress",
                    "parameters": {"apiGroup": "example.com", "kind": "Params", "name": "p"}}}  # fmt: skip
    assert cells("networkpolicies", netpol) == ["deny", "app=web", "90s"]
    assert cells("networkpolicies", everything) == ["all", "<none>", "90s"]
    assert cells("ingresses", ing) == [
        "web", "podnet", "a.example.com,b.example.com,c.example.com + 2 more...", "172.18.255.200", "80, 443", "90s",
    ]  # fmt: skip
    assert cells("ingresses", catch_all) == ["default", "<none>", "*", "", "80", "90s"]
    assert cells("ingressclasses", cls) == ["podnet", "podnet.dev/ingress", "Params.example.com/p", "90s"]


def test_config_and_identity_rows() -> None:
    assert cells("secrets", {"metadata": meta("tok", 5), "type": "Opaque", "data": {"a": "eA==", "b": "eQ=="}}) == [
        "tok", "Opaque", 2, "5s",
    ]  # fmt: skip
    assert cells("configmaps", {"metadata": meta("cfg", 5), "data": {"a": "1"}, "binaryData": {"b": "AA=="}}) == [
        "cfg", 2, "5s",
    ]  # fmt: skip
    assert cells("serviceaccounts", {"metadata": meta("default", 5)}) == ["default", 0, "5s"]
    assert cells("leases", {"metadata": meta("node-1", 5), "spec": {"holderIdentity": "node-1"}}) == [
        "node-1", "node-1", "5s",
    ]  # fmt: skip
    assert cells("namespaces", {"metadata": meta("dev", 5), "status": {"phase": "Terminating"}}) == [
        "dev", "Terminating", "5s",
    ]  # fmt: skip


def test_event_rows() -> None:
    core = {
        "metadata": meta("web.17a", 600),
        "involvedObject": {"kind": "Pod", "name": "web", "fieldPath": "spec.containers{web}"},
        "reason": "BackOff", "type": "Warning", "message": "Back-off restarting failed container\n",
        "source": {"component": "kubelet", "host": "node-1"},
        "firstTimestamp": ago(600), "lastTimestamp": ago(20), "count": 7,
    }  # fmt: skip
    new_api = {
        "metadata": meta("web.17b", 600),
        "involvedObject": {"kind": "Deployment"},
        "reason": "ScalingReplicaSet", "type": "Normal", "message": "Scaled up",
        "reportingComponent": "deployment-controller", "eventTime": "2026-03-01T11:59:00.123456Z",
        "series": {"count": 4, "lastObservedTime": "2026-03-01T11:59:50.000000Z"},
    }  # fmt: skip
    single = {"metadata": meta("x", 5), "involvedObject": {"kind": "Node", "name": "n"}, "eventTime": ago(5)}
    assert cells("events", core) == [
        "20s", "Warning", "BackOff", "pod/web", "spec.containers{web}", "kubelet, node-1",
        "Back-off restarting failed container", "10m", 7, "web.17a",
    ]  # fmt: skip
    assert cells("events", new_api) == [
        "10s", "Normal", "ScalingReplicaSet", "deployment", "", "deployment-controller", "Scaled up", "59s", 4, "web.17b",
    ]  # fmt: skip
    assert cells("events", single) == ["5s", "", "", "node/n", "", "", "", "5s", 1, "x"]


# ---------------------------------------------------------------- the Table and its row objects


def test_table_shape_and_include_object_modes() -> None:
    cm = {"kind": "ConfigMap", "apiVersion": "v1", "metadata": meta("cfg", 5, uid="u-1", labels={"a": "b"}),
          "data": {"k": "v"}}  # fmt: skip
    bare = {"metadata": meta("cfg2", 5), "data": {}}
    table = to_table(res("configmaps"), [cm, bare], now=NOW)
    assert {k: v for k, v in table.items() if k not in ("columnDefinitions", "rows")} == {
        "kind": "Table", "apiVersion": "meta.k8s.io/v1", "metadata": {},
    }  # fmt: skip
    assert table["rows"] == [
        {"cells": ["cfg", 1, "5s"], "object": {
            "kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": cm["metadata"]}},
        {"cells": ["cfg2", 0, "5s"], "object": {
            "kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": bare["metadata"]}},
    ]  # fmt: skip
    full = to_table(res("configmaps"), [bare], include_object="Object", now=NOW)["rows"][0]["object"]
    assert full == {"kind": "ConfigMap", "apiVersion": "v1", **bare}
    none = to_table(res("configmaps"), [bare], include_object="None", now=NOW)["rows"][0]
    assert none == {"cells": ["cfg2", 0, "5s"], "object": None}
    assert to_table(res("configmaps"), [], now=NOW)["rows"] == []


def test_unknown_include_object_is_a_bad_request() -> None:
    with pytest.raises(StatusError) as err:
        to_table(res("configmaps"), [{"metadata": meta("c")}], include_object="Everything", now=NOW)
    assert (err.value.code, err.value.message) == (400, 'unrecognized includeObject value: "Everything"')


def test_age_of_an_object_without_a_creation_timestamp_is_unknown() -> None:
    assert cells("configmaps", {"metadata": {"name": "c"}}) == ["c", 0, "<unknown>"]
