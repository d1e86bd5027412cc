"""Issue 10, finding 1, through the real dynamic-provider server: a resource is bound to the tenant it was created in.

"With real credentials configured and DEFENDER_AIR_EMULATOR_URL still set in the shell, a refresh of a real
AlertPolicy reported it as gone." Here a resource is created against one emulator (or its state says a real tenant),
then refreshed, updated and destroyed by a provider configured for another endpoint: each step fails naming both,
refresh never answers "gone", and neither tenant's fakes get a request.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest

import pulumi_defender_air as air
from defender_air_provider.fakes.server import EmulatorServer
from defender_air_provider.fakes.tenant import FakeTenant
from tests.harness.engine import EngineFactory, ProviderError, Registration, capture_registration

REAL_TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"
EMULATOR_TENANT = "00000000-0000-0000-0000-000000000000"
NOTICE = "using the emulator at"
ARGS: dict[str, Any] = {"name": "Binding engine policy", "category": "Others", "threat_type": "Activity",
                        "operations": ["SearchRemoved"], "aggregation_type": "None", "severity": "Medium",
                        "notify_users": ["secops@contoso.onmicrosoft.com"]}


@pytest.fixture
def first() -> Iterator[EmulatorServer]:
    with EmulatorServer(FakeTenant("presets_on"), host="127.0.0.1", port=0) as server:
        yield server


@pytest.fixture
def second() -> Iterator[EmulatorServer]:
    with EmulatorServer(FakeTenant("presets_on"), host="127.0.0.1", port=0) as server:
        yield server


def policy(**overrides: Any) -> Registration:
    return capture_registration(lambda: air.AlertPolicy("bound", **{**ARGS, **overrides}))


def test_a_resource_of_one_emulator_is_refused_by_a_provider_for_another(
        engine_factory: EngineFactory, first: EmulatorServer, second: EmulatorServer) -> None:
    created = engine_factory(config={"defender-air:emulatorUrl": first.url}).up(policy())
    assert created.state.outputs["tenant"] == f"{EMULATOR_TENANT}@{first.url}"
    policy_id = created.state.id

    other = engine_factory(config={"defender-air:emulatorUrl": second.url})
    first.tenant.log.clear()
    second.tenant.log.clear()
    with pytest.raises(ProviderError) as refreshed:
        other.refresh(created.state)  # raises: the engine keeps the state as it was (never "gone")
    with pytest.raises(ProviderError) as updated:
        other.up(policy(severity="High"), created.state)
    with pytest.raises(ProviderError) as destroyed:
        other.destroy(created.state)
    for err, operation in ((refreshed, "read"), (updated, "update"), (destroyed, "delete")):
        message = err.value.message
        assert f"AlertPolicy 'Binding engine policy' ({operation})" in message, message
        assert f"created in the emulator at {first.url} (tenant {EMULATOR_TENANT})" in message, message
        assert f"configured for the emulator at {second.url}" in message, message
        assert f"set defender-air:emulatorUrl (or DEFENDER_AIR_EMULATOR_URL) to {first.url}" in message, message
    assert first.tenant.log.entries == [] and second.tenant.log.entries == []
    assert first.tenant.compliance.policy(policy_id) is not None  # untouched, where it was created

    # Back with the first endpoint, the same state refreshes and is destroyed as usual.
    back = engine_factory(config={"defender-air:emulatorUrl": first.url})
    again = back.refresh(created.state)
    assert again is not None and again.outputs["tenant"] == created.state.outputs["tenant"]
    back.destroy(again)
    assert first.tenant.compliance.policy(policy_id) is None


def test_a_leftover_emulator_url_in_the_shell_does_not_retarget_a_real_stack(
        engine_factory: EngineFactory, first: EmulatorServer, second: EmulatorServer) -> None:
    """The finding exactly: state from a real tenant, the real tenant id configured, DEFENDER_AIR_EMULATOR_URL in the
    environment. (The state is made here against an emulator and then says what a real stack's state says.)"""
    made = engine_factory(config={"defender-air:emulatorUrl": first.url}).up(policy())
    real = replace(made.state, outputs={**made.state.outputs, "tenant": f"{REAL_TENANT}@public"})

    shell = engine_factory(config={"defender-air:tenantId": REAL_TENANT},
                           env={"DEFENDER_AIR_EMULATOR_URL": second.url})
    second.tenant.log.clear()
    with pytest.raises(ProviderError) as err:
        shell.refresh(real)
    message = err.value.message
    assert f"created in tenant {REAL_TENANT} (public cloud)" in message, message
    assert f"configured for the emulator at {second.url} (tenant {REAL_TENANT})" in message, message
    assert "unset DEFENDER_AIR_EMULATOR_URL" in message, message
    with pytest.raises(ProviderError):
        shell.destroy(real)
    assert second.tenant.log.entries == []
    assert shell.process.wait_for_stderr(NOTICE) and shell.stderr_text().count(NOTICE) == 1


def test_state_from_before_the_binding_adopts_the_tenant_on_refresh(
        engine_factory: EngineFactory, first: EmulatorServer) -> None:
    engine = engine_factory(config={"defender-air:emulatorUrl": first.url})
    created = engine.up(policy())
    old = replace(created.state, outputs={k: v for k, v in created.state.outputs.items() if k != "tenant"})
    refreshed = engine.refresh(old)
    assert refreshed is not None and refreshed.outputs["tenant"] == f"{EMULATOR_TENANT}@{first.url}"
    engine.destroy(refreshed)


def test_the_emulator_is_announced_once_per_provider_process(
        engine_factory: EngineFactory, first: EmulatorServer) -> None:
    engine = engine_factory(config={"defender-air:emulatorUrl": first.url})
    created = engine.up(policy())
    # A second resource type: the dynamic server configures each provider class it meets.
    preset = engine.up(capture_registration(lambda: air.PresetPolicyAssignment("standard", preset="standard")))
    engine.refresh(created.state)
    engine.destroy(created.state)
    engine.destroy(preset.state)
    assert engine.process.wait_for_stderr(NOTICE)
    stderr = engine.stderr_text()
    assert stderr.count(NOTICE) == 1, stderr
    assert f"defender-air WARNING: {NOTICE} {first.url}, not Microsoft's services" in stderr


def test_no_notice_without_the_emulator(engine_factory: EngineFactory) -> None:
    engine = engine_factory(config={"defender-air:tenantId": REAL_TENANT})
    assert engine.preview(policy()).step == "create"  # Check: the provider is loaded and configured, no request
    assert not engine.process.wait_for_stderr(NOTICE, timeout=1.0)
