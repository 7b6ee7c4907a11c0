"""``POST /_double/faults/{fault}``: the CLI's way to pull the double's fault switches."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Awaitable, Callable
import hashlib
import inspect
import logging
from typing import TYPE_CHECKING, Any, Final

from .auth import mask
from .model import DoubleSession, JsonDict

if TYPE_CHECKING:
    from .server import BridgeDouble

_LOGGER = logging.getLogger(__package__)

SECRET_ARGS: Final = frozenset({"key", "new_key", "api_key"})

# fault name -> method name; these answer when the fault has happened.
IMMEDIATE: Final = {
    name: name
    for name in (
        "add_scoped_key",
        "add_lid",
        "add_session",
        "blip",
        "boot_paired",
        "clear_requests",
        "close_streams",
        "confirm_passkey",
        "count_requests",
        "count_sends",
        "cut_streams",
        "delete_session",
        "drop_send_answers",
        "emit_message",
        "emit_poll_vote",
        "emit_reaction",
        "end_blip",
        "enter_pairing_code",
        "fail_requests",
        "fail_sends",
        "half_open",
        "heal",
        "inject_history",
        "logout_from_phone",
        "refuse_calls",
        "require_passkey",
        "rotate_api_key",
        "rotate_qr",
        "scan_qr",
        "send_binary",
        "send_event",
        "send_from_phone",
        "send_huge",
        "send_raw_text",
        "sent_files",
        "set_chat_name",
        "set_me_lid",
        "set_status",
        "stall_stream",
        "start_pairing",
        "stream_count",
        "talk_state",
        "write_in_self_chat",
    )
}
# fault name -> method name; these run in the background (they sleep, or take the listener down).
TIMED: Final = {
    "run_blip": "run_blip",
    "run_pairing_timeout": "run_pairing_timeout",
    "bridge_restart": "run_bridge_restart",
    "run_bridge_restart": "run_bridge_restart",
    "graceful_restart": "graceful_restart",
}


# fault name -> how its result is summarised for the answer (instead of in full).
SUMMARISED: Final[dict[str, Callable[[Any], object]]] = {
    "inject_history": lambda messages: {
        "count": len(messages),
        "first": messages[0]["id"] if messages else None,
        "last": messages[-1]["id"] if messages else None,
    },
    "sent_files": lambda files: [_without_bytes(sent) for sent in files],
}


def _without_bytes(sent: JsonDict) -> JsonDict:
    """A sent file for the CLI: its size and SHA-256 instead of its bytes."""
    data = sent.get("data")
    summary = {key: value for key, value in sent.items() if key != "data"}
    summary["size"] = len(data) if isinstance(data, bytes) else None
    summary["sha256"] = hashlib.sha256(data).hexdigest() if isinstance(data, bytes) else None
    return summary


def _decode_media(kwargs: JsonDict) -> JsonDict:
    """``emit_message``'s ``media`` arrives base64 over JSON (the CLI's ``media=@PATH``)."""
    media = kwargs.get("media")
    if not isinstance(media, str):
        return kwargs
    try:
        return {**kwargs, "media": base64.b64decode(media, validate=True)}
    except (binascii.Error, ValueError):
        raise ValueError("media must be base64 (use media=@PATH on the command line)") from None


def faults() -> list[str]:
    """Every fault name the control endpoint knows."""
    return sorted({*IMMEDIATE, *TIMED})


def _printable(kwargs: JsonDict) -> JsonDict:
    """``kwargs`` for the log: secrets masked, a file (``media``, base64) as its length."""
    return {
        key: mask(value)
        if key in SECRET_ARGS
        else f"<{len(value)} base64 characters>"
        if key == "media" and isinstance(value, str)
        else value
        for key, value in kwargs.items()
    }


def _jsonable(result: object) -> object:
    if isinstance(result, DoubleSession):
        return {"name": result.name, "status": str(result.status), "paired": result.paired}
    if result is None or isinstance(result, str | int | float | bool | dict | list):
        return result
    return repr(result)


async def handle_fault(double: BridgeDouble, fault: str, kwargs: JsonDict) -> tuple[int, JsonDict]:
    """Run ``fault`` with ``kwargs``; answer (HTTP status, JSON body)."""
    method_name = IMMEDIATE.get(fault) or TIMED.get(fault)
    if method_name is None:
        return 404, {"message": f"unknown fault {fault!r}", "faults": faults(), "statusCode": 404}
    _LOGGER.info("control: %s %s", fault, _printable(kwargs))
    if fault == "send_binary" and isinstance(kwargs.get("data"), str):
        kwargs = {**kwargs, "data": kwargs["data"].encode()}
    if fault == "emit_message":
        try:
            kwargs = _decode_media(kwargs)
        except ValueError as err:
            return 400, {"message": str(err), "statusCode": 400}
    method: Callable[..., Any] = getattr(double, method_name)
    try:
        inspect.signature(method).bind(**kwargs)
    except TypeError as err:
        return 400, {"message": str(err), "statusCode": 400}
    try:
        if fault in TIMED:
            double.spawn_background(method(**kwargs))
            return 202, {"fault": fault, "result": None}
        result = method(**kwargs)
        if isinstance(result, Awaitable):
            result = await result
        if fault in SUMMARISED:
            result = SUMMARISED[fault](result)
    except KeyError as err:
        return 404, {"message": str(err.args[0]), "statusCode": 404}
    except ValueError as err:
        return 400, {"message": str(err), "statusCode": 400}
    return 200, {"fault": fault, "result": _jsonable(result)}
