"""The generic REST storage of every resource: create, get, list, update, patch, delete, watch.

This is the API server minus HTTP: it turns API verbs into store operations
with Kubernetes' semantics (defaulting, validation, optimistic concurrency on
resourceVersion, generateName, graceful deletion and finalizers, namespace
lifecycle, Service IP and port allocation) and raises ``StatusError`` with
Kubernetes' codes and wording. The HTTP layer (``handlers``) only parses
requests and renders responses.
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import orjson

from podnet.api import errors, scheme
from podnet.api.defaults import apply_defaults
from podnet.api.fields import FieldSelector
from podnet.api.labels import Selector
from podnet.api.meta import generate_name
from podnet.api.scheme import ResourceInfo
from podnet.api.validation import validate
from podnet.apiserver import patch as patches
from podnet.apiserver import strategy
from podnet.apiserver.nscache import NamespaceCache
from podnet.apiserver.services import Reservation, ServiceAllocator
from podnet.store import (
    CompactedError,
    ConflictError,
    Event,
    EventType,
    KeyExistsError,
    KeyNotFoundError,
    KeyValue,
    Store,
)

Obj = dict[str, Any]
NAMESPACES = scheme.lookup("", "v1", "namespaces")
assert NAMESPACES is not None

_CONFLICT = "the object has been modified; please apply your changes to the latest version and try again"
_LIST_BATCH = 500


@dataclass
class ListOptions:
    label_selector: Selector | None = None
    field_selector: FieldSelector | None = None
    limit: int = 0
    continue_: str = ""
    resource_version: str = ""
    resource_version_match: str = ""


@dataclass
class DeleteOptions:
    grace_period_seconds: int | None = None
    propagation_policy: str | None = None
    precondition_uid: str | None = None
    precondition_resource_version: str | None = None
    dry_run: bool = False


@dataclass
class ListResult:
    items: list[Obj]
    resource_version: int
    continue_: str
    remaining: int | None


def encode(obj: Obj) -> bytes:
    """Store form: the object without its resourceVersion (the store's revision is the truth)."""
    meta = obj.get("metadata") or {}
    rv = meta.pop("resourceVersion", None)
    try:
        return orjson.dumps(obj)
    finally:
        if rv is not None:
            meta["resourceVersion"] = rv


def decode(kv: KeyValue, revision: int | None = None) -> Obj:
    obj: Obj = orjson.loads(kv.value)
    obj.setdefault("metadata", {})["resourceVersion"] = str(revision or kv.mod_revision)
    return obj


def _encode_continue(revision: int, last_key: str) -> str:
    raw = json.dumps({"v": "meta.k8s.io/v1", "rv": revision, "start": last_key}).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_continue(token: str, prefix: str) -> tuple[int, str]:
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        data = json.loads(raw)
        revision, start = int(data["rv"]), str(data["start"])
    except (ValueError, KeyError, TypeError) as exc:
        raise errors.bad_request(f"continue key is not valid: {exc}") from exc
    if not start.startswith(prefix) or revision <= 0:
        raise errors.bad_request("continue key is not valid: does not belong to this list")
    return revision, start


def _gone_continue() -> errors.StatusError:
    return errors.gone(
        "The provided continue parameter is too old to display a consistent list result. You can start "
        "a new list without the continue parameter, or use the continue token in this response to "
        "retrieve the remainder of the results. Continuing with the provided token results in an "
        "inconsistent list - objects that were created, modified, or deleted between the time the first "
        "chunk was returned and now may show up in the list."
    )


def _matches(obj: Obj, opts: ListOptions) -> bool:
    if opts.label_selector is not None:
        labels = (obj.get("metadata") or {}).get("labels") or {}
        if not opts.label_selector.matches(labels):
            return False
    return opts.field_selector is None or opts.field_selector.matches(obj)


class Registry:
    def __init__(
        self,
        store: Store,
        services: ServiceAllocator,
        clock: Callable[[], float] = time.time,
        max_object_bytes: int = 1_500_000,
    ) -> None:
        self.store = store
        self.namespaces: NamespaceCache | None = None
        self.services = services
        self.clock = clock
        self.max_object_bytes = max_object_bytes

    # ---- reads -------------------------------------------------------------------------------

    async def _get_kv(self, res: ResourceInfo, ns: str | None, name: str) -> KeyValue:
        kv = await self.store.get(res.key(ns, name))
        if kv is None:
            raise errors.not_found(res, name)
        return kv

    async def get(self, res: ResourceInfo, ns: str | None, name: str) -> Obj:
        return decode(await self._get_kv(res, ns, name))

    async def list(self, res: ResourceInfo, ns: str | None, opts: ListOptions) -> ListResult:
        prefix = res.key_prefix(ns)
        revision, start = 0, ""
        if opts.continue_:
            revision, start = _decode_continue(opts.continue_, prefix)
        elif opts.resource_version and opts.resource_version_match == "Exact":
            revision = self._parse_rv(opts.resource_version)
        items: list[Obj] = []
        while True:
            try:
                batch = await self.store.list(prefix, revision=revision, limit=_LIST_BATCH, start_after=start)
            except CompactedError as exc:
                if opts.continue_:
                    raise _gone_continue() from exc
                raise errors.gone(f"too old resource version: {revision} ({exc.compact_revision})") from exc
            revision = batch.revision
            for i, kv in enumerate(batch.items):
                obj = decode(kv)
                if not _matches(obj, opts):
                    continue
                items.append(obj)
                if opts.limit and len(items) >= opts.limit:
                    more = batch.more or i + 1 < len(batch.items)
                    token = _encode_continue(revision, kv.key) if more else ""
                    return ListResult(items, revision, token, None)
            if not batch.more or not batch.items:
                return ListResult(items, revision, "", None)
            start = batch.items[-1].key

    @staticmethod
    def _parse_rv(rv: str) -> int:
        try:
            value = int(rv)
        except ValueError as exc:
            raise errors.bad_request(f"invalid resource version: {rv!r}") from exc
        if value < 0:
            raise errors.bad_request(f"invalid resource version: {rv!r}")
        return value

    async def watch(
        self, res: ResourceInfo, ns: str | None, rv: str, opts: ListOptions
    ) -> AsyncIterator[tuple[str, Obj]]:
        """(type, object) pairs; raises StatusError 410 when ``rv`` was compacted away."""
        prefix = res.key_prefix(ns)
        if rv in ("", "0"):
            current = await self.list(res, ns, ListOptions(opts.label_selector, opts.field_selector))
            for obj in current.items:
                yield "ADDED", obj
            from_rev = current.resource_version
        else:
            from_rev = self._parse_rv(rv)
        watch = self.store.watch(prefix, from_rev)
        try:
            async for ev in watch:
                out = self._translate(ev, opts)
                if out is not None:
                    yield out
        except CompactedError as exc:
            raise errors.gone(f"too old resource version: {from_rev} ({exc.compact_revision})") from exc
        finally:
            await watch.close()

    @staticmethod
    def _translate(ev: Event, opts: ListOptions) -> tuple[str, Obj] | None:
        obj = decode(ev.kv, ev.revision)
        if ev.type is EventType.DELETE:
            return ("DELETED", obj) if _matches(obj, opts) else None
        now_match = _matches(obj, opts)
        if ev.prev is None:
            return ("ADDED", obj) if now_match else None
        if opts.label_selector is None and opts.field_selector is None:
            return "MODIFIED", obj
        was_match = _matches(decode(ev.prev), opts)
        if now_match:
            return ("MODIFIED" if was_match else "ADDED"), obj
        return ("DELETED", obj) if was_match else None

    # ---- writes ------------------------------------------------------------------------------

    def _check_size(self, data: bytes, res: ResourceInfo, name: str) -> None:
        if len(data) > self.max_object_bytes:
            raise errors.StatusError(
                413, "RequestEntityTooLarge", f"{res.kind} {name!r} is too large: {len(data)} bytes"
            )

    async def _check_namespace(self, ns: str) -> None:
        if self.namespaces is not None and self.namespaces.lookup(ns) is False:
            return  # known and active: no store round trip (the cache falls back to a read otherwise)
        kv = await self.store.get(NAMESPACES.key(None, ns))
        if kv is None:
            raise errors.not_found(NAMESPACES, ns)
        if b'"deletionTimestamp"' in kv.value:
            raise errors.StatusError(
                403,
                "Forbidden",
                f"unable to create new content in namespace {ns} because it is being terminated",
                {"name": ns, "kind": "namespaces"},
            )

    def _prepare_meta(self, res: ResourceInfo, ns: str | None, obj: Obj) -> Obj:
        meta = obj.get("metadata")
        if meta is None:
            meta = obj["metadata"] = {}
        if not isinstance(meta, dict):
            raise errors.bad_request("metadata must be an object")
        if res.namespaced:
            if meta.get("namespace") and meta["namespace"] != ns:
                raise errors.bad_request(
                    "the namespace of the provided object does not match the namespace sent on the request"
                )
            meta["namespace"] = ns
        else:
            meta.pop("namespace", None)
        return meta

    async def create(self, res: ResourceInfo, ns: str | None, obj: Obj, dry_run: bool = False) -> Obj:
        meta = self._prepare_meta(res, ns, obj)
        generated = not meta.get("name") and bool(meta.get("generateName"))
        for _attempt in range(8):
            if generated:
                meta["name"] = generate_name(str(meta["generateName"]))
            try:
                return await self._create_once(res, ns, obj, dry_run)
            except errors.StatusError as exc:
                if not (generated and exc.reason == "AlreadyExists"):
                    raise
        raise errors.StatusError(500, "ServerTimeout", "could not generate a unique name, try again")

    async def _create_once(self, res: ResourceInfo, ns: str | None, obj: Obj, dry_run: bool) -> Obj:
        apply_defaults(res, obj)
        strategy.prepare_for_create(res, obj, self.clock())
        name = obj["metadata"].get("name", "")
        causes = validate(res, obj, None)
        if causes:
            raise errors.invalid_object(res.kind, res.group, name, causes)
        if res.namespaced and ns:
            await self._check_namespace(ns)
        reservation = self.services.reserve(obj, None) if res.kind == "Service" else None
        data = encode(obj)
        try:
            self._check_size(data, res, name)
            if dry_run:
                obj["metadata"]["resourceVersion"] = ""
                return obj
            kv = await self.store.create(res.key(ns, name), data)
        except KeyExistsError as exc:
            _rollback(reservation)
            raise errors.already_exists(res, name) from exc
        except BaseException:
            _rollback(reservation)
            raise
        finally:
            if dry_run:
                _rollback(reservation)
        if reservation:
            reservation.commit()
        return decode(kv)

    async def update(
        self,
        res: ResourceInfo,
        ns: str | None,
        name: str,
        obj: Obj,
        subresource: str = "",
        dry_run: bool = False,
    ) -> Obj:
        self._prepare_meta(res, ns, obj)
        body_name = obj["metadata"].get("name")
        if body_name and body_name != name:
            raise errors.bad_request(
                f"the name of the object ({body_name}) does not match the name on the URL ({name})"
            )
        obj["metadata"]["name"] = name
        kv = await self._get_kv(res, ns, name)
        return await self._update_from(res, ns, name, obj, kv, subresource, dry_run)

    async def _update_from(
        self,
        res: ResourceInfo,
        ns: str | None,
        name: str,
        obj: Obj,
        kv: KeyValue,
        subresource: str,
        dry_run: bool,
    ) -> Obj:
        old = decode(kv)
        rv = str((obj.get("metadata") or {}).get("resourceVersion") or "")
        if rv and rv != str(kv.mod_revision):
            raise errors.conflict(res, name, _CONFLICT)
        new = strategy.prepare_for_update(res, obj, old, subresource)
        if subresource != "status":
            apply_defaults(res, new)
        causes = validate(res, new, old)
        if causes:
            raise errors.invalid_object(res.kind, res.group, name, causes)
        new.setdefault("metadata", {}).pop("resourceVersion", None)
        reservation = None
        if res.kind == "Service" and subresource == "":
            reservation = self.services.reserve(new, old)
        if self._deletion_complete(res, new):
            _rollback(reservation)
            return await self._remove(res, ns, name, kv, dry_run)
        data = encode(new)
        if data == kv.value:
            _rollback(reservation)
            return old  # a no-op update writes nothing and keeps the resourceVersion
        try:
            self._check_size(data, res, name)
            if dry_run:
                _rollback(reservation)
                new["metadata"]["resourceVersion"] = str(kv.mod_revision)
                return new
            out = await self.store.update(res.key(ns, name), data, kv.mod_revision)
        except ConflictError as exc:
            _rollback(reservation)
            raise errors.conflict(res, name, _CONFLICT) from exc
        except KeyNotFoundError as exc:
            _rollback(reservation)
            raise errors.not_found(res, name) from exc
        except BaseException:
            _rollback(reservation)
            raise
        if reservation:
            reservation.commit()
        return decode(out)

    @staticmethod
    def _deletion_complete(res: ResourceInfo, obj: Obj) -> bool:
        meta = obj.get("metadata") or {}
        if not meta.get("deletionTimestamp") or strategy.has_finalizers(obj):
            return False
        # A pod waits for its kubelet (which deletes it with grace 0) unless its grace is already 0.
        return res.kind != "Pod" or int(meta.get("deletionGracePeriodSeconds") or 0) == 0

    async def _remove(self, res: ResourceInfo, ns: str | None, name: str, kv: KeyValue, dry_run: bool) -> Obj:
        obj = decode(kv)
        if dry_run:
            return obj
        try:
            gone = await self.store.delete(res.key(ns, name), kv.mod_revision)
        except ConflictError as exc:
            raise errors.conflict(res, name, _CONFLICT) from exc
        except KeyNotFoundError as exc:
            raise errors.not_found(res, name) from exc
        if res.kind == "Service":
            self.services.release_all(obj)
        return decode(gone)

    async def patch(
        self,
        res: ResourceInfo,
        ns: str | None,
        name: str,
        patch_type: str,
        body: Any,
        subresource: str = "",
        dry_run: bool = False,
        check: Callable[[str, str, Obj], None] | None = None,
    ) -> Obj:
        # Retry on conflict only when the patch itself carries no resourceVersion precondition,
        # as the real apiserver does (a patch applies to whatever is current).
        for _attempt in range(8):
            kv = await self._get_kv(res, ns, name)
            current = decode(kv)
            if subresource == "scale":
                patched_scale = _apply_patch(
                    patch_type, to_scale(res, current), body, "Scale", "autoscaling/v1"
                )
                if check is not None:
                    check("autoscaling/v1", "Scale", patched_scale)
                patched = from_scale(current, patched_scale)
                target = ""
            else:
                patched = _apply_patch(patch_type, current, body, res.kind, res.api_version)
                if check is not None:
                    check(res.api_version, res.kind, patched)
                target = subresource
            pinned = bool((patched.get("metadata") or {}).get("resourceVersion")) and (
                patched["metadata"]["resourceVersion"] != current["metadata"]["resourceVersion"]
            )
            if not isinstance(patched.get("metadata"), dict):
                raise errors.bad_request("metadata must be an object")
            if patched["metadata"].get("name", name) != name:
                raise errors.bad_request(
                    f"the name of the object ({patched['metadata'].get('name')}) does not match the name "
                    f"on the URL ({name})"
                )
            patched["metadata"].setdefault("resourceVersion", current["metadata"]["resourceVersion"])
            self._prepare_meta(res, ns, patched)
            try:
                out = await self._update_from(res, ns, name, patched, kv, target, dry_run)
            except errors.StatusError as exc:
                if exc.reason == "Conflict" and not pinned:
                    continue
                raise
            return to_scale(res, out) if subresource == "scale" else out
        raise errors.conflict(res, name, _CONFLICT)

    async def update_scale(
        self, res: ResourceInfo, ns: str | None, name: str, scale: Obj, dry_run: bool
    ) -> Obj:
        kv = await self._get_kv(res, ns, name)
        current = decode(kv)
        rv = str((scale.get("metadata") or {}).get("resourceVersion") or "")
        if rv and rv != str(kv.mod_revision):
            raise errors.conflict(res, name, _CONFLICT)
        updated = from_scale(current, scale)
        return to_scale(res, await self._update_from(res, ns, name, updated, kv, "", dry_run))

    async def delete(
        self, res: ResourceInfo, ns: str | None, name: str, opts: DeleteOptions
    ) -> tuple[Obj, bool]:
        """Returns (object, gone): gone is False while finalizers or a grace period hold it."""
        kv = await self._get_kv(res, ns, name)
        obj = decode(kv)
        meta = obj["metadata"]
        if opts.precondition_uid and opts.precondition_uid != meta.get("uid"):
            raise errors.conflict(
                res,
                name,
                f"Precondition failed: UID in precondition: {opts.precondition_uid}, "
                f"UID in object meta: {meta.get('uid')}",
            )
        if (
            opts.precondition_resource_version
            and opts.precondition_resource_version != meta["resourceVersion"]
        ):
            raise errors.conflict(
                res,
                name,
                "Precondition failed: ResourceVersion in precondition: "
                f"{opts.precondition_resource_version}, ResourceVersion in object meta: {meta['resourceVersion']}",
            )
        grace = opts.grace_period_seconds
        if grace is None:
            grace = strategy.default_grace_period(res, obj)
        grace = max(0, int(grace))
        extra = _propagation_finalizers(opts.propagation_policy)
        if not (strategy.has_finalizers(obj) or extra or grace > 0 or res.kind == "Namespace"):
            return await self._remove(res, ns, name, kv, opts.dry_run), True
        marked = strategy.mark_deleting(obj, self.clock(), grace, extra)
        if self._deletion_complete(res, marked):
            return await self._remove(res, ns, name, kv, opts.dry_run), True
        if opts.dry_run:
            return marked, False
        marked["metadata"].pop("resourceVersion", None)
        data = encode(marked)
        if data == kv.value:
            return obj, False
        try:
            out = await self.store.update(res.key(ns, name), data, kv.mod_revision)
        except ConflictError as exc:
            raise errors.conflict(res, name, _CONFLICT) from exc
        return decode(out), False


def _rollback(reservation: Reservation | None) -> None:
    if reservation is not None:
        reservation.rollback()


def _propagation_finalizers(policy: str | None) -> list[str]:
    if policy is None or policy == "Background":
        return []
    if policy == "Foreground":
        return ["foregroundDeletion"]
    if policy == "Orphan":
        return ["orphan"]
    raise errors.invalid_object(
        "DeleteOptions",
        "",
        "",
        [errors.not_supported("propagationPolicy", policy, ["Foreground", "Background", "Orphan"])],
    )


def _apply_patch(patch_type: str, obj: Obj, body: Any, kind: str, api_version: str) -> Obj:
    if patch_type == "json":
        return patches.apply_json_patch(obj, body)
    if patch_type == "merge":
        return patches.apply_merge_patch(obj, body)
    if patch_type == "strategic":
        return patches.apply_strategic_merge_patch(obj, body, kind, api_version)
    raise errors.unsupported_media_type(patch_type)


def to_scale(res: ResourceInfo, obj: Obj) -> Obj:
    """The autoscaling/v1 Scale view of a Deployment or ReplicaSet."""
    meta = obj.get("metadata") or {}
    spec = obj.get("spec") or {}
    status = obj.get("status") or {}
    selector = (spec.get("selector") or {}).get("matchLabels") or {}
    return {
        "kind": "Scale",
        "apiVersion": "autoscaling/v1",
        "metadata": {
            k: meta[k]
            for k in ("name", "namespace", "uid", "resourceVersion", "creationTimestamp")
            if k in meta
        },
        "spec": {"replicas": int(spec.get("replicas", 1))},
        "status": {
            "replicas": int(status.get("replicas", 0)),
            "selector": ",".join(f"{k}={v}" for k, v in sorted(selector.items())),
        },
    }


def from_scale(obj: Obj, scale: Obj) -> Obj:
    replicas = (scale.get("spec") or {}).get("replicas", 0)
    if not isinstance(replicas, int) or isinstance(replicas, bool):
        raise errors.invalid_object(
            "Scale",
            "autoscaling",
            (obj.get("metadata") or {}).get("name", ""),
            [errors.invalid("spec.replicas", replicas, "must be an integer")],
        )
    if replicas < 0:
        raise errors.invalid_object(
            "Scale",
            "autoscaling",
            (obj.get("metadata") or {}).get("name", ""),
            [errors.invalid("spec.replicas", replicas, "must be greater than or equal to 0")],
        )
    out = dict(obj)
    out["spec"] = dict(obj.get("spec") or {})
    out["spec"]["replicas"] = replicas
    out["metadata"] = dict(obj.get("metadata") or {})
    rv = (scale.get("metadata") or {}).get("resourceVersion")
    if rv:
        out["metadata"]["resourceVersion"] = rv
    return out
