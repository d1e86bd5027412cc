"""The portal's propagation delay: after a write, reads may still see the state from before it.

docs/wire/defender-portal.md §2.7 (machine groups: "Applying changes to device group configuration may take up to
several minutes"; NMC sleeps 15 s after each write and re-reads) and §6.2 (advanced features: NMC POSTs, sleeps 15 s,
GETs again, compares and POSTs once more if they differ). [inference] the mechanism: a number of stale reads, not a
time, so that tests are deterministic and need no sleep.
"""

from __future__ import annotations

from typing import Generic, TypeVar

T = TypeVar("T")


class StaleReads(Generic[T]):
    """One resource's view from before its latest unpropagated write, and how many more reads still see it.

    ``before`` is that view (None when every write has propagated), ``reads`` how many GETs still return it.
    """

    def __init__(self) -> None:
        self.before: T | None = None
        self.reads = 0

    def written(self, before: T, reads: int) -> None:
        """A write replaced ``before``: the next ``reads`` reads still see it (none when ``reads`` <= 0).

        A second write while the first still propagates keeps the oldest view (what the other replicas still hold)
        and restarts the count.
        """
        if reads <= 0:
            return
        if self.before is None or self.reads == 0:
            self.before = before
        self.reads = reads

    def read(self, current: T) -> T:
        """What a GET sees now: the view from before the write while it propagates, else ``current``."""
        if self.before is None or self.reads <= 0:
            return current
        view = self.before
        self.reads -= 1
        if self.reads == 0:
            self.before = None
        return view

    def restore(self, before: T | None, reads: int) -> None:
        """Set the pending view and count back (from a state file)."""
        self.before = before
        self.reads = reads if before is not None else 0
