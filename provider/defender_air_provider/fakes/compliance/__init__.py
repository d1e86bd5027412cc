"""Stateful fake of the Security & Compliance admin API ``InvokeCommand`` endpoint, for alert policies.

Written from ``docs/wire`` only (never from our client). Split as Moto splits its fakes:

- ``models.py``: the backend model: the tenant's alert policies as typed records (the built-in ones seeded from
  ``defender_air_provider/data/built_in_alert_policies.json``), and the rules of ``*-ProtectionAlert`` as methods;
- ``exceptions.py``: the service's errors, one typed exception each (the shared ones are in ``invoke_command``);
- ``responses.py``: the thin responder (parse, call the backend, render) and the front door's region discovery.

``ComplianceFake`` is what ``FakeTenant`` mounts: the backend, answering on the wire through its responder.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from ..invoke_command.responses import ServedOnTheWire
from .models import ComplianceBackend
from .responses import ComplianceResponse

__all__ = ["ComplianceBackend", "ComplianceFake", "ComplianceResponse"]


class ComplianceFake(ServedOnTheWire, ComplianceBackend):
    """Security & Compliance admin API for one fake tenant: alert policies (``*-ProtectionAlert``).

    The model and its test helpers are ``ComplianceBackend``'s (``policy``, ``policies``, ``edit_policy``,
    ``remove_policy``, ``add_custom``, ``e5``, ``region``, ``discovery_fails``, ``replication_lag_reads``,
    ``system_rule_error_status``, ``clock``); ``max_page_size`` belongs to the responder.
    """

    name = "compliance"

    def __init__(self, *, e5: bool = True, region: str = "nam13b", discovery_fails: bool = False,
                 max_page_size: int | None = None, replication_lag_reads: int = 0,
                 clock: Callable[[], datetime] | None = None, system_rule_error_status: int = 400) -> None:
        super().__init__(e5=e5, region=region, discovery_fails=discovery_fails,
                         replication_lag_reads=replication_lag_reads, clock=clock,
                         system_rule_error_status=system_rule_error_status)
        self.responder = ComplianceResponse(self, max_page_size=max_page_size)

    def load_state(self, state: dict[str, Any]) -> None:
        with self.lock:
            super().load_state(state)
            self.forget_pages()
