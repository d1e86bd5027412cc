"""Benchmark figures (printed, never asserted): provider cold start and HTTP requests per operation.

Run: ``./run bench`` (or ``.venv/bin/python benchmarks/run.py [--runs N]``).

* Cold start: spawn of ``python -u -m pulumi.dynamic`` to the first answered Check, for our provider and
  for a trivial by-reference provider measured in the same run (``benchmarks/cold_start.py``).
* Requests per operation: each engine step of a resource through the real dynamic-provider server
  (``tests/harness/engine.py``) against the emulator, counted by the emulator's request log.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

import pulumi_defender_air as air  # noqa: E402
from benchmarks.cold_start import measure_cold_start  # noqa: E402
from defender_air_provider.fakes.server import EmulatorServer  # noqa: E402
from defender_air_provider.fakes.tenant import FakeTenant  # noqa: E402
from tests.harness.engine import Engine, EngineFactory, Registration, capture_registration  # noqa: E402


def cold_start(runs: int) -> None:
    reg = capture_registration(lambda: air.PresetPolicyAssignment("bench", preset="strict"))
    news = {k: v for k, v in reg.inputs.items() if k != "__provider"}
    env = {"PULUMI_PROJECT": "bench"}
    bare: list[float] = []
    ours: list[float] = []
    for _ in range(runs):  # interleaved, so machine load affects both alike
        bare.append(measure_cold_start(None, "bench", env))
        ours.append(measure_cold_start(reg.provider_payload, "bench", env, news=news,
                                       config={"defender-air:emulatorUrl": "http://127.0.0.1:9"}))
    b, o = statistics.median(bare), statistics.median(ours)
    print(f"cold start (median of {runs}): bare dynamic provider {b:.3f} s, "
          f"pulumi-defender-air {o:.3f} s, ratio {o / b:.2f}x")


def count(tenant: FakeTenant, step: Callable[[], object]) -> tuple[int, object]:
    tenant.log.clear()
    result = step()
    return tenant.log.count(), result


def requests_per_operation(engine: Engine, tenant: FakeTenant) -> None:
    reg = capture_registration(lambda: air.PresetPolicyAssignment(
        "bench", preset="strict", recipients={"groups": ["priority-accounts@contoso.onmicrosoft.com"]}))
    changed = capture_registration(lambda: air.PresetPolicyAssignment(
        "bench", preset="strict", recipients={"groups": ["board@contoso.onmicrosoft.com"]}))
    rows: list[tuple[str, int]] = []
    n, _ = count(tenant, lambda: engine.check(reg))
    rows.append(("check", n))
    n, created = count(tenant, lambda: engine.up(reg))
    rows.append(("create (pulumi up, new resource)", n))
    state = created.state  # type: ignore[attr-defined]
    n, _ = count(tenant, lambda: engine.preview(changed, state))
    rows.append(("check + diff (pulumi preview)", n))
    n, _ = count(tenant, lambda: engine.up(reg, state))
    rows.append(("no-op pulumi up", n))
    n, updated = count(tenant, lambda: engine.up(changed, state))
    rows.append(("update (recipients changed)", n))
    state = updated.state  # type: ignore[attr-defined]
    n, refreshed = count(tenant, lambda: engine.refresh(state))
    rows.append(("refresh", n))
    n, _ = count(tenant, lambda: engine.destroy(refreshed))  # type: ignore[arg-type]
    rows.append(("delete", n))
    print("HTTP requests per operation, PresetPolicyAssignment (EOP + ATP rules):")
    for name, requests in rows:
        print(f"  {name:<36} {requests}")


def alert_policy_registration(i: int) -> Registration:
    return capture_registration(lambda: air.AlertPolicy(
        f"bench-{i}", name=f"Benchmark policy {i}", category="Others", threat_type="Activity",
        operations=["SearchRemoved"], aggregation_type="None", notify_users=["secops@contoso.onmicrosoft.com"]))


def alert_policy_cycle(engine: Engine, tenant: FakeTenant, count_: int, throttled: bool) -> None:
    """create / no-op up / refresh / delete of ``count_`` alert policies, 4 at a time like `pulumi up`."""
    regs = [alert_policy_registration(i) for i in range(count_)]
    tenant.faults.clear()
    if throttled:  # every 10th request answers 429 with Retry-After: 1
        tenant.faults.throttle("compliance", None, retry_after=1, times=count_, every=10)
    figures: list[str] = []
    with ThreadPoolExecutor(max_workers=4) as pool:
        for phase in ("create", "no-op up", "refresh", "delete"):
            tenant.log.clear()
            started = time.perf_counter()
            if phase == "create":
                states = [r.state for r in pool.map(engine.up, regs)]
            elif phase == "no-op up":
                list(pool.map(engine.up, regs, states))
            elif phase == "refresh":
                refreshed = list(pool.map(engine.refresh, states))
                assert all(refreshed)
            else:
                list(pool.map(engine.destroy, states))
            seconds = time.perf_counter() - started
            lists = tenant.log.count("compliance", "Get-ProtectionAlert")
            figures.append(f"{phase} {seconds:.1f} s ({tenant.log.count()} requests, {lists} Get-ProtectionAlert)")
    label = "with 429s injected" if throttled else "no faults"
    print(f"AlertPolicy x{count_} through the engine harness, {label}: " + "; ".join(figures))


def device_groups(engine: Engine, tenant: FakeTenant) -> None:
    """20 concurrent creates (one writer, one new group per PUT) and a refresh of 50 groups."""
    regs = [capture_registration(lambda i=i: air.DeviceGroup(  # type: ignore[misc]
        f"dg-{i}", display_name=f"Bench group {i}", automation_level="full")) for i in range(50)]
    tenant.log.clear()
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=8) as pool:
        states = [r.state for r in pool.map(engine.up, regs[:20])]
    seconds = time.perf_counter() - started
    puts, gets = tenant.log.count("portal", "PUT machine_groups"), tenant.log.count("portal", "GET machine_groups")
    print(f"DeviceGroup x20 created concurrently: {seconds:.1f} s, {puts} PUTs, {gets} GETs")
    states += [engine.up(reg).state for reg in regs[20:]]
    tenant.log.clear()
    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(engine.refresh, states))
    print(f"DeviceGroup refresh of {len(states)} groups: {tenant.log.count('portal')} collection GETs")
    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(engine.destroy, states))


def advanced_features(engine: Engine, tenant: FakeTenant) -> None:
    """EndpointAdvancedFeatures: requests per engine step (reads and saves of the one settings object)."""
    reg = capture_registration(lambda: air.EndpointAdvancedFeatures(
        "bench", auto_resolve_investigated_alerts=True, allow_or_block_file=True, edr_in_block_mode=True))
    changed = capture_registration(lambda: air.EndpointAdvancedFeatures(
        "bench", auto_resolve_investigated_alerts=True, allow_or_block_file=True, edr_in_block_mode=False))
    rows: list[tuple[str, int]] = []
    n, created = count(tenant, lambda: engine.up(reg))
    rows.append(("create (pulumi up, adopts the object)", n))
    state = created.state  # type: ignore[attr-defined]
    n, _ = count(tenant, lambda: engine.preview(reg, state))
    rows.append(("check + diff (pulumi preview)", n))
    n, _ = count(tenant, lambda: engine.up(reg, state))
    rows.append(("no-op pulumi up", n))
    n, updated = count(tenant, lambda: engine.up(changed, state))
    rows.append(("update (one toggle changed)", n))
    n, _ = count(tenant, lambda: engine.refresh(updated.state))  # type: ignore[attr-defined]
    rows.append(("refresh", n))
    print("HTTP requests per operation, EndpointAdvancedFeatures (settings object + tenant context):")
    for label, value in rows:
        print(f"  {label:<36} {value}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--resources", type=int, default=200, help="resources per lifecycle cycle")
    args = parser.parse_args(argv)
    cold_start(args.runs)
    tenant = FakeTenant("presets_on")
    factory = EngineFactory()
    try:
        with EmulatorServer(tenant, host="127.0.0.1", port=0) as server:
            engine = factory(config={"defender-air:emulatorUrl": server.url})
            requests_per_operation(engine, tenant)
            advanced_features(engine, tenant)
            alert_policy_cycle(engine, tenant, args.resources, throttled=False)
            alert_policy_cycle(engine, tenant, args.resources, throttled=True)
            device_groups(engine, tenant)
    finally:
        factory.close()


if __name__ == "__main__":
    main()
