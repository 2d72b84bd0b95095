"""Server-side printing: meta.k8s.io/v1 Tables with the columns Kubernetes' printers use per kind."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from podnet.api.scheme import ResourceInfo

Obj = dict[str, Any]
Column = tuple[str, str, int, Callable[[Obj, dt.datetime], Any]]  # name, type, priority, cell


def human_duration(seconds: float) -> str:
    """k8s.io/apimachinery/pkg/util/duration.HumanDuration."""
    s = int(seconds)
    if s < -1:
        return "<invalid>"
    if s < 0:
        return "0s"
    if s < 120:
        return f"{s}s"
    m = s // 60
    if m < 10:
        return f"{m}m{s % 60}s" if s % 60 else f"{m}m"
    if m < 180:
        return f"{m}m"
    h = s // 3600
    if h < 8:
        return f"{h}h{m % 60}m" if m % 60 else f"{h}h"
    if h < 48:
        return f"{h}h"
    if h < 24 * 8:
        return f"{h // 24}d{h % 24}h" if h % 24 else f"{h // 24}d"
    if h < 24 * 365 * 2:
        return f"{h // 24}d"
    if h < 24 * 365 * 8:
        days = h // 24 - 365 * (h // 24 // 365)
        return f"{h // 24 // 365}y{days}d" if days else f"{h // 24 // 365}y"
    return f"{h // 24 // 365}y"


def _age(obj: Obj, now: dt.datetime) -> str:
    ts = (obj.get("metadata") or {}).get("creationTimestamp")
    if not ts:
        return "<unknown>"
    t = dt.datetime.strptime(ts, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.UTC)
    return human_duration((now - t).total_seconds())


def _name(o: Obj, _: dt.datetime) -> str:
    return str((o.get("metadata") or {}).get("name", ""))


def _spec(o: Obj) -> Obj:
    return o.get("spec") or {}


def _status(o: Obj) -> Obj:
    return o.get("status") or {}


def _selector(sel: Obj | None) -> str:
    if not sel:
        return "<none>"
    parts = [f"{k}={v}" for k, v in sorted((sel.get("matchLabels") or sel).items()) if isinstance(v, str)]
    for e in sel.get("matchExpressions") or [] if "matchLabels" in sel or "matchExpressions" in sel else []:
        op = e.get("operator")
        if op in ("In", "NotIn"):
            parts.append(f"{e['key']} {op.lower()} ({','.join(e.get('values') or [])})")
        else:
            parts.append(e["key"] if op == "Exists" else f"!{e['key']}")
    return ",".join(parts) or "<none>"


def _svc_ports(o: Obj, _: dt.datetime) -> str:
    out = []
    for p in _spec(o).get("ports") or []:
        s = str(p.get("port"))
        if p.get("nodePort"):
            s += f":{p['nodePort']}"
        out.append(f"{s}/{p.get('protocol', 'TCP')}")
    return ",".join(out) or "<none>"


def _svc_external(o: Obj, _: dt.datetime) -> str:
    spec = _spec(o)
    stype = spec.get("type", "ClusterIP")
    ext = list(spec.get("externalIPs") or [])
    if stype == "ExternalName":
        return str(spec.get("externalName", ""))
    if stype == "LoadBalancer":
        ing = [
            i.get("ip") or i.get("hostname")
            for i in (_status(o).get("loadBalancer") or {}).get("ingress") or []
        ]
        ext += [i for i in ing if i]
        return ",".join(ext) if ext else "<pending>"
    return ",".join(ext) if ext else "<none>"


def _pod_ready(o: Obj, _: dt.datetime) -> str:
    statuses = _status(o).get("containerStatuses") or []
    total = len(_spec(o).get("containers") or [])
    return f"{sum(1 for c in statuses if c.get('ready'))}/{total}"


def _pod_status(o: Obj, _: dt.datetime) -> str:
    st = _status(o)
    reason = st.get("reason") or st.get("phase") or "Pending"
    for c in st.get("containerStatuses") or []:
        state = c.get("state") or {}
        if state.get("waiting", {}).get("reason"):
            reason = state["waiting"]["reason"]
        elif state.get("terminated", {}).get("reason"):
            reason = state["terminated"]["reason"]
        elif state.get("terminated"):
            t = state["terminated"]
            reason = f"Signal:{t['signal']}" if t.get("signal") else f"ExitCode:{t.get('exitCode', 0)}"
    if reason == "Pending" and _spec(o).get("nodeName"):
        reason = "ContainerCreating" if not st.get("containerStatuses") else reason
    if (o.get("metadata") or {}).get("deletionTimestamp"):
        reason = "Terminating"
    return str(reason)


def _pod_restarts(o: Obj, now: dt.datetime) -> str:
    return str(sum(int(c.get("restartCount", 0)) for c in _status(o).get("containerStatuses") or []))


def _node_status(o: Obj, _: dt.datetime) -> str:
    ready = next((c for c in _status(o).get("conditions") or [] if c.get("type") == "Ready"), None)
    status = "Ready" if ready and ready.get("status") == "True" else "NotReady" if ready else "Unknown"
    if ready and ready.get("status") == "Unknown":
        status = "NotReady"
    if _spec(o).get("unschedulable"):
        status += ",SchedulingDisabled"
    return status


def _node_roles(o: Obj, _: dt.datetime) -> str:
    roles = [
        k.split("/", 1)[1]
        for k in ((o.get("metadata") or {}).get("labels") or {})
        if k.startswith("node-role.kubernetes.io/")
    ]
    return ",".join(sorted(roles)) or "<none>"


def _node_addr(kind: str) -> Callable[[Obj, dt.datetime], str]:
    def cell(o: Obj, _: dt.datetime) -> str:
        return next(
            (a["address"] for a in _status(o).get("addresses") or [] if a.get("type") == kind), "<none>"
        )

    return cell


def _info(key: str) -> Callable[[Obj, dt.datetime], str]:
    return lambda o, _: str((_status(o).get("nodeInfo") or {}).get(key, "") or "<unknown>")


def _containers(o: Obj, field: str) -> str:
    template = (_spec(o).get("template") or {}).get("spec") or {}
    return ",".join(str(c.get(field, "")) for c in template.get("containers") or [])


def _endpoints(o: Obj, _: dt.datetime) -> str:
    pairs = []
    for s in o.get("subsets") or []:
        ports = s.get("ports") or [{}]
        for a in s.get("addresses") or []:
            for p in ports:
                pairs.append(f"{a.get('ip')}:{p['port']}" if p.get("port") else str(a.get("ip")))
    if not pairs:
        return "<none>"
    shown = ",".join(pairs[:3])
    return shown + (f" + {len(pairs) - 3} more..." if len(pairs) > 3 else "")


def _slice_ports(o: Obj, _: dt.datetime) -> str:
    ports = [str(p.get("port")) for p in o.get("ports") or [] if p.get("port") is not None]
    return ",".join(ports) if ports else "<unset>"


def _slice_endpoints(o: Obj, _: dt.datetime) -> str:
    addrs = [a for e in o.get("endpoints") or [] for a in e.get("addresses") or []]
    if not addrs:
        return "<unset>"
    return ",".join(addrs[:3]) + (f" + {len(addrs) - 3} more..." if len(addrs) > 3 else "")


def _g(*keys: str, default: Any = 0) -> Callable[[Obj, dt.datetime], Any]:
    def cell(o: Obj, _: dt.datetime) -> Any:
        cur: Any = o
        for k in keys:
            cur = cur.get(k) if isinstance(cur, dict) else None
        return default if cur is None else cur

    return cell


AGE: Column = ("Age", "string", 0, _age)
NAME: Column = ("Name", "string", 0, _name)

COLUMNS: dict[str, list[Column]] = {
    "Namespace": [NAME, ("Status", "string", 0, _g("status", "phase", default="")), AGE],
    "Node": [
        NAME,
        ("Status", "string", 0, _node_status),
        ("Roles", "string", 0, _node_roles),
        AGE,
        ("Version", "string", 0, _info("kubeletVersion")),
        ("Internal-IP", "string", 1, _node_addr("InternalIP")),
        ("External-IP", "string", 1, _node_addr("ExternalIP")),
        ("OS-Image", "string", 1, _info("osImage")),
        ("Kernel-Version", "string", 1, _info("kernelVersion")),
        ("Container-Runtime", "string", 1, _info("containerRuntimeVersion")),
    ],
    "Pod": [
        NAME,
        ("Ready", "string", 0, _pod_ready),
        ("Status", "string", 0, _pod_status),
        ("Restarts", "string", 0, _pod_restarts),
        AGE,
        ("IP", "string", 1, _g("status", "podIP", default="<none>")),
        ("Node", "string", 1, _g("spec", "nodeName", default="<none>")),
        ("Nominated Node", "string", 1, _g("status", "nominatedNodeName", default="<none>")),
        ("Readiness Gates", "string", 1, lambda o, _: "<none>"),
    ],
    "Service": [
        NAME,
        ("Type", "string", 0, _g("spec", "type", default="ClusterIP")),
        ("Cluster-IP", "string", 0, _g("spec", "clusterIP", default="<none>")),
        ("External-IP", "string", 0, _svc_external),
        ("Port(s)", "string", 0, _svc_ports),
        AGE,
        ("Selector", "string", 1, lambda o, _: _selector(_spec(o).get("selector"))),
    ],
    "Endpoints": [NAME, ("Endpoints", "string", 0, _endpoints), AGE],
    "EndpointSlice": [
        NAME,
        ("AddressType", "string", 0, _g("addressType", default="")),
        ("Ports", "string", 0, _slice_ports),
        ("Endpoints", "string", 0, _slice_endpoints),
        AGE,
    ],
    "Deployment": [
        NAME,
        (
            "Ready",
            "string",
            0,
            lambda o, _: f"{_status(o).get('readyReplicas', 0)}/{_spec(o).get('replicas', 1)}",
        ),
        ("Up-to-date", "integer", 0, _g("status", "updatedReplicas")),
        ("Available", "integer", 0, _g("status", "availableReplicas")),
        AGE,
        ("Containers", "string", 1, lambda o, _: _containers(o, "name")),
        ("Images", "string", 1, lambda o, _: _containers(o, "image")),
        ("Selector", "string", 1, lambda o, _: _selector(_spec(o).get("selector"))),
    ],
    "ReplicaSet": [
        NAME,
        ("Desired", "integer", 0, _g("spec", "replicas", default=1)),
        ("Current", "integer", 0, _g("status", "replicas")),
        ("Ready", "integer", 0, _g("status", "readyReplicas")),
        AGE,
        ("Containers", "string", 1, lambda o, _: _containers(o, "name")),
        ("Images", "string", 1, lambda o, _: _containers(o, "image")),
        ("Selector", "string", 1, lambda o, _: _selector(_spec(o).get("selector"))),
    ],
    "NetworkPolicy": [
        NAME,
        (
            "Pod-Selector",
            "string",
            0,
            lambda o, _: _selector(_spec(o).get("podSelector")).replace("<none>", "<none>"),
        ),
        AGE,
    ],
    "Ingress": [
        NAME,
        ("Class", "string", 0, _g("spec", "ingressClassName", default="<none>")),
        (
            "Hosts",
            "string",
            0,
            lambda o, _: ",".join(r.get("host", "*") for r in _spec(o).get("rules") or []) or "*",
        ),
        (
            "Address",
            "string",
            0,
            lambda o, _: ",".join(
                i.get("ip") or i.get("hostname", "")
                for i in (_status(o).get("loadBalancer") or {}).get("ingress") or []
            ),
        ),
        ("Ports", "string", 0, lambda o, _: "80, 443" if _spec(o).get("tls") else "80"),
        AGE,
    ],
    "IngressClass": [
        NAME,
        ("Controller", "string", 0, _g("spec", "controller", default="")),
        ("Parameters", "string", 0, lambda o, _: "<none>"),
        AGE,
    ],
    "Secret": [
        NAME,
        ("Type", "string", 0, _g("type", default="Opaque")),
        ("Data", "integer", 0, lambda o, _: len(o.get("data") or {})),
        AGE,
    ],
    "ConfigMap": [
        NAME,
        ("Data", "integer", 0, lambda o, _: len(o.get("data") or {}) + len(o.get("binaryData") or {})),
        AGE,
    ],
    "Lease": [NAME, ("Holder", "string", 0, _g("spec", "holderIdentity", default="")), AGE],
    "Event": [
        (
            "Last Seen",
            "string",
            0,
            lambda o, now: _age(
                {
                    "metadata": {
                        "creationTimestamp": o.get("lastTimestamp") or o.get("eventTime", "")[:19] + "Z"
                        if (o.get("lastTimestamp") or o.get("eventTime"))
                        else ""
                    }
                },
                now,
            ),
        ),
        ("Type", "string", 0, _g("type", default="")),
        ("Reason", "string", 0, _g("reason", default="")),
        (
            "Object",
            "string",
            0,
            lambda o, _: (
                f"{(o.get('involvedObject') or {}).get('kind', '').lower()}/"
                f"{(o.get('involvedObject') or {}).get('name', '')}"
            ),
        ),
        ("Message", "string", 0, _g("message", default="")),
    ],
    "ServiceAccount": [NAME, ("Secrets", "integer", 0, lambda o, _: len(o.get("secrets") or [])), AGE],
}


def _row_object(obj: Obj, include: str) -> Obj | None:
    if include == "None":
        return None
    if include == "Object":
        return obj
    return {
        "kind": "PartialObjectMetadata",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": obj.get("metadata") or {},
    }


def to_table(
    res: ResourceInfo, objs: list[Obj], *, include_object: str = "Metadata", now: dt.datetime | None = None
) -> Obj:
    now = now or dt.datetime.now(dt.UTC)
    cols = COLUMNS.get(res.kind, [NAME, AGE])
    definitions = [
        {"name": n, "type": t, "format": "name" if n == "Name" else "", "description": n, "priority": p}
        for n, t, p, _ in cols
    ]
    rows = []
    for obj in objs:
        row: Obj = {"cells": [cell(obj, now) for _, _, _, cell in cols]}
        ro = _row_object(obj, include_object)
        if ro is not None:
            row["object"] = ro
        rows.append(row)
    return {
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": {},
        "columnDefinitions": definitions,
        "rows": rows,
    }
