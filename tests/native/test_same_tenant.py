"""One program through both servers, each on a fresh tenant: the dynamic-provider server and the native plugin must
leave the two tenants the same after every step (issue 12: "identical tenant results").

The tenants are compared as the emulator stores them (``FakeTenant.to_state``), with what legitimately differs
between two runs blanked: generated GUIDs and timestamps.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest

import pulumi_defender_air as air
from defender_air_provider.fakes.server import EmulatorServer
from defender_air_provider.fakes.tenant import FakeTenant
from tests.harness.engine import Engine, EngineFactory, Registration, ResourceState, capture_registrations
from tests.harness.native import NativeEngineFactory

SECOPS = "secops@contoso.onmicrosoft.com"
UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
TIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2})?")
INTERNAL = ("lagging", "stale", "stale_reads")  # the fakes' own bookkeeping of replication lag


def program(severity: str = "Low", level: str = "full", strict_group: str = "vip@contoso.onmicrosoft.com") -> \
        Callable[[], None]:
    def resources() -> None:
        air.AirBaseline("baseline", strict_recipients=air.RecipientScopeArgs(groups=[strict_group]),
                        alert_notify_users=[SECOPS])
        for i in range(3):
            air.AlertPolicy(f"policy-{i}", name=f"Same tenant policy {i}", category="Others", threat_type="Activity",
                            operations=["FileDeleted"], aggregation_type="None", notify_users=[SECOPS],
                            severity=severity)
        for i in range(3):
            air.DeviceGroup(f"group-{i}", display_name=f"Same tenant group {i}", automation_level=level,
                            rank=i + 1, user_groups=["SOC Analysts"] if i == 0 else [],
                            rules=[air.DeviceGroupRuleArgs(property="tag", operator="equals", value=f"tier{i}")])
    return resources


def snapshot(tenant: FakeTenant) -> Any:
    state = tenant.to_state()
    for service in state.values():
        for key in INTERNAL:
            service.pop(key, None)
    text = TIME.sub("<time>", UUID.sub("<uuid>", json.dumps(state, sort_keys=True)))
    return json.loads(text)


@pytest.fixture
def runs() -> Iterator[dict[str, tuple[FakeTenant, Engine]]]:
    """A fresh tenant and an engine for each server."""
    factories: dict[str, EngineFactory] = {"dynamic": EngineFactory(), "native": NativeEngineFactory()}
    tenants = {name: FakeTenant("presets_on") for name in factories}
    servers = {name: EmulatorServer(tenants[name], host="127.0.0.1", port=0) for name in factories}
    try:
        for server in servers.values():
            server.__enter__()
        yield {name: (tenants[name], factories[name](config={"defender-air:emulatorUrl": servers[name].url}))
               for name in factories}
    finally:
        for factory in factories.values():
            factory.close()
        for server in servers.values():
            server.__exit__(None, None, None)


def deploy(engine: Engine, regs: list[Registration], states: dict[str, ResourceState]) -> dict[str, ResourceState]:
    """One `pulumi up`, resource by resource in program order."""
    return {reg.name: engine.up(reg, states.get(reg.name)).state for reg in regs}


def test_the_same_program_leaves_both_tenants_the_same(runs: dict[str, tuple[FakeTenant, Engine]]) -> None:
    first, changed = capture_registrations(program()), capture_registrations(
        program(severity="High", level="semi_all_folders", strict_group="board@contoso.onmicrosoft.com"))
    assert len(first) > 20
    states: dict[str, dict[str, ResourceState]] = {name: {} for name in runs}
    for regs in (first, changed):
        for name, (_, engine) in runs.items():
            states[name] = deploy(engine, regs, states[name])
        assert snapshot(runs["dynamic"][0]) == snapshot(runs["native"][0])
    for name, (_, engine) in runs.items():
        for state in reversed(list(states[name].values())):
            engine.destroy(state)
    assert snapshot(runs["dynamic"][0]) == snapshot(runs["native"][0])
    groups = [g["Name"] for g in runs["native"][0].portal.groups()]
    assert not [g for g in groups if g.startswith("Same tenant group")]  # the comparison saw real changes
