"""Defaulting: what Kubernetes' SetDefaults_* functions fill in, so ``kubectl get -o yaml`` looks familiar.

Sources: ``pkg/apis/core/v1/defaults.go``, ``apps/v1``, ``networking/v1`` and
``discovery/v1`` defaults. A few fields Kubernetes fills elsewhere but users
always see are set here too, each marked where it is set: the Service
IP-family fields (the REST allocator), container ``resources: {}`` and pod
``securityContext: {}`` (Go serialises those empty structs).
Validation runs after this and assumes it: a field left unset here is one
Kubernetes would report as required.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from podnet.api.scheme import ResourceInfo

Obj = dict[str, Any]
NAMESPACE_NAME_LABEL = "kubernetes.io/metadata.name"


def _dicts(items: Any) -> list[Obj]:
    return [i for i in items if isinstance(i, dict)] if isinstance(items, list) else []


def _spec(obj: Obj) -> Obj:
    spec = obj.get("spec")
    if not isinstance(spec, dict):
        spec = obj["spec"] = {}
    return spec


def image_tag(image: str) -> str:
    """parsers.ParseImageName's tag: "latest" only when neither a tag nor a digest is given."""
    if not image:
        return ""  # unparseable: Kubernetes ignores the error and gets no tag
    name, _, digest = image.partition("@")
    last = name.rsplit("/", 1)[-1]
    if ":" in last:
        return last.rsplit(":", 1)[1]
    return "" if digest else "latest"


def _probe(p: Any) -> None:
    if not isinstance(p, dict):
        return
    for key, value in (
        ("timeoutSeconds", 1),
        ("periodSeconds", 10),
        ("successThreshold", 1),
        ("failureThreshold", 3),
    ):
        if not p.get(key):
            p[key] = value
    http = p.get("httpGet")
    if isinstance(http, dict):
        if not http.get("path"):
            http["path"] = "/"
        if not http.get("scheme"):
            http["scheme"] = "HTTP"


def _container(c: Obj, host_network: bool) -> None:
    if not c.get("imagePullPolicy"):
        c["imagePullPolicy"] = (
            "Always" if image_tag(str(c.get("image") or "")) == "latest" else "IfNotPresent"
        )
    if not c.get("terminationMessagePath"):
        c["terminationMessagePath"] = "/dev/termination-log"
    if not c.get("terminationMessagePolicy"):
        c["terminationMessagePolicy"] = "File"
    c.setdefault("resources", {})
    for port in _dicts(c.get("ports")):
        if not port.get("protocol"):
            port["protocol"] = "TCP"
        if host_network and not port.get("hostPort") and port.get("containerPort"):
            port["hostPort"] = port["containerPort"]
    for probe in ("readinessProbe", "livenessProbe", "startupProbe"):
        _probe(c.get(probe))


def pod_spec(spec: Any) -> None:
    """SetDefaults_PodSpec plus the container defaults: shared by Pods and pod templates."""
    if not isinstance(spec, dict):
        return
    if not spec.get("dnsPolicy"):
        spec["dnsPolicy"] = "ClusterFirst"
    if not spec.get("restartPolicy"):
        spec["restartPolicy"] = "Always"
    if spec.get("securityContext") is None:
        spec["securityContext"] = {}
    if spec.get("terminationGracePeriodSeconds") is None:
        spec["terminationGracePeriodSeconds"] = 30
    if not spec.get("schedulerName"):
        spec["schedulerName"] = "default-scheduler"
    host_network = spec.get("hostNetwork") is True
    for c in _dicts(spec.get("containers")) + _dicts(spec.get("initContainers")):
        _container(c, host_network)


def _requests_from_limits(containers: list[Obj]) -> None:
    """SetDefaults_Pod: a container with limits but no request for a resource requests its limit."""
    for c in containers:
        resources = c.get("resources")
        if not isinstance(resources, dict) or not isinstance(resources.get("limits"), dict):
            continue
        requests = resources.get("requests")
        if not isinstance(requests, dict):
            requests = resources["requests"] = {}
        for key, value in resources["limits"].items():
            requests.setdefault(key, value)


def _pod(obj: Obj) -> None:
    spec = _spec(obj)
    pod_spec(spec)
    _requests_from_limits(_dicts(spec.get("containers")) + _dicts(spec.get("initContainers")))
    if spec.get("enableServiceLinks") is None:
        spec["enableServiceLinks"] = True  # SetDefaults_Pod only: templates do not get it


def _service(obj: Obj) -> None:
    spec = _spec(obj)
    if not spec.get("sessionAffinity"):
        spec["sessionAffinity"] = "None"
    if spec["sessionAffinity"] == "None":
        spec.pop("sessionAffinityConfig", None)
    elif spec["sessionAffinity"] == "ClientIP":
        cfg = spec.get("sessionAffinityConfig")
        client_ip = cfg.get("clientIP") if isinstance(cfg, dict) else None
        if not isinstance(client_ip, dict) or client_ip.get("timeoutSeconds") is None:
            spec["sessionAffinityConfig"] = {"clientIP": {"timeoutSeconds": 10800}}
    if not spec.get("type"):
        spec["type"] = "ClusterIP"
    stype = spec["type"]
    for port in _dicts(spec.get("ports")):
        if not port.get("protocol"):
            port["protocol"] = "TCP"
        if port.get("targetPort") in (None, 0, ""):
            port["targetPort"] = port.get("port")
    externally_accessible = stype in ("NodePort", "LoadBalancer") or (
        stype == "ClusterIP" and bool(spec.get("externalIPs"))
    )
    if externally_accessible and not spec.get("externalTrafficPolicy"):
        spec["externalTrafficPolicy"] = "Cluster"
    if spec.get("internalTrafficPolicy") is None and stype in ("ClusterIP", "NodePort", "LoadBalancer"):
        spec["internalTrafficPolicy"] = "Cluster"
    if stype == "LoadBalancer" and spec.get("allocateLoadBalancerNodePorts") is None:
        spec["allocateLoadBalancerNodePorts"] = True
    if stype != "ExternalName":
        # Set by the Service REST storage (IP allocation) in Kubernetes; podnet is single-stack IPv4.
        if not spec.get("ipFamilies"):
            spec["ipFamilies"] = ["IPv4"]
        if not spec.get("ipFamilyPolicy"):
            spec["ipFamilyPolicy"] = "SingleStack"


def _template(spec: Obj) -> None:
    template = spec.get("template")
    if isinstance(template, dict):
        pod_spec(template.setdefault("spec", {}))


def _deployment(obj: Obj) -> None:
    spec = _spec(obj)
    if spec.get("replicas") is None:
        spec["replicas"] = 1
    strategy = spec.get("strategy")
    if not isinstance(strategy, dict):
        strategy = spec["strategy"] = {}
    if not strategy.get("type"):
        strategy["type"] = "RollingUpdate"
    if strategy["type"] == "RollingUpdate":
        ru = strategy.get("rollingUpdate")
        if not isinstance(ru, dict):
            ru = strategy["rollingUpdate"] = {}
        if ru.get("maxUnavailable") is None:
            ru["maxUnavailable"] = "25%"
        if ru.get("maxSurge") is None:
            ru["maxSurge"] = "25%"
    if spec.get("revisionHistoryLimit") is None:
        spec["revisionHistoryLimit"] = 10
    if spec.get("progressDeadlineSeconds") is None:
        spec["progressDeadlineSeconds"] = 600
    _template(spec)


def _replica_set(obj: Obj) -> None:
    spec = _spec(obj)
    if spec.get("replicas") is None:
        spec["replicas"] = 1
    _template(spec)


def _network_policy(obj: Obj) -> None:
    spec = _spec(obj)
    spec.setdefault("podSelector", {})  # a struct, not a pointer, in Go: always serialised
    if not spec.get("policyTypes"):
        spec["policyTypes"] = ["Ingress"] + (["Egress"] if spec.get("egress") else [])
    for rule in _dicts(spec.get("ingress")) + _dicts(spec.get("egress")):
        for port in _dicts(rule.get("ports")):
            if port.get("protocol") is None:
                port["protocol"] = "TCP"


def _endpoint_slice(obj: Obj) -> None:
    for port in _dicts(obj.get("ports")):
        if port.get("name") is None:
            port["name"] = ""
        if port.get("protocol") is None:
            port["protocol"] = "TCP"


def _endpoints(obj: Obj) -> None:
    for subset in _dicts(obj.get("subsets")):
        for port in _dicts(subset.get("ports")):
            if not port.get("protocol"):
                port["protocol"] = "TCP"


def _namespace(obj: Obj) -> None:
    meta = obj.get("metadata")
    if not isinstance(meta, dict):
        return
    if meta.get("name"):
        labels = meta.get("labels")
        if not isinstance(labels, dict):
            labels = meta["labels"] = {}
        labels[NAMESPACE_NAME_LABEL] = meta["name"]
    # The "kubernetes" finalizer belongs to creation only (Kubernetes adds it in the namespace strategy's
    # PrepareForCreate): an object without a uid has not been stored yet. Adding it on updates would undo
    # the namespace controller's /finalize and leave the namespace Terminating forever.
    if not meta.get("uid"):
        spec = _spec(obj)
        if not spec.get("finalizers"):
            spec["finalizers"] = ["kubernetes"]


def _secret(obj: Obj) -> None:
    if not obj.get("type"):
        obj["type"] = "Opaque"


def _ingress_class(obj: Obj) -> None:
    params = (obj.get("spec") or {}).get("parameters")
    if isinstance(params, dict) and params.get("scope") is None:
        params["scope"] = "Cluster"


_BY_KIND: dict[str, Callable[[Obj], None]] = {
    "Pod": _pod,
    "Service": _service,
    "Deployment": _deployment,
    "ReplicaSet": _replica_set,
    "NetworkPolicy": _network_policy,
    "EndpointSlice": _endpoint_slice,
    "Endpoints": _endpoints,
    "Namespace": _namespace,
    "Secret": _secret,
    "IngressClass": _ingress_class,
}


def apply_defaults(res: ResourceInfo, obj: Obj) -> None:
    """Fill in ``obj``'s defaults in place; kinds without defaulters are left alone."""
    default = _BY_KIND.get(res.kind)
    if default is not None:
        default(obj)
