"""Where a message can go: a phone number in E.164 form, or a WhatsApp chat id.

Pure logic: no Home Assistant, no I/O.
"""

from __future__ import annotations

import re

# E.164: a leading +, a country code that does not start with 0, at most 15 digits in all.
_E164 = re.compile(r"\+[1-9]\d{6,14}")
# People (`@c.us`), groups (`@g.us`, older ones `<creator>-<time>@g.us`) and hidden ids.
_CHAT_ID = re.compile(r"\d{5,20}(-\d{5,20})?@(c\.us|g\.us|lid)")
# Spacing people write inside phone numbers.
_NUMBER_SEPARATORS = re.compile(r"[\s\-()./]")


class InvalidTargetError(ValueError):
    """The text is neither an E.164 number nor a chat id."""


def normalize_target(target: str) -> str:
    """The chat id for `target`: `+4915...` gives `4915...@c.us`; chat ids stay as they are."""
    text = target.strip()
    if "@" in text:
        if _CHAT_ID.fullmatch(text):
            return text
        raise InvalidTargetError(target)
    number = _NUMBER_SEPARATORS.sub("", text)
    if _E164.fullmatch(number):
        return f"{number[1:]}@c.us"
    raise InvalidTargetError(target)
