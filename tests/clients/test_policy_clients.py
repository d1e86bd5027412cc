"""Preset-rule and alert-policy clients against the fakes: call shapes, parsing, caching, region discovery."""

from __future__ import annotations

import json
import threading

from defender_air_provider.clients.alert_policies import AlertPolicySettings
from defender_air_provider.clients.presets import RecipientConditions
from defender_air_provider.fakes.tenant import FakeTenant
from defender_air_provider.handlers import context


def bodies(tenant: FakeTenant, operation: str) -> list[dict[str, object]]:
    return [json.loads(e.body)["CmdletInput"]["Parameters"] for e in tenant.log.entries if e.operation == operation]


def test_set_conditions_sends_null_for_empty_fields(tenant: FakeTenant) -> None:
    presets = context.current().presets
    presets.set_conditions("atp", "strict", RecipientConditions.of(SentToMemberOf=["vip@contoso.onmicrosoft.com"]))
    (params,) = bodies(tenant, "Set-ATPProtectionPolicyRule")
    assert params["Identity"] == "Strict Preset Security Policy"
    assert params["SentToMemberOf"] == ["vip@contoso.onmicrosoft.com"]
    assert params["SentTo"] is None and params["ExceptIfRecipientDomainIs"] is None  # "$null" clears


def test_preset_rule_is_parsed_from_the_wire(tenant: FakeTenant) -> None:
    rule = context.current().presets.get_rule("eop", "standard")
    assert rule is not None and rule.enabled is True
    assert rule.conditions.matches(RecipientConditions.of())  # null scoping = all recipients


def test_component_policies_found_by_recommended_policy_type(tenant: FakeTenant) -> None:
    found = context.current().presets.find_component_policies("atp", "strict")
    assert found is not None and set(found) == {"SafeAttachmentPolicy", "SafeLinksPolicy"}
    assert all(name.startswith("Strict Preset Security Policy") for name in found.values())


def test_alert_policy_settings_map_to_cmdlet_parameters() -> None:
    params = AlertPolicySettings(enabled=False, notify_users=("a@contoso.com",), operations=("SearchRemoved",),
                                 threshold=5).to_parameters()
    assert params == {"Disabled": True, "NotifyUser": ["a@contoso.com"], "Operation": ["SearchRemoved"],
                      "Threshold": 5}


def test_alert_policy_list_is_shared_and_dropped_after_a_write(tenant: FakeTenant) -> None:
    client = context.current().alert_policies
    first = client.list()
    assert client.list() is first
    client.update("Content search deleted" if client.get("Content search deleted") else first[0].name,
                  AlertPolicySettings(), set())  # nothing to send: no write, cache kept
    assert client.list() is first
    built_in = next(p for p in first if p.is_built_in)
    client.update(built_in.name, AlertPolicySettings(enabled=False), {"enabled"})
    assert client.list() is not first
    assert tenant.log.count("compliance", "Get-ProtectionAlert") >= 2


def test_region_is_discovered_once_under_concurrency(tenant: FakeTenant) -> None:
    client = context.current().alert_policies
    threads = [threading.Thread(target=client.get, args=("Content search deleted",)) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert tenant.log.count("compliance", "region discovery") == 1
