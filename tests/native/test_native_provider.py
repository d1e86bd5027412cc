"""The native plugin over gRPC, for what only a plugin has (issue 12): import by id alone, one tenant per provider
instance, the provider's own configuration calls, detailed diffs, secrets and unknowns on the wire, plain errors.

The lifecycle of every resource runs against the plugin in ``tests/engine`` (each test there runs against both
servers); these tests drive the plugin the way ``pulumi import``, explicit providers and the engine's provider calls
do (docs/wire/pulumi-engine.md §9.4, §9.5).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from pulumi.runtime import rpc
from pulumi.runtime.proto import provider_pb2

import pulumi_defender_air as air
from defender_air_provider.fakes.graph import SOC_ANALYSTS_ID, TIER0_ADMINS_ID
from defender_air_provider.fakes.server import EmulatorServer
from defender_air_provider.fakes.tenant import FakeTenant
from defender_air_provider.package_schema import package_schema, package_version
from defender_air_provider.registry import RESOURCES
from tests.harness.engine import (
    CheckFailed,
    ProviderError,
    Registration,
    ResourceState,
    capture_registration,
    to_wire,
)
from tests.harness.native import NativeEngine, NativeEngineFactory, as_native
from tests.support import assert_read_only

SECOPS = "secops@contoso.onmicrosoft.com"
VIP = "priority-accounts@contoso.onmicrosoft.com"
TENANT_A = "11111111-1111-1111-1111-111111111111"
TENANT_B = "22222222-2222-2222-2222-222222222222"


@pytest.fixture
def factory() -> Iterator[NativeEngineFactory]:
    made = NativeEngineFactory()
    try:
        yield made
    finally:
        made.close()


@pytest.fixture
def tenant() -> FakeTenant:
    return FakeTenant("presets_on")


@pytest.fixture
def url(tenant: FakeTenant) -> Iterator[str]:
    with EmulatorServer(tenant, host="127.0.0.1", port=0) as server:
        yield server.url


def native(factory: NativeEngineFactory, url: str, **config: str) -> NativeEngine:
    engine = factory(config={"defender-air:emulatorUrl": url, **{f"defender-air:{k}": v for k, v in config.items()}})
    assert isinstance(engine, NativeEngine)
    return engine


# ---------------------------------------------------------------------------------------------- programs
# One program per resource: what a user declares for an object that then exists in the tenant. User groups are given
# by object ID, as an import reports them (a read with no declared names cannot know which names the program uses;
# docs/device-groups.md): declared by name, the first `pulumi up` after an import is an update that writes nothing.
PROGRAMS: dict[str, Callable[[], Any]] = {
    "DeviceGroup": lambda: air.DeviceGroup(
        "tier0", display_name="Tier 0 servers", automation_level=air.AutomationLevel.SEMI_ALL_FOLDERS,
        description="Domain controllers", rank=2, user_groups=[TIER0_ADMINS_ID],
        rules=[air.DeviceGroupRuleArgs(property=air.DeviceGroupRuleProperty.TAG,
                                       operator=air.DeviceGroupRuleOperator.EQUALS, value="Tier0")]),
    "DefaultDeviceGroup": lambda: air.DefaultDeviceGroup("ungrouped", automation_level=air.AutomationLevel.FULL,
                                                         user_groups=[SOC_ANALYSTS_ID]),
    "AlertPolicy": lambda: air.AlertPolicy(
        "search", name="Content search deleted in bulk", category=air.AlertCategory.THREAT_MANAGEMENT,
        threat_type=air.AlertThreatType.ACTIVITY, operations=["SearchRemoved"],
        aggregation_type=air.AlertAggregationType.SIMPLE_AGGREGATION, threshold=5, time_window=120,
        severity=air.AlertSeverity.HIGH, notify_users=[SECOPS]),
    "PresetPolicyAssignment": lambda: air.PresetPolicyAssignment(
        "strict", preset=air.Preset.STRICT, recipients=air.RecipientScopeArgs(groups=[VIP])),
    "EndpointAdvancedFeatures": lambda: air.EndpointAdvancedFeatures(
        "features", edr_in_block_mode=True, device_discovery=False),
}


def test_every_resource_has_a_program() -> None:
    assert sorted(PROGRAMS) == sorted(r.name for r in RESOURCES)


# ---------------------------------------------------------------------------------------------- import
@pytest.mark.parametrize("name", sorted(PROGRAMS))
def test_import_by_id_alone_gives_a_clean_diff(factory: NativeEngineFactory, url: str, tenant: FakeTenant,
                                               name: str) -> None:
    """The object exists (made by one deployment); ``pulumi import`` in another reads it by id alone, and the same
    program then plans no change: Check of the program's inputs against the imported ones, Diff against the imported
    outputs."""
    reg = capture_registration(PROGRAMS[name])
    created = native(factory, url).up(reg).state

    engine = native(factory, url)  # a new deployment: a new plugin process
    tenant.log.clear()
    imported = engine.import_(reg.type_token, "imported", created.id)
    assert imported.id == created.id
    assert_read_only(tenant)
    assert set(imported.inputs) <= {f.name for f in registered(name).definition.inputs}
    program = as_native(reg)
    checked = engine.check(reg, imported.inputs)
    assert not checked.failures
    diff = engine.diff(ResourceState(engine.urn_for(program.type_token, "imported"), imported.id, imported.inputs,
                                     imported.outputs), checked.inputs)
    assert diff.changes == "none", (name, imported.inputs, checked.inputs)


def registered(name: str) -> Any:
    return next(r for r in RESOURCES if r.name == name)


@pytest.mark.parametrize(("name", "missing_id"), [
    ("DeviceGroup", "987654"), ("AlertPolicy", "00000000-1111-2222-3333-444444444444"),
    ("PresetPolicyAssignment", "medium"), ("EndpointAdvancedFeatures", "other"), ("DefaultDeviceGroup", "987654")])
def test_importing_what_is_not_there_fails_and_names_the_id(factory: NativeEngineFactory, url: str, name: str,
                                                           missing_id: str) -> None:
    engine = native(factory, url)
    with pytest.raises(ProviderError) as caught:
        engine.import_(f"defender-air:index:{name}", "missing", missing_id)
    if name == "PresetPolicyAssignment":  # not a preset at all: the handler says which ids there are
        assert "there is no preset named 'medium': the ids are 'standard' and 'strict'" in caught.value.message
    else:
        assert f"{name} '{missing_id}' does not exist in the tenant, so there is nothing to import" in \
            caught.value.message
    assert "Traceback" not in caught.value.message and "Unexpected <class" not in caught.value.message


# ---------------------------------------------------------------------------------------------- tenants
def test_two_provider_instances_write_only_to_their_own_tenant(factory: NativeEngineFactory) -> None:
    """Two explicit providers in one program are two plugin processes, each configured for its tenant: the same
    resources declared for both land once in each tenant, and each records its own tenant."""
    tenants = {TENANT_A: FakeTenant("presets_on"), TENANT_B: FakeTenant("presets_on")}
    with EmulatorServer(tenants[TENANT_A], host="127.0.0.1", port=0) as a, \
            EmulatorServer(tenants[TENANT_B], host="127.0.0.1", port=0) as b:
        engines = {TENANT_A: native(factory, a.url, tenantId=TENANT_A),
                   TENANT_B: native(factory, b.url, tenantId=TENANT_B)}
        for tenant_id, engine in engines.items():
            policy = capture_registration(lambda t=tenant_id: air.AlertPolicy(  # type: ignore[misc]
                "forwarding", name="Creation of forwarding/redirect rule", notify_users=[f"soc-{t[:4]}@contoso.com"]))
            group = capture_registration(lambda t=tenant_id: air.DeviceGroup(  # type: ignore[misc]
                "tier0", display_name=f"Tier 0 of {t[:4]}", automation_level="full"))
            for reg in (policy, group):
                state = engine.up(reg).state
                assert state.outputs["tenant"] == f"{tenant_id}@{engine_url(a.url, b.url, tenant_id)}"
        for tenant_id, tenant in tenants.items():
            other = TENANT_B if tenant_id == TENANT_A else TENANT_A
            names = [g["Name"] for g in tenant.portal.groups()]
            assert f"Tier 0 of {tenant_id[:4]}" in names and f"Tier 0 of {other[:4]}" not in names
            forwarding = tenant.compliance.policy("Creation of forwarding/redirect rule")
            assert forwarding is not None and forwarding["NotifyUser"] == [f"soc-{tenant_id[:4]}@contoso.com"]


def engine_url(a: str, b: str, tenant_id: str) -> str:
    return (a if tenant_id == TENANT_A else b).rstrip("/")


def test_a_resource_of_one_tenant_is_refused_by_the_other_tenants_provider(factory: NativeEngineFactory) -> None:
    """State moved under another provider instance (or a provider whose tenant changed in place) never reads "gone"
    from the wrong tenant: the resource's recorded tenant is checked before any call (handlers/binding.py)."""
    first, second = FakeTenant("presets_on"), FakeTenant("presets_on")
    with EmulatorServer(first, host="127.0.0.1", port=0) as a, EmulatorServer(second, host="127.0.0.1", port=0) as b:
        state = native(factory, a.url, tenantId=TENANT_A).up(capture_registration(PROGRAMS["DefaultDeviceGroup"]))
        other = native(factory, b.url, tenantId=TENANT_B)
        second.log.clear()
        with pytest.raises(ProviderError, match=r"was created in the emulator at .* but the provider is configured"):
            other.refresh(state.state)
        assert second.log.count() == 0


# ---------------------------------------------------------------------------------------------- provider calls
def test_plugin_info_and_schema_are_the_package_s(factory: NativeEngineFactory, url: str) -> None:
    engine = native(factory, url)
    assert engine.process.get_plugin_info() == package_version()
    schema = engine.process.call("GetSchema", provider_pb2.GetSchemaRequest(version=0)).schema
    assert json.loads(schema) == package_schema()


def test_check_config_refuses_unknown_keys_and_bad_values_and_accepts_the_engine_s_version(
        factory: NativeEngineFactory, url: str) -> None:
    engine = native(factory, url)
    good = engine.check_config({"emulatorUrl": url, "version": "0.1.0"})
    assert good.failures == []
    bad = engine.check_config({"emulatorUrl": url, "tenantID": TENANT_A, "cloud": "china"})
    assert [prop for prop, _ in bad.failures] == ["tenantID", ""]
    assert "no configuration key 'tenantID'" in bad.failures[0][1] and "tenantId" in bad.failures[0][1]
    assert bad.failures[1][1].startswith("defender-air:cloud is 'china'")


@pytest.mark.parametrize(("change", "replaces"), [
    ({"tenantId": TENANT_B}, ["tenantId"]),
    ({"emulatorUrl": "http://127.0.0.1:9"}, ["emulatorUrl"]),
    ({"cloud": "usgovhigh"}, ["cloud"]),
    ({"clientSecret": "rotated"}, []),
    ({"portalSession": "sccauth=new; XSRF-TOKEN=new"}, []),
])
def test_diff_config_replaces_for_another_tenant_never_for_new_credentials(
        factory: NativeEngineFactory, url: str, change: dict[str, str], replaces: list[str]) -> None:
    engine = native(factory, url)
    olds = {"tenantId": TENANT_A, "emulatorUrl": url, "clientSecret": "old",
            "portalSession": "sccauth=old; XSRF-TOKEN=old"}
    answer = engine.diff_config(olds, {**olds, **change})
    assert answer.changes == provider_pb2.DiffResponse.DIFF_SOME
    assert list(answer.replaces) == replaces
    assert list(answer.diffs) == list(change)
    same = engine.diff_config(olds, dict(olds))
    assert same.changes == provider_pb2.DiffResponse.DIFF_NONE and not same.replaces


@pytest.mark.parametrize(("old", "new"), [
    ({}, {"cloud": "public"}),
    ({"cloud": "Public"}, {"cloud": "public"}),
    ({"tenantId": "ABCDEF12-3456-7890-ABCD-EF1234567890"}, {"tenantId": "abcdef12-3456-7890-abcd-ef1234567890"}),
    ({"emulatorUrl": "http://127.0.0.1:8765/"}, {"emulatorUrl": "http://127.0.0.1:8765"}),
])
def test_diff_config_replaces_nothing_for_another_spelling_of_the_same_target(
        factory: NativeEngineFactory, url: str, old: dict[str, str], new: dict[str, str]) -> None:
    engine = native(factory, url)
    answer = engine.diff_config(old, new)
    assert list(answer.replaces) == [] and answer.changes == provider_pb2.DiffResponse.DIFF_SOME


def test_diff_config_resolves_the_environment_as_the_provider_does(factory: NativeEngineFactory, url: str) -> None:
    """The tenant id came from AZURE_TENANT_ID and is now written into the stack config, the same GUID: no replace.
    Another GUID: replace."""
    engine = factory(config={"defender-air:emulatorUrl": url}, env={"AZURE_TENANT_ID": TENANT_A})
    assert isinstance(engine, NativeEngine)
    same = engine.diff_config({"emulatorUrl": url}, {"emulatorUrl": url, "tenantId": TENANT_A})
    assert list(same.replaces) == [] and list(same.diffs) == ["tenantId"]
    other = engine.diff_config({"emulatorUrl": url}, {"emulatorUrl": url, "tenantId": TENANT_B})
    assert list(other.replaces) == ["tenantId"]


def test_check_config_leaves_values_not_known_yet_to_configure(factory: NativeEngineFactory, url: str) -> None:
    """An explicit provider whose client id comes from another resource's output: unknown in a preview. The known
    secret must not be judged against the environment meanwhile ("a secret but no client id")."""
    engine = native(factory, url)
    checked = engine.check_config({"tenantId": TENANT_A, "clientId": rpc.UNKNOWN, "clientSecret": "s3cret-x"})
    assert checked.failures == []


def test_check_config_keeps_credentials_secret_even_when_given_plain(factory: NativeEngineFactory, url: str) -> None:
    engine = native(factory, url)
    checked = engine.check_config({"emulatorUrl": url, "clientSecret": "plain-canary", "portalSession": "a=b"})
    assert rpc.is_rpc_secret(checked.inputs["clientSecret"]) and rpc.is_rpc_secret(checked.inputs["portalSession"])
    assert not rpc.is_rpc_secret(checked.inputs["emulatorUrl"])


def test_configure_answers_no_preview_and_takes_secrets(factory: NativeEngineFactory, url: str) -> None:
    engine = native(factory, url)
    answer = engine.configure({"emulatorUrl": url, "clientSecret": rpc.wrap_rpc_secret("canary-7d1e")})
    assert answer.acceptSecrets and not answer.supportsPreview
    assert "canary-7d1e" not in engine.stderr_text()


# ---------------------------------------------------------------------------------------------- resources
def test_diff_names_each_changed_argument_and_what_replaces(factory: NativeEngineFactory, url: str) -> None:
    engine = native(factory, url)
    reg = capture_registration(lambda: air.AlertPolicy(
        "search", name="Content search deleted", category="Others", threat_type="Activity",
        operations=["SearchRemoved"], aggregation_type="None", notify_users=[SECOPS], severity="Low"))
    state = engine.up(reg).state
    changed = as_native(reg.with_inputs(severity="High", name="Content search deleted (renamed)"))
    checked = engine.check(changed, state.inputs)
    answer = engine.process.call("Diff", provider_pb2.DiffRequest(
        id=state.id, urn=state.urn, olds=to_wire(state.outputs), news=to_wire(checked.inputs),
        old_inputs=to_wire(state.inputs)))
    assert answer.changes == provider_pb2.DiffResponse.DIFF_SOME and answer.hasDetailedDiff
    assert sorted(answer.diffs) == ["name", "severity"] and list(answer.replaces) == ["name"]
    kinds = {key: (diff.kind, diff.inputDiff) for key, diff in answer.detailedDiff.items()}
    assert kinds == {"name": (provider_pb2.PropertyDiff.UPDATE_REPLACE, True),
                     "severity": (provider_pb2.PropertyDiff.UPDATE, True)}
    assert not answer.deleteBeforeReplace  # a new name: create the new policy before removing the old


def test_drift_of_an_output_is_a_detailed_diff_too(factory: NativeEngineFactory, url: str) -> None:
    """A preset rule found off at the last read (an output, not an argument) is a change to repair: the detailed diff
    names that output."""
    engine = native(factory, url)
    reg = capture_registration(PROGRAMS["PresetPolicyAssignment"])
    state = engine.up(reg).state
    drifted = {**state.outputs, "eop_rule_state": "Disabled"}
    checked = engine.check(reg, state.inputs)
    answer = engine.process.call("Diff", provider_pb2.DiffRequest(
        id=state.id, urn=state.urn, olds=to_wire(drifted), news=to_wire(checked.inputs)))
    assert answer.changes == provider_pb2.DiffResponse.DIFF_SOME
    assert {key: (d.kind, d.inputDiff) for key, d in answer.detailedDiff.items()} == {
        "eop_rule_state": (provider_pb2.PropertyDiff.UPDATE, False)}


def test_secret_inputs_stay_secret_in_check_and_outputs(factory: NativeEngineFactory, url: str,
                                                        tenant: FakeTenant) -> None:
    engine = native(factory, url)
    reg = capture_registration(lambda: air.AlertPolicy(
        "forwarding", name="Creation of forwarding/redirect rule", notify_users=[SECOPS]))
    secret = Registration(reg.type_token, reg.name, reg.inputs, secret_keys=frozenset({"notify_users"}))
    checked = engine.check(secret)
    assert rpc.is_rpc_secret(checked.inputs["notify_users"])
    created = engine.up(secret).state
    assert rpc.is_rpc_secret(created.outputs["notify_users"])
    assert not rpc.is_rpc_secret(created.outputs["name"])
    policy = tenant.compliance.policy("Creation of forwarding/redirect rule")
    assert policy is not None and policy["NotifyUser"] == [SECOPS]  # the plugin unwrapped it for the service
    assert SECOPS not in engine.stderr_text()


def test_unknown_inputs_pass_check_and_come_back_unknown_with_no_request(factory: NativeEngineFactory, url: str,
                                                                       tenant: FakeTenant) -> None:
    engine = native(factory, url)
    reg = capture_registration(PROGRAMS["DeviceGroup"]).with_unknowns(["description", "rules"])
    tenant.log.clear()
    checked = engine.check(reg)
    assert checked.failures == []
    assert checked.inputs["description"] == rpc.UNKNOWN or type(checked.inputs["description"]).__name__ == "Unknown"
    assert tenant.log.count() == 0


def test_a_service_error_reaches_the_engine_as_our_sentence_alone(factory: NativeEngineFactory, url: str) -> None:
    engine = native(factory, url)
    reg = capture_registration(lambda: air.DeviceGroup("dup", display_name="Tier0 servers", automation_level="full"))
    with pytest.raises(ProviderError) as caught:
        engine.up(reg)  # the seeded tenant has a group of that name, and adopt_existing is not set
    assert caught.value.message.startswith("DeviceGroup 'Tier0 servers' (create): a device group named")
    assert "Traceback" not in caught.value.message and "Unexpected <class" not in caught.value.message


def test_a_create_marked_preview_writes_nothing(factory: NativeEngineFactory, url: str, tenant: FakeTenant) -> None:
    engine = native(factory, url)
    reg = as_native(capture_registration(PROGRAMS["DefaultDeviceGroup"]))
    checked = engine.check(reg)
    urn = engine.urn_for(reg.type_token, reg.name)
    tenant.log.clear()
    with pytest.raises(ProviderError, match="writes nothing in a preview"):
        engine.process.call("Create", provider_pb2.CreateRequest(urn=urn, properties=to_wire(checked.inputs),
                                                                 preview=True))
    assert tenant.log.count() == 0


def test_two_resources_for_one_tenant_object_are_refused_in_check(factory: NativeEngineFactory, url: str) -> None:
    """A program in any language: the second resource that claims the same object fails Check, before any write."""
    engine = native(factory, url)
    engine.check(capture_registration(lambda: air.PresetPolicyAssignment("a", preset="strict")))
    with pytest.raises(CheckFailed, match="claims the same preset 'strict' as PresetPolicyAssignment 'a'"):
        engine.up(capture_registration(lambda: air.PresetPolicyAssignment("b", preset="Strict")))
    engine.check(capture_registration(lambda: air.EndpointAdvancedFeatures("one")))
    with pytest.raises(CheckFailed, match="manages the same tenant-wide settings as EndpointAdvancedFeatures 'one'"):
        engine.preview(capture_registration(lambda: air.EndpointAdvancedFeatures("two")))


def test_handlers_run_off_the_event_loop(factory: NativeEngineFactory, url: str, tenant: FakeTenant) -> None:
    """A device group with user groups resolves them through msgraph-sdk, which runs its own event loop: that works
    only off the server's loop. Four at once also prove the calls do not serialise on it."""
    from concurrent.futures import ThreadPoolExecutor

    engine = native(factory, url)
    regs = [capture_registration(lambda i=i: air.DeviceGroup(  # type: ignore[misc]
        f"g{i}", display_name=f"Group {i}", automation_level="full", user_groups=["SOC Analysts"])) for i in range(4)]
    with ThreadPoolExecutor(4) as pool:
        states = list(pool.map(lambda r: engine.up(r).state, regs))
    assert all(s.outputs["user_group_ids"] for s in states)
    assert {f"Group {i}" for i in range(4)} <= {g["Name"] for g in tenant.portal.groups()}


def test_numbers_reach_the_engine_as_numbers_the_schema_types_as_integers(factory: NativeEngineFactory,
                                                                         url: str) -> None:
    engine = native(factory, url)
    state = engine.up(capture_registration(PROGRAMS["DeviceGroup"])).state
    schema = package_schema()["resources"]["defender-air:index:DeviceGroup"]["properties"]
    assert schema["rank"]["type"] == "integer"
    assert state.outputs["rank"] == 2.0  # the wire's double; generated SDKs type it from the schema
