"""The device-group collection: one writer per process, a shared read cache, and waiting for propagation.

Every write to the portal replaces the whole collection (docs/wire/defender-portal.md §2.4), so a careless write deletes
or reorders groups nobody asked us to touch. Hence:

* writes run one at a time per process (a lock), each on a fresh read of the collection. A write that was already
  waiting for the lock when the previous write's change showed takes that read as its base (at most ``fresh_for``
  seconds old, and only if no other read since saw the collection differ): it is newer than any GET the waiting write
  could have made on arrival. Back-to-back writes (``pulumi up`` creating many groups) then cost one PUT and about one
  GET each, not two. A write that arrives later, after a pause, reads again;
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

import tenacity

from ...core.backoff import DEVICE_GROUPS_VISIBLE
from ...core.errors import OutcomeUnknown, ServiceError
from ...core.redaction import get_logger
from .groups import Groups
from .session import MachineGroupsClient
from .wire import is_new_group

LOG = get_logger()
WRITE = "PUT machine_groups"  # the operation named by this store's errors
# A change: current groups -> (groups to PUT, predicate that says the change is visible in a later read).
Visible = Callable[[Groups], bool]
Change = Callable[[Groups], tuple[Groups, Visible]]


class DeviceGroupStore:
    def __init__(self, api: MachineGroupsClient, *, list_ttl: float = 15.0,
                 clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep,
                 visibility_attempts: int = DEVICE_GROUPS_VISIBLE.reads, fresh_for: float = 1.0) -> None:
        self._api = api
        self._ttl = list_ttl
        self._fresh_for = fresh_for
        self._clock = clock
        self._sleep = sleep
        self._attempts = visibility_attempts
        self._write_lock = threading.Lock()
        self._read_lock = threading.Lock()
        self._cached: tuple[float, Groups] | None = None
        self._pending: list[Visible] = []  # checks of changes not yet seen (guarded by _write_lock)
        # The read that showed the last write of this process: its number, when, and the view (set under _write_lock).
        self._verifications = 0
        self._verified: tuple[int, float, Groups] | None = None

    def read(self) -> Groups:
        """For refresh: one GET per short window, shared by the worker threads; dropped after any write."""
        with self._read_lock:
            if self._cached is not None and self._clock() - self._cached[0] < self._ttl:
                return self._cached[1]
            groups = self._seen(Groups.of(self._api.get_all()))
            self._cached = (self._clock(), groups)
            return groups

    def _seen(self, groups: Groups) -> Groups:
        """A GET outside a write that differs from the view verified by the last write: someone else changed the
        collection (or this GET overtook that write), so the next write reads afresh instead of reusing the view.
        Clearing only ever costs a GET, so it needs no write lock."""
        verified = self._verified
        if verified is not None and verified[2] != groups:
            self._verified = None
        return groups

    def write(self, change: Change) -> Groups:
        """Apply ``change`` to a fresh read and PUT it; returns the collection once the change is visible.

        Never writes on a view that misses an earlier change of this process (a PUT replaces everything, so a
        stale view would delete or revert what it lacks): changes not yet seen are kept as pending checks, and
        the next write first waits until a read shows them all.
        """
        arrived = self._verifications  # a view verified after this is newer than any read this write could make now
        with self._write_lock:
            self._invalidate()
            current = self._settled_read(arrived)
            self._verified = None  # used once: a later write reads again unless this one is verified
            desired, visible = change(current)
            if desired == current:
                return current  # nothing to change: no PUT (a needless PUT could revert someone's concurrent edit)
            new_groups = sum(1 for item in desired.items if is_new_group(item))
            if new_groups > 1:
                raise ServiceError("internal error: more than one new device group in one write", operation=WRITE)
            try:
                self._api.replace(desired.to_wire(), idempotent=new_groups == 0)
            except OutcomeUnknown as lost:
                LOG.warning("Defender portal: the PUT of the device groups got no answer; reading to check it")
                settled = self._wait_until(visible)
                if settled is None:
                    self._pending.append(visible)
                    raise OutcomeUnknown(
                        "Defender portal: the device-group change got no answer and is not visible after "
                        f"{self._attempts} reads; it may still arrive. Nothing more was sent. Run `pulumi up` "
                        "again in a few minutes (a group that was being created: with adopt_existing=True).",
                        operation=WRITE) from lost
                self._invalidate()
                self._verify(settled)
                return settled
            finally:
                self._invalidate()
            result = self._wait_until(visible)
            self._invalidate()  # a refresh during the wait may have cached the old view
            if result is None:
                self._pending.append(visible)
                raise ServiceError(
                    f"Defender portal: the device-group change was accepted but is still not visible after "
                    f"{self._attempts} reads (the portal can take several minutes). Run `pulumi refresh` and "
                    "`pulumi up` later (a group that was being created: `pulumi up` with adopt_existing=True).",
                    operation=WRITE)
            self._verify(result)
            return result

    def _verify(self, groups: Groups) -> None:
        self._verifications += 1
        self._verified = (self._verifications, self._clock(), groups)

    def _settled_read(self, arrived: int) -> Groups:
        """A read that shows every earlier change of this process (bounded wait), else no write at all. The view that
        verified the previous write serves when it was taken after this write ``arrived`` and is at most ``fresh_for``
        seconds old; otherwise a GET."""
        if not self._pending:
            verified = self._verified
            if verified is not None and verified[0] > arrived and self._clock() - verified[1] <= self._fresh_for:
                return verified[2]
            return Groups.of(self._api.get_all())
        pending = list(self._pending)
        settled = self._wait_until(lambda groups: all(check(groups) for check in pending))
        if settled is None:
            raise ServiceError(
                "Defender portal: an earlier device-group change of this run is still not visible, so no further "
                "change is written (it would be based on an outdated list and could undo it). Run `pulumi refresh` "
                "and `pulumi up` again in a few minutes.", operation=WRITE)
        self._pending.clear()
        return settled

    def _wait_until(self, visible: Visible) -> Groups | None:
        retrying = tenacity.Retrying(
            stop=tenacity.stop_after_attempt(self._attempts),
            wait=DEVICE_GROUPS_VISIBLE.wait(),
            retry=tenacity.retry_if_result(lambda groups: not visible(groups)),
            sleep=self._sleep,
        )
        try:
            return retrying(lambda: Groups.of(self._api.get_all()))
        except tenacity.RetryError:
            return None

    def fresh(self) -> Groups:
        """An uncached read (to confirm that a group is really gone before telling the engine so)."""
        return self._seen(Groups.of(self._api.get_all()))

    def _invalidate(self) -> None:
        with self._read_lock:
            self._cached = None
