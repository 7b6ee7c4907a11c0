"""Send targets: E.164 numbers and chat ids (pure logic)."""

from __future__ import annotations

import pytest

from custom_components.whatsapp_gateway.targets import InvalidTargetError, normalize_target


@pytest.mark.parametrize(
    ("target", "chat_id"),
    [
        ("+4915112345678", "4915112345678@c.us"),
        (" +49 151 1234-5678 ", "4915112345678@c.us"),
        ("+1 (213) 213-2130", "12132132130@c.us"),
        ("4915112345678@c.us", "4915112345678@c.us"),
        ("120363025246125486@g.us", "120363025246125486@g.us"),
        ("4915112345678-1612345678@g.us", "4915112345678-1612345678@g.us"),
        ("123456789012345@lid", "123456789012345@lid"),
    ],
)
def test_valid_targets(target: str, chat_id: str) -> None:
    assert normalize_target(target) == chat_id


@pytest.mark.parametrize(
    "target",
    [
        "",
        "4915112345678",
        "+0151123456",
        "+12345",
        "+1234567890123456",
        "+49abc",
        "bob@example.com",
        "status@broadcast",
        "123@newsletter",
        "@c.us",
    ],
)
def test_invalid_targets(target: str) -> None:
    with pytest.raises(InvalidTargetError):
        normalize_target(target)
