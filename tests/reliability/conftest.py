"""The reliability suite: the bridge profiles it runs on, and the figures it reports.

The day, chaos and no-hammering tests run on every profile of `PROFILES` (their test ids
name it, e.g. ``test_a_day_of_faults[NOWEB-2026.5.1-CORE]``) on the current Home Assistant,
and on `PROFILES[0]` only on the oldest one we support (the release hacs.json names, which
scripts/test runs second): that run proves the code works on the older release, the matrix
needs no second pass, and the two runs stay within the time scripts/test has. The other
tests here run on the double's default profile. RELIABILITY.md, "what runs where".
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Callable, Mapping, Sequence
import json
from pathlib import Path

from homeassistant import const as ha_const
import pytest

from bridge_double import BridgeDouble, SessionStatus
from bridge_double.profile import DEFAULT_PROFILE, BridgeProfile

from ..conftest import API_KEY, ME_ID, PUSH_NAME, SESSION

PROFILES = ("GOWS-2026.7.1-CORE", "NOWEB-2026.5.1-CORE", "WEBJS-2026.7.1-CORE")
"""The bridges the suite runs on: each engine, NOWEB with its store on."""

OLDEST_HA = json.loads((Path(__file__).parents[2] / "hacs.json").read_text())["homeassistant"]
ON_OLDEST_HA = ha_const.__version__ == OLDEST_HA
"""This run is on the oldest Home Assistant we support (scripts/test's second run)."""

_FIGURES: dict[str, str] = {}


def on_profiles(
    marks: Mapping[str, pytest.MarkDecorator | Sequence[pytest.MarkDecorator]] | None = None,
) -> pytest.MarkDecorator:
    """Run a test (or a module, as ``pytestmark``) once per profile of `PROFILES`.

    ``marks`` adds marks to single profiles (e.g. an xfail for a known defect there). On the
    oldest Home Assistant only the first profile runs; the others are skipped, saying so.
    """
    params = []
    for index, name in enumerate(PROFILES):
        extra = (marks or {}).get(name, ())
        own = [extra] if isinstance(extra, pytest.MarkDecorator) else list(extra)
        if index:
            own.append(
                pytest.mark.skipif(
                    ON_OLDEST_HA,
                    reason=f"the profile matrix runs on the current Home Assistant; on the "
                    f"oldest ({OLDEST_HA}) only {PROFILES[0]}",
                )
            )
        params.append(pytest.param(name, marks=own, id=name))
    return pytest.mark.parametrize("profile", params, indirect=True)


@pytest.fixture
def profile(request: pytest.FixtureRequest) -> BridgeProfile:
    """The profile the bridge double plays: the test's parameter, else the default."""
    return BridgeProfile.parse(getattr(request, "param", str(DEFAULT_PROFILE)))


@pytest.fixture
async def bridge(socket_enabled: None, profile: BridgeProfile) -> AsyncGenerator[BridgeDouble]:
    """A running bridge double playing `profile`, with one paired, working session."""
    double = BridgeDouble(api_key=API_KEY, profile=profile)
    double.add_session(
        SESSION, status=SessionStatus.WORKING, paired=True, me_id=ME_ID, push_name=PUSH_NAME
    )
    await double.start()
    yield double
    await double.stop()


@pytest.fixture
def report(profile: BridgeProfile) -> Callable[[str, object], None]:
    """Record one measured figure under a name (the profile appended); the run prints them."""

    def record(name: str, value: object) -> None:
        _FIGURES[f"{name} [{profile}]"] = str(value)

    return record


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Print the figures the reliability tests measured (RELIABILITY.md quotes them)."""
    if not _FIGURES:
        return
    terminalreporter.section("reliability figures")
    for name, value in _FIGURES.items():
        terminalreporter.write_line(f"{name}: {value}")
