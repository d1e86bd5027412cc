"""The round trip of ``defender-air export`` (CONTRACT.md, "Command line"), as evidence for one tenant at a time.

``round_trip(tenant)`` serves the fake tenant with the emulator, exports it in-process (``export_tenant``), runs the
generated ``__main__.py`` under Pulumi mocks to get what the program registers, then drives every registration
through a real dynamic-provider process (tests/harness/engine.py) against the same tenant, as ``pulumi up`` on a new
stack, then ``pulumi refresh``, then ``pulumi preview`` do. What it asserts on the way:

* the export itself only reads;
* ``up`` creates (adopts) every resource and writes nothing to any backend; the tenant's state is unchanged;
* refresh finds every resource, and the preview after it plans no change (``same``, Diff ``none``).

``assert_matches_tenant`` then compares every resource's outputs (after create and after refresh) with the fakes'
records, through wire tables of its own (not the client's), and checks that every object of the tenant is either
declared or commented out. ``ruff_format_diff`` and ``reordered_copy`` serve the "formatted" and "deterministic"
claims.

Nothing here is shared across tenants: each round trip starts its own provider process (a process caches reads
briefly, so one reused across tenants could answer from the previous tenant).
"""

from __future__ import annotations

import json
import pickle
import subprocess
import sys
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from defender_air_provider.core.settings import Settings
from defender_air_provider.export.files import Export, export_tenant
from defender_air_provider.fakes.server import EmulatorServer
from defender_air_provider.fakes.tenant import FakeTenant
from defender_air_provider.handlers.context import ProviderContext
from tests.harness.engine import (
    Engine,
    EngineFactory,
    PreviewResult,
    Registration,
    ResourceState,
    capture_registrations,
)
from tests.support import RecordingSleep, writes_to

# The portal's integers, from the wire notes (docs/wire/defender-portal.md §3.1, §3.3, §3.4), written out here rather
# than imported from the client, so that a wrong client table cannot make these assertions agree with it.
LEVELS = {0: "none", 1: "semi_all_folders", 2: "semi_non_temp_folders", 3: "full"}
PROPERTIES = {0: "name", 1: "domain", 2: "tag", 3: "os"}
OPERATORS = {0: "starts_with", 1: "ends_with", 2: "equals", 3: "contains", 4: "in"}
UNGROUPED_PRIORITY = 2147483647
# Endpoint advanced features: argument -> key of the portal's settings object (docs/wire/defender-portal.md §6.4).
FEATURES = {
    "auto_resolve_investigated_alerts": "AutoResolveInvestigatedAlerts",
    "allow_or_block_file": "BlockListEnabled",
    "edr_in_block_mode": "EnableWdavPassiveModeRemediation",
    "restrict_correlation_to_device_groups": "IsolateIncidentsWithDifferentDeviceGroups",
    "custom_network_indicators": "AllowWdavNetworkBlock",
    "tamper_protection": "EnableWdavAntiTampering",
    "device_discovery": "MagellanOptOut",  # stored inverted
    "web_content_filtering": "WebCategoriesEnabled",
    "download_quarantined_files": "EnableQuarantinedFileDownload",
    "show_user_details": "ShowUserAadProfile",
}
SCOPES = {"users": "SentTo", "groups": "SentToMemberOf", "domains": "RecipientDomainIs"}
WORKERS = 4  # the dynamic provider server's gRPC worker threads: the engine runs steps in parallel


# ---------------------------------------------------------------------------------------------- export
def export_at(url: str) -> Export:
    """``defender-air export`` in-process against the emulator at ``url`` (no real sleeping)."""
    return export_tenant(ProviderContext(Settings(emulator_url=url), sleep=RecordingSleep()))


def export_of(tenant: FakeTenant) -> Export:
    """Serve ``tenant`` and export it; the export only reads."""
    with EmulatorServer(tenant, host="127.0.0.1", port=0) as server:
        tenant.log.clear()
        export = export_at(server.url)
    assert writes_to(tenant) == [], "the export wrote to the tenant"
    return export


def program_of(export: Export) -> str:
    return export.files["__main__.py"]


def registrations(text: str) -> list[Registration]:
    """What the program registers when Pulumi runs it (the commented-out resources register nothing)."""
    # The SDK's serialize_provider (pulumi/dynamic/dynamic.py) wraps pickle._Pickler._batch_setitems once more for
    # every resource constructed and never unwraps it. Harmless for a program (our providers pickle by reference, no
    # dict), but these tests construct well over a thousand resources in one process, after which pickling any dict
    # with the Python pickler exceeds the recursion limit (tests/harness/test_engine_harness.py did). Undo it.
    wrapped = pickle._Pickler._batch_setitems  # type: ignore[attr-defined]
    try:
        return capture_registrations(lambda: exec(compile(text, "__main__.py", "exec"), {"__name__": "__main__"}))
    finally:
        pickle._Pickler._batch_setitems = wrapped  # type: ignore[attr-defined]


def ruff_format_diff(text: str) -> str:
    """What ``ruff format`` (its defaults, no project config) would change in ``text``: empty when nothing."""
    done = subprocess.run([sys.executable, "-m", "ruff", "format", "--isolated", "--diff", "-"], input=text,
                          capture_output=True, text=True, encoding="utf-8", check=False, timeout=60)
    assert done.returncode in (0, 1), done.stderr  # 1: it would reformat (the diff is on stdout)
    return done.stdout if done.returncode else ""


# ---------------------------------------------------------------------------------------------- the round trip
@dataclass(frozen=True)
class Step:
    """One resource through ``up`` on a new stack, ``refresh`` and ``preview``."""

    registration: Registration
    created: ResourceState
    refreshed: ResourceState
    planned: PreviewResult

    @property
    def kind(self) -> str:
        return self.registration.type_token.rsplit(":", 1)[-1]


@dataclass(frozen=True)
class RoundTrip:
    export: Export
    steps: list[Step]

    @property
    def text(self) -> str:
        return program_of(self.export)

    def of_kind(self, kind: str) -> list[Step]:
        return [s for s in self.steps if s.kind == kind]

    def step(self, resource_name: str) -> Step:
        [found] = [s for s in self.steps if s.registration.name == resource_name]
        return found


def _through_engine(engine: Engine, registration: Registration) -> Step:
    name = registration.name
    up = engine.up(registration)
    assert up.step == "create", f"{name}: a new stack should create (adopt) it, got {up.step}"
    refreshed = engine.refresh(up.state)
    assert refreshed is not None, f"{name}: refresh found nothing right after create"
    planned = engine.preview(registration, refreshed)
    assert planned.diff is not None and planned.diff.changes == "none" and planned.step == "same", (
        f"{name}: preview after refresh plans {planned.step} ({planned.diff}); inputs {planned.inputs}, "
        f"outputs {refreshed.outputs}")
    return Step(registration, up.state, refreshed, planned)


def round_trip(tenant: FakeTenant) -> RoundTrip:
    """Export ``tenant``, then apply the program to it (see the module docstring); one provider process."""
    factory = EngineFactory()
    try:
        with EmulatorServer(tenant, host="127.0.0.1", port=0) as server:
            tenant.log.clear()
            export = export_at(server.url)
            assert writes_to(tenant) == [], "the export wrote to the tenant"
            declared = registrations(program_of(export))
            assert len(declared) == sum(export.counts().values())
            before = tenant.to_state()
            tenant.log.clear()
            engine = factory(config={"defender-air:emulatorUrl": server.url})
            with ThreadPoolExecutor(WORKERS) as pool:
                steps = list(pool.map(lambda registration: _through_engine(engine, registration), declared))
            assert writes_to(tenant) == [], "applying the exported program wrote to the tenant it came from"
            assert tenant.to_state() == before
    finally:
        factory.close()
    return RoundTrip(export, steps)


# ---------------------------------------------------------------------------------------------- outputs vs tenant
def assert_matches_tenant(tenant: FakeTenant, trip: RoundTrip) -> None:
    """Every resource's outputs (after create and after refresh) are what the fakes hold, and every object of the
    tenant is declared or commented out."""
    checks: dict[str, Callable[[FakeTenant, dict[str, Any]], None]] = {
        "DeviceGroup": _device_group, "DefaultDeviceGroup": _device_group, "AlertPolicy": _alert_policy,
        "PresetPolicyAssignment": _preset, "EndpointAdvancedFeatures": _advanced_features,
    }
    for step in trip.steps:
        for state in (step.created, step.refreshed):
            try:
                checks[step.kind](tenant, state.outputs)
            except AssertionError as exc:
                raise AssertionError(f"{step.kind} {step.registration.name}: {exc}") from exc
    _assert_covered(tenant, trip)


def _device_group(tenant: FakeTenant, out: dict[str, Any]) -> None:
    group = tenant.portal.group(int(out["group_id"]))
    assert group is not None
    assert out["automation_level"] == LEVELS[group["AutoRemediationLevel"]]
    assigned = [a["WcdAadGroup"]["ObjectId"].lower() for a in group.get("MachineGroupAssignments") or []]
    assert sorted(i.lower() for i in out["user_group_ids"]) == sorted(assigned)
    if group["IsUnassignedMachineGroup"]:
        return
    assert out["display_name"] == group["Name"]
    assert out["description"] == (group.get("Description") or "")
    real = [g for g in tenant.portal.groups() if not g["IsUnassignedMachineGroup"]]
    ranked = sorted(real, key=lambda g: g["Priority"])
    assert out["rank"] == [g["MachineGroupId"] for g in ranked].index(group["MachineGroupId"]) + 1
    assert sorted(map(_rule_key, out["rules"])) == sorted(_wire_rules(group.get("GroupRules")))


def _rule_key(rule: dict[str, Any]) -> tuple[str, str, Any]:
    value = rule["value"]
    return rule["property"], rule["operator"], tuple(sorted(value)) if isinstance(value, list) else value


def _wire_rules(rows: Any) -> list[tuple[str, str, Any]]:
    """The portal's rows as rules: placeholder rows (empty value) mean nothing; an OS list is JSON in the string."""
    rules = []
    for row in rows or []:
        if row["PropertyValue"] == "":
            continue
        operator = OPERATORS[row["OperatorType"]]
        value = row["PropertyValue"]
        rules.append((PROPERTIES[row["Property"]], operator, tuple(sorted(json.loads(value))) if operator == "in"
                      else value))
    return rules


def _fold(values: Any) -> list[str]:
    """A list of addresses as the services compare it: a set, case-insensitive."""
    return sorted({str(v).casefold() for v in values or []})


def _alert_policy(tenant: FakeTenant, out: dict[str, Any]) -> None:
    policy = tenant.compliance.policy(out["policy_id"])
    assert policy is not None and out["present"] is True
    assert out["service_name"] == policy["Name"] and out["is_built_in"] == policy["IsSystemRule"]
    assert out["enabled"] == (not policy["Disabled"])
    assert _fold(out["notify_users"]) == _fold(policy["NotifyUser"])
    assert out["notification_enabled"] == policy["NotificationEnabled"]
    assert out["severity"] == policy["Severity"] and out["category"] == policy["Category"]
    assert out["threat_type"] == policy["ThreatType"] and out["aggregation_type"] == policy["AggregationType"]
    assert sorted(out["operations"] or []) == sorted(policy["Operation"] or [])
    for name, key in (("threshold", "Threshold"), ("time_window", "TimeWindow"), ("comment", "Comment"),
                      ("filter", "Filter")):
        assert out.get(name) == policy[key], name


def _preset(tenant: FakeTenant, out: dict[str, Any]) -> None:
    preset = out["preset"]
    eop = tenant.exchange.rule("eop", preset)
    assert eop is not None
    assert out["enabled"] == (eop["State"] == "Enabled") and out["eop_rule_state"] == eop["State"]
    _assert_scoping(out, eop)
    if out["defender_for_office365"]:
        atp = tenant.exchange.rule("atp", preset)
        assert atp is not None and out["atp_rule_state"] == atp["State"] == eop["State"]
        _assert_scoping(out, atp)
    else:
        assert out.get("atp_rule_state") is None  # not managed


def _assert_scoping(out: dict[str, Any], rule: dict[str, Any]) -> None:
    for argument, prefix in (("recipients", ""), ("exclusions", "ExceptIf")):
        given = out.get(argument) or {}
        for scope, key in SCOPES.items():
            assert _fold(given.get(scope)) == _fold(rule[prefix + key]), f"{argument}.{scope}"


def _advanced_features(tenant: FakeTenant, out: dict[str, Any]) -> None:
    settings = tenant.portal.advanced_features()
    for argument, key in FEATURES.items():
        value = settings.get(key)
        if isinstance(value, bool):
            assert out[argument] is (not value if argument == "device_discovery" else value), argument
        else:
            assert out.get(argument) is None, argument


def _assert_covered(tenant: FakeTenant, trip: RoundTrip) -> None:
    """Each object of the tenant has a resource, or a commented-out one (``export.declarations``, not declared)."""
    left_out = {(d.definition.name, d.name_source) for d in trip.export.declarations if not d.declared}
    ids = {kind: sorted(str(s.refreshed.id) for s in trip.of_kind(kind)) for kind in
           ("AlertPolicy", "DeviceGroup", "DefaultDeviceGroup", "PresetPolicyAssignment", "EndpointAdvancedFeatures")}

    policies = tenant.compliance.policies()
    assert ids["AlertPolicy"] == sorted(p["ImmutableId"] for p in policies
                                        if ("AlertPolicy", p["Name"]) not in left_out)
    groups = tenant.portal.groups()
    assert ids["DeviceGroup"] == sorted(str(g["MachineGroupId"]) for g in groups if not g["IsUnassignedMachineGroup"]
                                        and ("DeviceGroup", g["Name"]) not in left_out)
    ungrouped = [str(g["MachineGroupId"]) for g in groups if g["IsUnassignedMachineGroup"]]
    assert ids["DefaultDeviceGroup"] == ([] if ("DefaultDeviceGroup", "ungrouped devices") in left_out else ungrouped)
    turned_on = [p for p in ("standard", "strict") if tenant.exchange.rule("eop", p) is not None]
    assert ids["PresetPolicyAssignment"] == [p for p in turned_on if ("PresetPolicyAssignment", f"{p} preset")
                                             not in left_out]
    assert {("PresetPolicyAssignment", f"{p} preset") for p in ("standard", "strict") if p not in turned_on} <= left_out
    assert ids["EndpointAdvancedFeatures"] == ["default"]


# ---------------------------------------------------------------------------------------------- determinism
def reordered_copy(tenant: FakeTenant) -> FakeTenant:
    """The same tenant, with every list the services return in another order: alert policies, preset rules, Entra
    groups, the advanced-features keys, and the device groups (the portal fake sorts them by Priority, which the
    notes only infer the real portal does, so the copy's list is reversed behind its back)."""
    state = json.loads(json.dumps(tenant.to_state()))
    state["compliance"]["policies"].reverse()
    for rules in state["exchange"]["rules"].values():
        rules.reverse()
    state["graph"]["groups"].reverse()
    features = state["portal"]["advanced_features"]
    features["settings"] = dict(reversed(list(features["settings"].items())))
    copy = FakeTenant(tenant.exchange.scenario)
    copy.load_state(state)
    with copy.portal.lock:
        copy.portal._groups.reverse()
    assert [g["MachineGroupId"] for g in copy.portal.groups()] == \
        [g["MachineGroupId"] for g in reversed(tenant.portal.groups())]
    return copy
