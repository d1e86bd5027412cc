"""Stateful fake of the Microsoft Graph subset used to resolve Entra groups (device groups' ``user_groups``).

Written from Graph's public documentation (standard behaviour; see ``models.py``). Split as Moto splits its fakes:

- ``models.py``: the backend model: the tenant's Entra groups as typed records, and the directory's rules;
- ``exceptions.py``: Graph's errors, one typed exception each;
- ``responses.py``: the thin responder: parse the path and query options, call the backend, render.

``GraphFake`` is what ``FakeTenant`` mounts: the backend, answering on the wire through its responder.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from ..base import FakeRequest, FakeResponse
from .models import (
    CONTRACTORS_M365_ID,
    CONTRACTORS_SECURITY_ID,
    HELPDESK_ID,
    SEED_GROUPS,
    SOC_ANALYSTS_ID,
    TIER0_ADMINS_ID,
    GraphBackend,
)
from .responses import DEFAULT_PAGE_SIZE, GraphResponse

__all__ = ["CONTRACTORS_M365_ID", "CONTRACTORS_SECURITY_ID", "HELPDESK_ID", "SEED_GROUPS", "SOC_ANALYSTS_ID",
           "TIER0_ADMINS_ID", "GraphBackend", "GraphFake", "GraphResponse"]


class GraphFake(GraphBackend):
    """Microsoft Graph ``/groups`` (read-only) for one fake tenant.

    The model and its test helpers are ``GraphBackend``'s (``add_group``, ``edit_group``, ``remove_group``,
    ``groups``, ``group``, ``clock``); ``page_size`` (the server's default page size, 100) belongs to the responder.
    """

    name = "graph"

    def __init__(self, *, clock: Callable[[], datetime] | None = None, page_size: int = DEFAULT_PAGE_SIZE) -> None:
        super().__init__(clock=clock)
        self.responder = GraphResponse(self, page_size=page_size)

    @property
    def page_size(self) -> int:
        return self.responder.page_size

    @page_size.setter
    def page_size(self, value: int) -> None:
        self.responder.page_size = value

    def operation(self, request: FakeRequest) -> str:
        return self.responder.operation(request)

    def handle(self, request: FakeRequest) -> FakeResponse:
        return self.responder.handle(request)
