"""What LINE refuses: every check the emulator makes on a request before acting on it, in one place.

A request that breaks LINE's contract (the OpenAPI spec, the limits in ``limits.py``, the rich menu
rules, authorisation, headers, content types) is a *violation*: LINE would answer it 4xx whatever
the state of the chat, so it is a bug in the sender. ``check_request`` raises :class:`Refused`
with LINE's error body for the first one found.

Refusals that depend on state (a used reply token, the monthly quota, a user who is not a friend)
are not violations; the emulator's operations raise them with the messages below.
"""

from __future__ import annotations

import json
from typing import Any

from . import ids, limits
from .schemas import Operation, Spec, is_uuid

MSG_RATE_LIMIT = "The API rate limit has been exceeded. Try again later."
MSG_MONTHLY_LIMIT = "You have reached your monthly limit."
MSG_INVALID_REPLY_TOKEN = "Invalid reply token"
MSG_RETRY_KEY_ACCEPTED = "The retry key is already accepted"
MSG_FAILED_TO_SEND = "Failed to send messages"
MSG_NOT_FOUND = "Not found"
MSG_AUTH = (
    "Authentication failed due to the following reason: invalid token. "
    "Confirm that the access token in the authorization header is valid."
)

# Answers to scripted faults (``fail_next``) that name no message of their own.
DEFAULT_FAULT_MESSAGES = {
    400: "Bad request",
    401: MSG_AUTH,
    403: "Access to this API is not available for your account",
    404: MSG_NOT_FOUND,
    409: MSG_RETRY_KEY_ACCEPTED,
    429: MSG_RATE_LIMIT,
    500: "Internal server error",
    502: "Bad gateway",
    503: "Service unavailable",
    504: "Gateway timeout",
}

MAX_RICH_MENU_IMAGE_BYTES = 1024 * 1024
RICH_MENU_IMAGE_TYPES = ("image/jpeg", "image/png")


class Refused(Exception):
    """LINE's answer to a request it does not carry out: a status and LINE's error body.

    ``violation``: LINE would refuse this request in any state (a bug in the sender);
    ``scripted``: the emulator was told to answer so (``fail_next``)."""

    def __init__(
        self,
        status: int,
        body: Any,
        *,
        violation: bool = False,
        scripted: bool = False,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(status, body)
        self.status = status
        self.body = body
        self.violation = violation
        self.scripted = scripted
        self.headers = headers or {}


def error_body(message: str, details: list[tuple[str, str]] | None = None) -> dict[str, Any]:
    """LINE's error shape: ``{"message": ..., "details": [{"message", "property"}]}``."""
    body: dict[str, Any] = {"message": message}
    if details:
        body["details"] = [{"message": m, "property": p} for p, m in details]
    return body


def violation_text(method: str, path: str, status: int, body: Any) -> str:
    """One line saying what was refused and why (for ``violations`` and test failures)."""
    text = f"{method} {path} -> {status}: {body.get('message') if isinstance(body, dict) else body}"
    if isinstance(body, dict) and body.get("details"):
        text += " [" + "; ".join(f"{d['property']}: {d['message']}" for d in body["details"]) + "]"
    return text


def check_request(
    spec: Spec,
    op: Operation,
    headers: dict[str, str],
    query: dict[str, list[str]],
    raw: bytes,
    *,
    access_token: str,
) -> Any:
    """The request body, parsed (JSON) or raw (binary), or None when empty; :class:`Refused` (a
    violation) when LINE would refuse the request whatever the state."""
    if headers.get("authorization") != f"Bearer {access_token}":
        raise Refused(401, error_body(MSG_AUTH), violation=True)
    known_headers = {name for name, _ in op.header_params}
    if "x-line-retry-key" in headers and "x-line-retry-key" not in known_headers:
        # LINE: X-Line-Retry-Key on an API that does not support it is answered 400.
        raise Refused(
            400, error_body("The X-Line-Retry-Key header is not supported by this API"), violation=True
        )
    if "x-line-retry-key" in headers:
        check_retry_key(headers)
    missing = [name for name, required in op.header_params if required and name not in headers]
    missing += [name for name, required in op.query_params if required and name not in query]
    if missing:
        raise Refused(400, error_body(f"Missing required parameter(s): {', '.join(missing)}"), violation=True)
    if not op.body_content_types:
        return raw or None
    if not raw:
        if op.body_required:
            raise Refused(400, error_body("The request body is required"), violation=True)
        return None
    ctype = headers.get("content-type", "").split(";")[0].strip().lower()
    if "application/json" not in op.body_content_types:
        return _check_binary(op, ctype, raw)
    if ctype != "application/json":
        raise Refused(415, error_body(f"The content type, '{ctype}', is not supported"), violation=True)
    try:
        parsed = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        line, col = getattr(exc, "lineno", "-"), getattr(exc, "colno", "-")
        raise Refused(
            400,
            error_body(f"The request body could not be parsed as JSON (line: {line}, column: {col})"),
            violation=True,
        ) from exc
    details: list[tuple[str, str]] = []
    if op.body_schema:
        details = [(e.property, e.message) for e in spec.errors(op.body_schema, parsed)]
    if not details and isinstance(parsed, dict):
        details = limit_errors(op, parsed)
    if details:
        # Failing a validate/* endpoint is its answer, not a bug in the sender.
        is_violation = not op.template.startswith("/v2/bot/message/validate/")
        raise Refused(
            400,
            error_body(f"The request body has {len(details)} error(s)", details),
            violation=is_violation,
        )
    return parsed


def check_retry_key(headers: dict[str, str]) -> str | None:
    """The request's ``X-Line-Retry-Key`` (lower case), None without one; a violation unless a UUID."""
    key = headers.get("x-line-retry-key")
    if key is None:
        return None
    if not is_uuid(key):
        raise Refused(400, error_body("The retry key must be a UUID in hexadecimal format"), violation=True)
    return key.lower()


def limit_errors(op: Operation, body: dict[str, Any]) -> list[tuple[str, str]]:
    """(property, message) for LINE's limits that the spec does not encode."""
    details = limits.message_errors(body["messages"]) if "messages" in body else []
    if op.operation_id == "multicast" and isinstance(body.get("to"), list):
        if len(body["to"]) > limits.MAX_MULTICAST_RECIPIENTS:
            details.append(("to", f"Size must be between 1 and {limits.MAX_MULTICAST_RECIPIENTS}"))
        for i, uid in enumerate(body["to"]):
            if not (isinstance(uid, str) and ids.USER_ID_RE.match(uid)):
                details.append((f"to[{i}]", "invalid user ID (multicast accepts user IDs only)"))
    if op.operation_id == "showLoadingAnimation":
        seconds = body.get("loadingSeconds", 20)
        if isinstance(seconds, int) and seconds % 5:
            details.append(("loadingSeconds", "must be a multiple of 5"))
    if op.operation_id in ("createRichMenu", "validateRichMenuObject"):
        details.extend(rich_menu_errors(body))
    if op.operation_id in ("linkRichMenuIdToUsers", "unlinkRichMenuIdFromUsers") and isinstance(
        body.get("userIds"), list
    ):
        for i, uid in enumerate(body["userIds"]):
            if not (isinstance(uid, str) and ids.USER_ID_RE.match(uid)):
                details.append((f"userIds[{i}]", "invalid user ID"))
    return details


def rich_menu_errors(body: dict[str, Any]) -> list[tuple[str, str]]:
    """Rich menu object limits from LINE's reference (size, areas)."""
    details: list[tuple[str, str]] = []
    for key in ("size", "selected", "name", "chatBarText", "areas"):
        if key not in body:
            details.append((key, "must be specified"))
    size = body.get("size") or {}
    width, height = size.get("width"), size.get("height")
    if (
        isinstance(width, int)
        and isinstance(height, int)
        and (not 800 <= width <= 2500 or height < 250 or width / height < 1.45)
    ):
        details.append(("size", "width must be 800-2500, height at least 250, width/height at least 1.45"))
    areas = body.get("areas")
    if isinstance(areas, list) and len(areas) > 20:
        details.append(("areas", "Size must be between 0 and 20"))
    chat_bar = body.get("chatBarText")
    if isinstance(chat_bar, str) and limits.grapheme_len(chat_bar) > 14:
        details.append(("chatBarText", "Length must be between 0 and 14"))
    name = body.get("name")
    if isinstance(name, str) and len(name) > 300:
        details.append(("name", "Length must be between 0 and 300"))
    if isinstance(areas, list) and isinstance(width, int) and isinstance(height, int):
        details.extend(_area_errors(areas, width, height))
    return details


def _area_errors(areas: list[Any], width: int, height: int) -> list[tuple[str, str]]:
    """Each tappable area lies inside the image and has an action within LINE's action limits."""
    details: list[tuple[str, str]] = []
    for i, area in enumerate(areas):
        if not isinstance(area, dict):
            continue
        bounds = area.get("bounds") or {}
        x, y, w, h = (bounds.get(k) for k in ("x", "y", "width", "height"))
        if all(isinstance(v, int) for v in (x, y, w, h)) and (
            x < 0 or y < 0 or w <= 0 or h <= 0 or x + w > width or y + h > height  # type: ignore[operator]
        ):
            details.append((f"areas[{i}].bounds", "the area must lie inside the rich menu image"))
        action = area.get("action")
        if not isinstance(action, dict):
            details.append((f"areas[{i}].action", "must be specified"))
            continue
        label = action.get("label")
        if isinstance(label, str) and limits.grapheme_len(label) > 20:
            details.append((f"areas[{i}].action.label", "Length must be between 0 and 20"))
        data = action.get("data")
        if isinstance(data, str) and len(data) > 300:
            details.append((f"areas[{i}].action.data", "Length must be between 0 and 300"))
        display = action.get("displayText")
        if isinstance(display, str) and limits.utf16_len(display) > 300:
            details.append((f"areas[{i}].action.displayText", "Length must be between 0 and 300"))
    return details


def _check_binary(op: Operation, ctype: str, raw: bytes) -> bytes:
    if op.operation_id == "setRichMenuImage":
        if ctype not in RICH_MENU_IMAGE_TYPES:
            raise Refused(400, error_body(f"The content type, '{ctype}', is not supported"), violation=True)
        if len(raw) > MAX_RICH_MENU_IMAGE_BYTES:
            raise Refused(400, error_body("The image size must be at most 1 MB"), violation=True)
    return raw
