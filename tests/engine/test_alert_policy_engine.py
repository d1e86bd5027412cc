"""AlertPolicy through the real dynamic-provider server, driven like the Pulumi engine, against the emulator."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

import pulumi_defender_air as air
from defender_air_provider.fakes.server import EmulatorServer
from defender_air_provider.fakes.tenant import FakeTenant
from tests.harness.engine import (
    CheckFailed,
    Engine,
    EngineFactory,
    Registration,
    capture_registration,
    capture_registrations,
)

ZWSP = "\u200b"
CAMPAIGN = "Email messages from a campaign removed after delivery"
CAMPAIGN_ID = "c8522cbb-9368-4e25-4ee9-08d8d899dfab"


@pytest.fixture(scope="module")
def tenant() -> FakeTenant:
    return FakeTenant("presets_on")


@pytest.fixture(scope="module")
def engine(module_engine_factory: EngineFactory, tenant: FakeTenant) -> Iterator[Engine]:
    with EmulatorServer(tenant, host="127.0.0.1", port=0) as server:
        yield module_engine_factory(config={"defender-air:emulatorUrl": server.url})


def policy(resource_name: str = "campaign", **kwargs: Any) -> Registration:
    return capture_registration(lambda: air.AlertPolicy(resource_name, **kwargs))


def test_adopting_a_built_in_never_creates_and_round_trips(engine: Engine, tenant: FakeTenant) -> None:
    tenant.log.clear()
    created = engine.up(policy(name=CAMPAIGN, enabled=True, notify_users=["secops@contoso.onmicrosoft.com"]))
    assert created.step == "create"
    assert created.state.id == CAMPAIGN_ID and created.state.outputs["is_built_in"] is True
    assert tenant.log.count("compliance", "New-ProtectionAlert") == 0
    assert tenant.compliance.policy(CAMPAIGN_ID)["NotifyUser"] == ["secops@contoso.onmicrosoft.com"]  # type: ignore[index]

    off = engine.up(policy(name=CAMPAIGN, enabled=False, notify_users=["secops@contoso.onmicrosoft.com"]),
                    created.state)
    assert off.step == "update" and tenant.compliance.policy(CAMPAIGN_ID)["Disabled"] is True  # type: ignore[index]
    on = engine.up(policy(name=CAMPAIGN, enabled=True, notify_users=["secops@contoso.onmicrosoft.com"]), off.state)
    assert on.step == "update" and tenant.compliance.policy(CAMPAIGN_ID)["Disabled"] is False  # type: ignore[index]

    engine.destroy(on.state)  # stops managing it
    assert tenant.compliance.policy(CAMPAIGN_ID) is not None
    assert tenant.compliance.policy(CAMPAIGN_ID)["Name"] == CAMPAIGN + ZWSP  # type: ignore[index]


def test_severity_on_a_built_in_fails_in_check_naming_it(engine: Engine, tenant: FakeTenant) -> None:
    tenant.log.clear()
    with pytest.raises(CheckFailed) as err:
        engine.up(policy(name=CAMPAIGN, severity="High"))
    assert [p for p, _ in err.value.failures] == ["severity"]
    assert tenant.log.count() == 0


def test_custom_policy_full_lifecycle(engine: Engine, tenant: FakeTenant) -> None:
    args: dict[str, Any] = {"name": "Content search deleted", "category": "Others", "threat_type": "Activity",
                            "operations": ["SearchRemoved"], "aggregation_type": "None", "severity": "Medium",
                            "notify_users": ["secops@contoso.onmicrosoft.com"]}
    created = engine.up(policy("search", **args))
    assert created.step == "create" and created.state.outputs["is_built_in"] is False
    pid = created.state.id

    tenant.log.clear()
    assert engine.up(policy("search", **args), created.state).step == "same"
    assert tenant.log.count() == 0  # check + diff: no HTTP

    updated = engine.up(policy("search", **{**args, "severity": "High", "comment": "reviewed"}), created.state)
    assert updated.step == "update"
    assert tenant.compliance.policy(pid)["Severity"] == "High"  # type: ignore[index]

    tenant.compliance.edit_policy(pid, Disabled=True)  # out-of-band change in the portal
    refreshed = engine.refresh(updated.state)
    assert refreshed is not None and refreshed.outputs["enabled"] is False
    repaired = engine.up(policy("search", **{**args, "severity": "High", "comment": "reviewed"}), refreshed)
    assert repaired.step == "update" and tenant.compliance.policy(pid)["Disabled"] is False  # type: ignore[index]

    replaced = engine.up(policy("search", **{**args, "threat_type": "Malware", "operations": None,
                                             "severity": "High", "comment": "reviewed"}), repaired.state)
    assert replaced.step == "replace" and replaced.state.id != pid
    assert tenant.compliance.policy(pid) is None

    engine.destroy(replaced.state)
    assert tenant.compliance.policy(replaced.state.id) is None


def test_refresh_of_fifty_policies_makes_at_most_three_list_calls(engine: Engine, tenant: FakeTenant) -> None:
    regs = [policy(f"p{i}", name=f"Refresh policy {i}", category="Others", threat_type="Activity",
                   operations=["SearchRemoved"], aggregation_type="None",
                   notify_users=["secops@contoso.onmicrosoft.com"]) for i in range(50)]
    states = [engine.up(reg).state for reg in regs]
    tenant.log.clear()
    with ThreadPoolExecutor(max_workers=4) as pool:  # the engine refreshes several resources at once
        refreshed = list(pool.map(engine.refresh, states))
    assert all(refreshed)
    assert tenant.log.count("compliance", "Get-ProtectionAlert") <= 3
    for state in states:
        engine.destroy(state)


def test_two_resources_for_one_policy_is_an_error() -> None:
    def program() -> None:
        air.AlertPolicy("a", name=CAMPAIGN)
        air.AlertPolicy("b", name=CAMPAIGN.upper() + ZWSP)

    with pytest.raises(Exception, match="claims the same name"):
        capture_registrations(program)
