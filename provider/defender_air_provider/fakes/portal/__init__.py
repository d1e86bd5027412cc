"""Stateful fake of the Defender portal's API: machine groups (device groups), advanced features and the tenant
context, behind its cookie session.

Written from ``docs/wire/defender-portal.md`` (§2-§4, §6, §7) only, never from our client. Split as Moto splits its
fakes:

- ``models.py``: the backend model: the device groups as typed records and the rules of a collection PUT; the
  advanced features and the tenant context (records and the rules of a save in ``settings.py``); the propagation
  delay of writes (``propagation.py``);
- ``session.py``: the portal's cookie session (sccauth, XSRF token) and its rules;
- ``exceptions.py``: the portal's errors, one typed exception each;
- ``responses.py``: the thin responder: check the session, parse, call the backend, render;
- ``seed_groups.json``: the seeded groups (the FIXTURE capture of docs/wire/defender-portal.md §2.3 and two made-up
  groups); ``seed_advanced_features.json``: the captured settings object of §6.3, verbatim;
  ``seed_tenant_context.json``: the captured tenant context of §7 (trimmed; see ``settings.load_tenant_context_seed``).

``PortalFake`` is what ``FakeTenant`` mounts: the backend and its session, answering on the wire.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from ..base import FakeRequest, FakeResponse
from .models import MachineGroup, PortalBackend
from .responses import PortalResponse
from .session import PortalSession
from .settings import AdvancedFeatures, TenantContext

__all__ = ["AdvancedFeatures", "MachineGroup", "PortalBackend", "PortalFake", "PortalResponse", "PortalSession",
           "TenantContext"]


class PortalFake(PortalBackend):
    """The Defender portal's API for one fake tenant, with its cookie session.

    The state and its test helpers are ``PortalBackend``'s: the device groups (``groups``, ``group``, ``add_group``,
    ``edit_group``, ``remove_group``, ``propagation_reads``, ``clock``), the advanced features
    (``advanced_features``, ``edit_advanced_features``, ``set_advanced_features``,
    ``advanced_features_propagation_reads``) and the tenant context (``tenant_context``, ``edit_tenant_context``).
    The session (``session``, a ``PortalSession``) and the recorded bodies (the responder's) are reachable here too:

    - ``allow_anonymous`` (default True), ``check_xsrf_on_reads``, ``sccauth``, ``xsrf_token``, ``xsrf_cookie``;
      ``cookie_header()``, ``session_headers()``, ``new_session()``, ``expire_session()``, ``rotate_xsrf()``,
      ``forbid()``/``permit()``;
    - ``put_bodies``, ``get_bodies``, ``last_get_body``, ``advanced_features_saves``, ``max_recorded_bodies``.
    """

    name = "portal"

    def __init__(self, *, propagation_reads: int = 0, advanced_features_propagation_reads: int = 0,
                 allow_anonymous: bool = True, clock: Callable[[], datetime] | None = None,
                 max_recorded_bodies: int = 256) -> None:
        super().__init__(propagation_reads=propagation_reads,
                         advanced_features_propagation_reads=advanced_features_propagation_reads, clock=clock)
        self.session = PortalSession(self.lock, allow_anonymous=allow_anonymous)
        self.responder = PortalResponse(self, self.session, max_recorded_bodies=max_recorded_bodies)

    def operation(self, request: FakeRequest) -> str:
        return self.responder.operation(request)

    def handle(self, request: FakeRequest) -> FakeResponse:
        return self.responder.handle(request)

    # -- the session ------------------------------------------------------------------------------------------

    @property
    def allow_anonymous(self) -> bool:
        return self.session.allow_anonymous

    @allow_anonymous.setter
    def allow_anonymous(self, value: bool) -> None:
        self.session.allow_anonymous = value

    @property
    def check_xsrf_on_reads(self) -> bool:
        return self.session.check_xsrf_on_reads

    @check_xsrf_on_reads.setter
    def check_xsrf_on_reads(self, value: bool) -> None:
        self.session.check_xsrf_on_reads = value

    @property
    def sccauth(self) -> str:
        return self.session.sccauth

    @sccauth.setter
    def sccauth(self, value: str) -> None:
        self.session.sccauth = value

    @property
    def xsrf_token(self) -> str:
        return self.session.xsrf_token

    @xsrf_token.setter
    def xsrf_token(self, value: str) -> None:
        self.session.xsrf_token = value

    @property
    def xsrf_cookie(self) -> str:
        return self.session.xsrf_cookie

    def cookie_header(self) -> str:
        return self.session.cookie_header()

    def session_headers(self) -> dict[str, str]:
        return self.session.session_headers()

    def new_session(self) -> str:
        return self.session.new_session()

    def expire_session(self) -> None:
        self.session.expire_session()

    def rotate_xsrf(self) -> str:
        return self.session.rotate_xsrf()

    def forbid(self, *, writes_only: bool = False) -> None:
        self.session.forbid(writes_only=writes_only)

    def permit(self) -> None:
        self.session.permit()

    # -- recorded bodies --------------------------------------------------------------------------------------

    @property
    def put_bodies(self) -> list[bytes]:
        return self.responder.put_bodies

    @property
    def get_bodies(self) -> list[bytes]:
        return self.responder.get_bodies

    @property
    def advanced_features_saves(self) -> list[bytes]:
        """The raw body of every advanced-features save (POST) that reached the fake, refused ones included."""
        return self.responder.advanced_features_saves

    @property
    def last_get_body(self) -> bytes | None:
        return self.responder.last_get_body

    @property
    def max_recorded_bodies(self) -> int:
        return self.responder.max_recorded_bodies

    @max_recorded_bodies.setter
    def max_recorded_bodies(self, value: int) -> None:
        self.responder.max_recorded_bodies = value
