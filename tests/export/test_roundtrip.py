"""``defender-air export`` round trip on fixed tenants (issue 9, item 6; CONTRACT.md "Command line").

The contract: the exported program, applied to the tenant it came from, writes nothing and shows no diff; the output
is deterministic (same tenant, same bytes, whatever order the services list objects in); and (export/program.py) it is
already ``ruff format``-clean. The tenants:

* the emulator's seed, as it starts;
* a brownfield tenant: names that are hard to write as Python (quotes, backslashes, keywords, a leading digit, two
  names with the same slug, no ASCII at all), built-ins changed by an admin, sparse portal priorities, user access by
  unique, ambiguous and stale Entra names, the Strict preset on with recipients and exclusions;
* a tenant where some objects cannot be declared as they are: those are commented out with the reason (in the text
  and in ``export.problems``), and everything else still round-trips;
* the preset cases: no Defender for Office 365 (round trip with the EOP rules only), presets never turned on, and
  recipients that are also excluded (both commented out).

How each round trip runs and what it asserts on the way: tests/export/roundtrip.py.
"""

from __future__ import annotations

import ast
import re

from defender_air_provider.fakes.graph import (
    CONTRACTORS_SECURITY_ID,
    HELPDESK_ID,
    SOC_ANALYSTS_ID,
    TIER0_ADMINS_ID,
)
from defender_air_provider.fakes.tenant import FakeTenant
from tests.export.roundtrip import (
    RoundTrip,
    assert_matches_tenant,
    export_of,
    program_of,
    reordered_copy,
    round_trip,
    ruff_format_diff,
)

SECOPS = "secops@contoso.onmicrosoft.com"
VIP = "vip@contoso.onmicrosoft.com"
CEO = "ceo@contoso.onmicrosoft.com"
ZWSP = "\u200b"
GONE_ID = "0b7c4e1d-9a2f-4c3b-8d5e-6f7a8b9c0d1e"  # assigned in the portal, absent from Entra


def _policy_id(tenant: FakeTenant, name: str) -> str:
    """The ImmutableId of the policy with this exact name (built-in names may end with a zero-width space)."""
    [found] = [p["ImmutableId"] for p in tenant.compliance.policies() if p["Name"] == name]
    return str(found)


def _rows(*rules: tuple[int, int, str]) -> list[dict[str, object]]:
    """GroupRules as the portal keeps them: (OperatorType, Property, PropertyValue), plus the placeholder row the
    portal shows for each property without a rule (docs/wire/defender-portal.md §3.2)."""
    used = {prop for _, prop, _ in rules}
    rows = [{"OperatorType": op, "Property": prop, "PropertyValue": value} for op, prop, value in rules]
    rows += [{"OperatorType": 0, "Property": prop, "PropertyValue": ""} for prop in range(5) if prop not in used]
    return rows


def _assigned(*groups: tuple[str, str]) -> list[dict[str, object]]:
    return [{"WcdAadGroup": {"ObjectId": object_id, "DisplayName": name}} for object_id, name in groups]


def _given(scope: dict[str, object]) -> dict[str, object]:
    """A nested object's arguments as registered: the SDK sends the unset ones as None."""
    return {key: value for key, value in scope.items() if value is not None}


def _assert_round_trips(tenant: FakeTenant) -> RoundTrip:
    trip = round_trip(tenant)
    assert_matches_tenant(tenant, trip)
    assert ruff_format_diff(trip.text) == ""
    names = [s.registration.name for s in trip.steps]
    assert len(names) == len(set(names)) and all(re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", n) for n in names)
    return trip


def _assert_deterministic(tenant: FakeTenant, text: str) -> None:
    assert program_of(export_of(tenant)) == text
    assert program_of(export_of(reordered_copy(tenant))) == text


# ---------------------------------------------------------------------------------------------- (a) the seed
def test_the_seeded_tenant_round_trips_with_no_write_and_no_diff() -> None:
    tenant = FakeTenant("presets_on")
    trip = _assert_round_trips(tenant)
    assert trip.export.problems == []
    assert trip.export.counts() == {"EndpointAdvancedFeatures": 1, "DefaultDeviceGroup": 1, "DeviceGroup": 5,
                                    "AlertPolicy": len(tenant.compliance.policies()), "PresetPolicyAssignment": 2}
    # The seed's own quirks reach the program as they are: a group name with a leading space, the zero-width space
    # at the end of some built-in names, user access by (unique) Entra name.
    assert 'display_name=" sevenkingdoms domain",' in trip.text
    assert 'name="Email messages removed after delivery\\u200b",' in trip.text
    assert 'user_groups=["SOC Analysts", "Tier0 Admins"],' in trip.text
    assert sorted(trip.step("tier0-servers").refreshed.outputs["user_group_ids"]) == sorted([TIER0_ADMINS_ID,
                                                                                      SOC_ANALYSTS_ID])
    _assert_deterministic(tenant, trip.text)


# ---------------------------------------------------------------------------------------------- (b) brownfield
TRICKY_NAMES = (
    'Finance "VIP" mailbox access',  # double quotes: written in single quotes
    "O'Brien's forwarding rules",  # a single quote
    "Both ' and \" quotes",  # both: escaped
    "Share \\\\fs01\\finance deleted",  # backslashes
    "class",  # slugs to a keyword
    "import",
    "1st floor printers",  # a leading digit
    "Finance laptops",  # these two have the same slug
    "finance-laptops!",
    "air",  # the program's own import
    "Überwachung Café",  # folds to ASCII
    "日本語のアラート",  # no ASCII at all: the fallback name
)


def brownfield() -> FakeTenant:
    tenant = FakeTenant("presets_on")
    compliance = tenant.compliance
    severities = ("Low", "Medium", "High", "Informational")
    categories = ("ThreatManagement", "DataGovernance", "Others", "MailFlow")
    for index, name in enumerate(TRICKY_NAMES):
        compliance.add_custom(Name=name, ThreatType="Activity", Category=categories[index % 4],
                              Severity=severities[index % 4], AggregationType="None",
                              Operation=["New-InboxRule", "Set-InboxRule"][: 1 + index % 2],
                              NotifyUser=[SECOPS] if index % 3 else ["TenantAdmins", VIP],
                              Disabled=index % 5 == 0, NotificationEnabled=index % 2 == 0)
    compliance.add_custom(Name="Mass download (aggregated)", ThreatType="Activity", Category="DataGovernance",
                          Severity="High", AggregationType="SimpleAggregation", Threshold=15, TimeWindow=120,
                          Operation=["FileDownloaded"], NotifyUser=[SECOPS], Comment='Tuned: see "runbook" \\ 7',
                          NotifyUserThrottleThreshold=3, NotifyUserThrottleWindow=60)
    compliance.add_custom(Name="Malware campaign", ThreatType="Malware", Category="ThreatManagement",
                          Severity="Medium", AggregationType="None", NotifyUser=["TenantAdmins"])
    # Built-ins an admin changed in the portal.
    compliance.edit_policy(_policy_id(tenant, "Suspicious email sending patterns detected"), Disabled=True,
                           NotifyUser=[SECOPS, "TenantAdmins"])
    compliance.edit_policy(_policy_id(tenant, f"Email messages removed after delivery{ZWSP}"),
                           NotificationEnabled=True, NotifyUser=[SECOPS])
    compliance.edit_policy(_policy_id(tenant, "Phish delivered due to an ETR override"), Disabled=True)

    portal = tenant.portal
    # Sparse priorities, as a portal where groups were added and removed over the years has them.
    for group_id, priority in ((15, 10), (16, 20), (105, 30), (106, 40), (107, 90)):
        portal.edit_group(group_id, Priority=priority)
    portal.add_group(Name="Finance laptops", Priority=35, AutoRemediationLevel=3, Description="Tagged by Intune",
                     GroupRules=_rows((2, 2, "Finance"), (0, 0, "FIN-"), (0, 0, "fin-"),
                                      (1, 1, "corp.contoso.com")),
                     # Assigned when Helpdesk had another name: the portal keeps that one with this assignment.
                     MachineGroupAssignments=_assigned((CONTRACTORS_SECURITY_ID, "Contractors"),
                                                       (HELPDESK_ID, "Service desk (old)")))
    portal.add_group(Name='Servers "DMZ" \\ edge', Priority=60, AutoRemediationLevel=0,
                     Description="Say \"no\" to C:\\temp", GroupRules=_rows(
                         (4, 3, '["WindowsServer2022", "WindowsServer2019"]'), (3, 0, "dmz")))
    portal.add_group(Name="class", Priority=75, AutoRemediationLevel=2)
    ungrouped = next(g for g in portal.groups() if g["IsUnassignedMachineGroup"])
    portal.edit_group(ungrouped["MachineGroupId"], AutoRemediationLevel=1,
                      MachineGroupAssignments=_assigned((HELPDESK_ID, "Helpdesk")))

    for kind in ("eop", "atp"):
        tenant.exchange.edit_rule(kind, "strict", State="Enabled", SentToMemberOf=[VIP],
                                  RecipientDomainIs=["contoso.onmicrosoft.com"], ExceptIfSentTo=[CEO])
        tenant.exchange.edit_rule(kind, "standard", ExceptIfRecipientDomainIs=["fabrikam.com"])
    tenant.portal.edit_advanced_features(EnableWdavPassiveModeRemediation=True, MagellanOptOut=True,
                                         ShowUserAadProfile=False)
    return tenant


def test_a_brownfield_tenant_round_trips_with_no_write_and_no_diff() -> None:
    tenant = brownfield()
    trip = _assert_round_trips(tenant)
    assert trip.export.problems == []
    text = trip.text
    # Names as Python: the literal that needs fewest escapes, and variables that are valid and unique.
    for line in (
        "name='Finance \"VIP\" mailbox access',",
        "name=\"O'Brien's forwarding rules\",",
        "name=\"Both ' and \\\" quotes\",",
        'name="Share \\\\\\\\fs01\\\\finance deleted",',
        'class_ = air.DeviceGroup(\n    "class",', 'class_2 = air.AlertPolicy(\n    "class-2",',
        'import_ = air.AlertPolicy(\n    "import",',
        'n1st_floor_printers = air.AlertPolicy(\n    "1st-floor-printers",',
        "air_ = air.AlertPolicy(", "uberwachung_cafe = air.AlertPolicy(",
        'finance_laptops = air.DeviceGroup(\n    "finance-laptops",',
        'finance_laptops_2 = air.AlertPolicy(\n    "finance-laptops-2",',
        'finance_laptops_3 = air.AlertPolicy(\n    "finance-laptops-3",',
        "display_name='Servers \"DMZ\" \\\\ edge',",
    ):
        assert line in text, line
    assert re.search(r'\nalert_policy_[0-9a-f]{8} = air\.AlertPolicy\(\n    "alert-policy-[0-9a-f]{8}",\n'
                     r'    name="日本語のアラート",', text)
    # User access: by name where Entra has exactly that group by it; by object id, with the reason, where two have it.
    finance = trip.step("finance-laptops")
    assert finance.registration.inputs["user_groups"] == [CONTRACTORS_SECURITY_ID, "Helpdesk"]
    assert f'"{CONTRACTORS_SECURITY_ID}",  # \'Contractors\' (2 Entra groups have this name)' in text
    assert sorted(finance.refreshed.outputs["user_group_ids"]) == sorted([CONTRACTORS_SECURITY_ID, HELPDESK_ID])
    # Helpdesk is assigned twice, once under its old name: it goes by the name only it has in Entra, in both places
    # and whatever order the portal lists the groups in (found by the property test: it went by the first listed).
    assert trip.step("ungrouped-devices").registration.inputs["user_groups"] == ["Helpdesk"]
    # Ranks are positions, whatever the portal's Priority values.
    ranks = {s.registration.name: s.registration.inputs["rank"] for s in trip.of_kind("DeviceGroup")}
    assert ranks == {"sevenkingdoms-domain": 1, "essos-domain": 2, "alextesting": 3, "finance-laptops": 4,
                     "tier0-servers": 5, "servers-dmz-edge": 6, "class": 7, "workstations": 8}
    strict = trip.step("strict-preset").registration.inputs
    assert strict["enabled"] is True and strict["defender_for_office365"] is True
    assert _given(strict["recipients"]) == {"groups": [VIP], "domains": ["contoso.onmicrosoft.com"]}
    assert _given(strict["exclusions"]) == {"users": [CEO]}
    # Only what is set is written (check used to fill the empty scopes back in, as ``users=[]``).
    assert "=[]," not in text
    disabled = trip.step("suspicious-email-sending-patterns-detected").registration.inputs
    assert disabled["enabled"] is False and disabled["notify_users"] == [SECOPS, "TenantAdmins"]
    features = trip.step("endpoint-advanced-features").registration.inputs
    assert (features["edr_in_block_mode"], features["device_discovery"], features["show_user_details"]) == \
        (True, False, False)
    _assert_deterministic(tenant, text)


# ---------------------------------------------------------------------------------------------- (c) left out
def cannot_round_trip() -> FakeTenant:
    # rule_removed: the Strict preset's rules are gone (its component policies stay), as if never turned on.
    tenant = FakeTenant("rule_removed")
    portal = tenant.portal
    portal.add_group(Name="Legacy kiosks", Priority=6, AutoRemediationLevel=7,
                     GroupRules=_rows((2, 2, "kiosk")))  # a level no source names
    portal.add_group(Name="Old admins", Priority=7, AutoRemediationLevel=3,
                     MachineGroupAssignments=_assigned((GONE_ID, "Old admins group")))
    portal.add_group(Name="Other property", Priority=8, AutoRemediationLevel=3,
                     GroupRules=[{"OperatorType": 0, "Property": 4, "PropertyValue": "x"}])  # Property 4: no UI form
    # Names the services tell apart and this library does not (found by exploring the round trip: the program failed
    # to run, as the SDK refuses two resources claiming one name).
    portal.add_group(Name="Kiosks", Priority=9, AutoRemediationLevel=3)
    portal.add_group(Name=" Kiosks", Priority=10, AutoRemediationLevel=1)
    for name in ("Payroll export", f"payroll export{ZWSP}"):
        tenant.compliance.add_custom(Name=name, ThreatType="Activity", Category="Others", Severity="Low",
                                     AggregationType="None", Operation=["FileDownloaded"], NotifyUser=[SECOPS])
    tenant.exchange.edit_rule("atp", "standard", State="Disabled")  # EOP on, ATP off
    tenant.compliance.add_custom(Name="Notify a display name", ThreatType="Activity", Category="Others",
                                 Severity="Low", AggregationType="None", Operation=["Set-Mailbox"],
                                 NotifyUser=["Security Team"])
    return tenant


def test_objects_that_cannot_round_trip_are_commented_out_with_the_reason_and_the_rest_round_trips() -> None:
    tenant = cannot_round_trip()
    trip = _assert_round_trips(tenant)
    export, text = trip.export, trip.text
    left_out = {d.resource_name: d for d in export.declarations if not d.declared}
    assert set(left_out) == {"legacy-kiosks", "old-admins", "other-property", "kiosks-2", "payroll-export",
                             "payroll-export-2", "strict-preset"}
    assert {s.registration.name for s in trip.steps}.isdisjoint(left_out)

    # Each one is in the text as a commented-out resource (valid Python once uncommented), with the reason above
    # it, and listed in the docstring; each reason is also a line of export.problems.
    assert "7 object(s) could not be declared as they are" in text
    for name, declaration in left_out.items():
        variable = declaration.variable
        assert f"- {declaration.definition.name} {name}\n" in text
        block = re.search(rf"((?:# .*\n)+)# {variable} = air\.{declaration.definition.name}\(\n((?:# .*\n)*?)# \)\n",
                          text)
        assert block is not None, name
        assert "# Not declared: " in block.group(1)
        ast.parse(f"{variable} = air.{declaration.definition.name}(\n"
                  + "".join(line[2:] + "\n" for line in block.group(2).splitlines()) + ")\n")
        assert any(p.startswith(f"{declaration.definition.name} {name}: ") for p in export.problems), name
    assert "the portal's value 7, which no source names" in left_out["legacy-kiosks"].problems[0]
    assert '#     automation_level="7",' in text
    assert f"user group {GONE_ID} is assigned to it in the portal but no longer exists in Entra" in \
        left_out["old-admins"].problems[0]
    assert f'#         "{GONE_ID}",  # \'Old admins group\': no longer in Entra' in text
    assert "refused by the resource's check" in left_out["other-property"].problems[0]
    assert "the Strict preset was never turned on in this tenant" in left_out["strict-preset"].problems[0]
    # Of two device groups whose names differ only in surrounding spaces the first is declared; of two custom alert
    # policies whose names differ only in case and a zero-width space, neither (either could be adopted for the other).
    assert trip.step("kiosks").refreshed.outputs["display_name"] == "Kiosks"
    assert "differs from that of the device group 'Kiosks' only in surrounding spaces" in \
        left_out["kiosks-2"].problems[0]
    assert "the tenant also has the alert policy 'payroll export\\u200b', whose name differs only in case or a " \
           "zero-width space" in left_out["payroll-export"].problems[0]
    assert "the tenant also has the alert policy 'Payroll export'" in left_out["payroll-export-2"].problems[0]

    # Declared, with what could not be kept as the tenant has it left unmanaged (and said so).
    standard = trip.step("standard-preset")
    assert standard.registration.inputs["defender_for_office365"] is False
    assert "defender_for_office365=False: the ATP rule is off while the EOP rule is on." in \
        " ".join(line.lstrip("# ") for line in text.splitlines())
    assert "PresetPolicyAssignment standard-preset: the ATP rule is off while the EOP rule is on; " \
           "exported with defender_for_office365=False" in export.problems
    notify = trip.step("notify-a-display-name")
    assert "notify_users" not in notify.registration.inputs
    assert notify.refreshed.outputs["notify_users"] == ["Security Team"]
    assert any(p.startswith("AlertPolicy notify-a-display-name: notify_users left unmanaged") for p in export.problems)
    assert len(export.problems) == 9
    _assert_deterministic(tenant, text)


def test_a_tenant_without_defender_for_office365_round_trips_with_the_eop_rules_only() -> None:
    """The ATP cmdlets are refused there: both presets are declared with defender_for_office365=False, saying why, and
    apply with no write."""
    tenant = FakeTenant("no_defender_for_office365")
    trip = _assert_round_trips(tenant)
    presets = trip.of_kind("PresetPolicyAssignment")
    assert [s.registration.name for s in presets] == ["standard-preset", "strict-preset"]
    assert all(s.registration.inputs["defender_for_office365"] is False for s in presets)
    assert sorted(p for p in trip.export.problems if "the ATP rules could not be read" in p) == [
        f"PresetPolicyAssignment {preset}-preset: the ATP rules could not be read "
        "(Get-ATPProtectionPolicyRule was refused: PermissionDenied; a tenant without Defender for Office 365, or an "
        "identity without the role to read them); exported with defender_for_office365=False"
        for preset in ("standard", "strict")]


def test_presets_never_turned_on_or_with_overlapping_scopes_are_commented_out() -> None:
    """No rule at all: nothing to adopt. An address both included and excluded: the resource's check refuses it (the
    service's outcome for such a rule is not documented), so it is not declared as it is."""
    never = export_of(FakeTenant("presets_never_on"))
    assert [(d.resource_name, d.declared) for d in never.declarations
            if d.definition.name == "PresetPolicyAssignment"] == [("standard-preset", False), ("strict-preset", False)]
    assert "# standard_preset = air.PresetPolicyAssignment(" in program_of(never)

    tenant = FakeTenant("presets_on")
    for kind in ("eop", "atp"):
        tenant.exchange.edit_rule(kind, "strict", SentTo=[CEO], ExceptIfSentTo=[CEO])
    overlap = export_of(tenant)
    [strict] = [d for d in overlap.declarations if d.resource_name == "strict-preset"]
    assert not strict.declared
    assert f"{CEO!r} is in both recipients.users and exclusions.users" in strict.problems[0]
    assert "# strict_preset = air.PresetPolicyAssignment(" in program_of(overlap)
    assert ruff_format_diff(program_of(overlap)) == ""
