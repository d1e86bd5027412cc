"""Layer 4: every example program runs under Pulumi's mocks; its resources and inputs are asserted, and the
quickstart is then deployed through the engine harness against the emulator (what `./run quickstart` does
with the real CLI)."""

from __future__ import annotations

import runpy
from pathlib import Path

import pulumi_defender_air as air
from defender_air_provider.fakes.server import EmulatorServer
from defender_air_provider.fakes.tenant import FakeTenant
from tests.harness.engine import EngineFactory, Registration, capture_registrations

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def run_example(name: str) -> list[Registration]:
    path = EXAMPLES / name / "__main__.py"
    return capture_registrations(lambda: runpy.run_path(str(path), run_name="__main__"))


def test_quickstart_declares_strict_for_priority_accounts_and_standard_for_everyone() -> None:
    regs = {r.name: r for r in run_example("quickstart")}
    strict, standard = regs["strict-preset"], regs["standard-preset"]
    assert strict.type_token == standard.type_token == "pulumi-python:dynamic/air:PresetPolicyAssignment"
    assert strict.inputs["preset"] == "strict"
    assert strict.inputs["recipients"]["groups"] == ["priority-accounts@contoso.onmicrosoft.com"]
    assert strict.inputs["enabled"] is True and strict.inputs["defender_for_office365"] is True
    assert standard.inputs["preset"] == "standard"
    assert "recipients" not in standard.inputs  # all recipients


def test_quickstart_deploys_against_the_emulator(engine_factory: EngineFactory) -> None:
    tenant = FakeTenant("presets_on")
    with EmulatorServer(tenant, host="127.0.0.1", port=0) as server:
        engine = engine_factory(config={"defender-air:emulatorUrl": server.url})
        registrations = run_example("quickstart")
        assert len(registrations) == 2 + len(air.AIR_TRIGGER_ALERT_POLICIES)
        states = [engine.up(reg).state for reg in registrations]
        assert tenant.exchange.rule("eop", "strict")["State"] == "Enabled"  # type: ignore[index]
        assert tenant.exchange.rule("atp", "strict")["SentToMemberOf"] == [  # type: ignore[index]
            "priority-accounts@contoso.onmicrosoft.com"]
        tenant.log.clear()
        again = [engine.up(reg, state) for reg, state in zip(run_example("quickstart"), states, strict=True)]
        assert {s.step for s in again} == {"same"}
        assert tenant.log.count() == 0
