"""Layer 4: every example program runs under Pulumi's mocks; its resources and inputs are asserted, and the
quickstart is then deployed through the engine harness against the emulator (what `./run quickstart` does
with the real CLI)."""

from __future__ import annotations

import runpy
from pathlib import Path

import pulumi_defender_air as air
from defender_air_provider.fakes.server import EmulatorServer
from defender_air_provider.fakes.tenant import FakeTenant
from pulumi_defender_air.air_baseline import alert_policy_names
from tests.harness.engine import EngineFactory, Registration, capture_registrations

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def run_example(name: str) -> list[Registration]:
    path = EXAMPLES / name / "__main__.py"
    return capture_registrations(lambda: runpy.run_path(str(path), run_name="__main__"))


BASELINE = "defender-air:index:AirBaseline::"


def children_of(regs: list[Registration], baseline: str) -> dict[str, Registration]:
    """The registrations whose parent is the AirBaseline named ``baseline``, by resource name."""
    assert all(r.request is not None and r.request.parent.endswith(BASELINE + baseline) for r in regs)
    return {r.name: r for r in regs}


def test_quickstart_is_one_baseline_with_strict_for_priority_accounts() -> None:
    regs = children_of(run_example("quickstart"), "baseline")
    strict, standard = regs["baseline-strict-preset"], regs["baseline-standard-preset"]
    assert strict.type_token == standard.type_token == "pulumi-python:dynamic/air:PresetPolicyAssignment"
    assert strict.inputs["preset"] == "strict"
    assert strict.inputs["recipients"]["groups"] == ["priority-accounts@contoso.onmicrosoft.com"]
    assert strict.inputs["enabled"] is True and strict.inputs["defender_for_office365"] is True
    assert standard.inputs["preset"] == "standard"
    assert "recipients" not in standard.inputs  # all recipients
    assert regs["baseline-ungrouped-devices"].inputs["automation_level"] == "full"
    assert regs["baseline-endpoint-features"].type_token == "pulumi-python:dynamic/air:EndpointAdvancedFeatures"
    policies = [r for r in regs.values() if r.type_token.endswith(":AlertPolicy")]
    assert sorted(r.inputs["name"] for r in policies) == sorted(alert_policy_names())


def test_baseline_example_is_the_whole_guide() -> None:
    regs = children_of(run_example("baseline"), "air")
    assert regs["air-ungrouped-devices"].type_token == "pulumi-python:dynamic/air:DefaultDeviceGroup"
    assert regs["air-ungrouped-devices"].inputs["automation_level"] == "full"
    assert regs["air-strict-preset"].inputs["recipients"]["groups"] == ["priority-accounts@contoso.onmicrosoft.com"]
    assert regs["air-standard-preset"].inputs["preset"] == "standard"
    assert "recipients" not in regs["air-standard-preset"].inputs
    features = regs["air-endpoint-features"]
    assert features.inputs["auto_resolve_investigated_alerts"] is True
    assert features.inputs["allow_or_block_file"] is True and features.inputs["edr_in_block_mode"] is True
    policies = [r for r in regs.values() if r.type_token == "pulumi-python:dynamic/air:AlertPolicy"]
    wanted = set(air.AIR_TRIGGER_ALERT_POLICIES) | set(air.SCUBAGEAR_REQUIRED_ALERT_POLICIES)
    assert sorted(r.inputs["name"] for r in policies) == sorted(wanted)
    assert all(r.inputs["notify_users"] == ["secops@contoso.onmicrosoft.com"] and r.inputs["enabled"] is True
               and r.inputs["ignore_missing"] is True for r in policies)
    assert len(regs) == 4 + len(policies)
    source = (EXAMPLES / "baseline" / "__main__.py").read_text(encoding="utf-8")
    code = [line for line in source.split('"""')[-1].splitlines() if line.strip()]
    assert len(code) <= 12  # "the whole guide in about ten lines"
    assert (EXAMPLES / "baseline" / "Pulumi.yaml").exists() and (EXAMPLES / "baseline" / "requirements.txt").exists()


def test_quickstart_deploys_against_the_emulator(engine_factory: EngineFactory) -> None:
    tenant = FakeTenant("presets_on")
    with EmulatorServer(tenant, host="127.0.0.1", port=0) as server:
        engine = engine_factory(config={"defender-air:emulatorUrl": server.url})
        registrations = run_example("quickstart")
        assert len(registrations) == 4 + len(alert_policy_names())
        alert_policies = [r for r in registrations if r.type_token.endswith(":AlertPolicy")]
        assert len(alert_policies) == len(alert_policy_names())
        assert all(r.inputs["ignore_missing"] is True for r in alert_policies)  # works on every tenant
        states = [engine.up(reg).state for reg in registrations]
        assert tenant.exchange.rule("eop", "strict")["State"] == "Enabled"  # type: ignore[index]
        ungrouped = next(g for g in tenant.portal.groups() if g["IsUnassignedMachineGroup"])
        assert ungrouped["AutoRemediationLevel"] == 3  # Full
        assert tenant.exchange.rule("atp", "strict")["SentToMemberOf"] == [  # type: ignore[index]
            "priority-accounts@contoso.onmicrosoft.com"]
        assert tenant.portal.advanced_features()["EnableWdavPassiveModeRemediation"] is True
        tenant.log.clear()
        again = [engine.up(reg, state) for reg, state in zip(run_example("quickstart"), states, strict=True)]
        assert {s.step for s in again} == {"same"}
        assert tenant.log.count() == 0


def test_alert_policies_example_pins_every_air_trigger_and_declares_one_custom_alert(
        engine_factory: EngineFactory) -> None:
    regs = run_example("alert-policies")
    wanted = set(air.AIR_TRIGGER_ALERT_POLICIES) | set(air.SCUBAGEAR_REQUIRED_ALERT_POLICIES)
    built_ins = [r for r in regs if r.inputs["name"] in wanted]
    assert sorted(r.inputs["name"] for r in built_ins) == sorted(wanted)  # each once
    assert all(r.inputs["enabled"] is True and r.inputs["notify_users"] == ["secops@contoso.onmicrosoft.com"]
               and r.inputs["notification_enabled"] is True and r.inputs["ignore_missing"] is True
               for r in built_ins)
    (custom,) = [r for r in regs if r not in built_ins]
    assert custom.inputs["threat_type"] == "Activity" and custom.inputs["aggregation_type"] == "None"
    assert custom.inputs["operations"] == ["SearchRemoved"] and custom.inputs["ignore_missing"] is False

    tenant = FakeTenant("presets_on", compliance_e5=False)  # a single-event alert needs no E5
    with EmulatorServer(tenant, host="127.0.0.1", port=0) as server:
        engine = engine_factory(config={"defender-air:emulatorUrl": server.url})
        states = [engine.up(reg).state for reg in regs]
        assert tenant.log.count("compliance", "New-ProtectionAlert") == 1
        assert sum(1 for s in states if s.outputs["is_built_in"]) == len(built_ins)
        for state in states:
            assert state.outputs["present"] is True
            assert tenant.compliance.policy(state.id)["Disabled"] is False  # type: ignore[index]


def test_alert_policies_example_works_on_a_tenant_that_lacks_the_replaced_built_ins(
        engine_factory: EngineFactory) -> None:
    replaced = [e for e in air.BUILT_IN_ALERT_POLICY_CATALOGUE.values()
                if e.name in air.AIR_TRIGGER_ALERT_POLICIES and e.status is air.BuiltInAlertPolicyStatus.REPLACED]
    assert len(replaced) == 3
    tenant = FakeTenant("presets_on")
    for entry in replaced:  # "will eventually go away": a tenant where Microsoft has removed them
        assert tenant.compliance.remove_policy(entry.policy_id)
    with EmulatorServer(tenant, host="127.0.0.1", port=0) as server:
        engine = engine_factory(config={"defender-air:emulatorUrl": server.url})
        states = {reg.inputs["name"]: engine.up(reg).state for reg in run_example("alert-policies")}
    for entry in replaced:
        assert states[entry.name].outputs["present"] is False and states[entry.name].id == entry.policy_id
        assert entry.replaced_by is not None and states[entry.replaced_by].outputs["present"] is True
    assert sum(1 for s in states.values() if s.outputs["present"] is False) == 3


def test_device_groups_example(engine_factory: EngineFactory) -> None:
    regs = {r.name: r for r in run_example("device-groups")}
    tier0, servers, default = regs["tier0-servers"], regs["servers"], regs["ungrouped-devices"]
    assert tier0.inputs["automation_level"] == "semi_all_folders" and tier0.inputs["rank"] == 1
    assert {"property": "tag", "operator": "equals", "value": "Tier0"} in tier0.inputs["rules"]
    assert servers.inputs["automation_level"] == "full" and default.inputs["automation_level"] == "full"
    assert default.type_token == "pulumi-python:dynamic/air:DefaultDeviceGroup"

    tenant = FakeTenant()
    with EmulatorServer(tenant, host="127.0.0.1", port=0) as server:
        engine = engine_factory(config={"defender-air:emulatorUrl": server.url})
        states = {name: engine.up(reg).state for name, reg in regs.items()}
        t0 = tenant.portal.group(int(states["tier0-servers"].id))
        assert t0 is not None and t0["AutoRemediationLevel"] == 1
        assert {a["WcdAadGroup"]["DisplayName"] for a in t0["MachineGroupAssignments"]} == {"Tier0 Admins",
                                                                                             "SOC Analysts"}
        assert states["tier0-servers"].outputs["rank"] == 1 and states["servers"].outputs["rank"] == 2
        tenant.log.clear()
        again = [engine.up(reg, states[name]).step for name, reg in run_registrations("device-groups")]
        assert set(again) == {"same"} and tenant.log.count() == 0


def run_registrations(name: str) -> list[tuple[str, Registration]]:
    return [(r.name, r) for r in run_example(name)]
