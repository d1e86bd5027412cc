"""Scale benchmarks (issue 11, "Linear at scale"): a mixed program of ~290 resources through the engine harness, and
the creates of 200 and of 800 alert policies. Figures are printed; the tenant is verified after every phase and a
wrong tenant raises ``ScaleCheckFailed``.

* ``mixed``: 150 custom ``AlertPolicy``, 100 ``DeviceGroup`` and one ``AirBaseline`` (both presets, the default
  device group, the endpoint advanced features and one ``AlertPolicy`` per AIR and ScubaGear built-in), driven like
  `pulumi up` (4 steps at a time, one provider process) against ``EmulatorServer(FakeTenant())``: create, no-op up,
  refresh, update of ~10% and delete; once without faults and once with every 10th request of every backend answered
  429 ``Retry-After: 1``. Per phase: wall time, requests (the emulator's request log), requests per resource and
  their ratio to the minimum any correct implementation must send (``minimum``, documented in docs/performance.md).
* ``scaling``: creates of 200 and of 800 alert policies on fresh tenants, the time ratio and requests per create and
  per delete.

Run: ``./run bench --only mixed`` / ``--only scaling`` (``--only scale`` runs both).
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, TypeVar

import pulumi_defender_air as air
from defender_air_provider.fakes.server import EmulatorServer
from defender_air_provider.fakes.tenant import FakeTenant
from pulumi_defender_air.air_baseline import alert_policy_names
from tests.harness.deadline import step_deadline
from tests.harness.engine import Engine, EngineFactory, Registration, ResourceState, capture_registrations

WORKERS = 4  # `pulumi up` runs steps in parallel; the dynamic-provider server has 4 worker threads
THROTTLE_EVERY = 10  # the throttled run: every 10th request of any backend answers 429
RETRY_AFTER = 1
SECOPS = "secops@contoso.onmicrosoft.com"
PRIORITY = "priority-accounts@contoso.onmicrosoft.com"
BOARD = "board@contoso.onmicrosoft.com"
OPERATION = "SearchRemoved"
SEVERITIES = ("Low", "Medium", "High")
LEVELS = ("full", "semi_all_folders", "semi_non_temp_folders", "none")
# docs/wire/defender-portal.md §3.1: AutoRemediationLevel on the wire.
LEVEL_ON_WIRE = {"none": 0, "semi_all_folders": 1, "semi_non_temp_folders": 2, "full": 3}
# docs/wire/defender-portal.md §6.4: the advanced features' wire keys.
FEATURE_KEYS = {"auto_resolve_investigated_alerts": "AutoResolveInvestigatedAlerts",
                "allow_or_block_file": "BlockListEnabled", "edr_in_block_mode": "EnableWdavPassiveModeRemediation"}
CONDITION_KEYS = ("SentTo", "SentToMemberOf", "RecipientDomainIs", "ExceptIfSentTo", "ExceptIfSentToMemberOf",
                  "ExceptIfRecipientDomainIs")  # docs/wire/exchange-online.md: a preset rule's recipient conditions
PRESET_KINDS = ("eop", "atp")
PHASES = ("create", "no-op up", "refresh", "update", "delete")
T = TypeVar("T")


class ScaleCheckFailed(AssertionError):
    """The tenant does not hold what the program declares after a phase."""


# --------------------------------------------------------------------------------------------- the program
@dataclass(frozen=True)
class PolicySpec:
    name: str
    severity: str


@dataclass(frozen=True)
class GroupSpec:
    name: str
    level: str
    rank: int | None = None
    tag: str | None = None


@dataclass(frozen=True)
class Program:
    """What the mixed benchmark declares: custom policies, device groups and one baseline."""

    policies: tuple[PolicySpec, ...]
    groups: tuple[GroupSpec, ...]
    strict_recipients: tuple[str, ...] = (PRIORITY,)
    features: dict[str, bool] = field(default_factory=lambda: {name: True for name in FEATURE_KEYS})

    @classmethod
    def of(cls, policies: int, groups: int) -> Program:
        return cls(
            policies=tuple(PolicySpec(f"Benchmark policy {i:03d}", SEVERITIES[i % 3]) for i in range(policies)),
            # One group ranked (the first): several ranked groups created in parallel would push each other down, the
            # program's own race rather than the provider's. Every 3rd group has a tag rule.
            groups=tuple(GroupSpec(f"Benchmark group {i:03d}", LEVELS[i % len(LEVELS)], 1 if i == 0 else None,
                                   f"bench-tag-{i}" if i % 3 == 0 else None) for i in range(groups)),
        )

    def declare(self) -> None:
        for p in self.policies:
            air.AlertPolicy(p.name.lower().replace(" ", "-"), name=p.name, category="Others", threat_type="Activity",
                            operations=[OPERATION], aggregation_type="None", severity=p.severity,
                            notify_users=[SECOPS])
        for g in self.groups:
            rules = [{"property": "tag", "operator": "equals", "value": g.tag}] if g.tag else None
            air.DeviceGroup(g.name.lower().replace(" ", "-"), display_name=g.name, automation_level=g.level,
                            rank=g.rank, rules=rules)
        air.AirBaseline("baseline", strict_recipients=air.RecipientScopeArgs(groups=list(self.strict_recipients)),
                        alert_notify_users=[SECOPS],
                        endpoint_features=air.EndpointAdvancedFeaturesArgs(**self.features))

    def changed(self) -> Program:
        """~10% of the resources changed: every 10th policy's severity, every 10th group's level, the Strict preset's
        recipients and one advanced feature."""
        policies = tuple(replace(p, severity=SEVERITIES[(SEVERITIES.index(p.severity) + 1) % 3]) if i % 10 == 0 else p
                         for i, p in enumerate(self.policies))
        groups = tuple(replace(g, level=LEVELS[(LEVELS.index(g.level) + 1) % len(LEVELS)]) if i % 10 == 0 else g
                       for i, g in enumerate(self.groups))
        return replace(self, policies=policies, groups=groups, strict_recipients=(BOARD,),
                       features={**self.features, "edr_in_block_mode": False})

    def changes(self, other: Program) -> dict[str, int]:
        """How many resources of each kind differ from ``other`` (what an update phase must write)."""
        return {
            "custom AlertPolicy": sum(a != b for a, b in zip(self.policies, other.policies, strict=True)),
            "DeviceGroup": sum(a != b for a, b in zip(self.groups, other.groups, strict=True)),
            "Strict preset": int(self.strict_recipients != other.strict_recipients),
            "EndpointAdvancedFeatures": int(self.features != other.features),
        }


def catalogue_id(name: str) -> str:
    entry = air.built_in_alert_policy(name)
    assert entry is not None, name
    return entry.policy_id


# --------------------------------------------------------------------------------------------- the minimum
@dataclass(frozen=True)
class Need:
    """Requests any correct implementation must send for one kind in one phase, and why."""

    kind: str
    requests: int
    why: str


def _lowered(values: Iterable[str] | None) -> list[str]:
    return sorted(v.lower() for v in values or [])


def _built_in_writes(tenant: FakeTenant) -> int:
    """Built-ins whose live settings differ from what the baseline pins (enabled, notify secops): one Set each."""
    writes = 0
    for name in alert_policy_names():
        policy = tenant.compliance.policy(catalogue_id(name))
        if policy is not None and (policy["Disabled"] or _lowered(policy["NotifyUser"]) != [SECOPS]):
            writes += 1
    return writes


def _preset_writes(tenant: FakeTenant, program: Program) -> int:
    """Per preset and rule kind: a Set- where the conditions differ, an Enable- where the rule is off."""
    wanted = {"standard": {}, "strict": {"SentToMemberOf": _lowered(program.strict_recipients)}}
    writes = 0
    for kind in PRESET_KINDS:
        for preset, conditions in wanted.items():
            rule = tenant.exchange.rule(kind, preset)
            assert rule is not None
            live = {key: _lowered(rule.get(key)) for key in CONDITION_KEYS}
            writes += int(live != {key: conditions.get(key, []) for key in CONDITION_KEYS})
            writes += int(rule["State"] != "Enabled")
    return writes


def _features_differ(tenant: FakeTenant, features: dict[str, bool]) -> bool:
    live = tenant.portal.advanced_features()
    return any(live.get(FEATURE_KEYS[name]) is not value for name, value in features.items())


def minimum(phase: str, program: Program, tenant: FakeTenant, before: Program | None = None) -> list[Need]:
    """What any correct implementation must send for ``phase``, from the wire facts (docs/wire), given the tenant as it
    is before the phase. Reads that a shared list can answer count once per kind; writes count where the tenant
    differs."""
    policies, groups = len(program.policies), len(program.groups)
    ungrouped = next(g for g in tenant.portal.groups() if g["IsUnassignedMachineGroup"])
    if phase == "create":
        return [
            Need("custom AlertPolicy", policies, "one New-ProtectionAlert each (docs/wire/security-compliance.md "
                 "§3.1); no source shows that its answer carries the ImmutableId, so one Get -Identity more may be "
                 "needed (2 per policy: the 2.2 target)"),
            Need("built-in AlertPolicy", 1 + _built_in_writes(tenant), "one Get-ProtectionAlert finds them all, "
                 "one Set-ProtectionAlert per built-in that differs (built-ins are adopted, never created)"),
            Need("DeviceGroup + DefaultDeviceGroup", 1 + groups + int(ungrouped["AutoRemediationLevel"] != 3),
                 "every write is a PUT of the whole collection with at most one new group (docs/wire/"
                 "defender-portal.md §2.4, §2.5): one GET, then one PUT per new group (+1 for the default group "
                 "if its level differs)"),
            Need("PresetPolicyAssignment x2", 2 + _preset_writes(tenant, program), "Get-EOPProtectionPolicyRule and "
                 "Get-ATPProtectionPolicyRule, then a Set-/Enable- per rule that differs "
                 "(docs/wire/exchange-online.md)"),
            Need("EndpointAdvancedFeatures", 2 + int(_features_differ(tenant, program.features)), "GET the whole "
                 "settings object, POST it back if a toggle differs (docs/wire/defender-portal.md §6.2), GET the "
                 "tenant context for automated_investigation_enabled (§7)"),
        ]
    if phase == "no-op up":
        return [Need("every kind", 0, "Check and Diff only: the engine compares with the stored state")]
    if phase == "refresh":
        return [
            Need("AlertPolicy (custom and built-in)", 1, "one Get-ProtectionAlert list"),
            Need("PresetPolicyAssignment x2", 2, "one Get-EOPProtectionPolicyRule, one Get-ATPProtectionPolicyRule"),
            Need("DeviceGroup + DefaultDeviceGroup", 1, "one GET machine_groups"),
            Need("EndpointAdvancedFeatures", 2, "GET advanced features, GET tenant context (an output)"),
        ]
    if phase == "update":
        assert before is not None
        changes = before.changes(program)
        return [
            Need("custom AlertPolicy", changes["custom AlertPolicy"], "one Set-ProtectionAlert each (Diff knows "
                 "what changed)"),
            Need("DeviceGroup", changes["DeviceGroup"] + 1, "one GET, then one PUT of the collection per changed "
                 "group (docs/wire/defender-portal.md §2.4)"),
            Need("Strict preset", 2 * changes["Strict preset"], "Set-EOPProtectionPolicyRule and "
                 "Set-ATPProtectionPolicyRule"),
            Need("EndpointAdvancedFeatures", 2 * changes["EndpointAdvancedFeatures"], "GET the object, POST it back "
                 "(docs/wire/defender-portal.md §6.2)"),
        ]
    if phase == "delete":
        return [
            Need("custom AlertPolicy", policies, "one Remove-ProtectionAlert each"),
            Need("DeviceGroup", groups + 1, "one GET, then one PUT of the collection per removed group "
                 "(docs/wire/defender-portal.md §2.6)"),
            Need("PresetPolicyAssignment x2", 2 * len(PRESET_KINDS), "Disable- of each preset's EOP and ATP rule "
                 "(delete turns the preset off)"),
            Need("built-ins, default group, advanced features", 0, "delete stops managing them: no call"),
        ]
    raise ValueError(phase)


# --------------------------------------------------------------------------------------------- verification
def _fail(phase: str, problems: list[str]) -> None:
    if problems:
        shown = "; ".join(problems[:10]) + (f"; ... {len(problems) - 10} more" if len(problems) > 10 else "")
        raise ScaleCheckFailed(f"after {phase}: {len(problems)} problem(s): {shown}")


def _ranks(groups: list[dict[str, Any]]) -> dict[str, int]:
    """Rank 1..n of the real groups by Priority (docs/wire/defender-portal.md §3.6)."""
    real = sorted((g for g in groups if not g["IsUnassignedMachineGroup"]), key=lambda g: g["Priority"])
    return {g["Name"]: index for index, g in enumerate(real, start=1)}


def verify(phase: str, tenant: FakeTenant, program: Program, seed_groups: dict[str, int]) -> None:
    """The tenant holds exactly what ``program`` declares (after delete: the custom objects are gone and the rest is
    as delete leaves it). Reads the fakes' own state, never through our clients."""
    problems: list[str] = []
    policies = tenant.compliance.policies()
    groups = tenant.portal.groups()
    by_name: dict[str, list[dict[str, Any]]] = {}
    for g in groups:
        by_name.setdefault(g["Name"], []).append(g)
    deleted = phase == "delete"
    for spec in program.policies:
        found = [p for p in policies if p["Name"] == spec.name]
        if deleted:
            if found:
                problems.append(f"policy {spec.name!r} still exists")
            continue
        if len(found) != 1:
            problems.append(f"policy {spec.name!r}: {len(found)} in the tenant")
            continue
        p = found[0]
        wanted = {"Severity": spec.severity, "Category": "Others", "ThreatType": "Activity", "AggregationType": "None",
                  "Disabled": False}
        wrong = {k: p.get(k) for k, v in wanted.items() if p.get(k) != v}
        if wrong or p.get("Operation") != [OPERATION] or _lowered(p.get("NotifyUser")) != [SECOPS]:
            problems.append(f"policy {spec.name!r}: {wrong or ''} Operation={p.get('Operation')} "
                            f"NotifyUser={p.get('NotifyUser')}")
    ranks = _ranks(groups)
    for g_spec in program.groups:
        found = by_name.get(g_spec.name, [])
        if deleted:
            if found:
                problems.append(f"group {g_spec.name!r} still exists")
            continue
        if len(found) != 1:
            problems.append(f"group {g_spec.name!r}: {len(found)} in the tenant")
            continue
        g = found[0]
        if g["AutoRemediationLevel"] != LEVEL_ON_WIRE[g_spec.level]:
            problems.append(f"group {g_spec.name!r}: level {g['AutoRemediationLevel']}, declared {g_spec.level}")
        if g_spec.rank is not None and ranks[g_spec.name] != g_spec.rank:
            problems.append(f"group {g_spec.name!r}: rank {ranks[g_spec.name]}, declared {g_spec.rank}")
        tags = [r.get("PropertyValue") for r in g.get("GroupRules") or [] if r.get("Property") == 2
                and r.get("PropertyValue")]
        if tags != ([g_spec.tag] if g_spec.tag else []):
            problems.append(f"group {g_spec.name!r}: tag rules {tags}, declared {g_spec.tag}")
    for name, level in seed_groups.items():  # the groups nobody declared are untouched
        found = by_name.get(name, [])
        if len(found) != 1 or found[0]["AutoRemediationLevel"] != level:
            problems.append(f"unmanaged group {name!r} changed: {found}")
    for name in alert_policy_names():  # built-ins: pinned on; delete leaves them as they are
        policy = tenant.compliance.policy(catalogue_id(name))
        if policy is None or policy["Disabled"] or _lowered(policy["NotifyUser"]) != [SECOPS]:
            problems.append(f"built-in {name!r}: {policy and (policy['Disabled'], policy['NotifyUser'])}")
    for kind in PRESET_KINDS:  # delete turns both presets off and keeps their recipients
        for preset, recipients in (("standard", []), ("strict", _lowered(program.strict_recipients))):
            rule = tenant.exchange.rule(kind, preset)
            state = "Disabled" if deleted else "Enabled"
            if rule is None or rule["State"] != state or _lowered(rule.get("SentToMemberOf")) != recipients:
                problems.append(f"{kind} {preset} rule: {rule and (rule['State'], rule.get('SentToMemberOf'))}")
    ungrouped = [g for g in groups if g["IsUnassignedMachineGroup"]]
    if len(ungrouped) != 1 or ungrouped[0]["AutoRemediationLevel"] != LEVEL_ON_WIRE["full"]:
        problems.append(f"default group: {ungrouped}")
    features = tenant.portal.advanced_features()
    for name, value in program.features.items():  # delete leaves them as they are
        if features.get(FEATURE_KEYS[name]) is not value:
            problems.append(f"advanced feature {name}: {features.get(FEATURE_KEYS[name])}, declared {value}")
    _fail(phase, problems)


# --------------------------------------------------------------------------------------------- running it
@dataclass(frozen=True)
class PhaseFigures:
    phase: str
    seconds: float
    requests: int
    throttled: int  # of ``requests``, answered 429 by the fault
    resources: int
    minimum: int
    needs: tuple[Need, ...]
    machine_group_gets: int

    @property
    def per_resource(self) -> float:
        return self.requests / self.resources

    def ratio(self) -> str:
        if self.minimum == 0:
            return "-" if self.requests == 0 else "inf"
        return f"{self.requests / self.minimum:.2f}x"


@dataclass
class MixedResult:
    resources: int
    throttled: bool
    phases: list[PhaseFigures] = field(default_factory=list)
    groups_created: int = 0

    def figures(self, phase: str) -> PhaseFigures:
        return next(f for f in self.phases if f.phase == phase)


def parallel(pool: ThreadPoolExecutor, step: Callable[[Registration], T], regs: Sequence[Registration]) -> list[T]:
    return list(pool.map(step, regs))


def start_engine(factory: EngineFactory, url: str) -> Engine:
    """One provider process for the emulator at ``url``; its per-call deadline covers a throttled step's retries."""
    return factory(config={"defender-air:emulatorUrl": url}, rpc_timeout=step_deadline(RETRY_AFTER, WORKERS))


def throttle_everything(tenant: FakeTenant) -> None:
    tenant.faults.throttle(None, retry_after=RETRY_AFTER, times=10**9, every=THROTTLE_EVERY)


def run_mixed(policies: int = 150, groups: int = 100, *, throttled: bool = False) -> MixedResult:
    """The mixed program through create, no-op up, refresh, update and delete; verified after each phase."""
    program = Program.of(policies, groups)
    changed = program.changed()
    regs = capture_registrations(program.declare)
    changed_regs = capture_registrations(changed.declare)
    result = MixedResult(len(regs), throttled)
    tenant = FakeTenant("presets_on")
    seed_groups = {g["Name"]: g["AutoRemediationLevel"] for g in tenant.portal.groups()
                   if not g["IsUnassignedMachineGroup"]}
    factory = EngineFactory()
    try:
        with EmulatorServer(tenant, host="127.0.0.1", port=0) as server, ThreadPoolExecutor(WORKERS) as pool:
            engine = start_engine(factory, server.url)
            if throttled:
                throttle_everything(tenant)
            states: dict[str, ResourceState] = {}

            def measure(phase: str, declared: Program, run: Callable[[], None], before: Program | None = None) -> None:
                needs = tuple(minimum(phase, declared, tenant, before))
                tenant.log.clear()
                started = time.perf_counter()
                run()
                seconds = time.perf_counter() - started
                entries = tenant.log.entries
                verify(phase, tenant, declared, seed_groups)
                result.phases.append(PhaseFigures(
                    phase, seconds, len(entries), sum(e.status == 429 for e in entries), len(regs),
                    sum(n.requests for n in needs), needs,
                    sum(e.operation == "GET machine_groups" for e in entries)))

            def create() -> None:
                for reg, step in zip(regs, parallel(pool, engine.up, regs), strict=True):
                    states[reg.name] = step.state

            def no_op() -> None:
                steps = parallel(pool, lambda r: engine.up(r, states[r.name]), regs)
                planned = {s.step for s in steps}
                if planned != {"same"}:
                    raise ScaleCheckFailed(f"no-op up planned {planned}, not only 'same'")

            def refresh() -> None:
                for reg, state in zip(regs, parallel(pool, lambda r: engine.refresh(states[r.name]), regs),
                                      strict=True):
                    if state is None:
                        raise ScaleCheckFailed(f"refresh reported {reg.name} gone")
                    states[reg.name] = state

            def update() -> None:
                steps = parallel(pool, lambda r: engine.up(r, states[r.name]), changed_regs)
                for reg, step in zip(changed_regs, steps, strict=True):
                    states[reg.name] = step.state
                updates = sum(s.step == "update" for s in steps)
                expected = sum(program.changes(changed).values())
                if updates != expected:
                    raise ScaleCheckFailed(f"update changed {updates} resources, the program changed {expected}")

            def delete() -> None:
                list(pool.map(engine.destroy, [states[r.name] for r in regs]))

            measure("create", program, create)
            measure("no-op up", program, no_op)
            measure("refresh", program, refresh)
            measure("update", changed, update, before=program)
            measure("delete", changed, delete)
    finally:
        factory.close()
    result.groups_created = groups
    return result


def print_mixed(result: MixedResult, commit: str = "") -> None:
    label = (f"every {THROTTLE_EVERY}th request of every backend answered 429 Retry-After: {RETRY_AFTER}"
             if result.throttled else "no faults")
    print(f"Mixed program, {result.resources} resources, {WORKERS} steps at a time, {label}{commit}:")
    print(f"  {'phase':<9} {'wall':>8} {'requests':>9} {'(429s)':>7} {'per resource':>13} {'minimum':>8} "
          f"{'ratio':>7}")
    for f in result.phases:
        print(f"  {f.phase:<9} {f.seconds:7.1f}s {f.requests:9d} {f.throttled:7d} {f.per_resource:13.2f} "
              f"{f.minimum:8d} {f.ratio():>7}")
    create = result.figures("create")
    print(f"  GET machine_groups per created device group: {create.machine_group_gets / result.groups_created:.2f} "
          "(target <= 1.2)")


def print_minimum(result: MixedResult) -> None:
    print("  minimum per phase and kind (what any correct implementation must send):")
    for f in result.phases:
        for need in f.needs:
            print(f"    {f.phase:<9} {need.kind:<44} {need.requests:4d}  {need.why}")


# --------------------------------------------------------------------------------------------- scaling
@dataclass(frozen=True)
class ScalingFigures:
    count: int
    create_seconds: float
    create_requests: int
    create_lists: int
    delete_requests: int


def alert_policy_program(count: int) -> list[Registration]:
    def declare() -> None:
        for i in range(count):
            air.AlertPolicy(f"scale-{i}", name=f"Scale policy {i:04d}", category="Others", threat_type="Activity",
                            operations=[OPERATION], aggregation_type="None", notify_users=[SECOPS])
    return capture_registrations(declare)


def run_scaling(count: int) -> ScalingFigures:
    """Create ``count`` alert policies on a fresh tenant (4 at a time), then destroy them; verified both times."""
    regs = alert_policy_program(count)
    tenant = FakeTenant("presets_on")
    factory = EngineFactory()
    try:
        with EmulatorServer(tenant, host="127.0.0.1", port=0) as server, ThreadPoolExecutor(WORKERS) as pool:
            engine = start_engine(factory, server.url)
            tenant.log.clear()
            started = time.perf_counter()
            states = [step.state for step in pool.map(engine.up, regs)]
            seconds = time.perf_counter() - started
            create_requests = tenant.log.count()
            lists = tenant.log.count("compliance", "Get-ProtectionAlert")
            names = {p["Name"] for p in tenant.compliance.policies()}
            missing = [i for i in range(count) if f"Scale policy {i:04d}" not in names]
            _fail(f"creating {count} policies", [f"{len(missing)} policies missing"] if missing else [])
            tenant.log.clear()
            list(pool.map(engine.destroy, states))
            delete_requests = tenant.log.count()
            left = [p["Name"] for p in tenant.compliance.policies() if p["Name"].startswith("Scale policy ")]
            _fail(f"deleting {count} policies", [f"{len(left)} policies left"] if left else [])
    finally:
        factory.close()
    return ScalingFigures(count, seconds, create_requests, lists, delete_requests)


def print_scaling(small: ScalingFigures, large: ScalingFigures, commit: str = "") -> None:
    print(f"AlertPolicy creates, {WORKERS} at a time, fresh tenants{commit} (targets: time ratio <= 5x for 4x the "
          "policies, <= 2.2 requests per create, <= 2 per delete):")
    print(f"  {'policies':>8} {'create wall':>12} {'per create':>11} {'Get-ProtectionAlert/create':>27} "
          f"{'per delete':>11}")
    for f in (small, large):
        print(f"  {f.count:8d} {f.create_seconds:11.1f}s {f.create_requests / f.count:11.2f} "
              f"{f.create_lists / f.count:27.2f} {f.delete_requests / f.count:11.2f}")
    print(f"  time ratio {large.count} over {small.count}: {large.create_seconds / small.create_seconds:.2f}x "
          "(target <= 5x)")


def commit_label() -> str:
    """`` (commit abc1234)``, `` (commit abc1234 + local changes)`` or empty outside a git checkout."""
    def git(*args: str) -> str:
        done = subprocess.run(["git", *args], capture_output=True, text=True, cwd=Path(__file__).parent)
        return done.stdout.strip() if done.returncode == 0 else ""
    commit = git("rev-parse", "--short", "HEAD")
    if not commit:
        return ""
    return f" (commit {commit}{' + local changes' if git('status', '--porcelain', '--untracked-files=no') else ''})"


def main(parts: Sequence[str] = ("mixed", "scaling")) -> None:
    commit = commit_label()
    if "mixed" in parts:
        for throttled in (False, True):
            result = run_mixed(throttled=throttled)
            print_mixed(result, commit)
            if not throttled:
                print_minimum(result)
    if "scaling" in parts:
        print_scaling(run_scaling(200), run_scaling(800), commit)
