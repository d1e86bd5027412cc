"""The derived per-call deadline (``tests/harness/deadline.py``) covers the worst schedule of the slowest step under a
``Retry-After: 1`` fault, measured by running the provider's own retry and visibility loops with a recording sleep and
every random wait at its upper bound: a raised attempt count or backoff cap in the clients fails here, instead of
shrinking the benchmarks' deadline below what a step may legitimately take."""

from __future__ import annotations

import random
from collections.abc import Mapping
from typing import Any, cast

import httpx
import pytest

from defender_air_provider.clients.advanced_features import (
    AdvancedFeatures,
    AdvancedFeaturesClient,
    AdvancedFeaturesStore,
)
from defender_air_provider.clients.alert_policies import AlertPoliciesClient, AlertPolicy
from defender_air_provider.clients.device_groups.groups import Groups
from defender_air_provider.clients.device_groups.session import MachineGroupsClient
from defender_air_provider.clients.device_groups.store import DeviceGroupStore
from defender_air_provider.clients.invoke_command import InvokeCommandClient
from defender_air_provider.core.errors import ServiceError
from defender_air_provider.core.http import HttpClient, RetryPolicy
from tests.harness.deadline import DYNAMIC_SERVER_WORKERS, send_worst_sleep, step_deadline
from tests.support import RecordingSleep


@pytest.fixture(autouse=True)
def largest_random_waits(monkeypatch: pytest.MonkeyPatch) -> None:
    """tenacity's ``wait_random_exponential`` draws ``random.uniform(0, high)``: take ``high``, the worst case."""
    monkeypatch.setattr(random, "uniform", lambda low, high: high)


def after(calls: int) -> Any:
    """A predicate that is false for its first ``calls - 1`` calls and true from call ``calls`` on."""
    seen = [0]

    def check(_: object) -> bool:
        seen[0] += 1
        return seen[0] >= calls
    return check


def measured_send(retry_after: int) -> tuple[int, float]:
    """(attempts, seconds slept) of one send that the service throttles on every attempt."""
    requests: list[httpx.Request] = []

    def throttled(request: httpx.Request) -> httpx.Response:
        requests.append(request)
        return httpx.Response(429, headers={"Retry-After": str(retry_after)})

    sleep = RecordingSleep()
    client = HttpClient(service="test", transport=httpx.MockTransport(throttled), sleep=sleep)
    response = client.send("GET", "http://127.0.0.1:1/x", idempotent=True, what="GET x")
    assert response.status == 429
    return len(requests), sum(sleep.waits)


class StubGroupsApi:
    """The portal behind a DeviceGroupStore: one fixed collection; counts the sends."""

    def __init__(self) -> None:
        self.sends = 0

    def get_all(self) -> list[dict[str, Any]]:
        self.sends += 1
        return [{"MachineGroupId": 1, "Name": "old"}]

    def replace(self, items: list[dict[str, Any]], *, idempotent: bool) -> None:
        self.sends += 1


def measured_device_group_write() -> tuple[int, float]:
    """(sends, seconds slept) of the longest device-group write that succeeds: an earlier change of this process
    shows only on the last read of the settled read, and this change only on the last read after its PUT."""
    api, sleep = StubGroupsApi(), RecordingSleep()
    store = DeviceGroupStore(cast(MachineGroupsClient, api), sleep=sleep)
    attempts = store._attempts
    changed = Groups.of([{"MachineGroupId": 1, "Name": "new"}])
    with pytest.raises(ServiceError):  # the earlier change: not visible within its own wait, left pending
        store.write(lambda groups: (changed, after(2 * attempts)))
    api.sends, sleep.waits = 0, []
    store.write(lambda groups: (changed, after(attempts)))
    return api.sends, sum(sleep.waits)


class SlowAlertPolicies(AlertPoliciesClient):
    def __init__(self, visible_at: int, sleep: RecordingSleep) -> None:
        super().__init__(cast(InvokeCommandClient, None), sleep=sleep)
        self.visible_at, self.sends = visible_at, 0

    def get(self, identity: str) -> AlertPolicy | None:
        self.sends += 1
        if self.sends < self.visible_at:
            return None
        return AlertPolicy.from_wire({"Name": identity, "ImmutableId": "id"})


def measured_alert_policy_wait() -> tuple[int, float]:
    sleep = RecordingSleep()
    client = SlowAlertPolicies(SlowAlertPolicies(1, sleep)._visibility_attempts, sleep)
    client.wait_until_visible("p")
    return client.sends, sum(sleep.waits)


class StubFeaturesApi:
    def __init__(self, visible_at: int) -> None:
        self.visible_at, self.reads, self.sends = visible_at, 0, 0

    def get(self) -> AdvancedFeatures:
        self.sends += 1
        self.reads += 1
        return AdvancedFeatures({"AutoResolveInvestigatedAlerts": self.reads > self.visible_at})

    def save(self, body: Mapping[str, Any]) -> None:
        self.sends += 1


def measured_advanced_features_write() -> tuple[int, float]:
    sleep = RecordingSleep()
    attempts = AdvancedFeaturesStore(cast(AdvancedFeaturesClient, StubFeaturesApi(0)))._attempts
    api = StubFeaturesApi(attempts)  # the first read before the save, then visible on the last of `attempts` reads
    AdvancedFeaturesStore(cast(AdvancedFeaturesClient, api), sleep=sleep).write({"auto_resolve_investigated_alerts":
                                                                                   True})
    return api.sends + 1, sum(sleep.waits)  # + the tenant-context read of the step's output


def test_one_send_under_retry_after_1_is_what_the_deadline_assumes() -> None:
    attempts, slept = measured_send(1)
    assert attempts == RetryPolicy().max_attempts
    assert slept == send_worst_sleep(1)


def test_the_deadline_covers_the_slowest_step_even_queued_behind_the_other_workers() -> None:
    _, per_send = measured_send(1)
    worst = 0.0
    for sends, slept in (measured_device_group_write(), measured_alert_policy_wait(),
                         measured_advanced_features_write()):
        # Every send throttled on all but its last attempt, on top of the visibility waits.
        worst = max(worst, sends * per_send + slept)
    assert worst > 0
    assert step_deadline(1.0, concurrent_steps=1) >= worst
    assert step_deadline(1.0) >= DYNAMIC_SERVER_WORKERS * worst
