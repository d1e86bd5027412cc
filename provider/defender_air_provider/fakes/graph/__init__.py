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
from typing import Any

from ..base import FakeRequest, FakeResponse
from .models import (
    CONTRACTORS_M365_ID,
    CONTRACTORS_SECURITY_ID,
    EMULATOR_APP_ID,
    EMULATOR_SP_ID,
    GLOBAL_ADMINISTRATOR,
    HELPDESK_ID,
    LICENCE_SEEDS,
    SECURITY_ADMINISTRATOR,
    SEED_GROUPS,
    SOC_ANALYSTS_ID,
    TIER0_ADMINS_ID,
    DirectoryBackend,
    GraphBackend,
)
from .responses import DEFAULT_PAGE_SIZE, DirectoryResponse, GraphResponse

__all__ = [
    "CONTRACTORS_M365_ID",
    "CONTRACTORS_SECURITY_ID",
    "EMULATOR_APP_ID",
    "EMULATOR_SP_ID",
    "GLOBAL_ADMINISTRATOR",
    "HELPDESK_ID",
    "LICENCE_SEEDS",
    "SECURITY_ADMINISTRATOR",
    "SEED_GROUPS",
    "SOC_ANALYSTS_ID",
    "TIER0_ADMINS_ID",
    "DirectoryBackend",
    "GraphBackend",
    "GraphFake",
    "GraphResponse",
]


class GraphFake(GraphBackend):
    """Microsoft Graph ``/groups`` (read-only) for one fake tenant.

    The model and its test helpers are ``GraphBackend``'s (``add_group``, ``edit_group``, ``remove_group``,
    ``groups``, ``group``, ``clock``); ``page_size`` (the server's default page size, 100) belongs to the responder.
    """

    name = "graph"

    def __init__(self, *, clock: Callable[[], datetime] | None = None, page_size: int = DEFAULT_PAGE_SIZE,
                 licences: str = "e5") -> None:
        super().__init__(clock=clock)
        self.responder = GraphResponse(self, page_size=page_size)
        # Subscribed SKUs, the app's service principal and its roles (the preflight's reads); ``licences`` picks the
        # seed: "e5" or "e3" (models.LICENCE_SEEDS).
        self.directory = DirectoryBackend(licences, lock=self.lock)
        self.directory_responder = DirectoryResponse(self.directory, self.responder)

    @property
    def page_size(self) -> int:
        return self.responder.page_size

    @page_size.setter
    def page_size(self, value: int) -> None:
        self.responder.page_size = value

    def operation(self, request: FakeRequest) -> str:
        return self.directory_responder.operation(request) or self.responder.operation(request)

    def handle(self, request: FakeRequest) -> FakeResponse:
        if self.directory_responder.operation(request) is not None:
            return self.directory_responder.handle(request)
        return self.responder.handle(request)

    def to_state(self) -> dict[str, Any]:
        return {**super().to_state(), **self.directory.to_state()}

    def load_state(self, state: dict[str, Any]) -> None:
        super().load_state(state)
        self.directory.load_state(state)
