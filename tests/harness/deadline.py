"""The per-call deadline a harness engine needs when the emulator injects faults, derived from the provider's own
retry constants rather than picked by hand.

An engine step is one gRPC call to the provider (Check, Create, Read, Update, Delete). Under a throttling fault a step
legitimately takes as long as the provider's retry schedule allows, and longer when it first waits for other steps:
the device-group and advanced-features stores write one at a time per process, and the dynamic-provider server runs
``DYNAMIC_SERVER_WORKERS`` steps at once. :func:`step_deadline` adds that up from

* ``RetryPolicy`` (``core/http.py``): every send is tried ``max_attempts`` times; a 429 with ``Retry-After: s``
  waits ``min(s, max_retry_after)`` between attempts;
* the visibility waits after a write: the clients' ``Backoff`` constants (``core/backoff.py``: how many reads, and the
  waits between them; the clients' ``visibility_attempts`` default to them). ``tests/harness/test_deadline.py`` also
  runs the clients' own waits with a recording sleep and the largest random draws, so the formula cannot drift from
  what the clients do.

The default ``ProviderProcess.rpc_timeout`` (60 s) stays for the test suite, whose steps run without throttling and
where a hang should fail fast; the benchmarks, which throttle, pass ``step_deadline()`` per engine.
"""

from __future__ import annotations

from dataclasses import dataclass

from defender_air_provider.core.backoff import (
    ADVANCED_FEATURES_VISIBLE,
    ALERT_POLICY_VISIBLE,
    DEVICE_GROUPS_VISIBLE,
    Backoff,
)
from defender_air_provider.core.http import RetryPolicy

DYNAMIC_SERVER_WORKERS = 4
"""``pulumi/dynamic/__main__.py``: ``grpc.server(futures.ThreadPoolExecutor(max_workers=4))``, one provider shared by
them: at most this many steps run at once, so a step queues behind at most this many minus one."""

REQUEST_SECONDS = 1.0
"""Allowance for one request's own round trip to the loopback emulator (a fault answers at once; the largest list in
the benchmarks, 800 alert policies, answers in well under a second)."""


@dataclass(frozen=True)
class VisibilityWait:
    """A bounded read-until-visible loop: the client's ``Backoff`` (its reads and the waits between them)."""

    backoff: Backoff

    @property
    def attempts(self) -> int:
        return self.backoff.reads

    def worst_sleep(self) -> float:
        """The longest total wait: each wait at its upper bound, all ``attempts - 1`` of them."""
        return self.backoff.longest()


VISIBILITY_WAITS: dict[str, VisibilityWait] = {
    "alert policy": VisibilityWait(ALERT_POLICY_VISIBLE),
    "device group": VisibilityWait(DEVICE_GROUPS_VISIBLE),
    "advanced features": VisibilityWait(ADVANCED_FEATURES_VISIBLE),
}


def send_worst_sleep(retry_after: float, retry: RetryPolicy | None = None) -> float:
    """One ``HttpClient.send`` answered 429 ``Retry-After: retry_after`` on every attempt but the last."""
    policy = retry or RetryPolicy()
    return (policy.max_attempts - 1) * min(retry_after, policy.max_retry_after)


@dataclass(frozen=True)
class StepSchedule:
    """The worst case of one step: how many sends it makes and its visibility waits."""

    name: str
    sends: int
    visibility_sleep: float

    def seconds(self, retry_after: float, retry: RetryPolicy | None = None) -> float:
        attempts = (retry or RetryPolicy()).max_attempts
        return (self.sends * (send_worst_sleep(retry_after, retry) + attempts * REQUEST_SECONDS)
                + self.visibility_sleep)


def worst_steps() -> list[StepSchedule]:
    """The longest steps of each kind that writes and then waits to see its write (reads are one send each)."""
    alert, group, features = (VISIBILITY_WAITS[k] for k in ("alert policy", "device group", "advanced features"))
    return [
        # Create of a custom policy: New-ProtectionAlert, then reads until it is visible (a built-in: reads by id
        # and name, then Set-ProtectionAlert): at most 2 sends besides the visibility reads.
        StepSchedule("AlertPolicy create", 2 + alert.attempts, alert.worst_sleep()),
        # Any device-group write: a settled read that waits for an earlier change of this process, the PUT, then
        # reads until this change is visible (DeviceGroupStore.write).
        StepSchedule("DeviceGroup write", 2 * group.attempts + 1, 2 * group.worst_sleep()),
        # Advanced features: read, save, reads until visible, then the tenant context for the output.
        StepSchedule("EndpointAdvancedFeatures write", 3 + features.attempts, features.worst_sleep()),
    ]


def step_deadline(retry_after: float = 1.0, concurrent_steps: int = DYNAMIC_SERVER_WORKERS,
                  retry: RetryPolicy | None = None) -> float:
    """Seconds one engine step may take when every backend answers 429 ``Retry-After: retry_after`` at any time:
    the slowest step's worst schedule, times ``concurrent_steps`` (it may queue behind the others' writes)."""
    slowest = max(step.seconds(retry_after, retry) for step in worst_steps())
    return concurrent_steps * slowest
