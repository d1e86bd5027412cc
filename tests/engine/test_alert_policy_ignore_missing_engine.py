"""AlertPolicy ``ignore_missing`` through the real dynamic-provider server, driven like the Pulumi engine, against the
emulator: a tenant that lacks a built-in (made with the compliance fake's public ``remove_policy``).

Each ``pulumi`` command is a new provider process (``engine_factory``), as with the CLI: a later command sees the
tenant as it is then, not a list of policies cached by the previous one.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

import pulumi_defender_air as air
from defender_air_provider.fakes.server import EmulatorServer
from defender_air_provider.fakes.tenant import FakeTenant
from tests.harness.engine import CheckFailed, Engine, EngineFactory, ProviderError, Registration, capture_registration

MALWARE = "Email messages containing malware removed after delivery"  # replaced; "will eventually go away"
MALWARE_ID = "0179b3f7-3fda-40c3-8f24-278563978dbb"
SECOPS = ["secops@contoso.onmicrosoft.com"]
WRITES = ("New-ProtectionAlert", "Set-ProtectionAlert", "Remove-ProtectionAlert")


@pytest.fixture
def tenant() -> FakeTenant:
    return FakeTenant("presets_on")


@pytest.fixture
def command(engine_factory: EngineFactory, tenant: FakeTenant) -> Iterator[Any]:
    """``command()``: a new provider process against the emulator serving ``tenant``."""
    with EmulatorServer(tenant, host="127.0.0.1", port=0) as server:
        yield lambda: engine_factory(config={"defender-air:emulatorUrl": server.url})


def policy(**kwargs: Any) -> Registration:
    args: dict[str, Any] = {"name": MALWARE, "enabled": True, "notify_users": SECOPS, "ignore_missing": True}
    args.update(kwargs)
    return capture_registration(lambda: air.AlertPolicy("malware-removed", **args))


def writes(tenant: FakeTenant) -> list[str]:
    return [op for op in tenant.log.operations("compliance") if op in WRITES]


def test_a_missing_built_in_is_kept_until_it_appears_then_converges(command: Any, tenant: FakeTenant) -> None:
    tenant.compliance.edit_policy(MALWARE_ID, Disabled=True, NotifyUser=["TenantAdmins"])
    snapshot = tenant.compliance.to_state()
    assert tenant.compliance.remove_policy(MALWARE_ID)
    tenant.log.clear()

    # pulumi up: created without any write, only the one list read.
    up: Engine = command()
    created = up.up(policy())
    assert created.step == "create" and created.state.id == MALWARE_ID
    assert created.state.outputs["present"] is False and created.state.outputs["is_built_in"] is True
    assert created.state.outputs["policy_id"] == MALWARE_ID and created.state.outputs["enabled"] is True
    assert writes(tenant) == [] and set(tenant.log.operations("compliance")) == {"Get-ProtectionAlert"}
    # The warning reaches the engine through the provider's stderr, naming the policy.
    assert up.process.wait_for_stderr("may have retired it")
    assert f"'{MALWARE}' is not in this tenant" in up.stderr_text()

    # The same program again: nothing to do, no request.
    tenant.log.clear()
    assert up.up(policy(), created.state).step == "same"
    assert tenant.log.count() == 0

    # pulumi refresh: still missing, so kept with present=False (never "gone"), and no write.
    refresh = command()
    kept = refresh.refresh(created.state)
    assert kept is not None and kept.id == MALWARE_ID and kept.outputs["present"] is False
    assert kept.inputs["ignore_missing"] is True and writes(tenant) == []

    # Microsoft restores it (disabled, notifying the admins). The next refresh shows it; the next up converges it.
    tenant.compliance.load_state(snapshot)
    later = command()
    back = later.refresh(kept)
    assert back is not None and back.outputs["present"] is True
    assert back.outputs["enabled"] is False and back.outputs["notify_users"] == ["TenantAdmins"]
    converged = later.up(policy(), back)
    assert converged.step == "update" and converged.state.outputs["present"] is True
    live = tenant.compliance.policy(MALWARE_ID)
    assert live is not None and live["Disabled"] is False and live["NotifyUser"] == SECOPS

    # pulumi destroy: a built-in is left as it is, with no call.
    tenant.log.clear()
    later.destroy(converged.state)
    assert tenant.log.count() == 0 and tenant.compliance.policy(MALWARE_ID) is not None


def test_an_input_change_while_missing_writes_nothing(command: Any, tenant: FakeTenant) -> None:
    tenant.compliance.remove_policy(MALWARE_ID)
    created = command().up(policy())
    tenant.log.clear()
    changed = command().up(policy(notify_users=["soc@contoso.onmicrosoft.com"]), created.state)
    assert changed.step == "update" and changed.state.outputs["present"] is False
    assert changed.state.outputs["notify_users"] == ["soc@contoso.onmicrosoft.com"] and writes(tenant) == []


def test_without_ignore_missing_create_still_fails(command: Any, tenant: FakeTenant) -> None:
    tenant.compliance.remove_policy(MALWARE_ID)
    with pytest.raises(ProviderError) as err:
        command().up(policy(ignore_missing=False))
    assert "built-in policies cannot be created" in err.value.message
    assert "ignore_missing=True" in err.value.message and writes(tenant) == []


def test_ignore_missing_with_custom_policy_arguments_fails_in_check(command: Any, tenant: FakeTenant) -> None:
    tenant.log.clear()
    with pytest.raises(CheckFailed) as err:
        command().up(policy(name="Mass download", category="Others", threat_type="Activity",
                            operations=["FileDownloaded"]))
    assert [p for p, _ in err.value.failures] == ["ignore_missing"]
    assert tenant.log.count() == 0  # check makes no request


def test_ignore_missing_on_an_existing_custom_policy_fails_at_create(command: Any, tenant: FakeTenant) -> None:
    with pytest.raises(ProviderError) as err:
        command().up(policy(name="Audit logging changed"))  # a custom policy of the emulator's seed
    assert "is a custom alert policy" in err.value.message and writes(tenant) == []
