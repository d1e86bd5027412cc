"""The device-group collection: one writer per process, a shared read cache, and waiting for propagation.

Every write to the portal replaces the whole collection (device-groups.md §2), so a careless write deletes or
reorders groups nobody asked us to touch. Hence:

* writes run one at a time per process (a lock), each on a fresh read of the collection;
* a write changes only the managed group; every other group, and every field we do not model, goes back
  exactly as read;
* at most one new group per PUT (NMC: saving several new groups at once fails);
* after a PUT, reads wait (bounded, with backoff) until the change is visible: "Applying changes to device group
  configuration may take up to several minutes" (DOC-MG), and a stale read would make the next write undo it;
* a PUT whose answer was lost is settled by reading, never by a blind second PUT (no duplicate groups).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import tenacity

from ..core.errors import OutcomeUnknownError, ServiceError
from ..core.redaction import get_logger
from .machine_groups import NEW_GROUP_ID
from .portal import MachineGroupsClient

LOG = get_logger()
Items = list[dict[str, Any]]
# A change: current items -> (items to PUT, predicate that says the change is visible in a later read).
Change = Callable[[Items], tuple[Items, Callable[[Items], bool]]]


class DeviceGroupStore:
    def __init__(self, api: MachineGroupsClient, *, list_ttl: float = 15.0,
                 clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep,
                 visibility_attempts: int = 10) -> None:
        self._api = api
        self._ttl = list_ttl
        self._clock = clock
        self._sleep = sleep
        self._attempts = visibility_attempts
        self._write_lock = threading.Lock()
        self._read_lock = threading.Lock()
        self._cached: tuple[float, Items] | None = None

    def read(self) -> Items:
        """For refresh: one GET per short window, shared by the worker threads; dropped after any write."""
        with self._read_lock:
            if self._cached is not None and self._clock() - self._cached[0] < self._ttl:
                return self._cached[1]
            items = self._api.get_all()
            self._cached = (self._clock(), items)
            return items

    def write(self, change: Change) -> Items:
        """Apply ``change`` to a fresh read and PUT it; returns the collection once the change is visible."""
        with self._write_lock:
            self._invalidate()
            current = self._api.get_all()
            desired, visible = change(current)
            new_groups = sum(1 for item in desired if item.get("MachineGroupId") == NEW_GROUP_ID)
            if new_groups > 1:
                raise ServiceError("internal error: more than one new device group in one write")
            try:
                self._api.replace(desired, idempotent=new_groups == 0)
            except OutcomeUnknownError:
                LOG.warning("Defender portal: the PUT of the device groups got no answer; reading to check it")
                settled = self._wait_until(visible, raise_on_timeout=False)
                if settled is not None:
                    return settled
                desired, visible = change(self._api.get_all())  # it did not apply: rebuild on a fresh read
                self._api.replace(desired, idempotent=False)
            finally:
                self._invalidate()
            result = self._wait_until(visible, raise_on_timeout=True)
            assert result is not None
            return result

    def _wait_until(self, visible: Callable[[Items], bool], *, raise_on_timeout: bool) -> Items | None:
        retrying = tenacity.Retrying(
            stop=tenacity.stop_after_attempt(self._attempts),
            wait=tenacity.wait_random_exponential(multiplier=0.5, max=20),
            retry=tenacity.retry_if_result(lambda items: not visible(items)),
            sleep=self._sleep,
        )
        try:
            return retrying(self._api.get_all)
        except tenacity.RetryError:
            if raise_on_timeout:
                raise ServiceError(
                    f"Defender portal: the device-group change was accepted but is still not visible after "
                    f"{self._attempts} reads; the portal can take several minutes. Run `pulumi refresh` later."
                ) from None
            return None

    def _invalidate(self) -> None:
        with self._read_lock:
            self._cached = None
