"""Reuse the test suite's fixtures (bridge double, config entry)."""

from tests.conftest import (  # noqa: F401
    auto_enable_custom_integrations,
    bridge,
    config_entry,
    quiet_slow_callback_warnings,
)
