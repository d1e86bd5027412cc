"""How long a client waits between the reads that look for its own write.

Reads can lag behind writes: a new alert policy can 404 for a while (docs/wire/invoke-command.md §6.5), the portal
applies device-group and advanced-feature changes after a delay (docs/wire/defender-portal.md §2.7, §6.2). Each client
reads a bounded number of times with tenacity's randomised exponential backoff between the reads, never a fixed
sleep. The caps live here, named, so that what waits and what bounds the wait (the test harness's per-call deadline,
``tests/harness/deadline.py``) read the same numbers.
"""

from __future__ import annotations

from dataclasses import dataclass

import tenacity


@dataclass(frozen=True)
class Backoff:
    """At most ``reads`` reads with ``wait_random_exponential(multiplier, max=cap)`` between them: before read
    ``n + 1`` a random wait of at most ``min(cap, multiplier * 2 ** (n - 1))`` seconds."""

    reads: int
    cap: float
    multiplier: float = 0.5

    def wait(self) -> tenacity.wait.wait_base:
        return tenacity.wait_random_exponential(multiplier=self.multiplier, max=self.cap)

    def longest(self, reads: int | None = None) -> float:
        """The longest total wait over ``reads`` reads (default: all of them): every wait at its upper bound."""
        return sum(min(self.cap, self.multiplier * 2 ** (n - 1)) for n in range(1, reads or self.reads))


ALERT_POLICY_VISIBLE = Backoff(reads=8, cap=30.0)  # after New-ProtectionAlert, until a read finds the policy
DEVICE_GROUPS_VISIBLE = Backoff(reads=10, cap=20.0)  # after a machine-groups PUT, until a read shows the change
ADVANCED_FEATURES_VISIBLE = Backoff(reads=8, cap=15.0)  # after an advanced-features save, until a read shows it
