"""PresetPolicyAssignment through the real dynamic-provider server, driven like the Pulumi engine.

The provider process talks to the emulator (in this test process, so the fake's state and request log are
visible here) through the contract's ``defender-air:emulatorUrl``.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

import pulumi_defender_air as air
from defender_air_provider.fakes.server import EmulatorServer
from defender_air_provider.fakes.tenant import FakeTenant
from tests.harness.engine import CheckFailed, Engine, EngineFactory, capture_registration

VIP = "priority-accounts@contoso.onmicrosoft.com"
CANARY_SECRET = "canary-client-secret-7f3a9c"
CANARY_SESSION = "sccauth=canary-sccauth-51d2e8; XSRF-TOKEN=canary-xsrf-90b4c1"


@pytest.fixture(scope="module")
def tenant() -> FakeTenant:
    return FakeTenant("presets_on")


@pytest.fixture(scope="module")
def emulator(tenant: FakeTenant) -> Iterator[str]:
    server = EmulatorServer(tenant, host="127.0.0.1", port=0)
    server.start()
    try:
        yield server.url
    finally:
        server.stop()


@pytest.fixture(scope="module")
def engine(module_engine_factory: EngineFactory, emulator: str) -> Engine:
    return module_engine_factory(
        config={"defender-air:emulatorUrl": emulator, "defender-air:clientSecret": CANARY_SECRET,
                "defender-air:portalSession": CANARY_SESSION},
        secret_config=("defender-air:clientSecret", "defender-air:portalSession"),
    )


def strict(**kwargs: object):
    args = {"preset": "strict", "recipients": air.RecipientScopeArgs(groups=[VIP])}
    args.update(kwargs)
    return capture_registration(lambda: air.PresetPolicyAssignment("strict-preset", **args))  # type: ignore[call-overload]


def test_full_lifecycle(engine: Engine, tenant: FakeTenant) -> None:
    tenant.log.clear()
    reg = strict()
    assert reg.type_token == "pulumi-python:dynamic/air:PresetPolicyAssignment"

    created = engine.up(reg)
    assert created.step == "create"
    assert tenant.log.count("exchange") <= 6
    assert tenant.exchange.rule("eop", "strict")["State"] == "Enabled"  # type: ignore[index]
    state = created.state
    assert state.id == "strict"
    assert state.outputs["eop_rule_state"] == "Enabled" and state.outputs["atp_rule_state"] == "Enabled"

    # A no-op `pulumi up`: check + diff with unchanged inputs report no change and make no request.
    tenant.log.clear()
    same = engine.up(reg, state)
    assert same.step == "same"
    assert tenant.log.count() == 0

    # Update: one more group, in another case and order (the diff is case- and order-insensitive).
    reg2 = strict(recipients={"groups": ["Board@contoso.onmicrosoft.com", VIP.upper()]})
    updated = engine.up(reg2, state)
    assert updated.step == "update"
    assert sorted(tenant.exchange.rule("atp", "strict")["SentToMemberOf"]) == sorted(  # type: ignore[index]
        ["Board@contoso.onmicrosoft.com", VIP.upper()])
    state = updated.state
    assert engine.up(reg2, state).step == "same"

    # Refresh after an out-of-band change in the portal: the drift shows and the next up repairs it.
    tenant.exchange.edit_rule("eop", "strict", State="Disabled")
    refreshed = engine.refresh(state)
    assert refreshed is not None and refreshed.outputs["eop_rule_state"] == "Disabled"
    assert refreshed.inputs["enabled"] is False
    assert engine.preview(reg2, refreshed).step == "update"
    repaired = engine.up(reg2, refreshed)
    assert repaired.step == "update"
    assert tenant.exchange.rule("eop", "strict")["State"] == "Enabled"  # type: ignore[index]

    # Destroy turns the preset off and keeps its recipients.
    engine.destroy(repaired.state)
    eop = tenant.exchange.rule("eop", "strict")
    assert eop is not None and eop["State"] == "Disabled" and eop["SentToMemberOf"]


def test_preview_with_unknown_inputs_plans_without_requests_or_writes(engine: Engine, tenant: FakeTenant) -> None:
    tenant.log.clear()
    reg = strict().with_unknowns(["recipients"])
    planned = engine.preview(reg)
    assert planned.step == "create"
    state = engine.up(strict()).state
    tenant.log.clear()
    assert engine.preview(reg, state).step == "update"
    assert tenant.log.count() == 0
    engine.destroy(state)


def test_bad_input_fails_in_check_with_one_message_each_and_no_request(engine: Engine, tenant: FakeTenant) -> None:
    tenant.log.clear()
    bad = capture_registration(lambda: air.PresetPolicyAssignment(
        "bad", preset="medium",
        recipients={"users": ["not-an-address", "dup@contoso.com"], "domains": ["contoso .com"]},
        exclusions={"users": ["dup@contoso.com"]}))
    with pytest.raises(CheckFailed) as err:
        engine.up(bad)
    properties = sorted(p for p, _ in err.value.failures)
    assert properties == ["exclusions.users", "preset", "recipients.domains", "recipients.users"]
    assert tenant.log.count() == 0


def test_no_secret_in_state_provider_or_logs(engine: Engine, tenant: FakeTenant) -> None:
    reg = strict()
    assert CANARY_SECRET not in repr(reg.inputs)
    result = engine.up(reg)
    refreshed = engine.refresh(result.state)
    assert refreshed is not None
    engine.destroy(refreshed)
    everything = repr([reg.inputs, result.state.inputs, result.state.outputs, refreshed.outputs,
                       refreshed.inputs]) + engine.stderr_text()
    for fragment in (CANARY_SECRET, "canary-sccauth-51d2e8", "canary-xsrf-90b4c1"):
        assert fragment not in everything
    # The serialized provider is a by-reference pickle: no config, no secrets, no code.
    assert len(reg.provider_payload) < 300


def test_two_resources_for_one_preset_is_an_error() -> None:
    def program() -> None:
        air.PresetPolicyAssignment("a", preset="strict")
        air.PresetPolicyAssignment("b", preset="Strict")

    with pytest.raises(Exception, match="claims the same preset 'Strict' as PresetPolicyAssignment 'a'"):
        capture_registration(program)  # type: ignore[arg-type]
