"""The scale benchmark (``benchmarks/scale.py``) at a tiny scale, so its code cannot rot: every phase runs and its
tenant check passes, with and without throttling, and a no-op up sends nothing. The figures themselves are printed by
``./run bench``, never asserted here (tests never assert wall-clock time)."""

from __future__ import annotations

import pytest

from benchmarks import scale
from defender_air_provider.fakes.tenant import FakeTenant


@pytest.mark.parametrize("throttled", [False, True], ids=["no-faults", "throttled"])
def test_mixed_benchmark_phases_pass_their_tenant_checks(throttled: bool) -> None:
    result = scale.run_mixed(policies=6, groups=4, throttled=throttled)  # verify() raises on a wrong tenant
    assert [f.phase for f in result.phases] == list(scale.PHASES)
    assert result.resources == 6 + 4 + len(scale.alert_policy_names()) + 4  # + presets, default group, features
    assert result.figures("no-op up").requests == 0
    assert all(f.requests >= f.minimum for f in result.phases)
    if throttled:
        assert sum(f.throttled for f in result.phases) > 0


def test_scaling_benchmark_creates_and_deletes() -> None:
    figures = scale.run_scaling(8)
    assert figures.create_requests >= 8 and figures.delete_requests >= 8


def test_the_tenant_check_fails_on_a_tenant_without_the_program() -> None:
    with pytest.raises(scale.ScaleCheckFailed, match="policy 'Benchmark policy 000': 0 in the tenant"):
        scale.verify("create", FakeTenant("presets_on"), scale.Program.of(2, 2), {})
