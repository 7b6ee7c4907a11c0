"""The README's "Supported bridges" table says what each bridge profile of the double does.

Each row is derived twice: from the double's profile (what the bridge does, read from WAHA's
source) and from the integration's `BridgeCapabilities` (what the integration decides from
what the bridge says). The two must agree, and the README must show exactly these rows.
"""

from __future__ import annotations

from itertools import product
from pathlib import Path

from bridge_double import BridgeProfile
from custom_components.whatsapp_gateway.bridge.capabilities import BridgeCapabilities

README = Path(__file__).parent.parent / "README.md"
ENGINES = ("GOWS", "NOWEB", "WEBJS")
RELEASES = ("2026.2.1", "2026.5.1", "2026.7.1")
EDITIONS = ("CORE", "PLUS")


def row(profile: BridgeProfile) -> str:
    """One table row, from the profile; asserts the integration reads the bridge the same."""
    caps = BridgeCapabilities(
        engine=profile.engine, version=profile.release, edition=profile.edition
    )
    # History as a session without the NOWEB store has it (the store is per session).
    store_off = profile.history_available({"noweb": {"store": {"enabled": False}}})
    assert caps.new_message_ids == profile.honours_send_id, profile
    assert caps.multi_session == profile.multi_session, profile
    assert caps.media_sending == profile.media_sending, profile
    assert BridgeCapabilities(engine=profile.engine, noweb_store=False).history == store_off
    cells = [
        profile.engine,
        profile.release,
        profile.edition.title(),
        "yes",
        "yes" if store_off else "with the store on",
        "yes",
        "by id" if caps.new_message_ids else "by text and time",
        "yes",
        "several" if caps.multi_session else "`default` only",
        "yes" if caps.media_sending else "no (Plus only)",
    ]
    return "| " + " | ".join(cells) + " |"


def expected_rows() -> list[str]:
    return [
        row(BridgeProfile(engine=engine, release=release, edition=edition))
        for engine, release, edition in product(ENGINES, RELEASES, EDITIONS)
    ]


def readme_rows() -> list[str]:
    text = README.read_text(encoding="utf-8")
    section = text.split("## Supported bridges", 1)[1].split("\n## ", 1)[0]
    table = [line for line in section.splitlines() if line.startswith("| ")]
    return table[1:]  # without the header


def test_readme_table_matches_the_profiles() -> None:
    assert readme_rows() == expected_rows()


def test_the_table_covers_every_engine_release_and_edition() -> None:
    rows = readme_rows()
    assert len(rows) == len(ENGINES) * len(RELEASES) * len(EDITIONS)
    # The three profiles the reliability suite runs on are rows of the table.
    for engine, release in (("GOWS", "2026.7.1"), ("NOWEB", "2026.5.1"), ("WEBJS", "2026.7.1")):
        assert any(line.startswith(f"| {engine} | {release} | Core |") for line in rows)
