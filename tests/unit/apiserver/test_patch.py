"""Patch semantics: strategic merge patch as the real apiserver applies kubectl's patches, merge and JSON patch.

Every expected object in GOLDEN was computed by kubectl v1.32's own strategicpatch library
(``kubectl patch --local --type strategic``) from the live object and the patch shown; the patches
are the shapes ``kubectl apply`` sends (``$setElementOrder``, ``$patch: delete``, ``$retainKeys``,
``$deleteFromPrimitiveList``, nulls for removed fields). Lists compare in order.

Address plan: pods 10.244.0.0/16, services 10.96.0.0/12, nodes 172.18.0.0/16, external 203.0.113.0/24.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

from podnet.api.errors import StatusError
from podnet.apiserver import patchmeta
from podnet.apiserver.patch import apply_json_patch, apply_merge_patch, apply_strategic_merge_patch

Obj = dict[str, Any]

# fmt: off
DEPLOY: Obj = {
    "apiVersion": "apps/v1", "kind": "Deployment",
    "metadata": {
        "name": "web", "labels": {"app": "web", "tier": "frontend"},
        "finalizers": ["example.com/a", "example.com/b"],
    },
    "spec": {
        "replicas": 2, "selector": {"matchLabels": {"app": "web"}},
        "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}},
    },
}

TEMPLATED: Obj = {
    "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
    "spec": {
        "template": {
            "spec": {
                "containers": [
                    {
                        "name": "web", "image": "nginx:1.27",
                        "ports": [
                            {"containerPort": 80, "protocol": "TCP"},
                            {"containerPort": 443, "protocol": "TCP"},
                        ],
                        "env": [{"name": "MODE", "value": "prod"}, {"name": "LOG", "value": "info"}],
                    },
                    {"name": "sidecar", "image": "busybox:1.36", "args": ["sleep", "3600"]},
                ],
                "volumes": [{"name": "cfg", "configMap": {"name": "web-cfg"}}],
            },
        },
    },
}

SERVICE: Obj = {
    "apiVersion": "v1", "kind": "Service", "metadata": {"name": "web", "namespace": "default"},
    "spec": {
        "type": "NodePort", "clusterIP": "10.96.0.20", "clusterIPs": ["10.96.0.20"],
        "selector": {"app": "web"},
        "ports": [
            {"name": "http", "port": 80, "protocol": "TCP", "targetPort": 8080, "nodePort": 30080},
            {"name": "https", "port": 443, "protocol": "TCP", "targetPort": 8443, "nodePort": 30443},
        ],
    },
}

POD: Obj = {
    "apiVersion": "v1", "kind": "Pod",
    "metadata": {
        "name": "p", "namespace": "default",
        "ownerReferences": [
            {
                "apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web-1", "uid": "u-1",
                "controller": True,
            },
        ],
    },
    "spec": {
        "containers": [{"name": "c", "image": "agnhost"}], "nodeName": "node-1",
        "tolerations": [{"key": "a", "operator": "Exists"}],
    },
    "status": {
        "phase": "Pending", "conditions": [{"type": "PodScheduled", "status": "True"}],
        "podIPs": [{"ip": "10.244.1.5"}],
    },
}

CONFIGMAP: Obj = {
    "apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cfg", "namespace": "default"},
    "data": {"a": "1", "b": "2"},
}

NETPOL: Obj = {
    "apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
    "metadata": {"name": "deny", "namespace": "default"},
    "spec": {
        "podSelector": {"matchLabels": {"app": "web"}}, "policyTypes": ["Ingress"],
        "ingress": [
            {
                "from": [{"podSelector": {"matchLabels": {"role": "client"}}}],
                "ports": [{"port": 80, "protocol": "TCP"}],
            },
        ],
    },
}

NODE: Obj = {
    "apiVersion": "v1", "kind": "Node", "metadata": {"name": "node-1"},
    "spec": {"podCIDR": "10.244.1.0/24", "podCIDRs": ["10.244.1.0/24"]},
    "status": {
        "addresses": [
            {"type": "InternalIP", "address": "172.18.0.3"}, {"type": "Hostname", "address": "node-1"},
        ],
        "conditions": [{"type": "Ready", "status": "False", "reason": "KubeletNotReady"}],
    },
}

GOLDEN = [
    pytest.param(
        TEMPLATED,
        {
            "spec": {
                "template": {
                    "spec": {
                        "$setElementOrder/containers": [{"name": "web"}, {"name": "sidecar"}],
                        "containers": [
                            {
                                "$setElementOrder/env": [{"name": "MODE"}, {"name": "LOG"}],
                                "env": [{"name": "LOG", "value": "debug"}], "name": "web",
                            },
                        ],
                    },
                },
            },
        },
        {
            "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
            "spec": {
                "template": {
                    "spec": {
                        "containers": [
                            {
                                "env": [
                                    {"name": "MODE", "value": "prod"}, {"name": "LOG", "value": "debug"},
                                ],
                                "image": "nginx:1.27", "name": "web",
                                "ports": [
                                    {"containerPort": 80, "protocol": "TCP"},
                                    {"containerPort": 443, "protocol": "TCP"},
                                ],
                            },
                            {"args": ["sleep", "3600"], "image": "busybox:1.36", "name": "sidecar"},
                        ],
                        "volumes": [{"configMap": {"name": "web-cfg"}, "name": "cfg"}],
                    },
                },
            },
        },
        id='apply_changes_env_value_keeps_order',
    ),
    pytest.param(
        TEMPLATED,
        {
            "spec": {
                "template": {
                    "spec": {
                        "$setElementOrder/containers": [{"name": "web"}, {"name": "sidecar"}],
                        "containers": [
                            {
                                "$setElementOrder/ports": [{"containerPort": 80}], "name": "web",
                                "ports": [{"$patch": "delete", "containerPort": 443}],
                            },
                        ],
                    },
                },
            },
        },
        {
            "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
            "spec": {
                "template": {
                    "spec": {
                        "containers": [
                            {
                                "env": [{"name": "MODE", "value": "prod"}, {"name": "LOG", "value": "info"}],
                                "image": "nginx:1.27", "name": "web",
                                "ports": [{"containerPort": 80, "protocol": "TCP"}],
                            },
                            {"args": ["sleep", "3600"], "image": "busybox:1.36", "name": "sidecar"},
                        ],
                        "volumes": [{"configMap": {"name": "web-cfg"}, "name": "cfg"}],
                    },
                },
            },
        },
        id='apply_removes_port_with_set_element_order',
    ),
    pytest.param(
        DEPLOY,
        {"metadata": {"labels": {"tier": None}}},
        {
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {
                "finalizers": ["example.com/a", "example.com/b"], "labels": {"app": "web"}, "name": "web",
            },
            "spec": {
                "replicas": 2, "selector": {"matchLabels": {"app": "web"}},
                "strategy": {
                    "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}, "type": "RollingUpdate",
                },
            },
        },
        id='apply_removes_label_with_null',
    ),
    pytest.param(
        TEMPLATED,
        {
            "spec": {
                "template": {
                    "spec": {
                        "$setElementOrder/containers": [{"name": "web"}, {"name": "sidecar"}],
                        "containers": [
                            {
                                "$setElementOrder/env": [
                                    {"name": "FIRST"}, {"name": "MODE"}, {"name": "LOG"},
                                ],
                                "env": [{"name": "FIRST", "value": "x"}], "name": "web",
                            },
                        ],
                    },
                },
            },
        },
        {
            "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
            "spec": {
                "template": {
                    "spec": {
                        "containers": [
                            {
                                "env": [
                                    {"name": "FIRST", "value": "x"}, {"name": "MODE", "value": "prod"},
                                    {"name": "LOG", "value": "info"},
                                ],
                                "image": "nginx:1.27", "name": "web",
                                "ports": [
                                    {"containerPort": 80, "protocol": "TCP"},
                                    {"containerPort": 443, "protocol": "TCP"},
                                ],
                            },
                            {"args": ["sleep", "3600"], "image": "busybox:1.36", "name": "sidecar"},
                        ],
                        "volumes": [{"configMap": {"name": "web-cfg"}, "name": "cfg"}],
                    },
                },
            },
        },
        id='apply_adds_env_in_front',
    ),
    pytest.param(
        TEMPLATED,
        {
            "spec": {
                "template": {
                    "spec": {
                        "$setElementOrder/containers": [{"name": "web"}],
                        "containers": [{"$patch": "delete", "name": "sidecar"}],
                    },
                },
            },
        },
        {
            "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
            "spec": {
                "template": {
                    "spec": {
                        "containers": [
                            {
                                "env": [{"name": "MODE", "value": "prod"}, {"name": "LOG", "value": "info"}],
                                "image": "nginx:1.27", "name": "web",
                                "ports": [
                                    {"containerPort": 80, "protocol": "TCP"},
                                    {"containerPort": 443, "protocol": "TCP"},
                                ],
                            },
                        ],
                        "volumes": [{"configMap": {"name": "web-cfg"}, "name": "cfg"}],
                    },
                },
            },
        },
        id='apply_removes_container',
    ),
    pytest.param(
        DEPLOY,
        {"spec": {"strategy": {"$retainKeys": ["type"], "rollingUpdate": None, "type": "Recreate"}}},
        {
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {
                "finalizers": ["example.com/a", "example.com/b"],
                "labels": {"app": "web", "tier": "frontend"}, "name": "web",
            },
            "spec": {
                "replicas": 2, "selector": {"matchLabels": {"app": "web"}},
                "strategy": {"type": "Recreate"},
            },
        },
        id='apply_switches_strategy_to_recreate_with_retain_keys',
    ),
    pytest.param(
        TEMPLATED,
        {
            "spec": {
                "template": {
                    "spec": {
                        "$setElementOrder/volumes": [{"name": "cfg"}],
                        "volumes": [
                            {
                                "$retainKeys": ["name", "secret"], "name": "cfg",
                                "secret": {"secretName": "web-tls"},
                            },
                        ],
                    },
                },
            },
        },
        {
            "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
            "spec": {
                "template": {
                    "spec": {
                        "containers": [
                            {
                                "env": [{"name": "MODE", "value": "prod"}, {"name": "LOG", "value": "info"}],
                                "image": "nginx:1.27", "name": "web",
                                "ports": [
                                    {"containerPort": 80, "protocol": "TCP"},
                                    {"containerPort": 443, "protocol": "TCP"},
                                ],
                            },
                            {"args": ["sleep", "3600"], "image": "busybox:1.36", "name": "sidecar"},
                        ],
                        "volumes": [{"name": "cfg", "secret": {"secretName": "web-tls"}}],
                    },
                },
            },
        },
        id='apply_replaces_volume_source_with_retain_keys',
    ),
    pytest.param(
        TEMPLATED,
        {
            "spec": {
                "template": {
                    "spec": {
                        "$setElementOrder/containers": [{"name": "web"}, {"name": "sidecar"}],
                        "containers": [{"args": ["sleep", "60"], "name": "sidecar"}],
                    },
                },
            },
        },
        {
            "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
            "spec": {
                "template": {
                    "spec": {
                        "containers": [
                            {
                                "env": [{"name": "MODE", "value": "prod"}, {"name": "LOG", "value": "info"}],
                                "image": "nginx:1.27", "name": "web",
                                "ports": [
                                    {"containerPort": 80, "protocol": "TCP"},
                                    {"containerPort": 443, "protocol": "TCP"},
                                ],
                            },
                            {"args": ["sleep", "60"], "image": "busybox:1.36", "name": "sidecar"},
                        ],
                        "volumes": [{"configMap": {"name": "web-cfg"}, "name": "cfg"}],
                    },
                },
            },
        },
        id='apply_changes_args_replaces_atomic_list',
    ),
    pytest.param(
        POD,
        {"spec": {"tolerations": [{"key": "b", "operator": "Exists"}]}},
        {
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {
                "name": "p", "namespace": "default",
                "ownerReferences": [
                    {
                        "apiVersion": "apps/v1", "controller": True, "kind": "ReplicaSet", "name": "web-1",
                        "uid": "u-1",
                    },
                ],
            },
            "spec": {
                "containers": [{"image": "agnhost", "name": "c"}], "nodeName": "node-1",
                "tolerations": [{"key": "b", "operator": "Exists"}],
            },
            "status": {
                "conditions": [{"status": "True", "type": "PodScheduled"}], "phase": "Pending",
                "podIPs": [{"ip": "10.244.1.5"}],
            },
        },
        id='tolerations_are_replaced_whole',
    ),
    pytest.param(
        DEPLOY,
        {"metadata": {"finalizers": ["example.com/c", "example.com/a"]}},
        {
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {
                "finalizers": ["example.com/c", "example.com/a", "example.com/b"],
                "labels": {"app": "web", "tier": "frontend"}, "name": "web",
            },
            "spec": {
                "replicas": 2, "selector": {"matchLabels": {"app": "web"}},
                "strategy": {
                    "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}, "type": "RollingUpdate",
                },
            },
        },
        id='finalizers_merge_as_a_set',
    ),
    pytest.param(
        DEPLOY,
        {"metadata": {"$deleteFromPrimitiveList/finalizers": ["example.com/a"]}},
        {
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {
                "finalizers": ["example.com/b"], "labels": {"app": "web", "tier": "frontend"},
                "name": "web",
            },
            "spec": {
                "replicas": 2, "selector": {"matchLabels": {"app": "web"}},
                "strategy": {
                    "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}, "type": "RollingUpdate",
                },
            },
        },
        id='finalizers_delete_from_primitive_list',
    ),
    pytest.param(
        DEPLOY,
        {
            "metadata": {
                "$setElementOrder/finalizers": ["example.com/b", "example.com/c", "example.com/a"],
                "finalizers": ["example.com/c"],
            },
        },
        {
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {
                "finalizers": ["example.com/b", "example.com/c", "example.com/a"],
                "labels": {"app": "web", "tier": "frontend"}, "name": "web",
            },
            "spec": {
                "replicas": 2, "selector": {"matchLabels": {"app": "web"}},
                "strategy": {
                    "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}, "type": "RollingUpdate",
                },
            },
        },
        id='finalizers_reordered_by_set_element_order',
    ),
    pytest.param(
        DEPLOY,
        {"spec": {"replicas": 5}},
        {
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {
                "finalizers": ["example.com/a", "example.com/b"],
                "labels": {"app": "web", "tier": "frontend"}, "name": "web",
            },
            "spec": {
                "replicas": 5, "selector": {"matchLabels": {"app": "web"}},
                "strategy": {
                    "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}, "type": "RollingUpdate",
                },
            },
        },
        id='kubectl_scale_fallback_patch',
    ),
    pytest.param(
        TEMPLATED,
        {
            "spec": {
                "template": {
                    "spec": {"containers": [{"name": "only", "image": "x"}, {"$patch": "replace"}]},
                },
            },
        },
        {
            "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
            "spec": {
                "template": {
                    "spec": {
                        "containers": [{"image": "x", "name": "only"}],
                        "volumes": [{"configMap": {"name": "web-cfg"}, "name": "cfg"}],
                    },
                },
            },
        },
        id='patch_replace_directive_on_list',
    ),
    pytest.param(
        DEPLOY,
        {"spec": {"selector": {"$patch": "replace", "matchLabels": {"app": "web2"}}}},
        {
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {
                "finalizers": ["example.com/a", "example.com/b"],
                "labels": {"app": "web", "tier": "frontend"}, "name": "web",
            },
            "spec": {
                "replicas": 2, "selector": {"matchLabels": {"app": "web2"}},
                "strategy": {
                    "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}, "type": "RollingUpdate",
                },
            },
        },
        id='patch_replace_directive_on_map',
    ),
    pytest.param(
        DEPLOY,
        {"spec": {"strategy": {"$patch": "delete"}}},
        {
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {
                "finalizers": ["example.com/a", "example.com/b"],
                "labels": {"app": "web", "tier": "frontend"}, "name": "web",
            },
            "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "web"}}, "strategy": {}},
        },
        id='patch_delete_directive_on_map',
    ),
    pytest.param(
        SERVICE,
        {"spec": {"$setElementOrder/ports": [{"port": 80}], "ports": [{"$patch": "delete", "port": 443}]}},
        {
            "apiVersion": "v1", "kind": "Service", "metadata": {"name": "web", "namespace": "default"},
            "spec": {
                "clusterIP": "10.96.0.20", "clusterIPs": ["10.96.0.20"],
                "ports": [
                    {"name": "http", "nodePort": 30080, "port": 80, "protocol": "TCP", "targetPort": 8080},
                ],
                "selector": {"app": "web"}, "type": "NodePort",
            },
        },
        id='service_port_removed',
    ),
    pytest.param(
        SERVICE,
        {
            "spec": {
                "$setElementOrder/ports": [{"port": 80}, {"port": 443}],
                "ports": [{"port": 80, "targetPort": "http-alt"}],
            },
        },
        {
            "apiVersion": "v1", "kind": "Service", "metadata": {"name": "web", "namespace": "default"},
            "spec": {
                "clusterIP": "10.96.0.20", "clusterIPs": ["10.96.0.20"],
                "ports": [
                    {
                        "name": "http", "nodePort": 30080, "port": 80, "protocol": "TCP",
                        "targetPort": "http-alt",
                    },
                    {"name": "https", "nodePort": 30443, "port": 443, "protocol": "TCP", "targetPort": 8443},
                ],
                "selector": {"app": "web"}, "type": "NodePort",
            },
        },
        id='service_target_port_changed',
    ),
    pytest.param(
        SERVICE,
        {
            "spec": {
                "$setElementOrder/ports": [{"port": 53}, {"port": 80}, {"port": 443}],
                "ports": [{"name": "dns", "port": 53, "protocol": "UDP"}],
            },
        },
        {
            "apiVersion": "v1", "kind": "Service", "metadata": {"name": "web", "namespace": "default"},
            "spec": {
                "clusterIP": "10.96.0.20", "clusterIPs": ["10.96.0.20"],
                "ports": [
                    {"name": "dns", "port": 53, "protocol": "UDP"},
                    {"name": "http", "nodePort": 30080, "port": 80, "protocol": "TCP", "targetPort": 8080},
                    {"name": "https", "nodePort": 30443, "port": 443, "protocol": "TCP", "targetPort": 8443},
                ],
                "selector": {"app": "web"}, "type": "NodePort",
            },
        },
        id='service_port_added_in_front',
    ),
    pytest.param(
        SERVICE,
        {"spec": {"selector": {"app": None, "name": "web"}}},
        {
            "apiVersion": "v1", "kind": "Service", "metadata": {"name": "web", "namespace": "default"},
            "spec": {
                "clusterIP": "10.96.0.20", "clusterIPs": ["10.96.0.20"],
                "ports": [
                    {"name": "http", "nodePort": 30080, "port": 80, "protocol": "TCP", "targetPort": 8080},
                    {"name": "https", "nodePort": 30443, "port": 443, "protocol": "TCP", "targetPort": 8443},
                ],
                "selector": {"name": "web"}, "type": "NodePort",
            },
        },
        id='service_selector_key_swapped',
    ),
    pytest.param(
        POD,
        {
            "status": {
                "$setElementOrder/conditions": [{"type": "Ready"}, {"type": "PodScheduled"}],
                "conditions": [{"type": "Ready", "status": "True"}], "phase": "Running",
            },
        },
        {
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {
                "name": "p", "namespace": "default",
                "ownerReferences": [
                    {
                        "apiVersion": "apps/v1", "controller": True, "kind": "ReplicaSet", "name": "web-1",
                        "uid": "u-1",
                    },
                ],
            },
            "spec": {
                "containers": [{"image": "agnhost", "name": "c"}], "nodeName": "node-1",
                "tolerations": [{"key": "a", "operator": "Exists"}],
            },
            "status": {
                "conditions": [
                    {"status": "True", "type": "Ready"}, {"status": "True", "type": "PodScheduled"},
                ],
                "phase": "Running", "podIPs": [{"ip": "10.244.1.5"}],
            },
        },
        id='pod_status_conditions_merge_by_type',
    ),
    pytest.param(
        POD,
        {
            "metadata": {
                "ownerReferences": [{"apiVersion": "v1", "kind": "Node", "name": "node-1", "uid": "u-2"}],
            },
        },
        {
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {
                "name": "p", "namespace": "default",
                "ownerReferences": [
                    {"apiVersion": "v1", "kind": "Node", "name": "node-1", "uid": "u-2"},
                    {
                        "apiVersion": "apps/v1", "controller": True, "kind": "ReplicaSet", "name": "web-1",
                        "uid": "u-1",
                    },
                ],
            },
            "spec": {
                "containers": [{"image": "agnhost", "name": "c"}], "nodeName": "node-1",
                "tolerations": [{"key": "a", "operator": "Exists"}],
            },
            "status": {
                "conditions": [{"status": "True", "type": "PodScheduled"}], "phase": "Pending",
                "podIPs": [{"ip": "10.244.1.5"}],
            },
        },
        id='pod_owner_references_merge_by_uid',
    ),
    pytest.param(
        POD,
        {"status": {"podIPs": [{"ip": "fd00::5"}]}},
        {
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {
                "name": "p", "namespace": "default",
                "ownerReferences": [
                    {
                        "apiVersion": "apps/v1", "controller": True, "kind": "ReplicaSet", "name": "web-1",
                        "uid": "u-1",
                    },
                ],
            },
            "spec": {
                "containers": [{"image": "agnhost", "name": "c"}], "nodeName": "node-1",
                "tolerations": [{"key": "a", "operator": "Exists"}],
            },
            "status": {
                "conditions": [{"status": "True", "type": "PodScheduled"}], "phase": "Pending",
                "podIPs": [{"ip": "fd00::5"}, {"ip": "10.244.1.5"}],
            },
        },
        id='pod_ips_merge_by_ip',
    ),
    pytest.param(
        CONFIGMAP,
        {"data": {"a": None, "c": "3"}},
        {
            "apiVersion": "v1", "data": {"b": "2", "c": "3"}, "kind": "ConfigMap",
            "metadata": {"name": "cfg", "namespace": "default"},
        },
        id='configmap_data_key_removed_and_added',
    ),
    pytest.param(
        NETPOL,
        {
            "spec": {
                "ingress": [{"ports": [{"port": 8080, "protocol": "TCP"}]}],
                "policyTypes": ["Ingress", "Egress"],
            },
        },
        {
            "apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
            "metadata": {"name": "deny", "namespace": "default"},
            "spec": {
                "ingress": [{"ports": [{"port": 8080, "protocol": "TCP"}]}],
                "podSelector": {"matchLabels": {"app": "web"}}, "policyTypes": ["Ingress", "Egress"],
            },
        },
        id='networkpolicy_ingress_is_atomic',
    ),
    pytest.param(
        NODE,
        {
            "status": {
                "conditions": [{"type": "Ready", "status": "True", "reason": "KubeletReady"}],
                "addresses": [{"type": "ExternalIP", "address": "203.0.113.9"}],
            },
        },
        {
            "apiVersion": "v1", "kind": "Node", "metadata": {"name": "node-1"},
            "spec": {"podCIDR": "10.244.1.0/24", "podCIDRs": ["10.244.1.0/24"]},
            "status": {
                "addresses": [
                    {"address": "203.0.113.9", "type": "ExternalIP"},
                    {"address": "172.18.0.3", "type": "InternalIP"},
                    {"address": "node-1", "type": "Hostname"},
                ],
                "conditions": [{"reason": "KubeletReady", "status": "True", "type": "Ready"}],
            },
        },
        id='node_status_conditions_and_addresses_merge',
    ),
    pytest.param(
        NODE,
        {"spec": {"podCIDRs": ["fd00:10:244:1::/64"]}},
        {
            "apiVersion": "v1", "kind": "Node", "metadata": {"name": "node-1"},
            "spec": {"podCIDR": "10.244.1.0/24", "podCIDRs": ["fd00:10:244:1::/64", "10.244.1.0/24"]},
            "status": {
                "addresses": [
                    {"address": "172.18.0.3", "type": "InternalIP"},
                    {"address": "node-1", "type": "Hostname"},
                ],
                "conditions": [{"reason": "KubeletNotReady", "status": "False", "type": "Ready"}],
            },
        },
        id='node_pod_cidrs_merge_as_set',
    ),
    pytest.param(
        TEMPLATED,
        {
            "spec": {
                "template": {
                    "spec": {
                        "containers": [
                            {"name": "web", "image": "nginx:1.28"}, {"name": "extra", "image": "x"},
                        ],
                    },
                },
            },
        },
        {
            "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
            "spec": {
                "template": {
                    "spec": {
                        "containers": [
                            {
                                "env": [{"name": "MODE", "value": "prod"}, {"name": "LOG", "value": "info"}],
                                "image": "nginx:1.28", "name": "web",
                                "ports": [
                                    {"containerPort": 80, "protocol": "TCP"},
                                    {"containerPort": 443, "protocol": "TCP"},
                                ],
                            },
                            {"image": "x", "name": "extra"},
                            {"args": ["sleep", "3600"], "image": "busybox:1.36", "name": "sidecar"},
                        ],
                        "volumes": [{"configMap": {"name": "web-cfg"}, "name": "cfg"}],
                    },
                },
            },
        },
        id='kubectl_patch_without_order_directive_interleaves',
    ),
    pytest.param(
        SERVICE,
        {
            "spec": {
                "ports": [
                    {"port": 443, "targetPort": 9443}, {"port": 8080, "protocol": "TCP", "name": "alt"},
                ],
            },
        },
        {
            "apiVersion": "v1", "kind": "Service", "metadata": {"name": "web", "namespace": "default"},
            "spec": {
                "clusterIP": "10.96.0.20", "clusterIPs": ["10.96.0.20"],
                "ports": [
                    {"name": "http", "nodePort": 30080, "port": 80, "protocol": "TCP", "targetPort": 8080},
                    {"name": "https", "nodePort": 30443, "port": 443, "protocol": "TCP", "targetPort": 9443},
                    {"name": "alt", "port": 8080, "protocol": "TCP"},
                ],
                "selector": {"app": "web"}, "type": "NodePort",
            },
        },
        id='service_port_changed_and_added_without_order',
    ),
    pytest.param(
        TEMPLATED,
        {
            "spec": {
                "template": {
                    "spec": {
                        "securityContext": {"runAsUser": None, "fsGroup": 2000},
                        "affinity": {"$patch": "delete"},
                    },
                },
            },
        },
        {
            "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
            "spec": {
                "template": {
                    "spec": {
                        "containers": [
                            {
                                "env": [{"name": "MODE", "value": "prod"}, {"name": "LOG", "value": "info"}],
                                "image": "nginx:1.27", "name": "web",
                                "ports": [
                                    {"containerPort": 80, "protocol": "TCP"},
                                    {"containerPort": 443, "protocol": "TCP"},
                                ],
                            },
                            {"args": ["sleep", "3600"], "image": "busybox:1.36", "name": "sidecar"},
                        ],
                        "securityContext": {"fsGroup": 2000},
                        "volumes": [{"configMap": {"name": "web-cfg"}, "name": "cfg"}],
                    },
                },
            },
        },
        id='new_nested_map_loses_nulls_and_directives',
    ),
]
# fmt: on


def smp(live: Obj, patch: Any) -> Obj:
    return apply_strategic_merge_patch(live, patch, live["kind"], live["apiVersion"])


@pytest.mark.parametrize(("live", "patch", "expected"), GOLDEN)
def test_strategic_merge_patch_matches_kubernetes(live: Obj, patch: Obj, expected: Obj) -> None:
    live_before, patch_before = copy.deepcopy(live), copy.deepcopy(patch)
    assert smp(live, patch) == expected
    assert (live, patch) == (live_before, patch_before)


def test_strategic_merge_null_body_changes_nothing() -> None:
    assert smp(CONFIGMAP, None) == CONFIGMAP


@pytest.mark.parametrize(
    ("live", "patch", "code", "reason", "message"),
    [
        pytest.param(
            DEPLOY,
            [1],
            400,
            "BadRequest",
            "json: cannot unmarshal array into Go value of type map[string]interface {}",
            id="body-is-a-list",
        ),
        pytest.param(
            DEPLOY,
            {"spec": {"strategy": {"$retainKeys": ["type"], "rollingUpdate": {"maxSurge": 2}}}},
            400,
            "BadRequest",
            "invalid patch format of retainKeys",
            id="field-outside-retainKeys",
        ),
        pytest.param(
            DEPLOY,
            {"spec": {"strategy": {"$retainKeys": "type"}}},
            400,
            "BadRequest",
            "invalid patch format of retainKeys",
            id="retainKeys-not-a-list",
        ),
        pytest.param(
            DEPLOY,
            {"metadata": {"$deleteFromPrimitiveListfinalizers": ["a"]}},
            400,
            "BadRequest",
            "invalid patch format of primitive list",
            id="deleteFromPrimitiveList-no-slash",
        ),
        pytest.param(
            DEPLOY,
            {"metadata": {"$setElementOrderfinalizers": ["a"]}},
            400,
            "BadRequest",
            "invalid patch format of setElementOrder list",
            id="setElementOrder-no-slash",
        ),
        pytest.param(
            DEPLOY,
            {"spec": {"strategy": {"$patch": "bogus"}}},
            500,
            "",
            "unknown patch type: bogus in map: map[$patch:bogus]",
            id="unknown-map-directive",
        ),
        pytest.param(
            TEMPLATED,
            {"spec": {"template": {"spec": {"containers": [{"name": "web", "$patch": "bogus"}]}}}},
            500,
            "",
            "unknown patch type: bogus in map: map[$patch:bogus name:web]",
            id="unknown-list-directive",
        ),
        pytest.param(
            TEMPLATED,
            {"spec": {"template": {"spec": {"containers": [{"$patch": "merge"}]}}}},
            500,
            "",
            "merging lists cannot yet be specified in the patch",
            id="merge-directive-in-list",
        ),
        pytest.param(
            TEMPLATED,
            {"spec": {"template": {"spec": {"containers": [{"image": "x"}]}}}},
            500,
            "",
            "map: map[image:x] does not contain declared merge key: name",
            id="missing-merge-key",
        ),
        pytest.param(
            DEPLOY,
            {"metadata": {"finalizers": [7]}},
            500,
            "",
            "list element types are not identical: [[example.com/a example.com/b] [7]]",
            id="mixed-element-types",
        ),
        pytest.param(
            {**CONFIGMAP, "metadata": {**CONFIGMAP["metadata"], "finalizers": [["a"]]}},
            {"metadata": {"finalizers": [["b"]]}},
            422,
            "Invalid",
            "the server rejected our request due to an error in our request",
            id="list-of-lists",
        ),
        pytest.param(
            TEMPLATED,
            {"spec": {"template": {"spec": {"$setElementOrder/containers": {"name": "web"}}}}},
            500,
            "",
            "expected a []interface {}, but received a map[string]interface {}",
            id="setElementOrder-not-a-list",
        ),
        pytest.param(
            TEMPLATED,
            {
                "spec": {
                    "template": {
                        "spec": {
                            "$setElementOrder/containers": [{"name": "web"}],
                            "containers": [{"name": "web", "image": "a"}, {"name": "zzz", "image": "b"}],
                        }
                    }
                }
            },
            500,
            "",
            "The order in patch list:\n[map[image:a name:web] map[image:b name:zzz]]\n"
            " doesn't match $setElementOrder list:\n[map[name:web]]\n",
            id="patch-list-outside-setElementOrder",
        ),
    ],
)
def test_strategic_merge_errors_are_worded_as_kubernetes(
    live: Obj, patch: Any, code: int, reason: str, message: str
) -> None:
    with pytest.raises(StatusError) as err:
        smp(live, patch)
    assert (err.value.code, err.value.reason, err.value.message) == (code, reason, message)


def test_strategic_merge_of_a_kind_without_patch_metadata_is_refused() -> None:
    with pytest.raises(StatusError) as err:
        apply_strategic_merge_patch({"kind": "Widget"}, {}, "Widget", "example.com/v1")
    assert (err.value.code, err.value.message) == (400, "strategic merge patch format is not supported")


@pytest.mark.parametrize(
    ("live", "patch", "expected"),
    [
        pytest.param(
            {"a": 1, "b": {"c": 2, "d": 3}},
            {"b": {"c": None, "e": 4}},
            {"a": 1, "b": {"d": 3, "e": 4}},
            id="null-deletes-objects-merge",
        ),
        pytest.param({"l": [1, 2, 3]}, {"l": [9]}, {"l": [9]}, id="lists-replace"),
        pytest.param(
            {"a": 1},
            {"n": {"x": None, "y": {"z": None}, "l": [{"q": None}, None]}},
            {"a": 1, "n": {"y": {}, "l": [{}, None]}},
            id="new-values-lose-null-members",
        ),
        pytest.param({"a": "s"}, {"a": {"k": None, "v": 1}}, {"a": {"v": 1}}, id="object-over-scalar"),
        pytest.param(
            {"a": {"k": 1}}, {"a": [{"x": None}]}, {"a": [{"x": None}]}, id="array-over-object-kept-as-sent"
        ),
        pytest.param({"a": None}, {"a": {"b": None, "c": 1}}, {"a": {"c": 1}}, id="object-over-null"),
    ],
)
def test_merge_patch(live: Obj, patch: Obj, expected: Obj) -> None:
    assert apply_merge_patch(live, patch) == expected


@pytest.mark.parametrize("patch", [None, 5, "x", [1]])
def test_merge_patch_that_is_not_an_object_is_a_bad_request(patch: Any) -> None:
    with pytest.raises(StatusError) as err:
        apply_merge_patch(CONFIGMAP, patch)
    assert (err.value.code, err.value.reason, err.value.message) == (400, "BadRequest", "Invalid JSON Patch")


def test_json_patch_applies_operations_in_order() -> None:
    patch = [
        {"op": "test", "path": "/data/a", "value": "1"},
        {"op": "replace", "path": "/data/a", "value": "9"},
        {"op": "add", "path": "/metadata/labels", "value": {"x": "y"}},
        {"op": "move", "from": "/data/b", "path": "/data/c"},
        {"op": "copy", "from": "/data/c", "path": "/data/d"},
        {"op": "remove", "path": "/data/a"},
    ]
    out = apply_json_patch(CONFIGMAP, patch)
    assert out == {
        **CONFIGMAP,
        "metadata": {**CONFIGMAP["metadata"], "labels": {"x": "y"}},
        "data": {"c": "2", "d": "2"},
    }
    assert CONFIGMAP["data"] == {"a": "1", "b": "2"}


@pytest.mark.parametrize(
    "patch",
    [
        pytest.param([{"op": "test", "path": "/data/a", "value": "2"}], id="failing-test"),
        pytest.param([{"op": "remove", "path": "/data/zz"}], id="remove-missing"),
        pytest.param([{"op": "replace", "path": "/spec/x", "value": 1}], id="replace-missing-parent"),
        pytest.param([{"op": "frob", "path": "/data/a"}], id="unknown-op"),
        pytest.param([{"path": "/data/a"}], id="no-op"),
        pytest.param([None], id="null-operation"),
    ],
)
def test_json_patch_that_does_not_apply_is_unprocessable(patch: Any) -> None:
    with pytest.raises(StatusError) as err:
        apply_json_patch(CONFIGMAP, patch)
    assert (err.value.code, err.value.reason, err.value.message) == (
        422,
        "Invalid",
        "the server rejected our request due to an error in our request",
    )


@pytest.mark.parametrize(
    ("patch", "message"),
    [
        ({"op": "add"}, "json: cannot unmarshal object into Go value of type jsonpatch.Patch"),
        ("x", "json: cannot unmarshal string into Go value of type jsonpatch.Patch"),
        ([1], "json: cannot unmarshal number into Go value of type jsonpatch.Operation"),
    ],
)
def test_json_patch_of_the_wrong_shape_is_a_bad_request(patch: Any, message: str) -> None:
    with pytest.raises(StatusError) as err:
        apply_json_patch(CONFIGMAP, patch)
    assert (err.value.code, err.value.reason, err.value.message) == (400, "BadRequest", message)


def test_json_patch_with_too_many_operations_is_refused() -> None:
    with pytest.raises(StatusError) as err:
        apply_json_patch(CONFIGMAP, [{"op": "test", "path": "/kind", "value": "ConfigMap"}] * 10001)
    assert err.value.code == 413
    assert err.value.message.endswith("The allowed maximum operations in a JSON patch is 10000, got 10001")


def test_null_or_empty_live_list_counts_as_absent_like_a_typed_object() -> None:
    live = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "finalizers": []}}
    patch = {"metadata": {"$setElementOrder/finalizers": ["example.com/a"], "finalizers": ["example.com/a"]}}
    assert smp(live, patch) == {**live, "metadata": {"name": "web", "finalizers": ["example.com/a"]}}


def test_patch_metadata_names_only_list_fields_of_the_schema() -> None:
    types = patchmeta._schema()["types"]
    for type_name, fields in patchmeta.PATCH_META.items():
        assert type_name in types, type_name
        for field, (strategy, merge_key) in fields.items():
            kind = types[type_name][field]
            if strategy == "retainKeys":
                assert isinstance(kind, str), (type_name, field)
                continue
            assert isinstance(kind, dict) and "list" in kind, (type_name, field)
            element = kind["list"]
            assert (merge_key in types[element]) if merge_key else element == "str", (type_name, field)
