"""The Defender portal responder: the machine-groups API (docs/wire/defender-portal.md §2), the advanced features
(§6) and the tenant context (§7), behind the cookie session (§4).

- ``GET /apiproxy/mtp/rbacManagementApi/rbac/machine_groups?addAadGroupNames=true&addMachineGroupCount=false``
  -> ``{"items": [...], "containsAadGroupNames": bool, "containsMachineGroupCount": bool}``
- ``PUT /apiproxy/mtp/rbacManagementApi/rbac/machine_groups`` with a JSON array of ALL groups.
- ``GET /apiproxy/mtp/settings/GetAdvancedFeaturesSetting`` -> the flat settings object.
- ``POST /apiproxy/mtp/settings/SaveAdvancedFeaturesSetting`` with the whole settings object.
- ``GET /apiproxy/mtp/sccManagement/mgmt/TenantContext?realTime=true`` -> the tenant context.
- ``GET /`` (the portal's page) hands out the current XSRF-TOKEN cookie (docs/wire/defender-portal.md §4.3).

Thin: check the session (``PortalSession``), parse the query flags and the body, call ``PortalBackend``, render;
announce a rotated XSRF token with ``Set-Cookie``. Raw bodies are recorded for tests.

Operations (the request log's labels, which faults match): ``GET machine_groups``, ``PUT machine_groups``,
``GET advanced_features``, ``POST advanced_features``, ``GET tenant_context``; any other request is
``<METHOD> <last path segment>`` (``DELETE machine_groups``, ``POST GetAdvancedFeaturesSetting``, ``GET aad_groups``).
"""

from __future__ import annotations

import json
from typing import Any

from ..base import FakeRequest, FakeResponse
from .exceptions import BodyNotAnArray, BodyNotJson, InvalidQueryFlag, MethodNotAllowed, NoResource, PortalError
from .models import MachineGroup, PortalBackend
from .session import PortalSession

MACHINE_GROUPS_PATH = "/apiproxy/mtp/rbacManagementApi/rbac/machine_groups"  # docs/wire/defender-portal.md §2.2
ADVANCED_FEATURES_GET_PATH = "/apiproxy/mtp/settings/GetAdvancedFeaturesSetting"  # docs/wire/defender-portal.md §6.2
ADVANCED_FEATURES_SAVE_PATH = "/apiproxy/mtp/settings/SaveAdvancedFeaturesSetting"  # docs/wire/defender-portal.md §6.2
TENANT_CONTEXT_PATH = "/apiproxy/mtp/sccManagement/mgmt/TenantContext"  # docs/wire/defender-portal.md §7, §4.2

# Each URL the fake serves: {verb: operation label}. A verb a URL does not list is 405.
_ENDPOINTS: dict[str, dict[str, str]] = {
    MACHINE_GROUPS_PATH.lower(): {"GET": "GET machine_groups", "PUT": "PUT machine_groups"},
    ADVANCED_FEATURES_GET_PATH.lower(): {"GET": "GET advanced_features"},
    ADVANCED_FEATURES_SAVE_PATH.lower(): {"POST": "POST advanced_features"},
    TENANT_CONTEXT_PATH.lower(): {"GET": "GET tenant_context"},
}
# The machine-groups GET's query flags (NODOC: addAadGroupNames, addMachineGroupCount).
_FLAGS = {"addaadgroupnames": "addAadGroupNames", "addmachinegroupcount": "addMachineGroupCount"}


def _route_path(request: FakeRequest) -> str:
    # [inference] ASP.NET routing is case-insensitive and tolerates a trailing slash.
    return request.path.rstrip("/").lower()


def _endpoint(request: FakeRequest) -> dict[str, str] | None:
    return _ENDPOINTS.get(_route_path(request))


def _wire_group(group: MachineGroup, with_count: bool) -> dict[str, Any]:
    item = group.to_wire()
    if not with_count:
        item["MachineCount"] = 0  # [inference] not counted unless asked (see models.load_seed)
    # addAadGroupNames=false: NODOC only says "Include Azure AD group names in results"; no source shows what
    # is left out, so the stored WcdAadGroup.DisplayName is returned either way. [inference]
    return item


class PortalResponse:
    """The portal API of one ``PortalBackend``, behind one ``PortalSession``.

    Recorded bodies, each list keeping the latest ``max_recorded_bodies`` entries: ``put_bodies`` (the raw body of
    every machine-groups PUT that reached the fake, refused ones included), ``get_bodies`` (the raw body of every
    successful machine-groups GET) and ``advanced_features_saves`` (the raw body of every advanced-features save POST
    that reached the fake, refused ones included).
    """

    def __init__(self, backend: PortalBackend, session: PortalSession, *, max_recorded_bodies: int = 256) -> None:
        self.backend = backend
        self.session = session
        self.max_recorded_bodies = max_recorded_bodies
        self.put_bodies: list[bytes] = []
        self.get_bodies: list[bytes] = []
        self.advanced_features_saves: list[bytes] = []

    def operation(self, request: FakeRequest) -> str:
        method = request.method.upper()
        label = (_endpoint(request) or {}).get(method)
        if label is not None:
            return label
        return f"{method} {request.path.rstrip('/').rsplit('/', 1)[-1] or '/'}"

    def handle(self, request: FakeRequest) -> FakeResponse:
        method = request.method.upper()
        with self.backend.lock:
            try:
                if method == "GET" and request.path.strip("/") == "":
                    return self._portal_page(request)
                operation = self.operation(request)
                if operation == "PUT machine_groups":
                    self._record(self.put_bodies, request.body)
                elif operation == "POST advanced_features":
                    self._record(self.advanced_features_saves, request.body)
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
        endpoint = _endpoint(request)
        if endpoint is None:
            raise NoResource(request.path)
        operation = endpoint.get(method)
        if operation == "GET machine_groups":
            return self._get(request)
        if operation == "PUT machine_groups":
            return self._put(request)
        if operation == "GET advanced_features":
            return FakeResponse.json(200, self.backend.read_advanced_features().to_wire())
        if operation == "POST advanced_features":
            return self._save_advanced_features(request)
        if operation == "GET tenant_context":
            # [inference] realTime=true (the only value any source sends) presumably bypasses a cache; the fake has
            # none, so the query is not read.
            return FakeResponse.json(200, self.backend.read_tenant_context().to_wire())
        raise MethodNotAllowed(method, ", ".join(endpoint))

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

    def _save_advanced_features(self, request: FakeRequest) -> FakeResponse:
        """docs/wire/defender-portal.md §6.2: the body is the whole settings object. No POST response body was captured
        (XDRI discards the answer; NMC re-reads after 15 s), so [inference] the fake answers the least a client could
        rely on: 200 with an empty body. A client must re-read to learn what was stored."""
        try:
            body = json.loads(request.body.decode("utf-8")) if request.body else None
        except (ValueError, UnicodeDecodeError):
            raise BodyNotJson() from None
        self.backend.save_advanced_features(body)
        return FakeResponse(200, {}, b"")

    def _record(self, bodies: list[bytes], body: bytes) -> None:
        bodies.append(body)
        if len(bodies) > self.max_recorded_bodies:
            del bodies[:len(bodies) - self.max_recorded_bodies]

    @property
    def last_get_body(self) -> bytes | None:
        """The raw body of the latest successful GET (to compare unmanaged groups byte-for-byte with a PUT)."""
        with self.backend.lock:
            return self.get_bodies[-1] if self.get_bodies else None
