"""Contract: lists that define membership or scope (rules, user_groups, recipients, exclusions) are always
managed: left unset they mean empty, and an update clears what is on the service."""

from __future__ import annotations

from typing import Any

from defender_air_provider.fakes.tenant import FakeTenant
from defender_air_provider.handlers.device_group import DeviceGroupProvider
from defender_air_provider.handlers.preset_policy_assignment import PresetPolicyAssignmentProvider

PRESET = PresetPolicyAssignmentProvider()
GROUP = DeviceGroupProvider()


def outs(result: Any) -> dict[str, Any]:
    assert result.outs is not None
    return dict(result.outs)


def test_preset_exclusions_and_recipients_left_unset_are_cleared(tenant: FakeTenant) -> None:
    tenant.exchange.edit_rule("eop", "strict", SentTo=["someone@contoso.onmicrosoft.com"],
                              ExceptIfSentToMemberOf=["board@contoso.onmicrosoft.com"])
    PRESET.create({"preset": "strict"})  # neither recipients nor exclusions given
    eop = tenant.exchange.rule("eop", "strict")
    assert eop is not None and eop["SentTo"] is None and eop["ExceptIfSentToMemberOf"] is None


def test_device_group_rules_and_user_groups_left_unset_are_cleared(portal_tenant: FakeTenant) -> None:
    created = GROUP.create({"display_name": "Scoped", "automation_level": "full", "user_groups": ["SOC Analysts"],
                            "rules": [{"property": "tag", "operator": "equals", "value": "Tier0"}]})
    GROUP.update(created.id, outs(created), {"display_name": "Scoped", "automation_level": "full",
                                             "rules": [], "user_groups": []})
    group = portal_tenant.portal.group(int(created.id))
    assert group is not None and group["MachineGroupAssignments"] == []
    assert all(row["PropertyValue"] == "" for row in group["GroupRules"])
