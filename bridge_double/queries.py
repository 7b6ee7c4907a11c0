"""Query strings and bodies of the chats endpoints, parsed as WAHA validates them (400)."""

from __future__ import annotations

from collections.abc import Mapping
import math
from typing import TYPE_CHECKING, Final

from . import errors
from .chats import MessageQuery
from .payloads import ACK_NAMES

if TYPE_CHECKING:
    from multidict import MultiMapping

    from .model import JsonDict

MESSAGES_LIMIT: Final = 10
OVERVIEW_LIMIT: Final = 20
_TRUE: Final = frozenset({"true", "1"})
_FALSE: Final = frozenset({"false", "0"})
_SORT_ORDERS: Final = frozenset({"asc", "desc"})
_SORT_BY: Final = frozenset({"timestamp", "messageTimestamp"})


def message_query(query: MultiMapping[str]) -> MessageQuery:
    """``GET /api/{s}/chats/{chatId}/messages`` parameters; defaults as the OpenAPI file has them.

    ``downloadMedia``, ``merge`` and ``sortBy`` are checked and otherwise ignored.
    """
    order = query.get("sortOrder", "desc")
    if order not in _SORT_ORDERS:
        raise errors.bad_request("sortOrder must be one of the following values: desc, asc")
    if query.get("sortBy", "timestamp") not in _SORT_BY:
        raise errors.bad_request("sortBy must be one of the following values: timestamp")
    ack_name = query.get("filter.ack")
    if ack_name is not None and ack_name not in ACK_NAMES.values():
        raise errors.bad_request("filter.ack must be one of: " + ", ".join(ACK_NAMES.values()))
    _boolean(query, "downloadMedia")
    _boolean(query, "merge")
    return MessageQuery(
        limit=_count(query, "limit", MESSAGES_LIMIT),
        offset=_count(query, "offset", 0),
        descending=order == "desc",
        gte=_number(query, "filter.timestamp.gte"),
        lte=_number(query, "filter.timestamp.lte"),
        from_me=_boolean(query, "filter.fromMe"),
        ack_name=ack_name,
    )


def download_media(query: MultiMapping[str]) -> bool:
    """``downloadMedia`` of the messages endpoints: true unless given false (``chats.dto.ts``)."""
    return _boolean(query, "downloadMedia") is not False


def overview_query(query: MultiMapping[str]) -> tuple[int, int, list[str] | None]:
    """``GET /api/{s}/chats/overview``: limit, offset and the ``ids`` filter (repeated or CSV)."""
    _boolean(query, "merge")
    values = query.getall("ids", [])
    ids = [part for value in values for part in value.split(",") if part] if values else None
    return _count(query, "limit", OVERVIEW_LIMIT), _count(query, "offset", 0), ids


def overview_body(body: JsonDict) -> tuple[int, int, list[str] | None]:
    """``POST /api/{s}/chats/overview``: ``{"pagination": {...}, "filter": {"ids": [...]}}``."""
    pagination = body.get("pagination")
    chat_filter = body.get("filter") or {}
    if not isinstance(pagination, Mapping) or not isinstance(chat_filter, Mapping):
        raise errors.bad_request("pagination must be an object")
    query = {key: str(value) for key, value in pagination.items() if value is not None}
    ids = chat_filter.get("ids")
    if ids is not None and (
        not isinstance(ids, list) or not all(isinstance(item, str) for item in ids)
    ):
        raise errors.bad_request("filter.ids must be an array of strings")
    return _count(query, "limit", OVERVIEW_LIMIT), _count(query, "offset", 0), ids


def _number(query: Mapping[str, str], name: str) -> float | None:
    raw = query.get(name)
    if raw is None or raw == "":
        return None
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        raise errors.bad_request(f"{name} must be a number")
    return int(value) if value.is_integer() else value


def _count(query: Mapping[str, str], name: str, default: int) -> int:
    value = _number(query, name)
    if value is None:
        return default
    if value < 0 or not float(value).is_integer():
        raise errors.bad_request(f"{name} must be a non-negative integer")
    return int(value)


def _boolean(query: Mapping[str, str], name: str) -> bool | None:
    raw = query.get(name)
    if raw is None or raw == "":
        return None
    if raw.lower() in _TRUE:
        return True
    if raw.lower() in _FALSE:
        return False
    raise errors.bad_request(f"{name} must be a boolean value")
