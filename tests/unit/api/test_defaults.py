"""Defaulting goldens: input object → the whole object Kubernetes would store (before allocation)."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from podnet.api.defaults import apply_defaults, image_tag
from tests.unit.api.helpers import res

CONTAINER_DEFAULTS = {
    "terminationMessagePath": "/dev/termination-log",
    "terminationMessagePolicy": "File",
    "resources": {},
}
POD_SPEC_DEFAULTS = {
    "dnsPolicy": "ClusterFirst",
    "restartPolicy": "Always",
    "securityContext": {},
    "terminationGracePeriodSeconds": 30,
    "schedulerName": "default-scheduler",
}


def defaulted(api_version: str, kind: str, obj: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(obj)
    apply_defaults(res(api_version, kind), out)
    return out


def test_pod_golden() -> None:
    pod = {
        "metadata": {"name": "web"},
        "spec": {
            "containers": [
                {
                    "name": "web",
                    "image": "nginx",
                    "ports": [{"containerPort": 80}, {"containerPort": 53, "protocol": "UDP"}],
                    "livenessProbe": {"httpGet": {"port": 80}},
                    "readinessProbe": {"tcpSocket": {"port": 80}, "periodSeconds": 5},
                    "resources": {"limits": {"cpu": "1"}},
                }
            ],
            "initContainers": [{"name": "init", "image": "busybox:1.36"}],
        },
    }
    assert defaulted("v1", "Pod", pod) == {
        "metadata": {"name": "web"},
        "spec": {
            **POD_SPEC_DEFAULTS,
            "enableServiceLinks": True,
            "containers": [
                {
                    "name": "web",
                    "image": "nginx",
                    "imagePullPolicy": "Always",
                    **CONTAINER_DEFAULTS,
                    "resources": {"limits": {"cpu": "1"}, "requests": {"cpu": "1"}},
                    "ports": [
                        {"containerPort": 80, "protocol": "TCP"},
                        {"containerPort": 53, "protocol": "UDP"},
                    ],
                    "livenessProbe": {
                        "httpGet": {"port": 80, "path": "/", "scheme": "HTTP"},
                        "timeoutSeconds": 1,
                        "periodSeconds": 10,
                        "successThreshold": 1,
                        "failureThreshold": 3,
                    },
                    "readinessProbe": {
                        "tcpSocket": {"port": 80},
                        "timeoutSeconds": 1,
                        "periodSeconds": 5,
                        "successThreshold": 1,
                        "failureThreshold": 3,
                    },
                }
            ],
            "initContainers": [
                {
                    "name": "init",
                    "image": "busybox:1.36",
                    "imagePullPolicy": "IfNotPresent",
                    **CONTAINER_DEFAULTS,
                }
            ],
        },
    }


def test_pod_keeps_what_the_user_set_and_host_network_copies_ports() -> None:
    pod = {
        "metadata": {"name": "p"},
        "spec": {
            "restartPolicy": "Never",
            "dnsPolicy": "Default",
            "terminationGracePeriodSeconds": 0,
            "enableServiceLinks": False,
            "hostNetwork": True,
            "containers": [
                {
                    "name": "c",
                    "image": "x:latest",
                    "imagePullPolicy": "Never",
                    "ports": [{"containerPort": 8080}],
                }
            ],
        },
    }
    out = defaulted("v1", "Pod", pod)
    assert out["spec"]["restartPolicy"] == "Never"
    assert out["spec"]["dnsPolicy"] == "Default"
    assert out["spec"]["terminationGracePeriodSeconds"] == 0
    assert out["spec"]["enableServiceLinks"] is False
    assert out["spec"]["containers"][0]["imagePullPolicy"] == "Never"
    assert out["spec"]["containers"][0]["ports"] == [
        {"containerPort": 8080, "protocol": "TCP", "hostPort": 8080}
    ]


@pytest.mark.parametrize(
    ("image", "tag"),
    [
        ("nginx", "latest"),
        ("nginx:latest", "latest"),
        ("nginx:1.25", "1.25"),
        ("registry.local:5000/team/app", "latest"),
        ("registry.local:5000/team/app:v2", "v2"),
        ("app@sha256:abc", ""),
        ("app:v1@sha256:abc", "v1"),
        ("", ""),
    ],
)
def test_image_tag(image: str, tag: str) -> None:
    assert image_tag(image) == tag


def test_service_cluster_ip_golden() -> None:
    svc = {
        "metadata": {"name": "web"},
        "spec": {
            "selector": {"app": "web"},
            "ports": [{"port": 80}, {"port": 53, "protocol": "UDP", "targetPort": "dns"}],
        },
    }
    assert defaulted("v1", "Service", svc) == {
        "metadata": {"name": "web"},
        "spec": {
            "selector": {"app": "web"},
            "ports": [
                {"port": 80, "protocol": "TCP", "targetPort": 80},
                {"port": 53, "protocol": "UDP", "targetPort": "dns"},
            ],
            "type": "ClusterIP",
            "sessionAffinity": "None",
            "internalTrafficPolicy": "Cluster",
            "ipFamilies": ["IPv4"],
            "ipFamilyPolicy": "SingleStack",
        },
    }


def test_service_load_balancer_with_client_ip_golden() -> None:
    svc = {
        "metadata": {"name": "lb"},
        "spec": {
            "type": "LoadBalancer",
            "sessionAffinity": "ClientIP",
            "ports": [{"port": 443, "targetPort": 0}],
        },
    }
    assert defaulted("v1", "Service", svc)["spec"] == {
        "type": "LoadBalancer",
        "sessionAffinity": "ClientIP",
        "sessionAffinityConfig": {"clientIP": {"timeoutSeconds": 10800}},
        "ports": [{"port": 443, "protocol": "TCP", "targetPort": 443}],
        "externalTrafficPolicy": "Cluster",
        "internalTrafficPolicy": "Cluster",
        "allocateLoadBalancerNodePorts": True,
        "ipFamilies": ["IPv4"],
        "ipFamilyPolicy": "SingleStack",
    }


def test_service_session_affinity_none_drops_config_and_external_name_gets_no_ip_fields() -> None:
    none = {"spec": {"sessionAffinityConfig": {"clientIP": {"timeoutSeconds": 5}}, "ports": [{"port": 1}]}}
    assert "sessionAffinityConfig" not in defaulted("v1", "Service", none)["spec"]
    ext = {"spec": {"type": "ExternalName", "externalName": "example.com"}}
    assert defaulted("v1", "Service", ext)["spec"] == {
        "type": "ExternalName",
        "externalName": "example.com",
        "sessionAffinity": "None",
    }
    node_port = defaulted("v1", "Service", {"spec": {"type": "NodePort", "externalTrafficPolicy": "Local"}})
    assert node_port["spec"]["externalTrafficPolicy"] == "Local"


TEMPLATE_IN = {
    "metadata": {"labels": {"app": "web"}},
    "spec": {"containers": [{"name": "web", "image": "nginx:1.25"}]},
}
TEMPLATE_OUT = {
    "metadata": {"labels": {"app": "web"}},
    "spec": {
        **POD_SPEC_DEFAULTS,
        "containers": [
            {"name": "web", "image": "nginx:1.25", "imagePullPolicy": "IfNotPresent", **CONTAINER_DEFAULTS}
        ],
    },
}


def test_deployment_golden() -> None:
    dep = {
        "metadata": {"name": "web"},
        "spec": {"selector": {"matchLabels": {"app": "web"}}, "template": TEMPLATE_IN},
    }
    assert defaulted("apps/v1", "Deployment", dep) == {
        "metadata": {"name": "web"},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": {"app": "web"}},
            "strategy": {
                "type": "RollingUpdate",
                "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": "25%"},
            },
            "revisionHistoryLimit": 10,
            "progressDeadlineSeconds": 600,
            "template": TEMPLATE_OUT,
        },
    }


def test_deployment_recreate_and_zero_replicas_are_kept() -> None:
    dep = {"spec": {"replicas": 0, "strategy": {"type": "Recreate"}, "template": TEMPLATE_IN}}
    spec = defaulted("apps/v1", "Deployment", dep)["spec"]
    assert spec["replicas"] == 0
    assert spec["strategy"] == {"type": "Recreate"}


def test_replica_set_golden() -> None:
    rs = {
        "metadata": {"name": "web-1"},
        "spec": {"selector": {"matchLabels": {"app": "web"}}, "template": TEMPLATE_IN},
    }
    assert defaulted("apps/v1", "ReplicaSet", rs) == {
        "metadata": {"name": "web-1"},
        "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "web"}}, "template": TEMPLATE_OUT},
    }


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ({}, {"podSelector": {}, "policyTypes": ["Ingress"]}),
        (
            {
                "podSelector": {"matchLabels": {"a": "b"}},
                "ingress": [{"ports": [{"port": 80}]}],
                "egress": [{}],
            },
            {
                "podSelector": {"matchLabels": {"a": "b"}},
                "ingress": [{"ports": [{"port": 80, "protocol": "TCP"}]}],
                "egress": [{}],
                "policyTypes": ["Ingress", "Egress"],
            },
        ),
        ({"podSelector": {}, "policyTypes": ["Egress"]}, {"podSelector": {}, "policyTypes": ["Egress"]}),
        ({"podSelector": {}, "egress": []}, {"podSelector": {}, "egress": [], "policyTypes": ["Ingress"]}),
    ],
)
def test_network_policy(spec: dict, expected: dict) -> None:  # type: ignore[type-arg]
    assert defaulted("networking.k8s.io/v1", "NetworkPolicy", {"spec": spec})["spec"] == expected


def test_endpoint_slice_and_endpoints_ports() -> None:
    slice_ = {"addressType": "IPv4", "ports": [{"port": 80}, {"name": "dns", "port": 53, "protocol": "UDP"}]}
    assert defaulted("discovery.k8s.io/v1", "EndpointSlice", slice_) == {
        "addressType": "IPv4",
        "ports": [
            {"port": 80, "name": "", "protocol": "TCP"},
            {"name": "dns", "port": 53, "protocol": "UDP"},
        ],
    }
    ep = {"subsets": [{"ports": [{"port": 80}]}]}
    assert defaulted("v1", "Endpoints", ep) == {"subsets": [{"ports": [{"port": 80, "protocol": "TCP"}]}]}


def test_namespace_secret_ingress_class() -> None:
    assert defaulted("v1", "Namespace", {"metadata": {"name": "dev", "labels": {"team": "a"}}}) == {
        "metadata": {"name": "dev", "labels": {"team": "a", "kubernetes.io/metadata.name": "dev"}},
        "spec": {"finalizers": ["kubernetes"]},
    }
    spoofed = {"metadata": {"name": "dev", "labels": {"kubernetes.io/metadata.name": "prod"}}}
    assert defaulted("v1", "Namespace", spoofed)["metadata"]["labels"] == {
        "kubernetes.io/metadata.name": "dev"
    }
    finalized = {"metadata": {"name": "dev", "uid": "u1"}, "spec": {"finalizers": []}}
    assert defaulted("v1", "Namespace", finalized)["spec"] == {"finalizers": []}  # stored: never re-added
    assert defaulted("v1", "Secret", {"data": {}}) == {"data": {}, "type": "Opaque"}
    assert defaulted("v1", "Secret", {"type": "kubernetes.io/tls"}) == {"type": "kubernetes.io/tls"}
    ic = {"spec": {"controller": "x.io/c", "parameters": {"kind": "K", "name": "n"}}}
    assert defaulted("networking.k8s.io/v1", "IngressClass", ic)["spec"]["parameters"] == {
        "kind": "K",
        "name": "n",
        "scope": "Cluster",
    }
    assert defaulted("networking.k8s.io/v1", "IngressClass", {"spec": {"controller": "x.io/c"}}) == {
        "spec": {"controller": "x.io/c"}
    }


def test_kinds_without_defaulters_are_untouched() -> None:
    cm = {"metadata": {"name": "c"}, "data": {"k": "v"}}
    assert defaulted("v1", "ConfigMap", cm) == cm
