"""Tenant binding (CONTRACT.md "Tenant binding", issue 10 finding 1), for every registered resource, in-process.

Each resource is created in the fake tenant (``TENANT_ID`` on the public cloud); then the provider is configured for
another tenant or endpoint, and read, update and delete must fail naming both, with no request to the tenant. State
without a recorded tenant (written before this release, or ``X.get``) adopts the current one.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import pytest

from defender_air_provider.fakes.tenant import FakeTenant
from defender_air_provider.handlers import context
from defender_air_provider.handlers.base import AirProvider
from defender_air_provider.handlers.binding import Binding, TenantMismatch
from defender_air_provider.registry import RESOURCES, resource
from tests.support import TENANT_ID, FakeTokenSource, RecordingSleep

OTHER_TENANT = "99999999-8888-7777-6666-555555555555"
EMULATOR = "http://127.0.0.1:9"  # nothing listens there, and respx refuses any request to it anyway
HERE = f"{TENANT_ID}@public"

# Checked-to-be inputs of one resource of each kind (the fake tenant has the presets on and a portal session).
ARGS: dict[str, dict[str, Any]] = {
    "PresetPolicyAssignment": {"preset": "standard", "recipients": {"domains": ["contoso.com"]}},
    "AlertPolicy": {"name": "Binding test policy", "category": "Others", "threat_type": "Activity",
                    "operations": ["SearchRemoved"], "aggregation_type": "None", "severity": "Medium",
                    "notify_users": ["secops@contoso.onmicrosoft.com"]},
    "DeviceGroup": {"display_name": "Binding test group", "automation_level": "full"},
    "DefaultDeviceGroup": {"automation_level": "full"},
    "EndpointAdvancedFeatures": {"auto_resolve_investigated_alerts": True},
}
# A changed argument for each, so that update has something to write.
CHANGE: dict[str, dict[str, Any]] = {
    "PresetPolicyAssignment": {"enabled": False},
    "AlertPolicy": {"severity": "High"},
    "DeviceGroup": {"description": "changed"},
    "DefaultDeviceGroup": {"automation_level": "semi_all_folders"},
    "EndpointAdvancedFeatures": {"auto_resolve_investigated_alerts": False},
}
NAMES = [r.name for r in RESOURCES]


def test_every_registered_resource_has_arguments_here() -> None:
    assert set(ARGS) == set(NAMES) == set(CHANGE)


def checked(provider: AirProvider, props: dict[str, Any]) -> dict[str, Any]:
    result = provider.check({}, props)
    assert not result.failures, result.failures
    return dict(result.inputs or {})


def create(name: str) -> tuple[AirProvider, str, dict[str, Any], dict[str, Any]]:
    """(provider, id, inputs, outputs) of a new resource of kind ``name`` in the current tenant."""
    provider = resource(name).provider()
    inputs = checked(provider, ARGS[name])
    result = provider.create(inputs)
    assert result.outs is not None
    return provider, result.id, inputs, dict(result.outs)


def reconfigure(**changes: Any) -> None:
    """The provider process configured anew (another tenant or endpoint), as `pulumi` with another shell would."""
    settings = dataclasses.replace(context.current().settings, **changes)
    context.install(context.ProviderContext(settings, tokens=FakeTokenSource(), sleep=RecordingSleep()))


ELSEWHERE: dict[str, tuple[Callable[[], None], str]] = {
    # how the provider is reconfigured -> how the error names where it now points
    "another tenant": (lambda: reconfigure(tenant_id=OTHER_TENANT), f"tenant {OTHER_TENANT} (public cloud)"),
    "the emulator": (lambda: reconfigure(emulator_url=EMULATOR), f"the emulator at {EMULATOR} (tenant {TENANT_ID})"),
    "another cloud": (lambda: reconfigure(cloud_name="usgovhigh"), f"tenant {TENANT_ID} (usgovhigh cloud)"),
    # No tenant id (portal resources need only the session): the session could be another tenant's, where a read
    # would report the object gone.
    "no tenant id": (lambda: reconfigure(tenant_id=None), "the tenant of the portal session (public cloud)"),
}


@pytest.mark.parametrize("elsewhere", list(ELSEWHERE))
@pytest.mark.parametrize("name", NAMES)
def test_read_update_delete_against_another_tenant_fail_naming_both_with_no_request(
        portal_tenant: FakeTenant, name: str, elsewhere: str) -> None:
    provider, id_, _, outputs = create(name)
    assert outputs["tenant"] == HERE
    switch, now = ELSEWHERE[elsewhere]
    switch()
    portal_tenant.log.clear()
    news = checked(provider, {**ARGS[name], **CHANGE[name]})
    attempts: dict[str, Callable[[], object]] = {
        "read": lambda: provider.read(id_, dict(outputs)),
        "update": lambda: provider.update(id_, dict(outputs), news),
        "delete": lambda: provider.delete(id_, dict(outputs)),
    }
    for operation, attempt in attempts.items():
        with pytest.raises(TenantMismatch) as err:
            attempt()
        message = str(err.value)
        assert message.startswith(f"{name} ") and f"({operation})" in message
        assert f"created in tenant {TENANT_ID} (public cloud)" in message, message
        assert f"configured for {now}" in message, message
        assert "Nothing was read or changed" in message
    assert portal_tenant.log.entries == []  # not one request, not even a read


def test_the_emulator_error_says_to_unset_the_emulator_url(portal_tenant: FakeTenant) -> None:
    provider, id_, _, outputs = create("AlertPolicy")
    reconfigure(emulator_url=EMULATOR)
    with pytest.raises(TenantMismatch, match="unset DEFENDER_AIR_EMULATOR_URL"):
        provider.read(id_, outputs)


def test_another_tenant_error_says_which_tenant_id_to_set(portal_tenant: FakeTenant) -> None:
    provider, id_, _, outputs = create("AlertPolicy")
    reconfigure(tenant_id=OTHER_TENANT)
    with pytest.raises(TenantMismatch, match=f"set defender-air:tenantId \\(or AZURE_TENANT_ID\\) to {TENANT_ID}"):
        provider.read(id_, outputs)


@pytest.mark.parametrize("name", NAMES)
def test_state_without_a_tenant_adopts_the_current_one_on_read(portal_tenant: FakeTenant, name: str) -> None:
    provider, id_, _, outputs = create(name)
    del outputs["tenant"]  # state written before this release
    read = provider.read(id_, outputs)
    assert read.id and read.outs is not None and read.outs["tenant"] == HERE
    assert "tenant" not in (read.inputs or {})  # an output, never an argument


@pytest.mark.parametrize("name", NAMES)
def test_update_of_state_without_a_tenant_records_it(portal_tenant: FakeTenant, name: str) -> None:
    provider, id_, _, outputs = create(name)
    del outputs["tenant"]
    updated = provider.update(id_, outputs, checked(provider, {**ARGS[name], **CHANGE[name]}))
    assert updated.outs is not None and updated.outs["tenant"] == HERE


@pytest.mark.parametrize("name", NAMES)
def test_a_read_with_no_state_adopts_the_current_tenant(portal_tenant: FakeTenant, name: str) -> None:
    """``X.get(name, id)``: the engine's Read with every output unset."""
    provider, id_, _, _ = create(name)
    definition = resource(name).definition
    get_id = "default" if definition.singleton and name != "PresetPolicyAssignment" else id_
    read = provider.read(get_id, dict.fromkeys(definition.names))
    assert read.id and read.outs is not None and read.outs["tenant"] == HERE


@pytest.mark.parametrize("name", NAMES)
def test_same_tenant_in_another_spelling_is_the_same(portal_tenant: FakeTenant, name: str) -> None:
    provider, id_, _, outputs = create(name)
    reconfigure(tenant_id=TENANT_ID.upper())
    read = provider.read(id_, outputs)
    assert read.id


def test_a_gone_object_in_the_same_tenant_is_still_gone(portal_tenant: FakeTenant) -> None:
    provider, id_, _, outputs = create("AlertPolicy")
    provider.delete(id_, outputs)
    assert provider.read(id_, outputs).id is None


# ---------------------------------------------------------------------------------------------- the record itself
def test_binding_format_round_trips() -> None:
    for text in (HERE, f"{TENANT_ID}@usgovdod", f"00000000-0000-0000-0000-000000000000@{EMULATOR}"):
        parsed = Binding.parse(text)
        assert parsed is not None and str(parsed) == text
    assert Binding.parse(None) is None and Binding.parse("") is None and Binding.parse("garbage") is None


def test_no_configured_tenant_is_recorded_as_any_and_compares_the_endpoint_only() -> None:
    unknown = Binding(None, "public")
    assert str(unknown) == "*@public" and Binding.parse("*@public") == unknown
    assert unknown.matches(Binding(TENANT_ID, "public"))  # a record without a tenant adopts the current one
    # A record with a tenant is never managed by a provider that does not say which tenant it is.
    assert not Binding(TENANT_ID, "public").matches(unknown)
    assert not unknown.matches(Binding(None, "usgovhigh"))
    assert not unknown.matches(Binding(TENANT_ID, EMULATOR))
    assert unknown.describe() == "the tenant of the portal session (public cloud)"


def test_emulator_urls_compare_without_a_trailing_slash_and_case() -> None:
    assert Binding(TENANT_ID, EMULATOR).matches(Binding.parse(f"{TENANT_ID}@HTTP://127.0.0.1:9/") or unknown_())
    assert not Binding(TENANT_ID, EMULATOR).matches(Binding(TENANT_ID, "http://127.0.0.1:10"))


def unknown_() -> Binding:
    raise AssertionError("did not parse")


def test_the_advice_names_every_setting_to_change(portal_tenant: FakeTenant) -> None:
    """Recorded in the public cloud, now the emulator with another cloud configured beside it: unsetting the emulator
    alone would still leave the cloud wrong, so both are said."""
    provider, id_, _inputs, outputs = create("DeviceGroup")
    reconfigure(emulator_url=EMULATOR, cloud_name="usgovhigh")
    with pytest.raises(TenantMismatch) as caught:
        provider.read(id_, outputs)
    assert "unset DEFENDER_AIR_EMULATOR_URL" in str(caught.value)
    assert "set defender-air:cloud (or DEFENDER_AIR_CLOUD) to public" in str(caught.value)
