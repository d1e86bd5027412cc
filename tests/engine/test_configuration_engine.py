"""Bad provider configuration and an unreachable emulator, through the real dynamic-provider server and the native
plugin.

pulumi.dynamic calls the provider's ``configure`` lazily, inside the first Check (or Read) of the process, and turns
an exception into a gRPC error whose text is a whole Python traceback. The provider keeps a refused configuration
instead, so every Check reports it as a plain check failure: `pulumi preview` stops there, before any request. The
native plugin refuses the same configuration in CheckConfig, with the same sentences: the engine then fails the
provider and every resource of it before any call for them (the harness raises ``CheckFailed`` for the provider).
"""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest

import pulumi_defender_air as air
from defender_air_provider.fakes.server import EmulatorServer
from defender_air_provider.fakes.tenant import FakeTenant
from tests.harness.engine import CheckFailed, EngineFactory, ProviderError, Registration, capture_registration

GUID = "11111111-2222-3333-4444-555555555555"


@pytest.fixture
def tenant() -> FakeTenant:
    return FakeTenant("presets_on")


@pytest.fixture
def emulator(tenant: FakeTenant) -> Iterator[str]:
    with EmulatorServer(tenant, host="127.0.0.1", port=0) as server:
        yield server.url


def device_group() -> Registration:
    return capture_registration(lambda: air.DefaultDeviceGroup("ungrouped", automation_level="full"))


def alert_policy() -> Registration:
    return capture_registration(lambda: air.AlertPolicy(
        "forwarding", name="Creation of forwarding/redirect rule", notify_users=["secops@contoso.com"]))


def test_a_malformed_tenant_id_fails_preview_with_the_plain_message_and_no_request(
        engine_factory: EngineFactory, emulator: str, tenant: FakeTenant) -> None:
    engine = engine_factory(config={"defender-air:emulatorUrl": emulator, "defender-air:tenantId": "contoso.com"})
    for reg in (device_group(), alert_policy()):
        with pytest.raises(CheckFailed) as caught:
            engine.preview(reg)
        assert len(caught.value.failures) == 1
        prop, reason = caught.value.failures[0]
        assert prop == ""  # the engine prints "<type> resource '<name>' has a problem: <reason>"
        assert reason.startswith("defender-air:tenantId (or AZURE_TENANT_ID) must be the tenant GUID")
        assert "Traceback" not in reason
    assert tenant.log.count() == 0


def test_contradictory_credentials_fail_preview_listing_every_problem(engine_factory: EngineFactory) -> None:
    engine = engine_factory(
        config={"defender-air:tenantId": GUID, "defender-air:clientSecret": "canary-secret-8c1f2e",
                "defender-air:clientCertificatePath": "/nowhere/app.pem"},
        secret_config=("defender-air:clientSecret",))
    with pytest.raises(CheckFailed) as caught:
        engine.preview(device_group())
    reasons = [reason for _, reason in caught.value.failures]
    assert [r.split(" ")[:3] for r in reasons] == [["Both", "a", "client"], ["A", "client", "secret"],
                                                   ["A", "client", "certificate"], ["The", "client", "certificate"]]
    assert all("canary-secret" not in r for r in reasons)


def test_an_unknown_cloud_fails_preview(engine_factory: EngineFactory) -> None:
    engine = engine_factory(config={"defender-air:cloud": "china"})
    with pytest.raises(CheckFailed, match="defender-air:cloud is 'china'; use one of public, usgovdod, usgovhigh"):
        engine.preview(device_group())


def test_refresh_with_a_refused_configuration_fails_and_never_reports_the_object_gone(
        engine_factory: EngineFactory, emulator: str, tenant: FakeTenant) -> None:
    created = engine_factory(config={"defender-air:emulatorUrl": emulator}).up(device_group())
    tenant.log.clear()
    broken = engine_factory(config={"defender-air:emulatorUrl": emulator, "defender-air:tenantId": "contoso"})
    with pytest.raises((ProviderError, CheckFailed)) as caught:
        broken.refresh(created.state)
    if isinstance(caught.value, ProviderError):  # dynamic: the read itself fails
        assert caught.value.message.startswith(
            "defender_air_provider.core.settings.InvalidConfiguration: DefaultDeviceGroup 'Ungrouped devices "
            "(default)' (read): defender-air:tenantId (or AZURE_TENANT_ID) must be the tenant GUID")
    else:  # native: the provider fails CheckConfig, so no Read is sent
        assert isinstance(caught.value, CheckFailed)
        reason = caught.value.failures[0][1]
        assert reason.startswith("defender-air:tenantId (or AZURE_TENANT_ID) must be the tenant GUID")
    assert tenant.log.count() == 0


def closed_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_an_emulator_that_is_not_running_is_named_in_the_error(engine_factory: EngineFactory) -> None:
    base = f"http://127.0.0.1:{closed_port()}"
    engine = engine_factory(config={"defender-air:emulatorUrl": base})
    with pytest.raises(ProviderError) as caught:
        engine.up(device_group())
    # The dynamic server puts the exception's type first; the native plugin sends our sentence alone.
    message = caught.value.message.removeprefix("defender_air_provider.core.errors.ServiceError: ")
    assert message.startswith("DefaultDeviceGroup 'Ungrouped devices (default)' (create): Defender portal: ")
    assert f"could not connect to {base.removeprefix('http://')}: connection refused" in message
    assert f"Is the emulator running at {base}?" in message


def test_no_configuration_at_all_fails_preview_for_what_each_resource_needs(engine_factory: EngineFactory) -> None:
    """Nothing configured (no emulator, no tenant id, no portal session): the alert policy fails preview for want of
    a tenant id and the device group for want of a portal session, as `pulumi up` would fail, with no request."""
    engine = engine_factory(config={})
    with pytest.raises(CheckFailed, match="No tenant id: set it with `pulumi config set defender-air:tenantId"):
        engine.preview(alert_policy())
    with pytest.raises(CheckFailed, match="No Defender portal session"):
        engine.preview(device_group())


def test_a_tenant_id_alone_is_enough_for_preview_of_an_alert_policy(engine_factory: EngineFactory) -> None:
    engine = engine_factory(config={"defender-air:tenantId": GUID})
    engine.preview(alert_policy())
