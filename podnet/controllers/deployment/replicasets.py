"""A Deployment's ReplicaSets: which is new, what a new one looks like, which annotations it carries.

Pure. The new RS is the one whose template equals the Deployment's apart
from the pod-template-hash label (``FindNewReplicaSet``); its name is
``<deployment>-<hash>`` and its selector and labels add that hash, so the
RSes of one Deployment never select each other's pods.
"""

from __future__ import annotations

import copy
from typing import Any

from podnet.controllers.deployment.hash import POD_TEMPLATE_HASH_LABEL, compute_hash, equal_ignore_hash
from podnet.controllers.deployment.rollout import (
    DESIRED_REPLICAS,
    MAX_REPLICAS,
    REVISION,
    REVISION_HISTORY,
    created_at,
    max_surge,
    revision,
    spec_replicas,
)
from podnet.controllers.replicaset.pods import meta, new_controller_ref

Obj = dict[str, Any]

# Deployment annotations never copied onto its ReplicaSets (``skipCopyAnnotation``).
SKIP_ANNOTATIONS = frozenset(
    {
        "kubectl.kubernetes.io/last-applied-configuration",
        REVISION,
        REVISION_HISTORY,
        DESIRED_REPLICAS,
        MAX_REPLICAS,
        "deprecated.deployment.rollback.to",
    }
)
MAX_HISTORY_CHARS = 2000


def template(d: Obj) -> Obj:
    return (d.get("spec") or {}).get("template") or {}


def current_hash(d: Obj) -> str:
    return compute_hash(template(d), (d.get("status") or {}).get("collisionCount"))


def is_new_rs(d: Obj, rs: Obj) -> bool:
    """The RS runs the Deployment's template: equal apart from the hash label, or labelled with its hash.

    The label check is podnet's addition: should the server ever default a
    ReplicaSet's template differently from a Deployment's, equality alone
    would fail and every sync would take the RS it made for a collision.
    """
    if equal_ignore_hash(_rs_template(rs), template(d)):
        return True
    return (meta(rs).get("labels") or {}).get(POD_TEMPLATE_HASH_LABEL) == current_hash(d)


def find_new(d: Obj, rss: list[Obj]) -> Obj | None:
    """The oldest of the Deployment's RSes that runs its template (there is normally one)."""
    matching = [rs for rs in rss if is_new_rs(d, rs)]
    return min(matching, key=created_at) if matching else None


def _rs_template(rs: Obj) -> Obj:
    return (rs.get("spec") or {}).get("template") or {}


def split_new_old(d: Obj, rss: list[Obj]) -> tuple[Obj | None, list[Obj]]:
    new = find_new(d, rss)
    return new, [rs for rs in rss if rs is not new]


def next_revision(old_rss: list[Obj]) -> int:
    return max((revision(rs) for rs in old_rss), default=0) + 1


def _copy_annotations(d: Obj, rs_annotations: dict[str, str]) -> bool:
    changed = False
    for key, value in (meta(d).get("annotations") or {}).items():
        if key in SKIP_ANNOTATIONS or rs_annotations.get(key) == value:
            continue
        rs_annotations[key] = value
        changed = True
    return changed


def set_new_rs_annotations(d: Obj, rs: Obj, new_revision: int, exists: bool) -> bool:
    """``SetNewReplicaSetAnnotations``: copy the Deployment's, raise the revision, keep rollback history."""
    annotations = rs.setdefault("metadata", {}).setdefault("annotations", {})
    changed = _copy_annotations(d, annotations)
    old = annotations.get(REVISION)
    old_int = revision(rs)
    if old_int < new_revision:
        annotations[REVISION] = str(new_revision)
        changed = True
        if old is not None:  # rolling back to this RS: remember the revisions it had
            history = [r for r in annotations.get(REVISION_HISTORY, "").split(",") if r]
            history.append(old)
            while history and len(",".join(history)) > MAX_HISTORY_CHARS:
                history.pop(0)
            annotations[REVISION_HISTORY] = ",".join(history)
    if not exists:
        changed = set_replicas_annotations(rs, spec_replicas(d), spec_replicas(d) + max_surge(d)) or changed
    return changed


def set_replicas_annotations(rs: Obj, desired: int, max_replicas: int) -> bool:
    annotations = rs.setdefault("metadata", {}).setdefault("annotations", {})
    want = {DESIRED_REPLICAS: str(desired), MAX_REPLICAS: str(max_replicas)}
    if all(annotations.get(k) == v for k, v in want.items()):
        return False
    annotations.update(want)
    return True


def new_replicaset(d: Obj, replicas: int, new_revision: int) -> Obj:
    """The RS for the Deployment's current template (``getNewReplicaSet``'s object)."""
    tmpl = copy.deepcopy(template(d))
    pod_hash = current_hash(d)
    tmpl.setdefault("metadata", {})["labels"] = {
        **((tmpl.get("metadata") or {}).get("labels") or {}),
        POD_TEMPLATE_HASH_LABEL: pod_hash,
    }
    selector = copy.deepcopy((d.get("spec") or {}).get("selector") or {})
    selector["matchLabels"] = {**(selector.get("matchLabels") or {}), POD_TEMPLATE_HASH_LABEL: pod_hash}
    rs: Obj = {
        "apiVersion": "apps/v1",
        "kind": "ReplicaSet",
        "metadata": {
            "name": f"{meta(d)['name']}-{pod_hash}",
            "namespace": meta(d).get("namespace", ""),
            "labels": dict(tmpl["metadata"]["labels"]),
            "ownerReferences": [new_controller_ref(d)],
        },
        "spec": {
            "replicas": replicas,
            "minReadySeconds": int((d.get("spec") or {}).get("minReadySeconds") or 0),
            "selector": selector,
            "template": tmpl,
        },
    }
    set_new_rs_annotations(d, rs, new_revision, exists=False)
    return rs
