"""Print the side-by-side reconnect-policy simulation (`scripts/bench -k policy`).

The same report as `python -m benchmarks.policy_simulation`: one seeded week of bridge
faults replayed in virtual time against ours and four other projects' policies.
"""

from __future__ import annotations

from benchmarks.policy_simulation import POLICIES, SEED, render, run_all


def test_policy_simulation() -> None:
    schedule, metrics = run_all(SEED)
    print("\n" + render(schedule, metrics))
    assert [m.name for m in metrics] == [spec.name for spec in POLICIES]
    assert schedule.seed == SEED
