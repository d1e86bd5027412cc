"""``X.get(name, id)`` and both call forms of every registered resource, through the real dynamic-provider server.

``X.get`` sends a ``ReadResource``; the engine answers it with its ReadStep: a ``Read`` of that id with the read's
properties (``__provider`` included) and no inputs, failing when the provider says the object does not exist.
``capture_read`` + ``Engine.read_existing`` do exactly that against the emulator, and ``resolve_outputs`` feeds
the provider's answer back to the same ``X.get`` under mocks, so the values asserted are the ones a program sees
(numbers after the SDK's output typing: the wire carries doubles).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest

import pulumi_defender_air as air
from defender_air_provider.definitions import Kind, ResourceDefinition
from defender_air_provider.fakes.graph import SOC_ANALYSTS_ID, TIER0_ADMINS_ID
from defender_air_provider.fakes.server import EmulatorServer
from defender_air_provider.fakes.tenant import FakeTenant
from defender_air_provider.registry import RESOURCES, RegisteredResource, resource
from tests.harness.engine import (
    Engine,
    EngineError,
    EngineFactory,
    Registration,
    ResourceState,
    capture_read,
    capture_registration,
    resolve_outputs,
)

ZWSP = "\u200b"
CAMPAIGN = "Email messages from a campaign removed after delivery"
CAMPAIGN_ID = "c8522cbb-9368-4e25-4ee9-08d8d899dfab"
VIP = "priority-accounts@contoso.onmicrosoft.com"
SECOPS = "secops@contoso.onmicrosoft.com"


@pytest.fixture
def tenant() -> FakeTenant:
    return FakeTenant("presets_on")


@pytest.fixture
def engine(engine_factory: EngineFactory, tenant: FakeTenant) -> Iterator[Engine]:
    with EmulatorServer(tenant, host="127.0.0.1", port=0) as server:
        yield engine_factory(config={"defender-air:emulatorUrl": server.url})


@dataclass(frozen=True)
class Live:
    state: ResourceState  # what the engine got back from Read (numbers as the wire's doubles)
    outputs: dict[str, Any]  # what the program sees on the resource returned by X.get


def get(engine: Engine, name: str, id_: str, resource_name: str = "existing") -> Live:
    """``air.<name>.get(resource_name, id_)`` as a deployment runs it."""
    cls = getattr(air, name)
    read = capture_read(lambda: cls.get(resource_name, id_))
    assert (read.type_token, read.name, read.id) == (f"pulumi-python:dynamic/air:{name}", resource_name, id_)
    state = engine.read_existing(read)
    return Live(state, resolve_outputs(lambda: cls.get(resource_name, id_), state.outputs))


def assert_typed(definition: ResourceDefinition, live: Live) -> None:
    """Every output of the definition reaches the program (null ones are left off the wire); numbers arrive as
    doubles and reach the program as ``int``."""
    assert set(definition.names) <= set(live.outputs)
    for field in definition.fields:
        raw = live.state.outputs.get(field.name)
        assert (raw is None) == (live.outputs[field.name] is None), field.name
        if field.kind is Kind.INT and raw is not None:
            assert isinstance(raw, float)  # the wire's double
            got = live.outputs[field.name]
            assert type(got) is int and got == raw, f"{field.name}: {got!r}"


def up(engine: Engine, make: Callable[[], Any]) -> ResourceState:
    step = engine.up(capture_registration(make))
    assert step.step == "create"
    return step.state


# ---------------------------------------------------------------------------------------------- existing objects
# Per resource: create (or pick) one object, return its id and the values X.get must show, taken from the tenant.
Existing = Callable[[Engine, FakeTenant], tuple[str, dict[str, Any]]]


def device_group(engine: Engine, tenant: FakeTenant) -> tuple[str, dict[str, Any]]:
    state = up(engine, lambda: air.DeviceGroup(
        "tier0", display_name="Tier 0 servers", automation_level=air.AutomationLevel.SEMI_ALL_FOLDERS,
        description="Domain controllers", rank=2, user_groups=["Tier0 Admins"],
        rules=[air.DeviceGroupRuleArgs(property=air.DeviceGroupRuleProperty.TAG,
                                       operator=air.DeviceGroupRuleOperator.EQUALS, value="Tier0")]))
    gid = state.outputs["group_id"]
    portal = tenant.portal.group(int(gid))
    assert portal is not None and portal["Priority"] == 2 and portal["AutoRemediationLevel"] == 1
    return gid, {
        "group_id": gid, "display_name": "Tier 0 servers", "automation_level": "semi_all_folders",
        "description": "Domain controllers", "rank": 2,
        "rules": [{"property": "tag", "operator": "equals", "value": "Tier0"}],
        # A read that declares no names shows the live assignment's object IDs.
        "user_groups": [TIER0_ADMINS_ID], "user_group_ids": [TIER0_ADMINS_ID],
    }


def alert_policy(engine: Engine, tenant: FakeTenant) -> tuple[str, dict[str, Any]]:
    state = up(engine, lambda: air.AlertPolicy(
        "search", name="Content search deleted in bulk", category=air.AlertCategory.THREAT_MANAGEMENT,
        threat_type=air.AlertThreatType.ACTIVITY, operations=["SearchRemoved"],
        aggregation_type=air.AlertAggregationType.SIMPLE_AGGREGATION, threshold=5, time_window=120,
        severity=air.AlertSeverity.HIGH, notify_users=[SECOPS], notify_user_throttle_threshold=4,
        notify_user_throttle_window=90))
    pid = state.outputs["policy_id"]
    service = tenant.compliance.policy(pid)
    assert service is not None and service["Threshold"] == 5 and service["TimeWindow"] == 120
    return pid, {
        "policy_id": pid, "name": "Content search deleted in bulk", "service_name": "Content search deleted in bulk",
        "is_built_in": False, "enabled": True, "category": "ThreatManagement", "threat_type": "Activity",
        "operations": ["SearchRemoved"], "aggregation_type": "SimpleAggregation", "threshold": 5, "time_window": 120,
        "severity": "High", "notify_users": [SECOPS], "notify_user_throttle_threshold": 4,
        "notify_user_throttle_window": 90,
    }


def preset_assignment(engine: Engine, tenant: FakeTenant) -> tuple[str, dict[str, Any]]:
    up(engine, lambda: air.PresetPolicyAssignment(
        "strict", preset=air.Preset.STRICT, recipients=air.RecipientScopeArgs(groups=[VIP]),
        exclusions=air.RecipientScopeArgs(users=["ceo@contoso.onmicrosoft.com"])))
    eop = tenant.exchange.rule("eop", "strict")
    assert eop is not None and eop["SentToMemberOf"] == [VIP]
    return "strict", {
        "preset": "strict", "enabled": True, "defender_for_office365": True,
        "recipients": {"users": [], "groups": [VIP], "domains": []},
        "exclusions": {"users": ["ceo@contoso.onmicrosoft.com"], "groups": [], "domains": []},
        "eop_rule_state": "Enabled", "atp_rule_state": "Enabled", "atp_rule_in_sync": True,
    }


def default_device_group(engine: Engine, tenant: FakeTenant) -> tuple[str, dict[str, Any]]:
    up(engine, lambda: air.DefaultDeviceGroup("ungrouped", automation_level=air.AutomationLevel.NONE,
                                              user_groups=["SOC Analysts"]))
    ungrouped = next(g for g in tenant.portal.groups() if g["IsUnassignedMachineGroup"])
    assert ungrouped["AutoRemediationLevel"] == 0
    return "default", {"automation_level": "none", "group_id": str(ungrouped["MachineGroupId"]),
                       "user_groups": [SOC_ANALYSTS_ID], "user_group_ids": [SOC_ANALYSTS_ID]}


def advanced_features(engine: Engine, tenant: FakeTenant) -> tuple[str, dict[str, Any]]:
    up(engine, lambda: air.EndpointAdvancedFeatures("features", edr_in_block_mode=True, device_discovery=False))
    settings = tenant.portal.advanced_features()
    # Device discovery is stored inverted (docs/wire/defender-portal.md §6.4).
    assert settings["EnableWdavPassiveModeRemediation"] is True and settings["MagellanOptOut"] is True
    return "default", {"edr_in_block_mode": True, "device_discovery": False, "auto_resolve_investigated_alerts": True,
                       "allow_or_block_file": True, "automated_investigation_enabled": True}


EXISTING: dict[str, Existing] = {
    "EndpointAdvancedFeatures": advanced_features,
    "DeviceGroup": device_group,
    "AlertPolicy": alert_policy,
    "PresetPolicyAssignment": preset_assignment,
    "DefaultDeviceGroup": default_device_group,
}


def test_every_registered_resource_has_a_case() -> None:
    names = [r.name for r in RESOURCES]
    assert sorted(EXISTING) == sorted(names)
    assert sorted(UP_ARGS) == sorted(names)
    assert sorted(OUTSIDE_EDITS) == sorted(names)


each_resource = pytest.mark.parametrize("registered", RESOURCES, ids=lambda r: r.name)


@each_resource
def test_get_reads_the_live_object(engine: Engine, tenant: FakeTenant, registered: RegisteredResource) -> None:
    id_, expected = EXISTING[registered.name](engine, tenant)
    live = get(engine, registered.name, id_)
    assert live.state.id == id_
    assert live.outputs["id"] == id_
    assert {k: live.outputs[k] for k in expected} == expected
    assert_typed(registered.definition, live)


@each_resource
def test_get_reads_what_changed_outside_pulumi(engine: Engine, tenant: FakeTenant,
                                               registered: RegisteredResource) -> None:
    """Read live, not from the state of the create: an edit made on the service since then shows."""
    id_, _ = EXISTING[registered.name](engine, tenant)
    edit, key, value = OUTSIDE_EDITS[registered.name]
    edit(tenant, id_)
    assert get(engine, registered.name, id_).outputs[key] == value


def _ungrouped_id(tenant: FakeTenant) -> int:
    return int(next(g for g in tenant.portal.groups() if g["IsUnassignedMachineGroup"])["MachineGroupId"])


OUTSIDE_EDITS: dict[str, tuple[Callable[[FakeTenant, str], Any], str, Any]] = {
    "DeviceGroup": (lambda t, i: t.portal.edit_group(int(i), Description="edited in the portal"),
                    "description", "edited in the portal"),
    "AlertPolicy": (lambda t, i: t.compliance.edit_policy(i, Disabled=True), "enabled", False),
    "PresetPolicyAssignment": (lambda t, i: t.exchange.edit_rule("eop", i, State="Disabled"),
                               "eop_rule_state", "Disabled"),
    "DefaultDeviceGroup": (lambda t, i: t.portal.edit_group(_ungrouped_id(t), AutoRemediationLevel=3),
                           "automation_level", "full"),
    "EndpointAdvancedFeatures": (lambda t, i: t.portal.edit_advanced_features(BlockListEnabled=False),
                                 "allow_or_block_file", False),
}


# ---------------------------------------------------------------------------------------------- seeded objects
def test_get_a_seeded_device_group(engine: Engine, tenant: FakeTenant) -> None:
    seeded = tenant.portal.group("Tier0 servers")
    assert seeded is not None
    gid = str(seeded["MachineGroupId"])
    live = get(engine, "DeviceGroup", gid)
    assert live.outputs["group_id"] == gid
    assert live.outputs["display_name"] == "Tier0 servers"
    assert live.outputs["description"] == seeded["Description"]
    assert live.outputs["automation_level"] == "semi_all_folders"  # AutoRemediationLevel 1
    assert live.outputs["user_group_ids"] == [TIER0_ADMINS_ID, SOC_ANALYSTS_ID]
    assert live.outputs["rank"] == seeded["Priority"] and type(live.outputs["rank"]) is int


def test_get_a_built_in_alert_policy_by_immutable_id(engine: Engine, tenant: FakeTenant) -> None:
    live = get(engine, "AlertPolicy", CAMPAIGN_ID)
    assert live.outputs["policy_id"] == CAMPAIGN_ID and live.outputs["is_built_in"] is True
    assert live.outputs["service_name"] == CAMPAIGN + ZWSP  # the exact name later calls use
    assert live.outputs["name"].rstrip(ZWSP) == CAMPAIGN
    assert live.outputs["threat_type"] == "Malicious" and live.outputs["enabled"] is True
    assert_typed(resource("AlertPolicy").definition, live)


@pytest.mark.parametrize("preset", ["standard", "strict"])
def test_get_a_seeded_preset(engine: Engine, tenant: FakeTenant, preset: str) -> None:
    eop = tenant.exchange.rule("eop", preset)
    assert eop is not None
    live = get(engine, "PresetPolicyAssignment", preset)
    assert live.outputs["preset"] == preset
    assert live.outputs["eop_rule_state"] == eop["State"]
    assert live.outputs["enabled"] is (eop["State"] == "Enabled")


def test_get_the_default_group_by_its_machine_group_id(engine: Engine, tenant: FakeTenant) -> None:
    gid = str(_ungrouped_id(tenant))
    live = get(engine, "DefaultDeviceGroup", gid)
    assert live.outputs["group_id"] == gid


# ---------------------------------------------------------------------------------------------- missing objects
@pytest.mark.parametrize(("name", "id_"), [
    ("DeviceGroup", "424242"),
    ("AlertPolicy", str(uuid.UUID(int=0x5EED))),
    ("PresetPolicyAssignment", "lenient"),
])
def test_get_of_an_unknown_id_is_an_error(engine: Engine, name: str, id_: str) -> None:
    with pytest.raises(EngineError, match=id_):
        get(engine, name, id_)


def test_get_of_an_unknown_preset_says_so(engine: Engine) -> None:
    with pytest.raises(EngineError) as err:
        get(engine, "PresetPolicyAssignment", "lenient")
    assert "KeyError" not in str(err.value)
    assert "there is no preset named 'lenient'" in str(err.value) and "'standard' and 'strict'" in str(err.value)


def test_get_of_the_ungrouped_group_as_a_device_group_is_an_error(engine: Engine, tenant: FakeTenant) -> None:
    """The built-in group is a DefaultDeviceGroup; as a DeviceGroup it does not exist."""
    gid = str(_ungrouped_id(tenant))
    with pytest.raises(EngineError, match="does not exist"):
        get(engine, "DeviceGroup", gid)


@pytest.mark.parametrize("name", ["DeviceGroup", "AlertPolicy"])
def test_get_of_a_deleted_object_is_an_error(engine: Engine, tenant: FakeTenant, name: str) -> None:
    id_, _ = EXISTING[name](engine, tenant)
    removed = (tenant.portal.remove_group(int(id_)) if name == "DeviceGroup"
               else tenant.compliance.remove_policy(id_))
    assert removed
    with pytest.raises(EngineError, match="does not exist"):
        get(engine, name, id_)


def test_get_of_a_preset_never_turned_on_is_an_error(engine_factory: EngineFactory) -> None:
    with EmulatorServer(FakeTenant("presets_never_on"), host="127.0.0.1", port=0) as server:
        engine = engine_factory(config={"defender-air:emulatorUrl": server.url})
        with pytest.raises(EngineError, match="does not exist"):
            get(engine, "PresetPolicyAssignment", "strict")


def test_get_of_an_unknown_default_group_id_is_an_error(engine: Engine) -> None:
    """The singleton's ids are ``default`` and its MachineGroupId; another id names no object."""
    with pytest.raises(EngineError, match="424242"):
        get(engine, "DefaultDeviceGroup", "424242")


# ---------------------------------------------------------------------------------------------- both call forms
# The arguments of one valid object per resource, with enum members and nested ``...Args``.
UP_ARGS: dict[str, Callable[[], dict[str, Any]]] = {
    "DeviceGroup": lambda: {
        "display_name": "Domain controllers", "automation_level": air.AutomationLevel.SEMI_NON_TEMP_FOLDERS,
        "description": "DCs", "rank": 2, "user_groups": ["Tier0 Admins"],
        "rules": [air.DeviceGroupRuleArgs(property=air.DeviceGroupRuleProperty.TAG,
                                          operator=air.DeviceGroupRuleOperator.EQUALS, value="DC"),
                  air.DeviceGroupRuleArgs(property=air.DeviceGroupRuleProperty.NAME,
                                          operator=air.DeviceGroupRuleOperator.STARTS_WITH, value="dc-")],
    },
    "AlertPolicy": lambda: {
        "name": "Mailbox rules changed in bulk", "category": air.AlertCategory.THREAT_MANAGEMENT,
        "threat_type": air.AlertThreatType.ACTIVITY, "operations": ["New-InboxRule"],
        "aggregation_type": air.AlertAggregationType.SIMPLE_AGGREGATION, "threshold": 3, "time_window": 60,
        "severity": air.AlertSeverity.MEDIUM, "notify_users": [SECOPS], "comment": "typed",
    },
    "PresetPolicyAssignment": lambda: {
        "preset": air.Preset.STRICT, "recipients": air.RecipientScopeArgs(groups=[VIP], domains=["contoso.com"]),
        "exclusions": air.RecipientScopeArgs(users=["ceo@contoso.onmicrosoft.com"]),
    },
    "DefaultDeviceGroup": lambda: {"automation_level": air.AutomationLevel.FULL, "user_groups": ["SOC Analysts"]},
    "EndpointAdvancedFeatures": lambda: {"auto_resolve_investigated_alerts": True, "edr_in_block_mode": True,
                                         "tamper_protection": False, "device_discovery": True},
}


def _plain(value: Any) -> Any:
    """The same argument without the SDK's types: enum members as strings, ``...Args`` as dicts."""
    if isinstance(value, air.Preset | air.AutomationLevel | air.AlertCategory | air.AlertThreatType
                  | air.AlertAggregationType | air.AlertSeverity | air.DeviceGroupRuleProperty
                  | air.DeviceGroupRuleOperator):
        return value.value
    if isinstance(value, air.DeviceGroupRuleArgs | air.RecipientScopeArgs):
        return {k: _plain(v) for k, v in vars(value).items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def up_in_fresh_tenant(engine_factory: EngineFactory, reg: Registration) -> tuple[ResourceState, FakeTenant]:
    tenant = FakeTenant("presets_on")
    with EmulatorServer(tenant, host="127.0.0.1", port=0) as server:
        engine = engine_factory(config={"defender-air:emulatorUrl": server.url})
        step = engine.up(reg)
        assert step.step == "create"
        return step.state, tenant


@each_resource
def test_args_form_with_enums_and_keyword_form_give_the_same_outputs(
        engine_factory: EngineFactory, registered: RegisteredResource) -> None:
    cls, args_type = getattr(air, registered.name), getattr(air, f"{registered.name}Args")
    values = UP_ARGS[registered.name]()
    by_args = capture_registration(lambda: cls("typed", args_type(**values)))
    by_keywords = capture_registration(lambda: cls("typed", **{k: _plain(v) for k, v in values.items()}))
    assert by_args.inputs == by_keywords.inputs

    typed, typed_tenant = up_in_fresh_tenant(engine_factory, by_args)
    plain, plain_tenant = up_in_fresh_tenant(engine_factory, by_keywords)
    # A new alert policy gets a fresh GUID from the service, and each emulator has its own URL (the ``tenant``
    # binding); everything else is the same.
    assert without(typed.outputs, "policy_id", "tenant") == without(plain.outputs, "policy_id", "tenant")
    assert typed.outputs["tenant"] != plain.outputs["tenant"]
    if registered.name != "AlertPolicy":
        assert typed.id == plain.id
    # The same object on the service, too (but for the service's own GUIDs and timestamps).
    if registered.name == "AlertPolicy":
        assert without(typed_tenant.compliance.policy(typed.id), *SERVICE_MADE) == \
            without(plain_tenant.compliance.policy(plain.id), *SERVICE_MADE)
    if registered.name in ("DeviceGroup", "DefaultDeviceGroup"):
        assert without(typed_tenant.portal.group(int(typed.outputs["group_id"])), "LastUpdated") == \
            without(plain_tenant.portal.group(int(plain.outputs["group_id"])), "LastUpdated")
    if registered.name == "EndpointAdvancedFeatures":
        assert typed_tenant.portal.advanced_features() == plain_tenant.portal.advanced_features()
    if registered.name == "PresetPolicyAssignment":
        for kind in ("eop", "atp"):
            assert without(typed_tenant.exchange.rule(kind, "strict"), "WhenChanged") == \
                without(plain_tenant.exchange.rule(kind, "strict"), "WhenChanged")


# What the service makes up for a new object (GUIDs, times): not the caller's doing.
SERVICE_MADE = ("ImmutableId", "Guid", "ExchangeObjectId", "ObjectVersion", "WhenCreated", "WhenCreatedUTC",
                "WhenChanged", "WhenChangedUTC")


def without(obj: dict[str, Any] | None, *keys: str) -> dict[str, Any]:
    assert obj is not None
    return {k: v for k, v in obj.items() if k not in keys}
