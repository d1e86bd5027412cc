"""DeviceGroup / DefaultDeviceGroup through the real dynamic-provider server, against the emulator."""

from __future__ import annotations

import json
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

import pulumi_defender_air as air
from defender_air_provider.fakes.server import EmulatorServer
from defender_air_provider.fakes.tenant import FakeTenant
from tests.harness.engine import CheckFailed, Engine, EngineFactory, Registration, capture_registration


@pytest.fixture
def tenant() -> FakeTenant:
    return FakeTenant()


@pytest.fixture
def engine(engine_factory: EngineFactory, tenant: FakeTenant) -> Iterator[Engine]:
    with EmulatorServer(tenant, host="127.0.0.1", port=0) as server:
        yield engine_factory(config={"defender-air:emulatorUrl": server.url})


def group(resource_name: str = "tier0", **kwargs: Any) -> Registration:
    args: dict[str, Any] = {"display_name": "Tier 0 servers", "automation_level": air.AutomationLevel.SEMI_ALL_FOLDERS,
                            "rules": [air.DeviceGroupRuleArgs(property="tag", operator="equals", value="Tier0")]}
    args.update(kwargs)
    return capture_registration(lambda: air.DeviceGroup(resource_name, **args))


def unmanaged_as_read(tenant: FakeTenant, managed: set[str], rank_moves: int = 0) -> None:
    """Every PUT body carries the groups we do not manage exactly as a GET returned them, byte for byte. The one
    exception is a PUT that moves a managed group to another rank: the groups it passes keep their order but
    shift their Priority (what the portal's own drag-and-drop does); ``rank_moves`` says how many PUTs may."""
    gets = [json.loads(b)["items"] for b in tenant.portal.get_bodies]
    shifted_puts = 0
    for body in tenant.portal.put_bodies:
        shifted = False
        for item in json.loads(body):
            gid = str(item["MachineGroupId"])
            if gid in managed or gid == "-1":
                continue
            seen = [g for items in gets for g in items if str(g["MachineGroupId"]) == gid]
            if any(json.dumps(item) == json.dumps(g) for g in seen):
                continue
            without_priority = {k: v for k, v in item.items() if k != "Priority"}
            assert any(json.dumps(without_priority) == json.dumps({k: v for k, v in g.items() if k != "Priority"})
                       for g in seen), gid
            shifted = True
        shifted_puts += shifted
    assert shifted_puts <= rank_moves


def test_full_lifecycle(engine: Engine, tenant: FakeTenant) -> None:
    created = engine.up(group())
    assert created.step == "create"
    gid = created.state.id
    assert created.state.outputs["group_id"] == gid

    tenant.log.clear()
    assert engine.up(group(), created.state).step == "same"
    assert tenant.log.count() == 0

    renamed = engine.up(group(display_name="Tier zero servers"), created.state)
    assert renamed.step == "update" and tenant.portal.group(int(gid))["Name"] == "Tier zero servers"  # type: ignore[index]

    ranked = engine.up(group(display_name="Tier zero servers", rank=1), renamed.state)
    assert ranked.step == "update" and ranked.state.outputs["rank"] == 1

    full = engine.up(group(display_name="Tier zero servers", rank=1, automation_level="full"), ranked.state)
    assert full.step == "update" and tenant.portal.group(int(gid))["AutoRemediationLevel"] == 3  # type: ignore[index]

    tenant.portal.edit_group(int(gid), Description="edited in the portal", AutoRemediationLevel=0)
    refreshed = engine.refresh(full.state)
    assert refreshed is not None and refreshed.outputs["automation_level"] == "none"
    repaired = engine.up(group(display_name="Tier zero servers", rank=1, automation_level="full"), refreshed)
    assert repaired.step == "update" and tenant.portal.group(int(gid))["AutoRemediationLevel"] == 3  # type: ignore[index]

    engine.destroy(repaired.state)
    assert tenant.portal.group(int(gid)) is None
    # The provider's only channel to the user is its stderr, which the engine shows.
    assert "email notification rules" in engine.stderr_text()
    unmanaged_as_read(tenant, {gid}, rank_moves=1)


def test_twenty_concurrent_creates(engine: Engine, tenant: FakeTenant) -> None:
    before = {g["MachineGroupId"]: g for g in tenant.portal.groups() if not g["IsUnassignedMachineGroup"]}
    regs = [group(f"g{i}", display_name=f"Group {i}", rules=[]) for i in range(20)]
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(engine.up, regs))
    assert all(r.step == "create" for r in results)
    assert len({r.state.id for r in results}) == 20
    for body in tenant.portal.put_bodies:
        assert sum(1 for item in json.loads(body) if item["MachineGroupId"] == -1) <= 1
    for gid, original in before.items():
        current = tenant.portal.group(gid)
        assert current is not None and {k: v for k, v in current.items() if k != "Priority"} == \
            {k: v for k, v in original.items() if k != "Priority"}
    unmanaged_as_read(tenant, {r.state.id for r in results})


def test_refresh_of_fifty_groups_makes_at_most_three_gets(engine: Engine, tenant: FakeTenant) -> None:
    regs = [group(f"r{i}", display_name=f"Refresh {i}", rules=[]) for i in range(50)]
    states = [engine.up(reg).state for reg in regs]
    tenant.log.clear()
    with ThreadPoolExecutor(max_workers=4) as pool:
        refreshed = list(pool.map(engine.refresh, states))
    assert all(refreshed)
    assert tenant.log.count("portal") <= 3


def test_bad_input_fails_in_check_without_requests(engine: Engine, tenant: FakeTenant) -> None:
    tenant.log.clear()
    bad = capture_registration(lambda: air.DeviceGroup(
        "bad", display_name=" ", automation_level="turbo", rank=0,
        rules=[{"property": "tag", "operator": "in", "value": ["x"]}]
        + [{"property": "name", "operator": "starts_with", "value": f"n{i}"} for i in range(11)]))
    with pytest.raises(CheckFailed) as err:
        engine.up(bad)
    assert sorted(p for p, _ in err.value.failures) == ["automation_level", "display_name", "rank", "rules",
                                                        "rules[0].operator"]
    assert tenant.log.count() == 0


def test_default_group(engine: Engine, tenant: FakeTenant) -> None:
    reg = capture_registration(lambda: air.DefaultDeviceGroup("default", automation_level="full"))
    created = engine.up(reg)
    ungrouped = next(g for g in tenant.portal.groups() if g["IsUnassignedMachineGroup"])
    assert created.state.id == str(ungrouped["MachineGroupId"]) and ungrouped["AutoRemediationLevel"] == 3
    puts = len(tenant.portal.put_bodies)
    engine.destroy(created.state)
    assert len(tenant.portal.put_bodies) == puts
