"""Stateful fake of the Exchange Online admin API ``InvokeCommand`` endpoint, for the preset policy rules.

Written from ``docs/wire/exchange-online.md`` and ``docs/wire/invoke-command.md`` only (never from our client). Split as
Moto splits its fakes:

- ``models.py``: the backend model: the rules and component policies of one tenant as typed records, and the
  rules of the cmdlets as methods;
- ``exceptions.py``: the service's errors, one typed exception each (the shared ones are in ``invoke_command``);
- ``responses.py``: the thin responder: parse the cmdlet's parameters, call the backend, render the objects.

``ExchangeFake`` is what ``FakeTenant`` mounts: the backend, answering on the wire through its responder.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from ..invoke_command.responses import ServedOnTheWire
from .models import SCENARIOS, TENANT_DOMAIN, ExchangeBackend
from .responses import ExchangeResponse

__all__ = ["SCENARIOS", "TENANT_DOMAIN", "ExchangeBackend", "ExchangeFake", "ExchangeResponse"]


class ExchangeFake(ServedOnTheWire, ExchangeBackend):
    """Exchange Online admin API (``POST /adminapi/beta/{tenant}/InvokeCommand``) for one fake tenant.

    The model and its test helpers are ``ExchangeBackend``'s (``rule``, ``rules``, ``policies``, ``edit_rule``,
    ``remove_rule``, ``replication_lag_reads``, ``clock``); ``max_page_size`` (server-side cap on a page, default
    1000; lower it in tests) belongs to the responder.
    """

    name = "exchange"

    def __init__(self, scenario: str = "presets_on", *, max_page_size: int | None = None,
                 replication_lag_reads: int = 0, clock: Callable[[], datetime] | None = None) -> None:
        super().__init__(scenario, replication_lag_reads=replication_lag_reads, clock=clock)
        self.responder = ExchangeResponse(self, max_page_size=max_page_size)

    def load_state(self, state: dict[str, Any]) -> None:
        with self.lock:
            super().load_state(state)
            self.forget_pages()
