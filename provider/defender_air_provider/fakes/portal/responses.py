"""The Defender portal responder: the machine-groups API (docs/wire/defender-portal.md §2) behind the cookie session.

- ``GET /apiproxy/mtp/rbacManagementApi/rbac/machine_groups?addAadGroupNames=true&addMachineGroupCount=false``
  -> ``{"items": [...], "containsAadGroupNames": bool, "containsMachineGroupCount": bool}``
- ``PUT /apiproxy/mtp/rbacManagementApi/rbac/machine_groups`` with a JSON array of ALL groups.
- ``GET /`` (the portal's page) hands out the current XSRF-TOKEN cookie (docs/wire/defender-portal.md §4.3).

Thin: check the session (``PortalSession``), parse the query flags and the body, call ``PortalBackend``, render the
groups; announce a rotated XSRF token with ``Set-Cookie``. Raw bodies are recorded for tests.
"""

from __future__ import annotations

import json
from typing import Any

from ..base import FakeRequest, FakeResponse
from .exceptions import BodyNotAnArray, BodyNotJson, InvalidQueryFlag, MethodNotAllowed, NoResource, PortalError
from .models import MachineGroup, PortalBackend
from .session import PortalSession

MACHINE_GROUPS_PATH = "/apiproxy/mtp/rbacManagementApi/rbac/machine_groups"
# The GET's query flags (NODOC: addAadGroupNames, addMachineGroupCount).
_FLAGS = {"addaadgroupnames": "addAadGroupNames", "addmachinegroupcount": "addMachineGroupCount"}


def _is_machine_groups(request: FakeRequest) -> bool:
    # [inference] ASP.NET routing is case-insensitive and tolerates a trailing slash.
    return request.path.rstrip("/").lower() == MACHINE_GROUPS_PATH.lower()


def _wire_group(group: MachineGroup, with_count: bool) -> dict[str, Any]:
    item = group.to_wire()
    if not with_count:
        item["MachineCount"] = 0  # [inference] not counted unless asked (see models.load_seed)
    # addAadGroupNames=false: NODOC only says "Include Azure AD group names in results"; no source shows what
    # is left out, so the stored WcdAadGroup.DisplayName is returned either way. [inference]
    return item


class PortalResponse:
    """The machine-groups API of one ``PortalBackend``, behind one ``PortalSession``.

    ``put_bodies`` (the raw body of every PUT that reached the fake) and ``get_bodies`` (the raw body of every
    successful GET) keep the latest ``max_recorded_bodies`` entries.
    """

    def __init__(self, backend: PortalBackend, session: PortalSession, *, max_recorded_bodies: int = 256) -> None:
        self.backend = backend
        self.session = session
        self.max_recorded_bodies = max_recorded_bodies
        self.put_bodies: list[bytes] = []
        self.get_bodies: list[bytes] = []

    def operation(self, request: FakeRequest) -> str:
        if _is_machine_groups(request):
            return f"{request.method.upper()} machine_groups"
        return f"{request.method.upper()} {request.path.rstrip('/').rsplit('/', 1)[-1] or '/'}"

    def handle(self, request: FakeRequest) -> FakeResponse:
        method = request.method.upper()
        with self.backend.lock:
            try:
                if method == "GET" and request.path.strip("/") == "":
                    return self._portal_page(request)
                if method == "PUT" and _is_machine_groups(request):
                    self._record(self.put_bodies, request.body)
                has_session = self.session.authenticate(request.header("cookie"), request.header("x-xsrf-token"),
                                                        method)
                self.session.check_role(method)
            except PortalError as error:
                return error.response()
            try:
                response = self._route(request, method)
            except PortalError as error:
                response = error.response()
            if has_session:
                cookie = self.session.cookie_to_announce(method, response.status)
                if cookie is not None:
                    response.headers["Set-Cookie"] = self._set_cookie(request, cookie)
            return response

    @staticmethod
    def _set_cookie(request: FakeRequest, cookie: str) -> str:
        # The cookie attributes the brief and XLR describe; "secure" only over https, as a client would never send
        # a secure cookie back to the plain-http emulator (the real portal is https only).
        secure = "; secure" if request.base_url.lower().startswith("https:") else ""
        return f"XSRF-TOKEN={cookie}; path=/{secure}; samesite=strict"

    def _portal_page(self, request: FakeRequest) -> FakeResponse:
        cookie = self.session.page_cookie(request.header("cookie"))
        return FakeResponse(200, {"content-type": "text/html; charset=utf-8",
                                  "Set-Cookie": self._set_cookie(request, cookie)},
                            b"<!DOCTYPE html><html><head><title>Microsoft Defender</title></head><body></body></html>")

    def _route(self, request: FakeRequest, method: str) -> FakeResponse:
        if not _is_machine_groups(request):
            raise NoResource(request.path)
        if method == "GET":
            return self._get(request)
        if method == "PUT":
            return self._put(request)
        raise MethodNotAllowed(method)

    def _get(self, request: FakeRequest) -> FakeResponse:
        flags: dict[str, bool] = {"addAadGroupNames": False, "addMachineGroupCount": False}
        for key, value in request.query.items():
            name = _FLAGS.get(key.lower())
            if name is None:
                continue  # [inference] unknown query parameters are ignored, as ASP.NET model binding does
            if value.lower() not in ("true", "false"):
                raise InvalidQueryFlag(value, name)
            flags[name] = value.lower() == "true"
        payload = {
            "items": [_wire_group(g, flags["addMachineGroupCount"]) for g in self.backend.read_groups()],
            "containsAadGroupNames": flags["addAadGroupNames"],
            "containsMachineGroupCount": flags["addMachineGroupCount"],
        }
        response = FakeResponse.json(200, payload)
        self._record(self.get_bodies, response.body)
        return response

    def _put(self, request: FakeRequest) -> FakeResponse:
        try:
            body = json.loads(request.body.decode("utf-8")) if request.body else None
        except (ValueError, UnicodeDecodeError):
            raise BodyNotJson() from None
        if not isinstance(body, list):
            raise BodyNotAnArray()
        groups = self.backend.replace_groups(body)
        # docs/wire/defender-portal.md §2.4 [inference]: XDRI reads (PUT response).items, so the answer is the GET's
        # wrapper (items only here).
        return FakeResponse.json(200, {"items": [_wire_group(g, False) for g in groups]})

    def _record(self, bodies: list[bytes], body: bytes) -> None:
        bodies.append(body)
        if len(bodies) > self.max_recorded_bodies:
            del bodies[:len(bodies) - self.max_recorded_bodies]

    @property
    def last_get_body(self) -> bytes | None:
        """The raw body of the latest successful GET (to compare unmanaged groups byte-for-byte with a PUT)."""
        with self.backend.lock:
            return self.get_bodies[-1] if self.get_bodies else None
