r"""JSON from the bridge, decoded defensively (no Home Assistant import).

Anything unreadable is a `ValueError`, nesting too deep included. A `\ud83d` escape without
its pair (a broken emoji) decodes to a lone surrogate, which Home Assistant's JSON encoder
refuses everywhere later (events, states, stores), so it becomes U+FFFD here.
"""

from __future__ import annotations

import json
import re
from typing import Any

# A surrogate escape in the raw text; only then can a lone surrogate come out of the decoder.
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def loads(data: str | bytes) -> Any:
    """Decode a JSON text; `ValueError` when it is not one."""
    try:
        value = json.loads(data)
    except RecursionError:
        raise ValueError("JSON nested too deeply") from None
    text = data if isinstance(data, str) else data.decode("utf-8", "replace")
    if _SURROGATE_ESCAPE.search(text):
        value = _without_lone_surrogates(value)
    return value


def without_lone_surrogates(text: str) -> str:
    """The text with each lone surrogate replaced by U+FFFD."""
    return _LONE_SURROGATE.sub("\ufffd", text)


def _without_lone_surrogates(value: Any) -> Any:
    if isinstance(value, str):
        return without_lone_surrogates(value)
    if isinstance(value, list):
        return [_without_lone_surrogates(item) for item in value]
    if isinstance(value, dict):
        return {
            _without_lone_surrogates(key): _without_lone_surrogates(item)
            for key, item in value.items()
        }
    return value
