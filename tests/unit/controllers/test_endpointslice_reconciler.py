"""The pure EndpointSlice reconciler and legacy Endpoints render: inputs → creates/updates/deletes."""

from __future__ import annotations

import pytest

from podnet.controllers.endpointslice.endpoints import desired_endpoints
from podnet.controllers.endpointslice.reconciler import reconcile
from tests.unit.controllers.fixtures import pod, service

WEB = service()


def addrs(sl: dict) -> list[str]:
    return [e["addresses"][0] for e in sl["endpoints"]]


def existing(sl: dict, name: str, rv: str = "5") -> dict:
    out = {**sl, "metadata": {**sl["metadata"], "name": name, "resourceVersion": rv}}
    out["metadata"].pop("generateName")
    return out


def test_new_service_gets_one_slice_with_kubernetes_shape() -> None:
    plan = reconcile(WEB, [pod("a", "10.244.1.2"), pod("b", "10.244.1.3", node="node-2")], [])
    assert (len(plan.to_create), plan.to_update, plan.to_delete) == (1, [], [])
    assert plan.to_create[0] == {
        "apiVersion": "discovery.k8s.io/v1",
        "kind": "EndpointSlice",
        "metadata": {
            "generateName": "web-",
            "namespace": "default",
            "labels": {
                "kubernetes.io/service-name": "web",
                "endpointslice.kubernetes.io/managed-by": "endpointslice-controller.k8s.io",
            },
            "ownerReferences": [
                {
                    "apiVersion": "v1",
                    "kind": "Service",
                    "name": "web",
                    "uid": "uid-web",
                    "controller": True,
                    "blockOwnerDeletion": True,
                }
            ],
        },
        "addressType": "IPv4",
        "endpoints": [
            {
                "addresses": ["10.244.1.2"],
                "conditions": {"ready": True, "serving": True, "terminating": False},
                "targetRef": {"kind": "Pod", "namespace": "default", "name": "a", "uid": "uid-a"},
                "nodeName": "node-1",
            },
            {
                "addresses": ["10.244.1.3"],
                "conditions": {"ready": True, "serving": True, "terminating": False},
                "targetRef": {"kind": "Pod", "namespace": "default", "name": "b", "uid": "uid-b"},
                "nodeName": "node-2",
            },
        ],
        "ports": [{"name": "http", "port": 8080, "protocol": "TCP"}],
    }


@pytest.mark.parametrize(
    ("pod_obj", "svc", "expected"),
    [
        (pod("p", "10.244.1.2", ready=False), WEB, {"ready": False, "serving": False, "terminating": False}),
        (
            pod("p", "10.244.1.2", metadata__deletionTimestamp="2024-01-01T00:00:00Z"),
            WEB,
            {"ready": False, "serving": True, "terminating": True},
        ),
        (
            pod("p", "10.244.1.2", ready=False),
            service(publishNotReadyAddresses=True),
            {"ready": True, "serving": False, "terminating": False},
        ),
    ],
    ids=["not-ready", "terminating", "publish-not-ready"],
)
def test_endpoint_conditions(pod_obj: dict, svc: dict, expected: dict) -> None:
    plan = reconcile(svc, [pod_obj], [])
    assert plan.to_create[0]["endpoints"][0]["conditions"] == expected


@pytest.mark.parametrize(
    "excluded",
    [
        pod("noip", ""),
        pod("done", "10.244.1.9", status__phase="Succeeded"),
        pod("failed", "10.244.1.9", status__phase="Failed"),
        pod("other-labels", "10.244.1.9", labels={"app": "db"}),
        pod("other-ns", "10.244.1.9", ns="kube-system"),
    ],
    ids=lambda p: p["metadata"]["name"],
)
def test_pods_that_are_not_endpoints(excluded: dict) -> None:
    plan = reconcile(WEB, [pod("a", "10.244.1.2"), excluded], [])
    assert [addrs(s) for s in plan.to_create] == [["10.244.1.2"]]


def test_selectorless_service_is_left_alone() -> None:
    plan = reconcile(service(selector={}), [pod("a", "10.244.1.2")], [])
    assert plan.empty()
    assert desired_endpoints(service(selector={}), [pod("a", "10.244.1.2")], None) is None


def test_unchanged_slice_is_not_rewritten_and_changes_update_in_place() -> None:
    pods = [pod("a", "10.244.1.2"), pod("b", "10.244.1.3")]
    current = existing(reconcile(WEB, pods, []).to_create[0], "web-abcde")
    assert reconcile(WEB, pods, [current]).empty()
    pods[1] = pod("b", "10.244.1.3", ready=False)
    plan = reconcile(WEB, [*pods, pod("c", "10.244.1.4")], [current])
    assert (plan.to_create, plan.to_delete) == ([], [])
    (updated,) = plan.to_update
    assert updated["metadata"]["name"] == "web-abcde"
    assert addrs(updated) == ["10.244.1.2", "10.244.1.3", "10.244.1.4"]
    assert updated["endpoints"][1]["conditions"]["ready"] is False


def test_more_than_max_endpoints_spill_into_new_slices() -> None:
    pods = [pod(f"p{i}", f"10.244.{i // 200}.{i % 200 + 2}") for i in range(250)]
    plan = reconcile(WEB, pods, [])
    assert [len(s["endpoints"]) for s in plan.to_create] == [100, 100, 50]
    full = existing(plan.to_create[0], "web-1")
    half = existing(plan.to_create[2], "web-3")
    plan = reconcile(WEB, pods, [full, half])
    assert [len(s["endpoints"]) for s in plan.to_update] == [100]  # fills web-3 first; web-1 untouched
    assert plan.to_update[0]["metadata"]["name"] == "web-3"
    assert [len(s["endpoints"]) for s in plan.to_create] == [50]


def test_named_target_port_resolves_per_pod_into_separate_slices() -> None:
    svc = service(ports=[{"name": "http", "port": 80, "targetPort": "web"}])
    pods = [
        pod("old", "10.244.1.2", ports=[{"name": "web", "containerPort": 8080}]),
        pod("new", "10.244.1.3", ports=[{"name": "web", "containerPort": 9090}]),
        pod("udp-only", "10.244.1.4", ports=[{"name": "web", "containerPort": 7070, "protocol": "UDP"}]),
    ]
    plan = reconcile(svc, pods, [])
    got = sorted((s["ports"][0]["port"] if s["ports"] else 0, addrs(s)) for s in plan.to_create)
    # A pod without the named port (for that protocol) is still an endpoint, with that port left out.
    assert got == [(0, ["10.244.1.4"]), (8080, ["10.244.1.2"]), (9090, ["10.244.1.3"])]


def test_no_endpoints_keeps_one_placeholder_and_deletes_the_rest() -> None:
    current = existing(reconcile(WEB, [pod("a", "10.244.1.2")], []).to_create[0], "web-x")
    plan = reconcile(WEB, [], [current])
    assert plan.to_delete == [current]
    assert [(s["endpoints"], s["ports"]) for s in plan.to_create] == [([], [])]
    placeholder = existing(plan.to_create[0], "web-p")
    assert reconcile(WEB, [], [placeholder]).empty()
    assert reconcile(WEB, [pod("a", "10.244.1.2")], [placeholder]).to_delete == [placeholder]


def test_hostname_only_when_subdomain_is_the_service() -> None:
    pods = [
        pod("a", "10.244.1.2", spec__hostname="a", spec__subdomain="web"),
        pod("b", "10.244.1.3", spec__hostname="b", spec__subdomain="other"),
    ]
    eps = reconcile(WEB, pods, []).to_create[0]["endpoints"]
    assert [e.get("hostname") for e in eps] == ["a", None]


def test_legacy_endpoints_subsets() -> None:
    pods = [
        pod("b", "10.244.1.3", ready=False),
        pod("a", "10.244.1.2"),
        pod("t", "10.244.1.4", metadata__deletionTimestamp="2024-01-01T00:00:00Z"),
    ]
    ep = desired_endpoints(WEB, pods, None)
    assert ep == {
        "apiVersion": "v1",
        "kind": "Endpoints",
        "metadata": {"name": "web", "namespace": "default", "labels": {}},
        "subsets": [
            {
                "addresses": [
                    {
                        "ip": "10.244.1.2",
                        "nodeName": "node-1",
                        "targetRef": {"kind": "Pod", "namespace": "default", "name": "a", "uid": "uid-a"},
                    }
                ],
                "notReadyAddresses": [
                    {
                        "ip": "10.244.1.3",
                        "nodeName": "node-1",
                        "targetRef": {"kind": "Pod", "namespace": "default", "name": "b", "uid": "uid-b"},
                    }
                ],
                "ports": [{"name": "http", "port": 8080, "protocol": "TCP"}],
            }
        ],
    }
    assert (
        desired_endpoints(WEB, pods, {**ep, "metadata": {**ep["metadata"], "resourceVersion": "3"}}) is None
    )
