"""Clients classify a service's answer once, into a typed error carrying the operation and the service's own
exception type; handlers keep the type when they add the resource's name (chained, never rewritten)."""

from __future__ import annotations

import traceback
from collections.abc import Callable

import pytest

from defender_air_provider.clients.alert_policies import AlertPolicySettings
from defender_air_provider.core.errors import (
    AlreadyExists,
    DefenderAirError,
    InvalidRequest,
    LicenceRequired,
    NotFound,
    PermissionDenied,
    ServiceError,
    SessionExpired,
    Throttled,
)
from defender_air_provider.fakes.tenant import FakeTenant
from defender_air_provider.handlers import context
from defender_air_provider.handlers.alert_policy import AlertPolicyProvider
from defender_air_provider.handlers.base import failures_named

ACTIVITY = AlertPolicySettings(category="Others", threat_type="Activity", notify_users=("a@contoso.com",),
                               operations=("SearchRemoved",), aggregation_type="None")


def test_a_taken_name_is_already_exists_with_its_cmdlet_and_exception_type(tenant: FakeTenant) -> None:
    client = context.current().alert_policies
    client.create("Content search deleted", ACTIVITY)
    with pytest.raises(AlreadyExists) as err:
        client.create("Content search deleted", ACTIVITY)
    assert err.value.operation == "New-ProtectionAlert"
    assert err.value.exception_type == "ValidationException" and err.value.status == 400


def test_an_aggregated_policy_without_e5_is_licence_required(make_tenant: Callable[..., FakeTenant]) -> None:
    make_tenant(fake={"compliance_e5": False})
    aggregated = AlertPolicySettings(category="Others", threat_type="Activity", notify_users=("a@contoso.com",),
                                     aggregation_type="SimpleAggregation", threshold=5, time_window=60)
    with pytest.raises(LicenceRequired) as err:
        context.current().alert_policies.create("Many searches", aggregated)
    assert err.value.operation == "New-ProtectionAlert" and "E5" in str(err.value)


def test_a_missing_object_is_not_found_with_the_service_exception(tenant: FakeTenant) -> None:
    with pytest.raises(NotFound) as err:
        context.current().compliance.invoke("Set-ProtectionAlert", {"Identity": "No such policy", "Comment": "x"},
                                            idempotent=True, target="No such policy")
    assert err.value.operation == "Set-ProtectionAlert"
    assert (err.value.exception_type or "").endswith("NotFoundException")


def test_other_400s_are_invalid_request(tenant: FakeTenant) -> None:
    with pytest.raises(InvalidRequest) as err:
        context.current().compliance.invoke("Get-ProtectionAlert", {"NoSuchParameter": 1}, idempotent=True)
    assert not isinstance(err.value, (AlreadyExists, LicenceRequired, NotFound))
    assert err.value.operation == "Get-ProtectionAlert" and err.value.status == 400


def test_an_unknown_exchange_cmdlet_is_permission_denied(tenant: FakeTenant) -> None:
    with pytest.raises(PermissionDenied) as err:
        context.current().exchange.invoke("Get-NoSuchThing", {}, idempotent=True)
    assert err.value.operation == "Get-NoSuchThing" and err.value.status == 403


def test_an_expired_portal_session_is_session_expired_naming_the_endpoint(portal_tenant: FakeTenant) -> None:
    portal_tenant.portal.expire_session()
    with pytest.raises(SessionExpired) as err:
        context.current().device_groups.fresh()
    assert isinstance(err.value, PermissionDenied) and err.value.operation == "GET machine_groups"


def test_failures_named_keeps_the_type_and_chains_the_original() -> None:
    original = NotFound("Security & Compliance: gone", status=404, code="c", operation="Get-ProtectionAlert",
                        exception_type="ManagementObjectNotFoundException")
    with pytest.raises(NotFound) as err, failures_named("AlertPolicy", "x", "read"):
        raise original
    assert str(err.value) == "AlertPolicy 'x' (read): Security & Compliance: gone"
    assert err.value.__cause__ is original and original.args == ("Security & Compliance: gone",)
    assert (err.value.status, err.value.code, err.value.operation, err.value.exception_type) == (
        404, "c", "Get-ProtectionAlert", "ManagementObjectNotFoundException")


def test_failures_named_leaves_other_exceptions_alone() -> None:
    with pytest.raises(KeyError), failures_named("AlertPolicy", "x", "read"):
        raise KeyError("k")
    plain = DefenderAirError("bad")
    with pytest.raises(DefenderAirError) as err, failures_named("AlertPolicy", "x", "read"):
        raise plain
    assert type(err.value) is DefenderAirError and err.value.__cause__ is plain


def test_a_handler_error_reaches_the_engine_typed_and_named(make_tenant: Callable[..., FakeTenant]) -> None:
    make_tenant(fake={"compliance_e5": False})
    props = {"name": "Many searches", "category": "Others", "threat_type": "Activity",
             "notify_users": ["a@contoso.com"], "aggregation_type": "SimpleAggregation", "threshold": 5.0,
             "enabled": True, "adopt_existing": False}
    with pytest.raises(DefenderAirError) as err:
        AlertPolicyProvider().create(props)
    assert str(err.value).startswith("AlertPolicy 'Many searches' (create): ")
    assert "license Office 365 E5" in str(err.value)
    cause = err.value.__cause__
    while cause is not None and not isinstance(cause, ServiceError):
        cause = cause.__cause__
    assert isinstance(cause, LicenceRequired)


def test_the_service_words_are_not_repeated_down_the_chain(make_tenant: Callable[..., FakeTenant]) -> None:
    """The engine shows the whole chain (the dynamic provider sends ``traceback.format_exc()``): the client's
    error, then the resource's. The handler's own wrapper in between is left out of the chain."""
    make_tenant(fake={"compliance_e5": False})
    props = {"name": "Many searches", "category": "Others", "threat_type": "Activity",
             "notify_users": ["a@contoso.com"], "aggregation_type": "SimpleAggregation", "threshold": 5.0,
             "enabled": True, "adopt_existing": False}
    with pytest.raises(DefenderAirError) as err:
        AlertPolicyProvider().create(props)
    shown = "".join(traceback.format_exception(err.value))
    assert shown.count("Creating advanced alert policies requires") == 2  # the cause, then the resource's error
    assert isinstance(err.value.__cause__, LicenceRequired)


def test_persistent_portal_throttling_is_throttled(portal_tenant: FakeTenant) -> None:
    portal_tenant.faults.throttle("portal", times=50)
    with pytest.raises(Throttled) as err:
        context.current().device_groups.fresh()
    assert err.value.operation == "GET machine_groups" and err.value.status == 429


def test_graph_errors_are_typed_and_name_the_lookup(tenant: FakeTenant) -> None:
    with pytest.raises(NotFound) as err:
        context.current().entra_groups.resolve(("No such group",))
    assert err.value.operation == "GET groups (No such group)"
