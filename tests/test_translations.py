"""Every flow step, menu option, progress, error and abort the code uses has English text."""

from __future__ import annotations

import json
from pathlib import Path
import re
from typing import Any

import pytest

from custom_components.whatsapp_gateway.config_flow import WhatsAppGatewayConfigFlow
from custom_components.whatsapp_gateway.pairing import PairingFlow
from custom_components.whatsapp_gateway.repairs import PairingRepairFlow, SessionMissingRepairFlow

PACKAGE = Path(__file__).parent.parent / "custom_components" / "whatsapp_gateway"
STRINGS: dict[str, Any] = json.loads((PACKAGE / "translations" / "en.json").read_text())


def source(*modules: str) -> str:
    return "".join((PACKAGE / f"{module}.py").read_text() for module in modules)


def keys(pattern: str, text: str) -> set[str]:
    return set(re.findall(pattern, text))


def shown_steps(flow: type) -> set[str]:
    """The steps our own classes define (not those Home Assistant's base classes offer)."""
    return {
        name.removeprefix("async_step_")
        for cls in flow.__mro__
        if cls.__module__.startswith("custom_components.")
        for name in vars(cls)
        if name.startswith("async_step_")
    }


PAIRING_STEPS = shown_steps(PairingFlow) - {"link", "pair"}
ABORTS = keys(r'async_abort\(\s*reason="(\w+)"', source("pairing")) | {"unknown"}
REPAIR_ABORTS = keys(r'async_abort\(\s*reason="(\w+)"', source("repairs"))
ERRORS = keys(r'errors\["base"\] = "(\w+)"', source("pairing", "repairs")) | {
    "invalid_phone_number"
}


@pytest.mark.parametrize(
    "section",
    [
        STRINGS["config"],
        STRINGS["issues"]["pairing_required"]["fix_flow"],
        STRINGS["issues"]["session_missing"]["fix_flow"],
    ],
    ids=["config", "pairing_required", "session_missing"],
)
def test_pairing_steps_have_text(section: dict[str, Any]) -> None:
    for step in PAIRING_STEPS:
        assert section["step"][step]["title"], step
        if step == "method":
            assert set(section["step"][step]["menu_options"]) == {"scan_qr", "pairing_code"}
        else:
            assert section["step"][step]["description"], step
    assert section["progress"]["wait_for_session"]
    assert ABORTS | {"session_not_found"} <= set(section["abort"])
    assert set(section["error"]) >= ERRORS


def test_repair_and_config_steps_have_text() -> None:
    config_steps = shown_steps(WhatsAppGatewayConfigFlow) - {"reauth", "link", "pair"}
    assert config_steps - {"create_session"} <= set(STRINGS["config"]["step"])
    assert set(STRINGS["config"]["step"]["missing_session"]["menu_options"]) == {
        "create_session",
        "user",
    }
    for issue in ("pairing_required", "session_missing"):
        assert set(STRINGS["issues"][issue]["fix_flow"]["abort"]) >= REPAIR_ABORTS
    missing = STRINGS["issues"]["session_missing"]["fix_flow"]["step"]
    assert shown_steps(SessionMissingRepairFlow) - {"init", "link", "pair"} <= set(missing)
    pairing = STRINGS["issues"]["pairing_required"]["fix_flow"]["step"]
    assert shown_steps(PairingRepairFlow) - {"init", "link", "pair"} <= set(pairing)


# The first step of each fix flow that shows a form: it explains the issue, because hassfest
# allows a fixable issue no description of its own (see test_validation).
FIRST_FIX_STEP = {
    "pairing_required": "method",
    "session_missing": "create_session",
    "noweb_store_disabled": "enable_store",
}


def test_issues_and_their_placeholders() -> None:
    issues = STRINGS["issues"]
    assert set(issues) == {
        "pairing_required",
        "session_missing",
        "unstable_connection",
        "noweb_store_disabled",
        "default_session_only",
    }
    for key, issue in issues.items():
        assert issue["title"], key
        if key in FIRST_FIX_STEP:
            assert "description" not in issue, key
            explained = issue["fix_flow"]["step"][FIRST_FIX_STEP[key]]["description"]
            # The issue's own placeholders reach its fix flow's steps in the frontend.
            assert "{session}" in explained, key
        else:
            assert issue["description"], key
    for placeholder in ("{title}", "{count}", "{reasons}"):
        assert placeholder in issues["unstable_connection"]["description"]
    assert "presence_keepalive" in issues["unstable_connection"]["description"]


def test_exceptions_raised_with_a_translation_key_have_text() -> None:
    code = source("coordinator", "services", "outgoing")
    used = keys(r'translation_key="(\w+)"', code) | keys(r'_send_error\(\s*"(\w+)"', code)
    used -= {"pairing_required", "session_missing", "unstable_connection"}
    assert used
    assert used <= set(STRINGS["exceptions"])
