"""PresetPolicyAssignment create/read/update/delete against the stateful Exchange fake (in-process)."""

from collections.abc import Callable
from typing import Any

import pytest

from defender_air_provider.core.errors import DefenderAirError, PermissionDenied
from defender_air_provider.fakes.tenant import FakeTenant
from defender_air_provider.handlers.preset_policy_assignment import PresetPolicyAssignmentProvider

P = PresetPolicyAssignmentProvider()
VIP = "priority-accounts@contoso.onmicrosoft.com"


def props(**overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"preset": "strict", "enabled": True, "defender_for_office365": True,
                            "recipients": {"groups": [VIP]}, "exclusions": None}
    base.update(overrides)
    return base


def outs(result: Any) -> dict[str, Any]:
    assert result.outs is not None
    return dict(result.outs)


def writes(tenant: FakeTenant) -> list[str]:
    return [op for op in tenant.log.operations("exchange") if not op.lower().startswith("get-")]


def test_create_adopts_the_rules_and_writes_both_identically(tenant: FakeTenant) -> None:
    result = P.create(props(exclusions={"users": ["ceo@contoso.onmicrosoft.com"]}))
    assert result.id == "strict"
    for kind in ("eop", "atp"):
        rule = tenant.exchange.rule(kind, "strict")
        assert rule is not None
        assert rule["State"] == "Enabled"
        assert rule["SentToMemberOf"] == [VIP]
        assert rule["ExceptIfSentTo"] == ["ceo@contoso.onmicrosoft.com"]
        assert rule["SentTo"] is None and rule["RecipientDomainIs"] is None
        assert rule["Priority"] == 0
    assert outs(result)["eop_rule_state"] == "Enabled" and outs(result)["atp_rule_state"] == "Enabled"
    assert tenant.log.count("exchange") <= 6
    assert sorted(writes(tenant)) == ["Enable-ATPProtectionPolicyRule", "Enable-EOPProtectionPolicyRule",
                                      "Set-ATPProtectionPolicyRule", "Set-EOPProtectionPolicyRule"]


def test_create_when_already_matching_writes_nothing(tenant: FakeTenant) -> None:
    # Seeded tenant: Standard rules enabled, no conditions (= all recipients).
    P.create(props(preset="standard", recipients=None))
    assert writes(tenant) == []


def test_read_returns_live_values_and_inputs(tenant: FakeTenant) -> None:
    created = P.create(props())
    tenant.exchange.edit_rule("eop", "strict", SentToMemberOf=[VIP, "board@contoso.onmicrosoft.com"])
    tenant.exchange.edit_rule("atp", "strict", State="Disabled")
    read = P.read("strict", outs(created))
    assert read.id == "strict"
    assert read.outs is not None and read.inputs is not None
    assert sorted(read.inputs["recipients"]["groups"]) == sorted([VIP, "board@contoso.onmicrosoft.com"])
    assert read.outs["atp_rule_state"] == "Disabled"
    # The next diff (program unchanged) shows the drift and an update repairs it.
    assert P.diff("strict", read.outs, props()).changes is True
    P.update("strict", read.outs, props())
    assert tenant.exchange.rule("eop", "strict")["SentToMemberOf"] == [VIP]  # type: ignore[index]
    assert tenant.exchange.rule("atp", "strict")["State"] == "Enabled"  # type: ignore[index]


def test_read_of_a_removed_rule_means_gone(tenant: FakeTenant) -> None:
    created = P.create(props())
    tenant.exchange.remove_rule("eop", "strict")
    assert not P.read("strict", outs(created)).id


def test_update_disables_before_widening_the_scope(tenant: FakeTenant) -> None:
    created = P.create(props())
    tenant.log.clear()
    P.update("strict", outs(created), props(enabled=False, recipients=None))
    ops = writes(tenant)
    assert ops.index("Disable-EOPProtectionPolicyRule") < ops.index("Set-EOPProtectionPolicyRule")
    assert tenant.exchange.rule("eop", "strict")["SentToMemberOf"] is None  # type: ignore[index]


def test_delete_turns_the_preset_off_and_keeps_recipients(tenant: FakeTenant) -> None:
    created = P.create(props())
    P.delete("strict", outs(created))
    for kind in ("eop", "atp"):
        rule = tenant.exchange.rule(kind, "strict")
        assert rule is not None and rule["State"] == "Disabled" and rule["SentToMemberOf"] == [VIP]


def test_eop_only_leaves_the_atp_rule_alone(tenant: FakeTenant) -> None:
    P.create(props(defender_for_office365=False))
    assert tenant.exchange.rule("atp", "strict")["State"] == "Disabled"  # type: ignore[index]
    assert not any("ATP" in op for op in tenant.log.operations("exchange"))


def test_never_turned_on_fails_with_the_portal_instruction_and_writes_nothing(
        make_tenant: Callable[..., FakeTenant]) -> None:
    tenant = make_tenant("presets_never_on")
    with pytest.raises(DefenderAirError) as err:
        P.create(props())
    message = str(err.value)
    assert "PresetPolicyAssignment 'strict' (create)" in message
    assert "never turned on" in message and "Defender portal" in message and "Nothing was changed" in message
    assert writes(tenant) == []


def test_removed_rule_is_recreated_from_the_preset_policies(make_tenant: Callable[..., FakeTenant]) -> None:
    tenant = make_tenant("rule_removed")
    P.create(props())
    for kind in ("eop", "atp"):
        rule = tenant.exchange.rule(kind, "strict")
        assert rule is not None and rule["State"] == "Enabled" and rule["SentToMemberOf"] == [VIP]
        assert rule["Priority"] == 0
    eop = tenant.exchange.rule("eop", "strict")
    assert eop is not None and str(eop["AntiPhishPolicy"]).startswith("Strict Preset Security Policy")


def test_no_defender_for_office365_says_what_to_do(make_tenant: Callable[..., FakeTenant]) -> None:
    tenant = make_tenant("no_defender_for_office365")
    with pytest.raises(PermissionDenied, match="defender_for_office365=False"):
        P.create(props())
    assert writes(tenant) == []
    P.create(props(defender_for_office365=False))
    assert tenant.exchange.rule("eop", "strict")["State"] == "Enabled"  # type: ignore[index]


def test_create_is_idempotent(tenant: FakeTenant) -> None:
    first = P.create(props())
    tenant.log.clear()
    second = P.create(props())
    assert first.outs == second.outs
    assert writes(tenant) == []
