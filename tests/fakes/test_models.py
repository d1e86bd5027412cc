"""The fakes' backend models without HTTP: typed records and the services' rules, each raising its typed error.

The wire tests (test_*_fake.py) check the same rules through the responders; these pin the split itself: a rule
lives in a backend and is decided from typed records, and a refused change applies nothing.
"""

from __future__ import annotations

import copy

import pytest

from defender_air_provider.fakes.compliance import ComplianceBackend
from defender_air_provider.fakes.compliance.exceptions import (
    DuplicateAlertPolicyName,
    E5Required,
    RuleNotFound,
    SystemRuleNotSettable,
)
from defender_air_provider.fakes.compliance.models import KEY_ORDER, AlertPolicy, check_rules
from defender_air_provider.fakes.exchange import ExchangeBackend
from defender_air_provider.fakes.exchange.exceptions import DuplicateRuleName, InvalidPriority, PresetPriorityFixed
from defender_air_provider.fakes.exchange.models import ProtectionPolicyRule
from defender_air_provider.fakes.graph import SEED_GROUPS, GraphBackend
from defender_air_provider.fakes.graph.exceptions import ResourceNotFound
from defender_air_provider.fakes.invoke_command.exceptions import ObjectNotFound
from defender_air_provider.fakes.portal import MachineGroup, PortalBackend
from defender_air_provider.fakes.portal.exceptions import DuplicateGroupName, UngroupedNotDeletable
from defender_air_provider.fakes.records import from_wire, to_wire

URL_CLICK_ID = "a74bb32a-541b-47fb-adfd-f8c62ce3d59b"


# -- records -------------------------------------------------------------------------------------------------------

def test_records_round_trip_their_wire_objects_exactly() -> None:
    for policy in ComplianceBackend().policies():
        assert list(policy) == list(KEY_ORDER)
        assert to_wire(from_wire(AlertPolicy, policy)) == policy
    exchange = ExchangeBackend()
    for kind in ("eop", "atp"):
        for rule in exchange.rules(kind):
            assert list(ProtectionPolicyRule.from_wire(kind, rule).to_wire().items()) == list(rule.items())
    for group in PortalBackend().groups():
        assert list(MachineGroup.from_wire(group).to_wire().items()) == list(group.items())


def test_a_property_no_source_shows_is_kept_in_order() -> None:
    graph = GraphBackend()
    added = graph.add_group("Extra", futureProperty={"a": 1}, description="d")
    assert list(added)[-1] == "futureProperty" and added["description"] == "d"
    edited = graph.edit_group(added["id"], anotherOne=2, futureProperty=3)
    assert list(edited)[-2:] == ["futureProperty", "anotherOne"] and edited["futureProperty"] == 3


def test_absent_and_null_differ_on_a_machine_group() -> None:
    portal = PortalBackend()
    ungrouped = portal.group(13)
    assert ungrouped is not None and "GroupRules" not in ungrouped  # the FIXTURE's ungrouped group has none
    essos = portal.group("essos domain")
    assert essos is not None and "MachineGroupAssignments" not in essos
    edited = portal.edit_group("essos domain", MachineGroupAssignments=None)
    assert "MachineGroupAssignments" in edited and edited["MachineGroupAssignments"] is None


# -- Exchange ------------------------------------------------------------------------------------------------------

def test_preset_rules_keep_their_priority_and_names_stay_unique() -> None:
    backend = ExchangeBackend()
    standard = backend.find_rule("eop", "Standard Preset Security Policy")
    with pytest.raises(PresetPriorityFixed):
        backend.check_priority("eop", standard.policies, 0)
    with pytest.raises(DuplicateRuleName):
        backend.check_rule_name_free("eop", "strict preset security policy")
    before = backend.rules("eop")
    with pytest.raises(PresetPriorityFixed):
        backend.set_rule(standard, {"SentTo": ["a@contoso.com"], "Priority": 5})
    assert backend.rules("eop") == before  # refused: nothing applied
    with pytest.raises(ObjectNotFound):
        backend.find_rule("atp", "No Such Rule")


def test_a_custom_rule_takes_any_non_negative_priority() -> None:
    backend = ExchangeBackend()
    policies = {"HostedContentFilterPolicy": "Default", "AntiPhishPolicy": "Office365 AntiPhish Default",
                "MalwareFilterPolicy": "Default"}
    created = backend.new_rule("eop", "Custom", policies, enabled=True, changes={})
    assert created.object_state == "New" and created.priority == 2  # after the two preset rules
    rule = backend.find_rule("eop", "Custom")
    assert rule.object_state == "Unchanged"
    with pytest.raises(InvalidPriority):
        backend.set_rule(rule, {"Priority": -1})
    assert backend.set_rule(rule, {"Priority": 7}) is True
    assert backend.set_rule(backend.find_rule("eop", "Custom"), {"Priority": 7}) is False  # no-op


# -- Security & Compliance -----------------------------------------------------------------------------------------

def test_a_system_rule_is_settable_by_name_only_and_only_its_overridable_settings() -> None:
    backend = ComplianceBackend(system_rule_error_status=404)
    policy, form = backend.find(URL_CLICK_ID)
    with pytest.raises(RuleNotFound) as by_guid:
        backend.check_settable(policy, form, URL_CLICK_ID, ["Identity", "Disabled"])
    assert by_guid.value.status == 404
    policy, form = backend.find(policy.name)
    with pytest.raises(SystemRuleNotSettable, match="Severity, Filter can't be changed"):
        backend.check_settable(policy, form, policy.name, ["Identity", "Severity", "Disabled", "Filter"])
    backend.check_settable(policy, form, policy.name, ["Identity", "Disabled", "NotifyUser", "Confirm"])


def test_new_policies_follow_the_licence_and_unique_names() -> None:
    backend = ComplianceBackend(e5=False)
    count = len(backend.policies())
    settings = {"ThreatType": "Activity", "Category": "Others", "NotifyUser": ["a@contoso.com"]}
    with pytest.raises(E5Required):  # New's default AggregationType is SimpleAggregation
        backend.new_policy("Mass delete", settings, settings, dry_run=False)
    with pytest.raises(DuplicateAlertPolicyName):
        backend.new_policy("AUDIT LOGGING CHANGED", {**settings, "AggregationType": "None"}, settings, dry_run=False)
    assert backend.new_policy("Mass delete", {**settings, "AggregationType": "None"}, settings, dry_run=True)
    assert len(backend.policies()) == count  # neither the refusals nor the dry run added anything


def test_leaving_simple_aggregation_clears_a_stored_threshold() -> None:
    policy = AlertPolicy(aggregation_type="SimpleAggregation", threshold=5, time_window=90, threat_type="Activity")
    stored = copy.deepcopy(policy)
    stored.aggregation_type = "None"
    check_rules(stored, {"AggregationType"})
    assert (stored.threshold, stored.time_window) == (None, None)


# -- Defender portal -----------------------------------------------------------------------------------------------

def test_a_refused_put_applies_nothing() -> None:
    backend = PortalBackend()
    before = backend.groups()
    items = copy.deepcopy(before)
    items[1]["Name"] = items[0]["Name"].upper()
    with pytest.raises(DuplicateGroupName):
        backend.replace_groups(items)
    with pytest.raises(UngroupedNotDeletable):
        backend.replace_groups([g for g in before if not g["IsUnassignedMachineGroup"]])
    assert backend.groups() == before


def test_portal_seed_assigns_graph_seed_groups() -> None:
    graph_ids = {seed["id"] for seed in SEED_GROUPS}
    assigned = {a["WcdAadGroup"]["ObjectId"] for g in PortalBackend().groups()
                for a in g.get("MachineGroupAssignments") or []}
    assert assigned and assigned <= graph_ids


# -- Microsoft Graph -----------------------------------------------------------------------------------------------

def test_directory_lookups() -> None:
    backend = GraphBackend()
    assert [g.display_name for g in backend.list_groups(("displayName", "tier0 ADMINS"))] == ["Tier0 Admins"]
    assert len(backend.list_groups(("securityEnabled", False))) == 1
    with pytest.raises(ResourceNotFound) as missing:
        backend.get_group("00000000-0000-0000-0000-0000000000aa")
    assert missing.value.status == 404
