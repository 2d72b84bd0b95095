"""An in-memory ``ApiClient`` with the API server's semantics, for unit tests of controllers.

What it keeps from Kubernetes, because controllers depend on it:

- ``metadata.resourceVersion`` is a string from one global counter; ``uid``,
  ``creationTimestamp`` and ``generateName`` are filled in on create;
  ``generation`` starts at 1 and is bumped on spec changes.
- ``get`` of a missing object returns None; other verbs raise StatusError 404.
  Create of an existing name raises 409 AlreadyExists; an update carrying a
  stale resourceVersion raises 409 Conflict.
- Kinds with a ``status`` subresource: the main resource ignores status
  changes, ``update(..., "status")`` changes only status. Namespaces have
  ``finalize`` for ``spec.finalizers``.
- Deletion honours finalizers, propagation policies (Foreground/Orphan add
  their finalizer) and the pod grace period (a pod bound to a node gets
  ``deletionTimestamp`` and stays until a delete with grace 0).
- Label selectors (``=``, ``==``, ``!=``, ``in``, ``notin``, exists, ``!key``)
  and field selectors (dotted paths, ``=``/``!=``) filter list and watch.
- Watches replay history after a resourceVersion, or start with synthetic
  ADDED events when it is "" or "0"; an object moving in or out of a
  selector arrives as ADDED/DELETED, as from the real watch cache.

Simplifications, on purpose: strategic merge patch is applied as a JSON merge
patch (lists are replaced whole); no defaulting or validation; no garbage
collection (that is a controller's job). Test helpers: ``actions``,
``fail_next``, ``compact``, ``break_watches``, ``objects``.

Beyond ``ApiClient`` it has ``bind(namespace, name, node)``, the pods/binding
subresource the scheduler uses (``RestClient`` has the same method).
"""

from __future__ import annotations

import asyncio
import copy
import random
import re
import time
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import jsonpatch

from podnet.api import errors
from podnet.api.errors import StatusError
from podnet.api.scheme import ResourceInfo, lookup_plural
from podnet.api.timestamps import rfc3339
from podnet.client.interface import Obj, PatchType, WatchEvent

_GENERATION_KINDS = {"Deployment", "ReplicaSet", "NetworkPolicy", "Ingress", "IngressClass"}
_IMMUTABLE_META = (
    "uid",
    "creationTimestamp",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
    "generation",
)
_NAME_CHARS = "bcdfghjklmnpqrstvwxz2456789"


# ---------------------------------------------------------------- selectors


@dataclass(frozen=True)
class _Requirement:
    key: str
    op: str  # "=", "!=", "in", "notin", "exists", "!"
    values: tuple[str, ...] = ()

    def matches(self, labels: dict[str, str]) -> bool:
        has = self.key in labels
        value = labels.get(self.key)
        if self.op == "=":
            return has and value == self.values[0]
        if self.op == "!=":
            return not has or value != self.values[0]
        if self.op == "in":
            return has and value in self.values
        if self.op == "notin":
            return not has or value not in self.values
        if self.op == "exists":
            return has
        return not has


_SET_RE = re.compile(r"^\s*([^\s!=]+)\s+(in|notin)\s+\(([^)]*)\)\s*$")


def _split_top(selector: str) -> list[str]:
    """Split on commas outside parentheses."""
    parts, depth, cur = [], 0, ""
    for ch in selector:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append(cur)
            cur = ""
        else:
            cur += ch
    parts.append(cur)
    return [p.strip() for p in parts if p.strip()]


def parse_label_selector(selector: str) -> list[_Requirement]:
    """The label selector grammar kubectl sends, enough for controllers and tests."""
    reqs: list[_Requirement] = []
    for part in _split_top(selector):
        m = _SET_RE.match(part)
        if m:
            values = tuple(v.strip() for v in m.group(3).split(",") if v.strip())
            reqs.append(_Requirement(m.group(1), m.group(2), values))
        elif "!=" in part:
            k, v = part.split("!=", 1)
            reqs.append(_Requirement(k.strip(), "!=", (v.strip(),)))
        elif "=" in part:
            k, v = part.replace("==", "=", 1).split("=", 1)
            reqs.append(_Requirement(k.strip(), "=", (v.strip(),)))
        elif part.startswith("!"):
            reqs.append(_Requirement(part[1:].strip(), "!"))
        else:
            reqs.append(_Requirement(part, "exists"))
    return reqs


def _field_value(obj: Obj, path: str) -> str:
    cur: Any = obj
    for step in path.split("."):
        cur = cur.get(step) if isinstance(cur, dict) else None
    if cur is None:
        return ""
    if isinstance(cur, bool):
        return "true" if cur else "false"
    return str(cur)


def field_selector_matches(selector: str, obj: Obj) -> bool:
    for part in _split_top(selector):
        negate = "!=" in part
        k, v = part.split("!=" if negate else "=", 1)
        if k.endswith("="):  # "=="
            k = k[:-1]
        v = v.lstrip("=").strip()
        if (_field_value(obj, k.strip()) == v) == negate:
            return False
    return True


def _matches(obj: Obj, label_selector: str, field_selector: str) -> bool:
    labels = (obj.get("metadata") or {}).get("labels") or {}
    if label_selector and not all(r.matches(labels) for r in parse_label_selector(label_selector)):
        return False
    return not field_selector or field_selector_matches(field_selector, obj)


# ---------------------------------------------------------------- patches


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386 JSON merge patch."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    out = copy.deepcopy(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            out.pop(key, None)
        else:
            out[key] = merge_patch(out.get(key), value)
    return out


def _apply_patch(obj: Obj, patch: Any, patch_type: PatchType) -> Obj:
    if patch_type == "json":
        try:
            result = jsonpatch.apply_patch(obj, patch)
        except (jsonpatch.JsonPatchException, jsonpatch.JsonPointerException) as exc:
            raise errors.bad_request(str(exc)) from exc
        return dict(result)
    if not isinstance(patch, dict):
        raise errors.bad_request("a merge patch must be a JSON object")
    return dict(merge_patch(obj, patch))


# ---------------------------------------------------------------- watch


@dataclass
class _Entry:
    rv: int
    res: ResourceInfo
    namespace: str
    type: str  # "PUT" or "DELETE"
    old: Obj | None
    new: Obj


class FakeWatch:
    """A watch stream fed synchronously by the fake's mutations."""

    def __init__(self, res: ResourceInfo, namespace: str | None, label_selector: str, field_selector: str):
        self.res, self.namespace = res, namespace
        self.label_selector, self.field_selector = label_selector, field_selector
        self._queue: asyncio.Queue[WatchEvent | StatusError | None] = asyncio.Queue()
        self.closed = False

    def wants(self, res: ResourceInfo, namespace: str) -> bool:
        return res == self.res and (not self.namespace or self.namespace == namespace)

    def offer(self, entry: _Entry) -> None:
        if self.closed or not self.wants(entry.res, entry.namespace):
            return
        new_ok = _matches(entry.new, self.label_selector, self.field_selector)
        old_ok = entry.old is not None and _matches(entry.old, self.label_selector, self.field_selector)
        if entry.type == "DELETE":
            kind = "DELETED" if new_ok else ""
        elif new_ok:
            kind = "MODIFIED" if old_ok else "ADDED"
        else:
            kind = "DELETED" if old_ok else ""
        if kind:
            self._queue.put_nowait(WatchEvent(kind, copy.deepcopy(entry.new)))  # type: ignore[arg-type]

    def push(self, item: WatchEvent | StatusError | None) -> None:
        self._queue.put_nowait(item)

    def __aiter__(self) -> AsyncIterator[WatchEvent]:
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[WatchEvent]:
        while not self.closed:
            item = await self._queue.get()
            if item is None:
                self.closed = True
                return
            if isinstance(item, StatusError):
                self.closed = True
                raise item
            yield item

    async def close(self) -> None:
        if not self.closed:
            self.closed = True
            self._queue.put_nowait(None)


# ---------------------------------------------------------------- the client


class FakeClient:
    """``ApiClient`` over dicts in memory. ``clock`` gives the wall time used for timestamps."""

    def __init__(self, clock: Callable[[], float] = time.time, seed: int = 0) -> None:
        self.clock = clock
        self.actions: list[tuple[str, str, str, str]] = []
        self._objects: dict[str, tuple[ResourceInfo, Obj]] = {}
        self._rv = 1
        self._history: list[_Entry] = []
        self._compacted = 0
        self._watches: list[FakeWatch] = []
        self._failures: list[tuple[str, str, StatusError]] = []
        self._random = random.Random(seed)

    # ------------------------------------------------------------ test helpers

    def fail_next(self, verb: str, resource: str, error: StatusError) -> None:
        """Make the next ``verb`` ("create", "update", ...) on ``resource`` (plural[/sub]) raise ``error``."""
        self._failures.append((verb, resource, error))

    def compact(self) -> None:
        """Forget all history: watches from an older resourceVersion then get 410 Expired."""
        self._compacted = self._rv
        self._history.clear()

    def break_watches(self, error: StatusError | None = None) -> None:
        """End every open watch, cleanly or with ``error`` (e.g. ``errors.gone(...)``)."""
        for w in self._watches:
            w.push(error)
        self._watches.clear()

    def objects(self, res: ResourceInfo, namespace: str | None = None) -> list[Obj]:
        """Copies of the stored objects, sorted by key: a synchronous view for assertions."""
        prefix = res.key_prefix(namespace)
        return [copy.deepcopy(o) for k, (_, o) in sorted(self._objects.items()) if k.startswith(prefix)]

    def clear_actions(self) -> None:
        self.actions.clear()

    @property
    def resource_version(self) -> str:
        return str(self._rv)

    def watch_count(self) -> int:
        return len([w for w in self._watches if not w.closed])

    # ------------------------------------------------------------ internals

    def _record(self, verb: str, res: ResourceInfo, ns: str | None, name: str, sub: str = "") -> None:
        resource = f"{res.plural}/{sub}" if sub else res.plural
        self.actions.append((verb, resource, ns or "", name))
        for i, (v, r, err) in enumerate(self._failures):
            if v == verb and r == resource:
                del self._failures[i]
                raise err

    def _commit(self, res: ResourceInfo, ns: str, typ: str, old: Obj | None, new: Obj) -> Obj:
        self._rv += 1
        new["metadata"]["resourceVersion"] = str(self._rv)
        key = res.key(ns or None, new["metadata"]["name"])
        if typ == "DELETE":
            self._objects.pop(key, None)
        else:
            self._objects[key] = (res, new)
        entry = _Entry(self._rv, res, ns, typ, old, copy.deepcopy(new))
        self._history.append(entry)
        self._watches = [w for w in self._watches if not w.closed]
        for w in self._watches:
            w.offer(entry)
        return copy.deepcopy(new)

    def _stored(self, res: ResourceInfo, ns: str | None, name: str) -> Obj:
        found = self._objects.get(res.key(ns, name))
        if found is None:
            raise errors.not_found(res, name)
        return found[1]

    def _check_namespace_open(self, res: ResourceInfo, ns: str | None) -> None:
        if not res.namespaced or not ns:
            return
        ns_res = lookup_plural("namespaces")
        assert ns_res is not None
        found = self._objects.get(ns_res.key(None, ns))
        if found and found[1]["metadata"].get("deletionTimestamp"):
            raise StatusError(
                403,
                "Forbidden",
                f'{res.plural} "{ns}" is forbidden: unable to create new content in namespace {ns} '
                "because it is being terminated",
            )

    def _generate_name(self, res: ResourceInfo, ns: str | None, prefix: str) -> str:
        for _ in range(100):
            name = prefix + "".join(self._random.choice(_NAME_CHARS) for _ in range(5))
            if res.key(ns, name) not in self._objects:
                return name
        raise errors.already_exists(res, prefix)

    # ------------------------------------------------------------ ApiClient

    async def get(
        self, res: ResourceInfo, namespace: str | None, name: str, subresource: str = ""
    ) -> Obj | None:
        self._record("get", res, namespace, name, subresource)
        found = self._objects.get(res.key(namespace, name))
        return copy.deepcopy(found[1]) if found else None

    async def list(
        self,
        res: ResourceInfo,
        namespace: str | None = None,
        *,
        label_selector: str = "",
        field_selector: str = "",
        limit: int = 0,
        continue_: str = "",
        resource_version: str = "",
    ) -> Obj:
        """All matching items at once (``limit``/``continue_`` are accepted and ignored)."""
        self._record("list", res, namespace, "")
        items = [o for o in self.objects(res, namespace) if _matches(o, label_selector, field_selector)]
        return {
            "kind": res.list_kind_name,
            "apiVersion": res.api_version,
            "metadata": {"resourceVersion": str(self._rv)},
            "items": items,
        }

    async def create(self, res: ResourceInfo, namespace: str | None, obj: Obj) -> Obj:
        obj = copy.deepcopy(obj)
        meta = obj.setdefault("metadata", {})
        ns = (namespace or meta.get("namespace") or "") if res.namespaced else ""
        if res.namespaced and namespace and meta.get("namespace") not in (None, "", namespace):
            raise errors.bad_request(
                "the namespace of the provided object does not match the namespace sent on the request"
            )
        if not meta.get("name") and meta.get("generateName"):
            meta["name"] = self._generate_name(res, ns or None, meta["generateName"])
        name = meta.get("name") or ""
        self._record("create", res, ns, name)
        if not name:
            raise errors.invalid_object(
                res.kind,
                res.group,
                "",
                [errors.required("metadata.name", "name or generateName is required")],
            )
        self._check_namespace_open(res, ns)
        if res.key(ns or None, name) in self._objects:
            raise errors.already_exists(res, name)
        if res.namespaced:
            meta["namespace"] = ns
        for key in ("resourceVersion", "deletionTimestamp", "deletionGracePeriodSeconds"):
            meta.pop(key, None)
        meta["uid"] = str(uuid.UUID(int=self._random.getrandbits(128), version=4))
        meta["creationTimestamp"] = rfc3339(self.clock())
        if res.kind in _GENERATION_KINDS:
            meta["generation"] = 1
        obj["apiVersion"], obj["kind"] = res.api_version, res.kind
        _initial_status(res, obj)
        return self._commit(res, ns, "PUT", None, obj)

    async def update(self, res: ResourceInfo, namespace: str | None, obj: Obj, subresource: str = "") -> Obj:
        name = (obj.get("metadata") or {}).get("name") or ""
        self._record("update", res, namespace, name, subresource)
        return self._update(res, namespace, name, copy.deepcopy(obj), subresource)

    def _update(self, res: ResourceInfo, ns: str | None, name: str, new: Obj, sub: str) -> Obj:
        old = self._stored(res, ns, name)
        rv = str((new.get("metadata") or {}).get("resourceVersion") or "")
        if rv and rv != old["metadata"]["resourceVersion"]:
            raise errors.conflict(
                res,
                name,
                "the object has been modified; please apply your changes to the latest version and try again",
            )
        out = _prepare_update(res, new, old, sub)
        if res.namespaced:
            out["metadata"]["namespace"] = ns or ""
        out["metadata"]["name"] = name
        out["metadata"]["resourceVersion"] = old["metadata"]["resourceVersion"]
        if out == old:
            return copy.deepcopy(old)  # a no-op write does not bump resourceVersion, as in Kubernetes
        if _deletion_complete(res, out):
            return self._commit(res, ns or "", "DELETE", old, out)
        return self._commit(res, ns or "", "PUT", old, out)

    async def patch(
        self,
        res: ResourceInfo,
        namespace: str | None,
        name: str,
        patch: Any,
        patch_type: PatchType = "merge",
        subresource: str = "",
    ) -> Obj:
        """Merge, JSON or strategic (applied as merge) patch of the current object."""
        self._record("patch", res, namespace, name, subresource)
        current = copy.deepcopy(self._stored(res, namespace, name))
        patched = _apply_patch(current, patch, patch_type)
        if not isinstance(patched.get("metadata"), dict):
            raise errors.bad_request("metadata must be an object")
        return self._update(res, namespace, name, patched, subresource)

    async def delete(
        self,
        res: ResourceInfo,
        namespace: str | None,
        name: str,
        *,
        grace_period_seconds: int | None = None,
        propagation_policy: str | None = None,
        precondition_uid: str | None = None,
        precondition_resource_version: str | None = None,
    ) -> Obj | None:
        self._record("delete", res, namespace, name)
        obj = self._stored(res, namespace, name)
        meta = obj["metadata"]
        if precondition_uid and precondition_uid != meta.get("uid"):
            raise errors.conflict(
                res,
                name,
                f"Precondition failed: UID in precondition: {precondition_uid}, "
                f"UID in object meta: {meta.get('uid')}",
            )
        if precondition_resource_version and precondition_resource_version != meta["resourceVersion"]:
            raise errors.conflict(
                res,
                name,
                f"Precondition failed: ResourceVersion in precondition: {precondition_resource_version}, "
                f"ResourceVersion in object meta: {meta['resourceVersion']}",
            )
        grace = (
            _default_grace(res, obj) if grace_period_seconds is None else max(0, int(grace_period_seconds))
        )
        extra = {"Foreground": ["foregroundDeletion"], "Orphan": ["orphan"]}.get(propagation_policy or "", [])
        ns = namespace or ""
        if not (_has_finalizers(obj) or extra or grace > 0 or res.kind == "Namespace"):
            self._commit(res, ns, "DELETE", copy.deepcopy(obj), copy.deepcopy(obj))
            return None
        marked = _mark_deleting(obj, self.clock(), grace, extra)
        if _deletion_complete(res, marked):
            self._commit(res, ns, "DELETE", copy.deepcopy(obj), marked)
            return None
        if marked == obj:
            return copy.deepcopy(obj)
        return self._commit(res, ns, "PUT", copy.deepcopy(obj), marked)

    def watch(
        self,
        res: ResourceInfo,
        namespace: str | None = None,
        *,
        resource_version: str = "",
        label_selector: str = "",
        field_selector: str = "",
        allow_bookmarks: bool = True,
        timeout_seconds: int | None = None,
    ) -> FakeWatch:
        """Events after ``resource_version``; too old a version ends the stream with 410 Expired."""
        self.actions.append(("watch", res.plural, namespace or "", ""))
        w = FakeWatch(res, namespace, label_selector, field_selector)
        if resource_version in ("", "0"):
            for obj in self.objects(res, namespace):
                if _matches(obj, label_selector, field_selector):
                    w.push(WatchEvent("ADDED", obj))
        elif int(resource_version) < self._compacted:
            w.push(errors.gone(f"too old resource version: {resource_version} ({self._compacted})"))
            return w
        else:
            for entry in self._history:
                if entry.rv > int(resource_version):
                    w.offer(entry)
        self._watches.append(w)
        return w

    async def bind(self, namespace: str, name: str, node: str) -> None:
        """POST pods/{name}/binding: set spec.nodeName once and mark the pod PodScheduled."""
        pods = lookup_plural("pods")
        assert pods is not None
        self._record("create", pods, namespace, name, "binding")
        pod = copy.deepcopy(self._stored(pods, namespace, name))
        if pod["metadata"].get("deletionTimestamp"):
            raise errors.conflict(pods, name, "pod is being deleted, cannot be assigned to a host")
        current = (pod.get("spec") or {}).get("nodeName")
        if current:
            raise errors.conflict(pods, name, f'pod {name} is already assigned to node "{current}"')
        pod.setdefault("spec", {})["nodeName"] = node
        pod = self._update(pods, namespace, name, pod, "")
        conds = [
            c for c in pod.setdefault("status", {}).get("conditions") or [] if c.get("type") != "PodScheduled"
        ]
        conds.append({"type": "PodScheduled", "status": "True", "lastTransitionTime": rfc3339(self.clock())})
        pod["status"]["conditions"] = conds
        self._update(pods, namespace, name, pod, "status")

    async def close(self) -> None:
        self.break_watches()


# ---------------------------------------------------------------- per-kind rules


def _initial_status(res: ResourceInfo, obj: Obj) -> None:
    if res.kind == "Namespace":
        obj["metadata"].setdefault("labels", {})["kubernetes.io/metadata.name"] = obj["metadata"]["name"]
        spec = obj.setdefault("spec", {})
        if "kubernetes" not in spec.setdefault("finalizers", []):
            spec["finalizers"].append("kubernetes")
        obj["status"] = {"phase": "Active"}
    elif res.kind == "Pod":
        obj.setdefault("status", {}).setdefault("phase", "Pending")
    elif res.kind in ("Service", "Ingress"):
        obj["status"] = {"loadBalancer": {}}
    elif res.kind in ("Deployment", "ReplicaSet"):
        obj["status"] = {}


def _prepare_update(res: ResourceInfo, new: Obj, old: Obj, sub: str) -> Obj:
    if sub == "status":
        out = copy.deepcopy(old)
        out["status"] = copy.deepcopy(new.get("status") or {})
        return out
    if sub == "finalize":
        out = copy.deepcopy(old)
        out.setdefault("spec", {})["finalizers"] = list((new.get("spec") or {}).get("finalizers") or [])
        return out
    out = copy.deepcopy(new)
    meta, old_meta = out.setdefault("metadata", {}), old["metadata"]
    for key in _IMMUTABLE_META:
        if key in old_meta:
            meta[key] = old_meta[key]
        else:
            meta.pop(key, None)
    out["apiVersion"], out["kind"] = res.api_version, res.kind
    if "status" in res.subresources and res.kind != "Node":
        if "status" in old:
            out["status"] = copy.deepcopy(old["status"])
        else:
            out.pop("status", None)
    if res.kind == "Namespace":
        out.setdefault("spec", {})["finalizers"] = list((old.get("spec") or {}).get("finalizers") or [])
    spec_new = {k: v for k, v in out.items() if k not in ("metadata", "status", "apiVersion", "kind")}
    spec_old = {k: v for k, v in old.items() if k not in ("metadata", "status", "apiVersion", "kind")}
    if res.kind in _GENERATION_KINDS and spec_new != spec_old:
        meta["generation"] = int(old_meta.get("generation") or 1) + 1
    return out


def _has_finalizers(obj: Obj) -> bool:
    if obj["metadata"].get("finalizers"):
        return True
    return obj.get("kind") == "Namespace" and bool((obj.get("spec") or {}).get("finalizers"))


def _default_grace(res: ResourceInfo, obj: Obj) -> int:
    """Pods bound to a node wait for their kubelet; everything else goes at once."""
    spec = obj.get("spec") or {}
    if res.kind != "Pod" or not spec.get("nodeName"):
        return 0
    if (obj.get("status") or {}).get("phase") in ("Succeeded", "Failed"):
        return 0
    grace = spec.get("terminationGracePeriodSeconds")
    return 30 if grace is None else int(grace)


def _mark_deleting(obj: Obj, now: float, grace: int, extra: list[str]) -> Obj:
    out = copy.deepcopy(obj)
    meta = out["metadata"]
    if not meta.get("deletionTimestamp") or grace < int(meta.get("deletionGracePeriodSeconds") or 0):
        meta["deletionTimestamp"] = rfc3339(now + grace)
        meta["deletionGracePeriodSeconds"] = grace
    finalizers = meta.setdefault("finalizers", [])
    finalizers.extend(f for f in extra if f not in finalizers)
    if not finalizers:
        meta.pop("finalizers")
    if out.get("kind") == "Namespace":
        out.setdefault("status", {})["phase"] = "Terminating"
    return out


def _deletion_complete(res: ResourceInfo, obj: Obj) -> bool:
    meta = obj["metadata"]
    if not meta.get("deletionTimestamp") or _has_finalizers(obj):
        return False
    return res.kind != "Pod" or int(meta.get("deletionGracePeriodSeconds") or 0) == 0
