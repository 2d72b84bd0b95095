"""Server-side printing: the ``meta.k8s.io/v1`` Table kubectl asks for with ``Accept: ...;as=Table``.

Columns, cells and the odd formatting rules (STATUS of a pod, "+ N more...", ``<none>`` versus
``<pending>``) follow Kubernetes' printers (pkg/printers/internalversion/printers.go, v1.32). The
apiserver always prints the wide columns (priority 1) and kubectl hides them unless ``-o wide``,
so every row here carries every cell. Kinds without a printer get the apiserver's default table
(Name, Created At). Time comes in as ``now``: these are pure functions.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from podnet.api import errors
from podnet.api.scheme import ResourceInfo

Obj = dict[str, Any]
Cell = str | int | bool
Printer = Callable[[Obj, dt.datetime], list[Cell]]

TABLE_API_VERSION = "meta.k8s.io/v1"
NODE_ROLE_PREFIX = "node-role.kubernetes.io/"
NODE_ROLE_LABEL = "kubernetes.io/role"
NODE_UNREACHABLE_REASON = "NodeLost"


@dataclass(frozen=True)
class Column:
    """A ``TableColumnDefinition``."""

    name: str
    type: str
    doc: str
    priority: int = 0
    format: str = ""

    def definition(self) -> Obj:
        return {
            "name": self.name,
            "type": self.type,
            "format": self.format,
            "description": _DOCS.get(self.doc, self.doc),
            "priority": self.priority,
        }


NAME = Column("Name", "string", "name", format="name")
AGE = Column("Age", "string", "creationTimestamp")


def _wide(name: str, doc: str) -> Column:
    return Column(name, "string", doc, priority=1)


# ---------------------------------------------------------------- durations and timestamps


def human_duration(seconds: float) -> str:
    """k8s.io/apimachinery/pkg/util/duration.HumanDuration: two or three significant figures."""
    s = int(seconds)  # Go truncates toward zero
    if s < -1:
        return "<invalid>"
    if s < 0:
        return "0s"
    if s < 120:
        return f"{s}s"
    minutes = s // 60
    if minutes < 10:
        return f"{minutes}m{s % 60}s" if s % 60 else f"{minutes}m"
    if minutes < 180:
        return f"{minutes}m"
    hours = s // 3600
    if hours < 8:
        return f"{hours}h{minutes % 60}m" if minutes % 60 else f"{hours}h"
    if hours < 48:
        return f"{hours}h"
    if hours < 24 * 8:
        return f"{hours // 24}d{hours % 24}h" if hours % 24 else f"{hours // 24}d"
    if hours < 24 * 365 * 2:
        return f"{hours // 24}d"
    if hours < 24 * 365 * 8:
        years, days = divmod(hours // 24, 365)
        return f"{years}y{days}d" if days else f"{years}y"
    return f"{hours // 24 // 365}y"


def parse_time(value: Any) -> dt.datetime | None:
    """An RFC 3339 timestamp (``metav1.Time`` or ``MicroTime``) as an aware datetime; None if unset."""
    if not isinstance(value, str) or not value:
        return None
    try:
        t = dt.datetime.fromisoformat(value)
    except ValueError:
        return None
    return t if t.tzinfo else t.replace(tzinfo=dt.UTC)


def since(value: Any, now: dt.datetime) -> str:
    """translateTimestampSince: the age of a timestamp, ``<unknown>`` when unset."""
    t = parse_time(value)
    if t is None:
        return "<unknown>"
    return human_duration((now - t).total_seconds())


def _age(o: Obj, now: dt.datetime) -> str:
    return since(_meta(o).get("creationTimestamp"), now)


def _meta(o: Obj) -> Obj:
    return o.get("metadata") or {}


def _spec(o: Obj) -> Obj:
    return o.get("spec") or {}


def _status(o: Obj) -> Obj:
    return o.get("status") or {}


def _name(o: Obj) -> str:
    return str(_meta(o).get("name", ""))


# ---------------------------------------------------------------- label selectors


def format_labels(labels: Obj | None) -> str:
    """labels.FormatLabels: ``k=v`` sorted by key, ``<none>`` when empty."""
    if not labels:
        return "<none>"
    return ",".join(f"{k}={labels[k]}" for k in sorted(labels))


def _requirement(expr: Any) -> tuple[str, str] | None:
    """One matchExpression as (key, text) the way labels.Requirement prints it; None if invalid."""
    if not isinstance(expr, dict) or not isinstance(expr.get("key"), str):
        return None
    key, op, values = expr["key"], expr.get("operator"), list(expr.get("values") or [])
    if op in ("In", "NotIn"):
        if not values:
            return None
        word = " in " if op == "In" else " notin "
        return key, f"{key}{word}({','.join(sorted(str(v) for v in values))})"
    if op in ("Exists", "DoesNotExist"):
        if values:
            return None
        return key, key if op == "Exists" else f"!{key}"
    return None


def selector_string(selector: Obj | None) -> str | None:
    """metav1.LabelSelectorAsSelector(...).String(); None where Kubernetes returns an error."""
    if not selector:
        return ""
    reqs = [(k, f"{k}={v}") for k, v in sorted((selector.get("matchLabels") or {}).items())]
    for expr in selector.get("matchExpressions") or []:
        req = _requirement(expr)
        if req is None:
            return None
        reqs.append(req)
    reqs.sort(key=lambda r: r[0])  # stable, like the insertion sort Go runs on short lists
    return ",".join(text for _, text in reqs)


def format_label_selector(selector: Obj | None) -> str:
    """metav1.FormatLabelSelector: ``<none>`` for an empty selector, ``<error>`` for a bad one."""
    text = selector_string(selector)
    if text is None:
        return "<error>"
    return text or "<none>"


def _containers(template_spec: Obj) -> list[Cell]:
    """layoutContainerCells: names and images, comma-separated."""
    containers = template_spec.get("containers") or []
    return [
        ",".join(str(c.get("name", "")) for c in containers),
        ",".join(str(c.get("image", "")) for c in containers),
    ]


def _template_spec(o: Obj) -> Obj:
    return (_spec(o).get("template") or {}).get("spec") or {}


def _more(items: list[str], count: int, limit: int = 3, empty: str = "<unset>") -> str:
    """listWithMoreString: the first ``limit`` items, then "+ N more..."."""
    text = ",".join(items[:limit])
    if count > limit:
        return f"{text} + {count - limit} more..."
    return text or empty


# ---------------------------------------------------------------- pods


@dataclass
class _PodTally:
    """What printPod accumulates over container statuses."""

    reason: str
    ready: int = 0
    restarts: int = 0
    last_restart: dt.datetime | None = None

    def restarted(self, status: Obj, into_sidecar: _PodTally | None = None) -> None:
        count = int(status.get("restartCount") or 0)
        finished = parse_time(((status.get("lastState") or {}).get("terminated") or {}).get("finishedAt"))
        for tally in (self, into_sidecar):
            if tally is None:
                continue
            tally.restarts += count
            if finished is not None and (tally.last_restart is None or finished > tally.last_restart):
                tally.last_restart = finished


def _condition_true(status: Obj, kind: str) -> bool:
    for cond in status.get("conditions") or []:
        if cond.get("type") == kind:
            return bool(cond.get("status") == "True")
    return False


def _has_ready_condition(status: Obj) -> bool:
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in status.get("conditions") or [])


def _terminated_reason(term: Obj, prefix: str) -> str:
    if term.get("reason"):
        return prefix + str(term["reason"])
    if term.get("signal"):
        return f"{prefix}Signal:{term['signal']}"
    return f"{prefix}ExitCode:{term.get('exitCode', 0)}"


def _scan_init_containers(pod: Obj, tally: _PodTally, sidecars: _PodTally) -> bool:
    """Walk init container statuses in order; True while the pod is still initializing."""
    spec, status = _spec(pod), _status(pod)
    restartable = {
        c.get("name") for c in spec.get("initContainers") or [] if c.get("restartPolicy") == "Always"
    }
    total = len(spec.get("initContainers") or [])
    for i, cs in enumerate(status.get("initContainerStatuses") or []):
        is_sidecar = cs.get("name") in restartable
        tally.restarted(cs, sidecars if is_sidecar else None)
        state = cs.get("state") or {}
        term, waiting = state.get("terminated"), state.get("waiting")
        if term is not None and int(term.get("exitCode") or 0) == 0:
            continue
        if is_sidecar and cs.get("started"):
            if cs.get("ready"):
                tally.ready += 1
            continue
        if term is not None:
            tally.reason = _terminated_reason(term, "Init:")
        elif waiting is not None and waiting.get("reason") and waiting["reason"] != "PodInitializing":
            tally.reason = "Init:" + str(waiting["reason"])
        else:
            tally.reason = f"Init:{i}/{total}"
        return True
    return False


def _scan_containers(pod: Obj, tally: _PodTally) -> None:
    """Main containers, last to first, as printPod does: the first one listed wins the reason."""
    has_running = False
    for cs in reversed(_status(pod).get("containerStatuses") or []):
        tally.restarted(cs)
        state = cs.get("state") or {}
        waiting, term = state.get("waiting"), state.get("terminated")
        if waiting is not None and waiting.get("reason"):
            tally.reason = str(waiting["reason"])
        elif term is not None:
            tally.reason = _terminated_reason(term, "")
        elif cs.get("ready") and state.get("running") is not None:
            has_running = True
            tally.ready += 1
    if tally.reason == "Completed" and has_running:
        tally.reason = "Running" if _has_ready_condition(_status(pod)) else "NotReady"


def pod_summary(pod: Obj, now: dt.datetime) -> tuple[str, str, str]:
    """READY, STATUS and RESTARTS of a pod, exactly as ``kubectl get pods`` shows them."""
    spec, status = _spec(pod), _status(pod)
    phase = str(status.get("phase") or "")
    reason = str(status.get("reason") or phase)
    if any(
        c.get("type") == "PodScheduled" and c.get("reason") == "SchedulingGated"
        for c in status.get("conditions") or []
    ):
        reason = "SchedulingGated"
    sidecar_count = sum(1 for c in spec.get("initContainers") or [] if c.get("restartPolicy") == "Always")
    total = len(spec.get("containers") or []) + sidecar_count
    tally, sidecars = _PodTally(reason), _PodTally("")
    initializing = _scan_init_containers(pod, tally, sidecars)
    if not initializing or _condition_true(status, "Initialized"):
        tally.restarts, tally.last_restart = sidecars.restarts, sidecars.last_restart
        _scan_containers(pod, tally)
    deleting = _meta(pod).get("deletionTimestamp") is not None
    if deleting and status.get("reason") == NODE_UNREACHABLE_REASON:
        tally.reason = "Unknown"
    elif deleting and phase not in ("Succeeded", "Failed"):
        tally.reason = "Terminating"
    restarts = str(tally.restarts)
    if tally.restarts and tally.last_restart is not None:
        restarts = f"{tally.restarts} ({human_duration((now - tally.last_restart).total_seconds())} ago)"
    return f"{tally.ready}/{total}", tally.reason, restarts


def _readiness_gates(pod: Obj) -> str:
    gates = _spec(pod).get("readinessGates") or []
    if not gates:
        return "<none>"
    conditions = _status(pod).get("conditions") or []
    true = 0
    for gate in gates:
        match = next((c for c in conditions if c.get("type") == gate.get("conditionType")), None)
        if match is not None and match.get("status") == "True":
            true += 1
    return f"{true}/{len(gates)}"


def _print_pod(pod: Obj, now: dt.datetime) -> list[Cell]:
    ready, reason, restarts = pod_summary(pod, now)
    status = _status(pod)
    ips = status.get("podIPs") or ([{"ip": status["podIP"]}] if status.get("podIP") else [])
    return [
        _name(pod),
        ready,
        reason,
        restarts,
        _age(pod, now),
        (ips[0].get("ip") if ips else "") or "<none>",
        _spec(pod).get("nodeName") or "<none>",
        status.get("nominatedNodeName") or "<none>",
        _readiness_gates(pod),
    ]


def _pod_conditions(pod: Obj) -> list[Obj]:
    phase = _status(pod).get("phase")
    if phase == "Succeeded":
        message = "The pod has completed successfully."
    elif phase == "Failed":
        message = "The pod failed."
    else:
        return []
    return [{"type": "Completed", "status": "True", "reason": phase, "message": message}]


# ---------------------------------------------------------------- other kinds


def _print_namespace(o: Obj, now: dt.datetime) -> list[Cell]:
    return [_name(o), str(_status(o).get("phase") or ""), _age(o, now)]


def _node_status(node: Obj) -> str:
    states: list[str] = []
    for cond in _status(node).get("conditions") or []:
        if cond.get("type") == "Ready":
            states = ["Ready" if cond.get("status") == "True" else "NotReady"]  # the last one wins
    if not states:
        states = ["Unknown"]
    if _spec(node).get("unschedulable"):
        states.append("SchedulingDisabled")
    return ",".join(states)


def _node_roles(node: Obj) -> str:
    roles: set[str] = set()
    for key, value in (_meta(node).get("labels") or {}).items():
        if key.startswith(NODE_ROLE_PREFIX) and key[len(NODE_ROLE_PREFIX) :]:
            roles.add(key[len(NODE_ROLE_PREFIX) :])
        elif key == NODE_ROLE_LABEL and value:
            roles.add(str(value))
    return ",".join(sorted(roles)) or "<none>"


def _node_address(node: Obj, kind: str) -> str:
    for addr in _status(node).get("addresses") or []:
        if addr.get("type") == kind:
            return str(addr.get("address", ""))
    return "<none>"


def _print_node(o: Obj, now: dt.datetime) -> list[Cell]:
    info = _status(o).get("nodeInfo") or {}
    return [
        _name(o),
        _node_status(o),
        _node_roles(o),
        _age(o, now),
        str(info.get("kubeletVersion") or ""),
        _node_address(o, "InternalIP"),
        _node_address(o, "ExternalIP"),
        str(info.get("osImage") or "<unknown>"),
        str(info.get("kernelVersion") or "<unknown>"),
        str(info.get("containerRuntimeVersion") or "<unknown>"),
    ]


def _load_balancer_ips(status: Obj) -> str:
    """loadBalancerStatusStringer, wide: sorted, de-duplicated IPs (or hostnames); never clipped to 16."""
    seen = {
        str(i.get("ip") or i.get("hostname"))
        for i in status.get("ingress") or []
        if i.get("ip") or i.get("hostname")
    }
    return ",".join(sorted(seen))


def _service_external_ip(svc: Obj) -> str:
    spec = _spec(svc)
    external = [str(ip) for ip in spec.get("externalIPs") or []]
    kind = spec.get("type")
    if kind in ("ClusterIP", "NodePort"):
        return ",".join(external) or "<none>"
    if kind == "LoadBalancer":
        lb = _load_balancer_ips(_status(svc).get("loadBalancer") or {})
        if external:
            return ",".join([*(lb.split(",") if lb else []), *external])
        return lb or "<pending>"
    if kind == "ExternalName":
        return str(spec.get("externalName") or "")
    return "<unknown>"


def _service_ports(svc: Obj) -> str:
    pieces = []
    for p in _spec(svc).get("ports") or []:
        proto = p.get("protocol", "")
        if p.get("nodePort"):
            pieces.append(f"{p.get('port', 0)}:{p['nodePort']}/{proto}")
        else:
            pieces.append(f"{p.get('port', 0)}/{proto}")
    return ",".join(pieces) or "<none>"


def _print_service(o: Obj, now: dt.datetime) -> list[Cell]:
    spec = _spec(o)
    ips = spec.get("clusterIPs") or ([spec["clusterIP"]] if spec.get("clusterIP") else [])
    return [
        _name(o),
        str(spec.get("type") or ""),
        str(ips[0]) if ips else "<none>",
        _service_external_ip(o),
        _service_ports(o),
        _age(o, now),
        format_labels(spec.get("selector")),
    ]


def _host_port(ip: str, port: Any) -> str:
    return f"[{ip}]:{port}" if ":" in ip else f"{ip}:{port}"


def format_endpoints(ep: Obj) -> str:
    """formatEndpoints: up to three ip:port pairs, then "+ N more..."; ``<none>`` with no subsets."""
    subsets = ep.get("subsets") or []
    if not subsets:
        return "<none>"
    shown: list[str] = []
    count, more, limit = 0, False, 3
    for ss in subsets:
        addresses = ss.get("addresses") or []
        ports = ss.get("ports") or []
        targets = [(a, None) for a in addresses] if not ports else [(a, p) for p in ports for a in addresses]
        count += len(targets)
        for addr, port in targets:
            if len(shown) == limit:
                more = True
                break
            ip = str(addr.get("ip", ""))
            shown.append(ip if port is None else _host_port(ip, port.get("port", 0)))
    text = ",".join(shown)
    return f"{text} + {count - limit} more..." if more else text


def _print_endpoints(o: Obj, now: dt.datetime) -> list[Cell]:
    return [_name(o), format_endpoints(o), _age(o, now)]


def _slice_port(port: Obj) -> str:
    if port.get("port") is not None:
        return str(port["port"])
    return "*" if port.get("name") is None else str(port["name"])


def _print_endpoint_slice(o: Obj, now: dt.datetime) -> list[Cell]:
    ports = o.get("ports") or []
    port_names = [_slice_port(p) for p in ports]
    addresses = [str(a) for e in o.get("endpoints") or [] for a in e.get("addresses") or []]
    return [
        _name(o),
        str(o.get("addressType") or ""),
        _more(port_names, len(port_names)),
        _more(addresses, len(addresses)),
        _age(o, now),
    ]


def _print_deployment(o: Obj, now: dt.datetime) -> list[Cell]:
    spec, status = _spec(o), _status(o)
    selector = selector_string(spec.get("selector"))
    return [
        _name(o),
        f"{int(status.get('readyReplicas') or 0)}/{int(spec.get('replicas', 1))}",
        int(status.get("updatedReplicas") or 0),
        int(status.get("availableReplicas") or 0),
        _age(o, now),
        *_containers(_template_spec(o)),
        "<invalid>" if selector is None else selector,
    ]


def _print_replica_set(o: Obj, now: dt.datetime) -> list[Cell]:
    spec, status = _spec(o), _status(o)
    return [
        _name(o),
        int(spec.get("replicas", 1)),
        int(status.get("replicas") or 0),
        int(status.get("readyReplicas") or 0),
        _age(o, now),
        *_containers(_template_spec(o)),
        format_label_selector(spec.get("selector")),
    ]


def _print_network_policy(o: Obj, now: dt.datetime) -> list[Cell]:
    # FormatLabelSelector(&spec.podSelector): a pointer to a value, so never nil — empty prints <none>.
    return [_name(o), format_label_selector(_spec(o).get("podSelector") or {}), _age(o, now)]


def _ingress_hosts(rules: list[Obj]) -> str:
    hosts: list[str] = []
    more = False
    for rule in rules:
        if len(hosts) == 3:
            more = True
        if not more and rule.get("host"):
            hosts.append(str(rule["host"]))
    if not hosts:
        return "*"
    text = ",".join(hosts)
    return f"{text} + {len(rules) - 3} more..." if more else text


def _print_ingress(o: Obj, now: dt.datetime) -> list[Cell]:
    spec = _spec(o)
    return [
        _name(o),
        "<none>" if spec.get("ingressClassName") is None else str(spec["ingressClassName"]),
        _ingress_hosts(spec.get("rules") or []),
        _load_balancer_ips(_status(o).get("loadBalancer") or {}),
        "80, 443" if spec.get("tls") else "80",
        _age(o, now),
    ]


def _print_ingress_class(o: Obj, now: dt.datetime) -> list[Cell]:
    spec = _spec(o)
    params = spec.get("parameters")
    text = "<none>"
    if params is not None:
        text = str(params.get("kind", ""))
        if params.get("apiGroup") is not None:
            text += "." + str(params["apiGroup"])
        text += "/" + str(params.get("name", ""))
    return [_name(o), str(spec.get("controller") or ""), text, _age(o, now)]


def _print_secret(o: Obj, now: dt.datetime) -> list[Cell]:
    return [_name(o), str(o.get("type") or ""), len(o.get("data") or {}), _age(o, now)]


def _print_config_map(o: Obj, now: dt.datetime) -> list[Cell]:
    return [_name(o), len(o.get("data") or {}) + len(o.get("binaryData") or {}), _age(o, now)]


def _print_lease(o: Obj, now: dt.datetime) -> list[Cell]:
    return [_name(o), str(_spec(o).get("holderIdentity") or ""), _age(o, now)]


def _print_service_account(o: Obj, now: dt.datetime) -> list[Cell]:
    return [_name(o), len(o.get("secrets") or []), _age(o, now)]


def _event_source(o: Obj) -> str:
    source = o.get("source") or {}
    component = source.get("component") or o.get("reportingComponent") or ""
    instance = source.get("host") or o.get("reportingInstance") or ""
    return f"{component}, {instance}" if instance else str(component)


def _print_event(o: Obj, now: dt.datetime) -> list[Cell]:
    first = since(o.get("firstTimestamp"), now)
    if parse_time(o.get("firstTimestamp")) is None:
        first = since(o.get("eventTime"), now)
    last = since(o.get("lastTimestamp"), now) if parse_time(o.get("lastTimestamp")) else first
    count = int(o.get("count") or 0)
    series = o.get("series")
    if series is not None:
        last = since(series.get("lastObservedTime"), now)
        count = int(series.get("count") or 0)
    elif count == 0:
        count = 1  # singleton events of the events.k8s.io API carry no count
    involved = o.get("involvedObject") or {}
    kind = str(involved.get("kind", "")).lower()
    target = f"{kind}/{involved['name']}" if involved.get("name") else kind
    return [
        last,
        str(o.get("type") or ""),
        str(o.get("reason") or ""),
        target,
        str(involved.get("fieldPath") or ""),
        _event_source(o),
        str(o.get("message") or "").strip(),
        first,
        count,
        _name(o),
    ]


def _print_default(o: Obj, _: dt.datetime) -> list[Cell]:
    created = parse_time(_meta(o).get("creationTimestamp"))
    stamp = created.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if created else "0001-01-01T00:00:00Z"
    return [_name(o), stamp]


# ---------------------------------------------------------------- columns per kind

_INT = "integer"
_STR = "string"
PRINTERS: dict[tuple[str, str], tuple[tuple[Column, ...], Printer]] = {
    ("", "Namespace"): ((NAME, Column("Status", _STR, "The status of the namespace"), AGE), _print_namespace),
    ("", "Node"): (
        (
            NAME,
            Column("Status", _STR, "The status of the node"),
            Column("Roles", _STR, "The roles of the node"),
            AGE,
            Column("Version", _STR, "kubeletVersion"),
            _wide("Internal-IP", "node.addresses"),
            _wide("External-IP", "node.addresses"),
            _wide("OS-Image", "osImage"),
            _wide("Kernel-Version", "kernelVersion"),
            _wide("Container-Runtime", "containerRuntimeVersion"),
        ),
        _print_node,
    ),
    ("", "Pod"): (
        (
            NAME,
            Column("Ready", _STR, "The aggregate readiness state of this pod for accepting traffic."),
            Column("Status", _STR, "The aggregate status of the containers in this pod."),
            Column(
                "Restarts",
                _STR,
                "The number of times the containers in this pod have been restarted and when the last "
                "container in this pod has restarted.",
            ),
            AGE,
            _wide("IP", "podIP"),
            _wide("Node", "nodeName"),
            _wide("Nominated Node", "nominatedNodeName"),
            _wide("Readiness Gates", "readinessGates"),
        ),
        _print_pod,
    ),
    ("", "Service"): (
        (
            NAME,
            Column("Type", _STR, "svc.type"),
            Column("Cluster-IP", _STR, "svc.clusterIP"),
            Column("External-IP", _STR, "svc.externalIPs"),
            Column("Port(s)", _STR, "svc.ports"),
            AGE,
            _wide("Selector", "svc.selector"),
        ),
        _print_service,
    ),
    ("", "Endpoints"): ((NAME, Column("Endpoints", _STR, "ep.subsets"), AGE), _print_endpoints),
    ("discovery.k8s.io", "EndpointSlice"): (
        (
            NAME,
            Column("AddressType", _STR, "eps.addressType"),
            Column("Ports", _STR, "eps.ports"),
            Column("Endpoints", _STR, "eps.endpoints"),
            AGE,
        ),
        _print_endpoint_slice,
    ),
    ("apps", "Deployment"): (
        (
            NAME,
            Column("Ready", _STR, "Number of the pod with ready state"),
            Column("Up-to-date", _STR, "deploy.updatedReplicas"),
            Column("Available", _STR, "deploy.availableReplicas"),
            AGE,
            _wide("Containers", "Names of each container in the template."),
            _wide("Images", "Images referenced by each container in the template."),
            _wide("Selector", "deploy.selector"),
        ),
        _print_deployment,
    ),
    ("apps", "ReplicaSet"): (
        (
            NAME,
            Column("Desired", _INT, "rs.spec.replicas"),
            Column("Current", _INT, "rs.status.replicas"),
            Column("Ready", _INT, "rs.status.readyReplicas"),
            AGE,
            _wide("Containers", "Names of each container in the template."),
            _wide("Images", "Images referenced by each container in the template."),
            _wide("Selector", "rs.spec.selector"),
        ),
        _print_replica_set,
    ),
    ("networking.k8s.io", "NetworkPolicy"): (
        (NAME, Column("Pod-Selector", _STR, "netpol.podSelector"), AGE),
        _print_network_policy,
    ),
    ("networking.k8s.io", "Ingress"): (
        (
            NAME,
            Column(
                "Class",
                _STR,
                "The name of the IngressClass resource that should be used for additional configuration",
            ),
            Column("Hosts", _STR, "Hosts that incoming requests are matched against before the ingress rule"),
            Column("Address", _STR, "Address is a list containing ingress points for the load-balancer"),
            Column("Ports", _STR, "Ports of TLS configurations that open"),
            AGE,
        ),
        _print_ingress,
    ),
    ("networking.k8s.io", "IngressClass"): (
        (
            NAME,
            Column("Controller", _STR, "Controller that is responsible for handling this class"),
            Column("Parameters", _STR, "A reference to a resource with additional parameters"),
            AGE,
        ),
        _print_ingress_class,
    ),
    ("", "Secret"): (
        (NAME, Column("Type", _STR, "secret.type"), Column("Data", _STR, "secret.data"), AGE),
        _print_secret,
    ),
    ("", "ConfigMap"): ((NAME, Column("Data", _STR, "cm.data"), AGE), _print_config_map),
    ("coordination.k8s.io", "Lease"): (
        (NAME, Column("Holder", _STR, "lease.holderIdentity"), AGE),
        _print_lease,
    ),
    ("", "ServiceAccount"): ((NAME, Column("Secrets", _STR, "sa.secrets"), AGE), _print_service_account),
    ("", "Event"): (
        (
            Column("Last Seen", _STR, "ev.lastTimestamp"),
            Column("Type", _STR, "ev.type"),
            Column("Reason", _STR, "ev.reason"),
            Column("Object", _STR, "ev.involvedObject"),
            _wide("Subobject", "ev.fieldPath"),
            _wide("Source", "ev.source"),
            Column("Message", _STR, "ev.message"),
            _wide("First Seen", "ev.firstTimestamp"),
            _wide("Count", "ev.count"),
            Column("Name", _STR, "name", priority=1, format="name"),
        ),
        _print_event,
    ),
}

DEFAULT: tuple[tuple[Column, ...], Printer] = (
    (NAME, Column("Created At", "date", "creationTimestamp")),
    _print_default,
)


# ---------------------------------------------------------------- the Table


def _row_object(res: ResourceInfo, obj: Obj, include: str) -> Obj | None:
    """What a row carries per ``includeObject``: nothing, PartialObjectMetadata, or the object."""
    if include == "None":
        return None
    if include == "Object":
        return {"kind": res.kind, "apiVersion": res.api_version, **obj}
    return {"kind": "PartialObjectMetadata", "apiVersion": TABLE_API_VERSION, "metadata": _meta(obj)}


def to_table(
    res: ResourceInfo, objs: list[Obj], *, include_object: str = "Metadata", now: dt.datetime
) -> Obj:
    """A ``meta.k8s.io/v1`` Table of ``objs``; the caller fills in ``metadata`` (resourceVersion...)."""
    include = include_object or "Metadata"
    if include not in ("None", "Metadata", "Object") and objs:
        raise errors.bad_request(f"unrecognized includeObject value: {json.dumps(include_object)}")
    columns, printer = PRINTERS.get((res.group, res.kind), DEFAULT)
    rows = []
    for obj in objs:
        row: Obj = {"cells": printer(obj, now), "object": _row_object(res, obj, include)}
        if res.kind == "Pod" and not res.group:
            conditions = _pod_conditions(obj)
            if conditions:
                row["conditions"] = conditions
        rows.append(row)
    return {
        "kind": "Table",
        "apiVersion": TABLE_API_VERSION,
        "metadata": {},
        "columnDefinitions": [c.definition() for c in columns],
        "rows": rows,
    }


# Column descriptions: the API's own field documentation, as the printers take it from SwaggerDoc().
_DOCS: dict[str, str] = {
    "name": (
        "Name must be unique within a namespace. Is required when creating resources, although some "
        "resources may allow a client to request the generation of an appropriate name automatically. "
        "Name is primarily intended for creation idempotence and configuration definition. Cannot be "
        "updated. More info: https://kubernetes.io/docs/concepts/overview/working-with-"
        "objects/names#names"
    ),
    "creationTimestamp": (
        "CreationTimestamp is a timestamp representing the server time when this object was created. It "
        "is not guaranteed to be set in happens-before order across separate operations. Clients may not "
        "set this value. It is represented in RFC3339 form and is in UTC.\n\nPopulated by the system. Read-"
        "only. Null for lists. More info: https://git.k8s.io/community/contributors/devel/sig-"
        "architecture/api-conventions.md#metadata"
    ),
    "podIP": (
        "podIP address allocated to the pod. Routable at least within the cluster. Empty if not yet "
        "allocated."
    ),
    "nodeName": (
        "NodeName indicates in which node this pod is scheduled. If empty, this pod is a candidate for "
        "scheduling by the scheduler defined in schedulerName. Once this field is set, the kubelet for "
        "this node becomes responsible for the lifecycle of this pod. This field should not be used to "
        "express a desire for the pod to be scheduled on a specific node. "
        "https://kubernetes.io/docs/concepts/scheduling-eviction/assign-pod-node/#nodename"
    ),
    "nominatedNodeName": (
        "nominatedNodeName is set only when this pod preempts other pods on the node, but it cannot be "
        "scheduled right away as preemption victims receive their graceful termination periods. This "
        "field does not guarantee that the pod will be scheduled on this node. Scheduler may decide to "
        "place the pod elsewhere if other nodes become available sooner. Scheduler may also decide to "
        "give the resources on this node to a higher priority pod that is created after preemption. As a "
        "result, this field may be different than PodSpec.nodeName when the pod is scheduled."
    ),
    "readinessGates": (
        "If specified, all readiness gates will be evaluated for pod readiness. A pod is ready when all "
        "its containers are ready AND all conditions specified in the readiness gates have status equal "
        'to "True" More info: https://git.k8s.io/enhancements/keps/sig-network/580-pod-readiness-gates'
    ),
    "rs.spec.replicas": (
        "Replicas is the number of desired pods. This is a pointer to distinguish between explicit zero "
        "and unspecified. Defaults to 1. More info: "
        "https://kubernetes.io/docs/concepts/workloads/controllers/replicaset"
    ),
    "rs.status.replicas": (
        "Replicas is the most recently observed number of non-terminating pods. More info: "
        "https://kubernetes.io/docs/concepts/workloads/controllers/replicaset"
    ),
    "rs.status.readyReplicas": (
        "The number of non-terminating pods targeted by this ReplicaSet with a Ready Condition."
    ),
    "rs.spec.selector": (
        "Selector is a label query over pods that should match the replica count. If the selector is "
        "empty, it is defaulted to the labels present on the pod template. Label keys and values that "
        "must match in order to be controlled by this replica set. More info: "
        "https://kubernetes.io/docs/concepts/overview/working-with-objects/labels/#label-selectors"
    ),
    "svc.type": (
        "type determines how the Service is exposed. Defaults to ClusterIP. Valid options are "
        'ExternalName, ClusterIP, NodePort, and LoadBalancer. "ClusterIP" allocates a cluster-internal IP'
        " address for load-balancing to endpoints. Endpoints are determined by the selector or if that is"
        " not specified, by manual construction of an Endpoints object or EndpointSlice objects. If "
        'clusterIP is "None", no virtual IP is allocated and the endpoints are published as a set of '
        'endpoints rather than a virtual IP. "NodePort" builds on ClusterIP and allocates a port on every'
        ' node which routes to the same endpoints as the clusterIP. "LoadBalancer" builds on NodePort and'
        " creates an external load-balancer (if supported in the current cloud) which routes to the same "
        'endpoints as the clusterIP. "ExternalName" aliases this service to the specified externalName. '
        "Several other fields do not apply to ExternalName services. More info: "
        "https://kubernetes.io/docs/concepts/services-networking/service/#publishing-services-service-"
        "types"
    ),
    "svc.clusterIP": (
        "clusterIP is the IP address of the service and is usually assigned randomly. If an address is "
        "specified manually, is in-range (as per system configuration), and is not in use, it will be "
        "allocated to the service; otherwise creation of the service will fail. This field may not be "
        "changed through updates unless the type field is also being changed to ExternalName (which "
        "requires this field to be blank) or the type field is being changed from ExternalName (in which "
        'case this field may optionally be specified, as describe above).  Valid values are "None", empty'
        ' string (""), or a valid IP address. Setting this to "None" makes a "headless service" (no '
        "virtual IP), which is useful when direct endpoint connections are preferred and proxying is not "
        "required.  Only applies to types ClusterIP, NodePort, and LoadBalancer. If this field is "
        "specified when creating a Service of type ExternalName, creation will fail. This field will be "
        "wiped when updating a Service to type ExternalName. More info: "
        "https://kubernetes.io/docs/concepts/services-networking/service/#virtual-ips-and-service-proxies"
    ),
    "svc.externalIPs": (
        "externalIPs is a list of IP addresses for which nodes in the cluster will also accept traffic "
        "for this service.  These IPs are not managed by Kubernetes.  The user is responsible for "
        "ensuring that traffic arrives at a node with this IP.  A common example is external load-"
        "balancers that are not part of the Kubernetes system."
    ),
    "svc.ports": (
        "The list of ports that are exposed by this service. More info: "
        "https://kubernetes.io/docs/concepts/services-networking/service/#virtual-ips-and-service-proxies"
    ),
    "svc.selector": (
        "Route service traffic to pods with label keys and values matching this selector. If empty or not"
        " present, the service is assumed to have an external process managing its endpoints, which "
        "Kubernetes will not modify. Only applies to types ClusterIP, NodePort, and LoadBalancer. Ignored"
        " if type is ExternalName. More info: https://kubernetes.io/docs/concepts/services-"
        "networking/service/"
    ),
    "ep.subsets": (
        "The set of all endpoints is the union of all subsets. Addresses are placed into subsets "
        "according to the IPs they share. A single address with multiple ports, some of which are ready "
        "and some of which are not (because they come from different containers) will result in the "
        "address being displayed in different subsets for the different ports. No address will appear in "
        "both Addresses and NotReadyAddresses in the same subset. Sets of addresses and ports that "
        "comprise a service."
    ),
    "kubeletVersion": ("Kubelet Version reported by the node."),
    "node.addresses": (
        "List of addresses reachable to the node. Queried from cloud provider, if available. More info: "
        "https://kubernetes.io/docs/reference/node/node-status/#addresses Note: This field is declared as"
        " mergeable, but the merge key is not sufficiently unique, which can cause data corruption when "
        "it is merged. Callers should instead use a full-replacement patch. See https://pr.k8s.io/79391 "
        "for an example. Consumers should assume that addresses can change during the lifetime of a Node."
        " However, there are some exceptions where this may not be possible, such as Pods that inherit a "
        "Node's address in its own status or consumers of the downward API (status.hostIP)."
    ),
    "osImage": ("OS Image reported by the node from /etc/os-release (e.g. Debian GNU/Linux 7 (wheezy))."),
    "kernelVersion": ("Kernel Version reported by the node from 'uname -r' (e.g. 3.16.0-0.bpo.4-amd64)."),
    "containerRuntimeVersion": (
        "ContainerRuntime Version reported by the node through runtime remote API (e.g. containerd://1.4.2)."
    ),
    "ev.lastTimestamp": ("The time at which the most recent occurrence of this event was recorded."),
    "ev.type": ("Type of this event (Normal, Warning), new types could be added in the future"),
    "ev.reason": (
        "This should be a short, machine understandable string that gives the reason for the transition "
        "into the object's current status."
    ),
    "ev.involvedObject": ("The object that this event is about."),
    "ev.fieldPath": (
        "If referring to a piece of an object instead of an entire object, this string should contain a "
        "valid JSON/Go field access statement, such as desiredState.manifest.containers[2]. For example, "
        "if the object reference is to a container within a pod, this would take on a value like: "
        '"spec.containers{name}" (where "name" refers to the name of the container that triggered the '
        'event) or if no container name is specified "spec.containers[2]" (container with index 2 in this'
        " pod). This syntax is chosen only to have some well-defined way of referencing a part of an "
        "object."
    ),
    "ev.source": ("The component reporting this event. Should be a short machine understandable string."),
    "ev.message": ("A human-readable description of the status of this operation."),
    "ev.firstTimestamp": (
        "The time at which the event was first recorded. (Time of server receipt is in TypeMeta.)"
    ),
    "ev.count": ("The number of times this event has occurred."),
    "secret.type": (
        "Used to facilitate programmatic handling of secret data. More info: "
        "https://kubernetes.io/docs/concepts/configuration/secret/#secret-types"
    ),
    "secret.data": (
        "Data contains the secret data. Each key must consist of alphanumeric characters, '-', '_' or "
        "'.'. The serialized form of the secret data is a base64 encoded string, representing the "
        "arbitrary (possibly non-string) data value here. Described in "
        "https://tools.ietf.org/html/rfc4648#section-4"
    ),
    "sa.secrets": (
        "Secrets is a list of the secrets in the same namespace that pods running using this "
        "ServiceAccount are allowed to use. Pods are only limited to this list if this service account "
        'has a "kubernetes.io/enforce-mountable-secrets" annotation set to "true". The '
        '"kubernetes.io/enforce-mountable-secrets" annotation is deprecated since v1.32. Prefer separate '
        "namespaces to isolate access to mounted secrets. This field should not be used to find auto-"
        "generated service account token secrets for use outside of pods. Instead, tokens can be "
        "requested directly using the TokenRequest API, or service account token secrets can be manually "
        "created. More info: https://kubernetes.io/docs/concepts/configuration/secret"
    ),
    "cm.data": (
        "Data contains the configuration data. Each key must consist of alphanumeric characters, '-', '_'"
        " or '.'. Values with non-UTF-8 byte sequences must use the BinaryData field. The keys stored in "
        "Data must not overlap with the keys in the BinaryData field, this is enforced during validation "
        "process."
    ),
    "deploy.updatedReplicas": (
        "Total number of non-terminating pods targeted by this deployment that have the desired template "
        "spec."
    ),
    "deploy.availableReplicas": (
        "Total number of available non-terminating pods (ready for at least minReadySeconds) targeted by "
        "this deployment."
    ),
    "deploy.selector": (
        "Label selector for pods. Existing ReplicaSets whose pods are selected by this will be the ones "
        "affected by this deployment."
    ),
    "netpol.podSelector": (
        "Selects the pods to which this NetworkPolicy object applies.  The array of ingress rules is "
        "applied to any pods selected by this field. Multiple network policies can select the same set of"
        " pods.  In this case, the ingress rules for each are combined additively. This field is NOT "
        "optional and follows standard label selector semantics. An empty podSelector matches all pods in"
        " this namespace."
    ),
    "lease.holderIdentity": (
        "holderIdentity contains the identity of the holder of a current lease. If Coordinated Leader "
        "Election is used, the holder identity must be equal to the elected LeaseCandidate.metadata.name "
        "field."
    ),
    "eps.addressType": (
        "addressType specifies the type of address carried by this EndpointSlice. All addresses in this "
        "slice must be the same type. This field is immutable after creation. The following address types"
        " are currently supported: * IPv4: Represents an IPv4 Address. * IPv6: Represents an IPv6 "
        "Address. * FQDN: Represents a Fully Qualified Domain Name."
    ),
    "eps.ports": (
        "ports specifies the list of network ports exposed by each endpoint in this slice. Each port must"
        " have a unique name. When ports is empty, it indicates that there are no defined ports. When a "
        'port is defined with a nil port value, it indicates "all ports". Each slice may include a '
        "maximum of 100 ports."
    ),
    "eps.endpoints": (
        "endpoints is a list of unique endpoints in this slice. Each slice may include a maximum of 1000 "
        "endpoints."
    ),
}
