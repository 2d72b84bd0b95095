"""Kubernetes ``Status`` errors: the codes, reasons and wording kubectl prints.

Exception tree::

    StatusError(code, reason, message, details)
     +-- built by the helpers below: not_found, already_exists, conflict,
         invalid, bad_request, gone, method_not_supported, unauthorized,
         forbidden, request_entity_too_large, internal_error, unsupported_media_type
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from podnet.api.scheme import ResourceInfo


@dataclass(frozen=True)
class Cause:
    """One field error, as ``metav1.StatusCause``."""

    field: str
    reason: str  # FieldValueInvalid, FieldValueRequired, FieldValueDuplicate, FieldValueNotSupported, ...
    message: str  # the detail, without the field path

    def as_dict(self) -> dict[str, str]:
        return {"reason": self.reason, "message": self.message, "field": self.field}


# Field error kinds, with the prefix Kubernetes' field.Error.Error() prints.
INVALID = "FieldValueInvalid"
REQUIRED = "FieldValueRequired"
DUPLICATE = "FieldValueDuplicate"
NOT_SUPPORTED = "FieldValueNotSupported"
FORBIDDEN = "FieldValueForbidden"
TOO_LONG = "FieldValueTooLong"
TOO_MANY = "FieldValueTooMany"


def _fmt(value: Any) -> str:
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    return str(value)


def invalid(field: str, value: Any, detail: str) -> Cause:
    return Cause(field, INVALID, f"Invalid value: {_fmt(value)}: {detail}")


def required(field: str, detail: str = "") -> Cause:
    return Cause(field, REQUIRED, "Required value" + (f": {detail}" if detail else ""))


def duplicate(field: str, value: Any) -> Cause:
    return Cause(field, DUPLICATE, f"Duplicate value: {_fmt(value)}")


def not_supported(field: str, value: Any, supported: list[str]) -> Cause:
    quoted = ", ".join(f'"{s}"' for s in supported)
    return Cause(field, NOT_SUPPORTED, f"Unsupported value: {_fmt(value)}: supported values: {quoted}")


def forbidden(field: str, detail: str) -> Cause:
    return Cause(field, FORBIDDEN, f"Forbidden: {detail}")


def too_long(field: str, limit: int) -> Cause:
    return Cause(field, TOO_LONG, f"Too long: may not be more than {limit} bytes")


class StatusError(Exception):
    """An API error carried to the client as a ``v1.Status`` object."""

    def __init__(self, code: int, reason: str, message: str, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.reason = reason
        self.message = message
        self.details = details

    def status(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
            "code": self.code,
        }
        if self.details is not None:
            out["details"] = self.details
        return out


def _qualified(res: ResourceInfo) -> str:
    return f"{res.plural}.{res.group}" if res.group else res.plural


def _details(res: ResourceInfo, name: str) -> dict[str, Any]:
    d: dict[str, Any] = {"name": name, "kind": res.plural}
    if res.group:
        d["group"] = res.group
    return d


def not_found(res: ResourceInfo, name: str) -> StatusError:
    return StatusError(404, "NotFound", f'{_qualified(res)} "{name}" not found', _details(res, name))


def already_exists(res: ResourceInfo, name: str) -> StatusError:
    return StatusError(
        409, "AlreadyExists", f'{_qualified(res)} "{name}" already exists', _details(res, name)
    )


def conflict(res: ResourceInfo, name: str, detail: str) -> StatusError:
    return StatusError(
        409,
        "Conflict",
        f'Operation cannot be fulfilled on {_qualified(res)} "{name}": {detail}',
        _details(res, name),
    )


def invalid_object(kind: str, group: str, name: str, causes: list[Cause]) -> StatusError:
    """422 Invalid, worded as Kubernetes' NewInvalid."""
    parts = [f"{c.field}: {c.message}" if c.field else c.message for c in causes]
    if len(parts) == 1:
        summary = parts[0]
    else:
        summary = "[" + ", ".join(parts) + "]"
    details: dict[str, Any] = {"name": name, "kind": kind, "causes": [c.as_dict() for c in causes]}
    if group:
        details["group"] = group
    qualified = f"{kind}.{group}" if group else kind
    return StatusError(422, "Invalid", f'{qualified} "{name}" is invalid: {summary}', details)


def bad_request(message: str) -> StatusError:
    return StatusError(400, "BadRequest", message)


def gone(message: str) -> StatusError:
    return StatusError(410, "Expired", message)


def method_not_supported(res: ResourceInfo, verb: str) -> StatusError:
    return StatusError(
        405, "MethodNotAllowed", f"{verb} is not supported on resources of kind {_qualified(res)!r}"
    )


def unauthorized() -> StatusError:
    return StatusError(401, "Unauthorized", "Unauthorized")


def request_entity_too_large(limit: int) -> StatusError:
    return StatusError(413, "RequestEntityTooLarge", f"Request entity too large: limit is {limit}")


def unsupported_media_type(content_type: str) -> StatusError:
    return StatusError(
        415,
        "UnsupportedMediaType",
        f"the body of the request was in an unknown format - accepted media types include: application/json, application/yaml, application/apply-patch+yaml, application/json-patch+json, application/merge-patch+json, application/strategic-merge-patch+json (got {content_type!r})",
    )


def internal_error(message: str) -> StatusError:
    return StatusError(500, "InternalError", f"Internal error occurred: {message}")


def service_unavailable(message: str) -> StatusError:
    return StatusError(503, "ServiceUnavailable", message)


def not_found_path(path: str) -> StatusError:
    return StatusError(404, "NotFound", "the server could not find the requested resource", {})
