"""What differs between the Home Assistant releases we support (hacs.json names the oldest)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from homeassistant.const import MAJOR_VERSION, MINOR_VERSION

__all__ = ["vol"]

# Home Assistant 2026.10 moved from voluptuous to probatio (API-compatible), and each release's
# flows and actions catch only their own library's Invalid: build schemas with the one it uses.
# By version, not by what imports: 2026.9 already installs probatio but validates with voluptuous.
if TYPE_CHECKING or (MAJOR_VERSION, MINOR_VERSION) >= (2026, 10):
    import probatio as vol
else:
    import voluptuous as vol
