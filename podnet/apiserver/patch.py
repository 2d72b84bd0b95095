"""PATCH bodies applied as the real apiserver applies them: JSON patch, merge patch, strategic merge patch.

Inputs are parsed JSON (the handler decodes the body); outputs are new dicts, the inputs untouched.
Errors are the ``Status`` objects Kubernetes answers with:

- JSON patch (RFC 6902): a body that is not a list of objects is 400 with Go's decoding message;
  an operation that does not apply (a failing ``test``, a missing path) is 422 ``Invalid`` with the
  generic "the server rejected our request due to an error in our request" (Kubernetes drops the
  library's detail); more than 10000 operations is 413.
- Merge patch (RFC 7386, evanphx/json-patch v4 semantics): a body that is not an object is 400
  "Invalid JSON Patch".
- Strategic merge patch (apimachinery ``strategicpatch``, server side): a body that is not an object
  is 400 with Go's decoding message; malformed ``$setElementOrder``/``$deleteFromPrimitiveList``/
  ``$retainKeys`` is 400; lists of lists and fields outside ``$retainKeys`` are 422; other bad
  directives (``$patch: bogus``, a missing merge key) are the untyped error Kubernetes lets through
  as a 500 with an empty reason and the bare message.
"""

from __future__ import annotations

import copy
from typing import Any

import jsonpatch
import jsonpointer

from podnet.api import errors
from podnet.api.errors import StatusError
from podnet.apiserver import patchmeta
from podnet.apiserver.patchmeta import (
    PatchFailure,
    TypeSchema,
    bad_arg,
    dedupe_scalars,
    element_kind,
    find_by_key,
    go_fmt,
    hkey,
    key_matches,
    no_merge_key,
    normalize_order,
    partition,
    same,
    split_deletions,
)

Obj = dict[str, Any]

MAX_JSON_PATCH_OPERATIONS = 10000

_DIRECTIVE = "$patch"
_RETAIN_KEYS = "$retainKeys"
_DELETE_PRIMITIVES = "$deleteFromPrimitiveList"
_SET_ORDER = "$setElementOrder"

# mergepatch's sentinel errors, worded as Go's.
ERR_PRIMITIVE_LIST = "invalid patch format of primitive list"
ERR_RETAIN_KEYS = "invalid patch format of retainKeys"
ERR_SET_ORDER = "invalid patch format of setElementOrder list"

ERR_UNSUPPORTED = "strategic merge patch format is not supported"


def _unprocessable() -> StatusError:
    """422 as NewGenericServerResponse builds it: the detail is not carried to the client."""
    return StatusError(422, "Invalid", "the server rejected our request due to an error in our request", {})


def _status(failure: PatchFailure) -> StatusError:
    if failure.code == 400:
        return errors.bad_request(failure.message)
    if failure.code == 422:
        return _unprocessable()
    return StatusError(500, "", failure.message)


def _json_kind(value: Any) -> str:
    """The JSON kind Go's decoder names in "cannot unmarshal X into Go value of type ..."."""
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "object"


def apply_json_patch(obj: Obj, patch: Any) -> Obj:
    """RFC 6902 JSON patch, as the apiserver's ``application/json-patch+json`` handler applies it."""
    if patch is None:
        return copy.deepcopy(obj)
    if not isinstance(patch, list):
        raise errors.bad_request(
            f"json: cannot unmarshal {_json_kind(patch)} into Go value of type jsonpatch.Patch"
        )
    for op in patch:
        if op is not None and not isinstance(op, dict):
            raise errors.bad_request(
                f"json: cannot unmarshal {_json_kind(op)} into Go value of type jsonpatch.Operation"
            )
    if len(patch) > MAX_JSON_PATCH_OPERATIONS:
        raise StatusError(
            413,
            "RequestEntityTooLarge",
            "Request entity too large: The allowed maximum operations in a JSON patch is "
            f"{MAX_JSON_PATCH_OPERATIONS}, got {len(patch)}",
        )
    if any(op is None for op in patch):
        raise _unprocessable()
    try:
        result = jsonpatch.apply_patch(obj, patch, in_place=False)
    except (jsonpatch.JsonPatchException, jsonpointer.JsonPointerException, KeyError, IndexError, TypeError):
        raise _unprocessable() from None
    if not isinstance(result, dict):
        raise _unprocessable()
    return result


def apply_merge_patch(obj: Obj, patch: Any) -> Obj:
    """RFC 7386 merge patch: null deletes, objects merge recursively, anything else replaces."""
    if not isinstance(patch, dict):
        raise errors.bad_request("Invalid JSON Patch")
    doc = copy.deepcopy(obj)
    _merge_docs(doc, copy.deepcopy(patch))
    return doc


def _merge_docs(doc: Obj, patch: Obj) -> None:
    for key, value in patch.items():
        if value is None:
            doc.pop(key, None)
        elif doc.get(key) is None:
            doc[key] = _prune_nulls(value)
        elif not isinstance(doc[key], dict):
            doc[key] = _prune_nulls(value)
        elif not isinstance(value, dict):
            doc[key] = value
        else:
            _merge_docs(doc[key], value)


def _prune_nulls(value: Any) -> Any:
    """Drop null members of objects at any depth (null array elements stay, as in evanphx v4)."""
    if isinstance(value, dict):
        return {k: _prune_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_prune_nulls(v) if v is not None else None for v in value]
    return value


# ---------------------------------------------------------------- strategic merge patch


def apply_strategic_merge_patch(obj: Obj, patch: Any, kind: str, api_version: str) -> Obj:
    """Kubernetes' strategic merge patch of a built-in kind, as the apiserver applies kubectl's patches."""
    if patch is None:
        return copy.deepcopy(obj)
    if not isinstance(patch, dict):
        raise errors.bad_request(
            f"json: cannot unmarshal {_json_kind(patch)} into Go value of type map[string]interface {{}}"
        )
    schema = patchmeta.schema_for(api_version, kind)
    if schema is None:
        raise errors.bad_request(ERR_UNSUPPORTED)
    try:
        return _merge_map(copy.deepcopy(obj), copy.deepcopy(patch), schema)
    except PatchFailure as failure:
        raise _status(failure) from None


def _merge_map(original: Obj | None, patch: Obj, schema: TypeSchema) -> Obj:
    if _DIRECTIVE in patch:
        directive = patch[_DIRECTIVE]
        if directive == "replace":
            del patch[_DIRECTIVE]
            return patch
        if directive == "delete":
            return {}
        raise PatchFailure(f"unknown patch type: {go_fmt(directive)} in map: {go_fmt(patch)}")
    if original is None:
        original = {}
    _apply_retain_keys(original, patch)
    _apply_set_element_order(original, patch, schema)
    for key, patch_value in patch.items():
        field, is_delete_list = key, False
        if key.startswith(_DELETE_PRIMITIVES):
            field, is_delete_list = _strip_prefix(key, _DELETE_PRIMITIVES, ERR_PRIMITIVE_LIST), True
        if patch_value is None:
            original.pop(field, None)
            continue
        if field not in original or type(original[field]) is not type(patch_value):
            if not is_delete_list:
                _discard_nulls(patch_value)
                _set_without_directives(original, field, patch_value)
            continue
        current = original[field]
        if isinstance(current, dict):
            sub, meta = schema.lookup_struct(field)
            if _strategy(meta) == "replace":
                original[field] = patch_value
            else:
                original[field] = _merge_map(current, patch_value, sub)
        elif isinstance(current, list):
            sub, meta = schema.lookup_slice(field)
            if _strategy(meta) == "merge" or is_delete_list:
                original[field] = _merge_slice(current, patch_value, sub, meta.merge_key, is_delete_list)
            else:
                original[field] = patch_value
        else:
            _set_without_directives(original, field, patch_value)
    return original


def _strategy(meta: patchmeta.PatchMeta) -> str:
    """The strategy besides retainKeys (which only the ``$retainKeys`` directive acts on)."""
    rest = [s for s in meta.strategies if s != "retainKeys"]
    if len(meta.strategies) > 2 or len(rest) > 1:
        raise PatchFailure(f"unexpected patch strategy: {go_fmt(list(meta.strategies))}")
    return rest[0] if rest else ""


def _strip_prefix(key: str, prefix: str, error: str) -> str:
    head, sep, rest = key.partition("/")
    if not sep or head != prefix:
        raise PatchFailure(error, 400)
    return rest


def _set_without_directives(original: Obj, key: str, value: Any) -> None:
    cleaned, keep = _remove_directives(value)
    if keep:
        original[key] = cleaned
    else:
        original.pop(key, None)


def _remove_directives(value: Any) -> tuple[Any, bool]:
    """Strip ``$patch``-marked maps from a value taken whole; (value, False) if it is one itself."""
    if isinstance(value, dict):
        if _DIRECTIVE in value:
            return None, False
        for k in list(value):
            cleaned, keep = _remove_directives(value[k])
            if keep:
                value[k] = cleaned
            else:
                del value[k]
        return value, True
    if isinstance(value, list):
        out = []
        for item in value:
            cleaned, keep = _remove_directives(item)
            if keep:
                out.append(cleaned)
        return out, True
    return value, True


def _discard_nulls(value: Any) -> None:
    if isinstance(value, dict):
        for k in [k for k, v in value.items() if v is None]:
            del value[k]
        for v in value.values():
            _discard_nulls(v)
    elif isinstance(value, list):
        for v in value:
            _discard_nulls(v)


def _apply_retain_keys(original: Obj, patch: Obj) -> None:
    """``$retainKeys``: clear every field of ``original`` the list does not name."""
    if _RETAIN_KEYS not in patch:
        return
    retain = patch.pop(_RETAIN_KEYS)
    if not isinstance(retain, list):
        raise PatchFailure(ERR_RETAIN_KEYS, 400)
    keep = {v for v in retain if isinstance(v, str)}
    for key, value in patch.items():
        if value is None or key.startswith((_DELETE_PRIMITIVES, _SET_ORDER)):
            continue
        if key not in keep:
            raise PatchFailure(ERR_RETAIN_KEYS, 400)
    for key in [k for k in original if k not in keep]:
        del original[key]


def _apply_set_element_order(original: Obj, patch: Obj, schema: TypeSchema) -> None:
    """``$setElementOrder/<field>``: merge that field's list, then order it as the directive says."""
    for key in [k for k in patch if k.startswith(_SET_ORDER)]:
        order = patch.pop(key)
        if not isinstance(order, list):
            raise bad_arg("[]interface {}", order)
        field = _strip_prefix(key, _SET_ORDER, ERR_SET_ORDER)
        # A typed Go object never carries a null or empty list (omitempty), so neither counts as present.
        found_original = original.get(field) not in (None, [])
        found_patch = field in patch
        original_list: list[Any] = []
        patch_list: list[Any] = []
        if found_original:
            if not isinstance(original[field], list):
                raise bad_arg("[]interface {}", original[field])
            original_list = original[field]
        if found_patch:
            if not isinstance(patch[field], list):
                raise bad_arg("[]interface {}", patch[field])
            patch_list = patch[field]
        sub, meta = schema.lookup_slice(field)
        strategy = _strategy(meta)
        _validate_order(patch_list, order, meta.merge_key)
        if not found_original and not found_patch:
            continue
        if not found_patch:
            merged = original_list
        elif not found_original:
            merged = _remove_directives(patch_list)[0]
        elif strategy == "merge":
            merged = _merge_slice(original_list, patch_list, sub, meta.merge_key, False)
        else:
            merged = patch_list
        in_order, server_only = partition(merged, order, meta.merge_key)
        is_map = element_kind(original_list, patch_list) == "map"
        original[field] = normalize_order(in_order, server_only, order, original_list, meta.merge_key, is_map)
        patch.pop(field, None)


def _validate_order(patch_list: list[Any], order: list[Any], merge_key: str) -> None:
    """Patch items must appear in the ``$setElementOrder`` list, in the same relative order."""
    if not order or not patch_list:
        return
    items = split_deletions(patch_list)[0] if merge_key else patch_list
    i = j = 0
    while i < len(items) and j < len(order):
        if isinstance(items[i], dict) and _DIRECTIVE in items[i]:
            i += 1
            continue
        if _merge_key_equal(items[i], order[j], merge_key):
            i += 1
        j += 1
    if i < len(items) and j >= len(order):
        raise PatchFailure(
            f"The order in patch list:\n{go_fmt(patch_list)}\n doesn't match {_SET_ORDER} list:\n"
            f"{go_fmt(order)}\n"
        )


def _merge_key_equal(left: Any, right: Any, merge_key: str) -> bool:
    if not merge_key:
        return same(left, right)
    for m in (left, right):
        if not isinstance(m, dict):
            raise bad_arg("map[string]interface {}", m)
        if merge_key not in m:
            raise no_merge_key(m, merge_key)
    return same(left[merge_key], right[merge_key])


def _merge_slice(
    original: list[Any], patch: list[Any], schema: TypeSchema, merge_key: str, is_delete_list: bool
) -> list[Any]:
    if not original and not patch:
        return original
    is_map = element_kind(original, patch) == "map"
    if not is_map:
        if is_delete_list:
            doomed = {hkey(v) for v in patch}
            return [v for v in original if hkey(v) not in doomed]
        merged = dedupe_scalars(original + patch)
    else:
        if not merge_key:
            raise PatchFailure(f"cannot merge lists without merge key for {schema.name}")
        original, patch = _apply_list_directives(original, patch, merge_key)
        merged = _merge_by_key(original, patch, merge_key, schema)
    in_patch, server_only = partition(merged, patch, merge_key)
    return normalize_order(in_patch, server_only, patch, original, merge_key, is_map)


def _apply_list_directives(
    original: list[Any], patch: list[Any], merge_key: str
) -> tuple[list[Any], list[Any]]:
    """Act on ``$patch`` elements: delete by key, or replace the whole list; return the rest."""
    plain: list[Any] = []
    replace = False
    for item in patch:
        if _DIRECTIVE not in item:
            plain.append(item)
            continue
        directive = item[_DIRECTIVE]
        if directive == "delete":
            if merge_key not in item:
                raise no_merge_key(item, merge_key)
            original = [m for m in original if not key_matches(m, merge_key, item[merge_key])]
        elif directive == "replace":
            replace = True
        elif directive == "merge":
            raise PatchFailure("merging lists cannot yet be specified in the patch")
        else:
            raise PatchFailure(f"unknown patch type: {go_fmt(directive)} in map: {go_fmt(item)}")
    return (plain, []) if replace else (original, plain)


def _merge_by_key(original: list[Any], patch: list[Any], merge_key: str, schema: TypeSchema) -> list[Any]:
    out = list(original)
    for item in patch:
        if merge_key not in item:
            raise no_merge_key(item, merge_key)
        at = find_by_key(out, merge_key, item[merge_key])
        if at >= 0:
            out[at] = _merge_map(out[at], item, schema)
        else:
            out.append(item)
    return out
