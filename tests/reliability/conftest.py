"""The reliability suite reports what it measured at the end of every test run."""

from __future__ import annotations

from collections.abc import Callable

import pytest

_FIGURES: dict[str, str] = {}


@pytest.fixture
def report() -> Callable[[str, object], None]:
    """Record one measured figure under a name; the run prints them all at the end."""

    def record(name: str, value: object) -> None:
        _FIGURES[name] = str(value)

    return record


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Print the figures the reliability tests measured (RELIABILITY.md quotes them)."""
    if not _FIGURES:
        return
    terminalreporter.section("reliability figures")
    for name, value in _FIGURES.items():
        terminalreporter.write_line(f"{name}: {value}")
