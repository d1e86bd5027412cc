"""The Defender portal's machine-groups API (the only API that writes device groups).

Undocumented, cookie-authenticated (``docs/wire/defender-portal.md`` §2 and §4):
``GET`` and whole-collection ``PUT`` on ``/apiproxy/mtp/rbacManagementApi/rbac/machine_groups``, with the
``sccauth`` and ``XSRF-TOKEN`` cookies and an ``X-XSRF-TOKEN`` header carrying the URL-*decoded* token.
"""

from __future__ import annotations

import re
import threading
from typing import Any
from urllib.parse import unquote

from ...core.errors import NotFound, PermissionDenied, ServiceError, SessionExpired, Throttled
from ...core.http import HttpClient, HttpResponse
from ...core.redaction import REDACTOR

PATH = "/apiproxy/mtp/rbacManagementApi/rbac/machine_groups"
SESSION_PROCEDURE = (
    "Get a fresh Defender portal session: sign in to the Defender portal in a browser as a user with the "
    "Security Administrator role, open the developer tools (Application > Cookies > the portal's host), copy the "
    "values of the sccauth and XSRF-TOKEN cookies, then run `pulumi config set --secret defender-air:portalSession "
    "\"sccauth=<value>; XSRF-TOKEN=<value>\"`. A copied session lasts about an hour (see docs/device-groups.md)."
)
# XDRI Get-XdrHttpFailureClass: a 403 with these words, or a sign-in page, means the session is gone.
_SESSION_WORDS = re.compile(r"xsrf|csrf|session|token|expired|sign.?in|login", re.IGNORECASE)
_SIGN_IN_PAGE = re.compile(r"interactive sign.?in|sign in to your account|ConvergedSignIn|login\.microsoftonline\.",
                           re.IGNORECASE)



class PortalSession:
    """The session cookies; thread-safe. The portal rotates ``XSRF-TOKEN`` on state-changing responses
    (XLR Update-XsrfToken), so cookies are updated from every ``Set-Cookie`` and read before every request."""

    def __init__(self, cookie_string: str | None) -> None:
        self._lock = threading.Lock()
        self._cookies: dict[str, str] = {}
        for part in (cookie_string or "").split(";"):
            name, sep, value = part.strip().partition("=")
            if sep and name.strip():
                self._cookies[name.strip()] = value.strip()
        REDACTOR.add(*self._cookies.values(), *(unquote(v) for v in self._cookies.values()))

    def __bool__(self) -> bool:
        return bool(self._cookies)

    def missing(self) -> list[str]:
        with self._lock:
            names = {n.lower() for n in self._cookies}
        return [n for n in ("sccauth", "XSRF-TOKEN") if n.lower() not in names]

    def headers(self) -> dict[str, str]:
        with self._lock:
            if not self._cookies:
                return {}
            xsrf = next((v for n, v in self._cookies.items() if n.lower() == "xsrf-token"), "")
            cookie = "; ".join(f"{n}={v}" for n, v in self._cookies.items())
        # The cookie stores the token URL-encoded; the header must carry it decoded (XLR Update-XsrfToken).
        return {"Cookie": cookie, "X-XSRF-TOKEN": unquote(xsrf)}

    def absorb(self, response: HttpResponse) -> None:
        headers = response.headers
        values = headers.get_list("set-cookie") if hasattr(headers, "get_list") else [headers.get("set-cookie", "")]
        for header in values:
            name, sep, rest = (header or "").partition("=")
            if not sep or name.strip().lower() not in ("xsrf-token", "sccauth"):
                continue
            value = rest.split(";", 1)[0].strip()
            REDACTOR.add(value, unquote(value))
            with self._lock:
                existing = next((n for n in self._cookies if n.lower() == name.strip().lower()), name.strip())
                self._cookies[existing] = value


class PortalClient:
    """Requests to the Defender portal's internal API with the cookie session: XSRF header, cookie rotation, one
    retry after a refused stale XSRF token, and the portal's failures as typed errors. Every portal client (device
    groups, advanced features) is one of these, sharing one ``PortalSession`` per provider."""

    #: What the signed-in user needs, for a 403 (the subclass's writes).
    permission_hint = ("The signed-in user needs the Security Administrator role (or 'Manage portal system "
                       "settings').")

    def __init__(self, http: HttpClient, *, base_url: str, session: PortalSession | None) -> None:
        self._http = http
        self._portal = base_url.rstrip("/")
        self._session = session

    def _send(self, method: str, url: str, body: Any, *, idempotent: bool, what: str) -> HttpResponse:
        response = self._send_once(method, url, body, idempotent=idempotent, what=what)
        if response.status == 500 and self._session:
            # A bare 500 is how the portal's CSRF check refuses a stale XSRF token (XLR Update-XsrfToken), e.g. after
            # a lost answer that carried the rotated one. Fetch the current token as XDRI-F does
            # (docs/wire/defender-portal.md §4.3: GET the portal page with the session cookies). Only if it changed was
            # our token the cause, and the CSRF check refused the request before it did anything: then, and only then,
            # send it once more.
            before = self._session.headers().get("X-XSRF-TOKEN")
            self._refresh_xsrf()
            if self._session.headers().get("X-XSRF-TOKEN") != before:
                response = self._send_once(method, url, body, idempotent=idempotent, what=what)
        self._raise_for(response, what)
        return response

    def _send_once(self, method: str, url: str, body: Any, *, idempotent: bool, what: str) -> HttpResponse:
        headers = {"Accept": "application/json"}
        if self._session is not None:
            headers.update(self._session.headers())
        response = self._http.send(method, url, json_body=body, headers=headers, idempotent=idempotent, what=what)
        if self._session is not None:
            self._session.absorb(response)
        return response

    def _refresh_xsrf(self) -> None:
        assert self._session is not None
        headers = {"Cookie": self._session.headers()["Cookie"], "Accept": "text/html"}
        response = self._http.send("GET", f"{self._portal}/", headers=headers, idempotent=True,
                                   what="GET portal page (XSRF token)")
        self._session.absorb(response)

    def _raise_for(self, response: HttpResponse, what: str) -> None:
        status, text = response.status, REDACTOR(response.text)
        # A request without a valid session can come back as the Entra sign-in page, even with 200 (XDRI).
        sign_in = bool(_SIGN_IN_PAGE.search(text)) and "json" not in str(response.headers.get("content-type", ""))
        if status in (401, 419, 440) or sign_in or (status == 403 and _SESSION_WORDS.search(text)):
            raise SessionExpired(
                f"Defender portal: {what} was refused (HTTP {status}): the portal session is missing, expired or "
                f"was rejected. {SESSION_PROCEDURE}", status=status, operation=what)
        if status == 403:
            raise PermissionDenied(
                f"Defender portal: {what} was refused (HTTP 403): {text[:300] or 'no details'}. "
                f"{self.permission_hint}", status=status, operation=what)
        if status == 500 and re.search(r"xsrf|csrf|antiforgery", text, re.IGNORECASE):
            raise SessionExpired(
                f"Defender portal: {what} failed (HTTP 500) on the XSRF token: {text[:300]}. {SESSION_PROCEDURE}",
                status=status, operation=what)
        if status == 500:
            # A wrong or undecoded X-XSRF-TOKEN gives a bare HTTP 500 (XLR Update-XsrfToken), and so can a fault of
            # the portal: say both.
            raise ServiceError(
                f"Defender portal: {what} failed (HTTP 500): {text[:300] or 'no details'}. If it repeats, the "
                f"session's XSRF token was probably rejected. {SESSION_PROCEDURE}", status=status, operation=what)
        if status == 404:
            raise NotFound(f"Defender portal: {what} was not found (HTTP 404): {text[:300]}", status=status,
                           operation=what)
        if status in (429, 503):
            raise Throttled(f"Defender portal: {what} is still throttled (HTTP {status}) after retries: {text[:300]}. "
                            "Run again later or lower pulumi's --parallel.", status=status, operation=what)
        if status >= 400:
            raise ServiceError(f"Defender portal: {what} failed (HTTP {status}): {text[:500]}", status=status,
                               operation=what)

class MachineGroupsClient(PortalClient):
    """GET and PUT of the whole machine-group collection. Plain dicts in and out; knows nothing of Pulumi."""

    permission_hint = ("The signed-in user needs the Security Administrator role (or 'Manage portal system "
                       "settings') to change device groups.")

    def __init__(self, http: HttpClient, *, base_url: str, session: PortalSession | None) -> None:
        super().__init__(http, base_url=base_url, session=session)
        self._url = f"{self._portal}{PATH}"

    def get_all(self) -> list[dict[str, Any]]:
        response = self._send("GET", f"{self._url}?addAadGroupNames=true&addMachineGroupCount=false", None,
                              idempotent=True, what="GET machine_groups")
        return _items(response, "GET machine_groups")

    def replace(self, items: list[dict[str, Any]], *, idempotent: bool) -> list[dict[str, Any]] | None:
        """PUT the whole collection. ``idempotent`` is False when it adds a group (a second PUT of the same
        body would add it twice). Returns the items of the answer where it has any (docs/wire/defender-portal.md §2.4:
        not captured)."""
        response = self._send("PUT", self._url, items, idempotent=idempotent, what="PUT machine_groups")
        try:
            return _items(response, "PUT machine_groups")
        except ServiceError:
            return None  # an answer without items: the caller re-reads anyway


def _items(response: HttpResponse, what: str) -> list[dict[str, Any]]:
    payload = response.json()
    # The GET answers {items, containsAadGroupNames, containsMachineGroupCount}; parse a bare array too
    # (docs/wire/defender-portal.md §2.4).
    items = payload.get("items") if isinstance(payload, dict) else payload
    if not isinstance(items, list):
        raise ServiceError(f"Defender portal: {what} answered HTTP {response.status} without a list of groups.",
                           status=response.status, operation=what)
    return [i for i in items if isinstance(i, dict)]
