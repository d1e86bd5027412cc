"""AirBaseline's children through the real dynamic-provider server, driven one by one like the Pulumi engine, against
the emulator (issue 8, "What it must show"): on a tenant where both presets are scoped to a pilot group, three alerts
ScubaGear requires are disabled and a legacy built-in is missing, the baseline leaves Standard on for everyone, Strict
on for the given group, every AIR and ScubaGear alert enabled, and does not fail on the missing built-in."""

from __future__ import annotations

import pulumi_defender_air as air
from defender_air_provider.fakes.server import EmulatorServer
from defender_air_provider.fakes.tenant import FakeTenant
from pulumi_defender_air.air_baseline import alert_policy_names
from tests.harness.engine import EngineFactory, capture_registrations

PILOT = "air-pilot@contoso.onmicrosoft.com"
PRIORITY = "priority-accounts@contoso.onmicrosoft.com"
DISABLED = (  # required by ScubaGear MS.DEFENDER.5.1; the first two are not AIR triggers
    "Suspicious Email Forwarding Activity",
    "Messages have been delayed",
    "A potentially malicious URL click was detected",
)
MISSING = "Email messages containing malware removed after delivery"  # replaced: "will eventually go away"


def catalogue_id(name: str) -> str:
    entry = air.built_in_alert_policy(name)
    assert entry is not None, name
    return entry.policy_id


def pilot_tenant() -> FakeTenant:
    tenant = FakeTenant("presets_on")
    for kind in ("eop", "atp"):
        for preset in ("standard", "strict"):
            tenant.exchange.edit_rule(kind, preset, SentToMemberOf=[PILOT])
    for name in DISABLED:
        tenant.compliance.edit_policy(catalogue_id(name), Disabled=True)
    assert tenant.compliance.remove_policy(catalogue_id(MISSING))
    return tenant


def test_baseline_turns_a_pilot_tenant_into_the_guide(engine_factory: EngineFactory) -> None:
    tenant = pilot_tenant()
    assert set(DISABLED) <= set(air.SCUBAGEAR_REQUIRED_ALERT_POLICIES)
    assert MISSING in air.AIR_TRIGGER_ALERT_POLICIES
    regs = capture_registrations(lambda: air.AirBaseline(
        "baseline", strict_recipients=air.RecipientScopeArgs(groups=[PRIORITY]),
        alert_notify_users=["secops@contoso.onmicrosoft.com"]))
    with EmulatorServer(tenant, host="127.0.0.1", port=0) as server:
        engine = engine_factory(config={"defender-air:emulatorUrl": server.url})
        states = {reg.name: engine.up(reg).state for reg in regs}  # none fails, the missing built-in included

        # Both presets on: Standard for everyone, Strict for the given group, EOP and ATP rules alike.
        for kind in ("eop", "atp"):
            standard = tenant.exchange.rule(kind, "standard")
            strict = tenant.exchange.rule(kind, "strict")
            assert standard is not None and strict is not None
            assert standard["State"] == strict["State"] == "Enabled"
            assert not standard["SentToMemberOf"] and not standard["SentTo"] and not standard["RecipientDomainIs"]
            assert strict["SentToMemberOf"] == [PRIORITY]

        # Every AIR and ScubaGear alert enabled; the missing legacy one kept with present=False.
        for name in alert_policy_names():
            state = states[f"baseline-alert-{name.lower().replace(' ', '-')}"]
            if name == MISSING:
                assert state.outputs["present"] is False and tenant.compliance.policy(catalogue_id(name)) is None
                continue
            policy = tenant.compliance.policy(catalogue_id(name))
            assert policy is not None and policy["Disabled"] is False, name
            assert state.outputs["present"] is True and state.outputs["enabled"] is True
            assert [u.lower() for u in policy["NotifyUser"]] == ["secops@contoso.onmicrosoft.com"]

        ungrouped = next(g for g in tenant.portal.groups() if g["IsUnassignedMachineGroup"])
        assert ungrouped["AutoRemediationLevel"] == 3  # Full
        features = tenant.portal.advanced_features()
        assert features["AutoResolveInvestigatedAlerts"] is True and features["BlockListEnabled"] is True
        assert features["EnableWdavPassiveModeRemediation"] is True

        # The same baseline again: nothing to do, no request.
        tenant.log.clear()
        again = capture_registrations(lambda: air.AirBaseline(
            "baseline", strict_recipients=air.RecipientScopeArgs(groups=[PRIORITY]),
            alert_notify_users=["secops@contoso.onmicrosoft.com"]))
        assert {engine.up(reg, states[reg.name]).step for reg in again} == {"same"}
        assert tenant.log.count() == 0
