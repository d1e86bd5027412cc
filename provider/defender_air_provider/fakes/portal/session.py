"""The Defender portal's cookie session (docs/wire/defender-portal.md §4).

Cookies ``sccauth`` and ``XSRF-TOKEN`` plus the header ``X-XSRF-TOKEN`` carrying the URL-DECODED ``XSRF-TOKEN``
cookie. No bearer token is involved (the tenant router skips bearer auth for this service). The session is not
part of the tenant's state: a restarted emulator starts a fresh one.
"""

from __future__ import annotations

import base64
import hashlib
import re
import threading
from urllib.parse import quote, unquote

from .exceptions import Forbidden, SessionExpired, SignInRequired, Unauthorized, XsrfRejected


def parse_cookies(header: str | None) -> dict[str, str]:
    """Cookie header -> {lower-case name: raw value}. Commas split too: two joined Cookie headers still parse (RFC
    6265 cookie values can't hold a comma). [inference] names compare case-insensitively (NMC reads the cookie as
    ``['xsrf-token']``)."""
    jar: dict[str, str] = {}
    for part in re.split(r"[;,]", header or ""):
        name, sep, value = part.strip().partition("=")
        if sep and name.strip():
            jar.setdefault(name.strip().lower(), value.strip())
    return jar


def _mint(kind: str, serial: int, size: int) -> str:
    """A deterministic standard-base64 token. XSRF tokens use 31 bytes, so they end in "==" and always change when
    URL-encoded (the cookie holds "...%3D%3D", the header must carry "...=="); they may also hold "+" and "/"."""
    digest = hashlib.sha512(f"defender-air-fake/{kind}/{serial}".encode()).digest()
    return base64.b64encode(digest[:size]).decode("ascii")


class PortalSession:
    """The signed-in session the portal accepts, and its rules.

    Plain attributes (change them in tests):

    - ``allow_anonymous`` (default True): a request with no cookies at all is served (CONTRACT: the emulator needs
      no credential). A request that carries any cookie is always validated. Session tests set it False.
    - ``sccauth``, ``xsrf_token``: the valid session. ``xsrf_token`` is the DECODED token (what ``X-XSRF-TOKEN``
      must carry); ``xsrf_cookie`` is its URL-encoded cookie value.
    - ``check_xsrf_on_reads`` (default True): GETs need the XSRF header too. [inference] every source sends it on
      every call; whether the portal checks it on reads is unknown.

    ``lock`` is the portal backend's: a request holds it from authentication to the answer.
    """

    def __init__(self, lock: threading.RLock, *, allow_anonymous: bool = True) -> None:
        self.lock = lock
        self.allow_anonymous = allow_anonymous
        self.check_xsrf_on_reads = True
        self._serial = 0
        self.sccauth = ""
        self.xsrf_token = ""
        self._expired: set[str] = set()
        self._previous_xsrf: str | None = None  # still accepted until the new one was announced (rotate_xsrf)
        self._announce_xsrf = False
        self._forbidden: str | None = None  # None, "all" or "writes"
        self.new_session()

    # -- helpers for tests ------------------------------------------------------------------------------------

    @property
    def xsrf_cookie(self) -> str:
        """The ``XSRF-TOKEN`` cookie value: the token URL-encoded (docs/wire/defender-portal.md §4.1: "The cookie stores
        the token
        URL-encoded")."""
        return quote(self.xsrf_token, safe="")

    def cookie_header(self) -> str:
        """A ``Cookie`` header for the valid session (also the ``portalSession`` string a user would paste)."""
        with self.lock:
            return f"sccauth={self.sccauth}; XSRF-TOKEN={self.xsrf_cookie}"

    def session_headers(self) -> dict[str, str]:
        """``Cookie`` plus ``X-XSRF-TOKEN`` (the decoded token), as NMC builds them (docs/wire/defender-portal.md
        §4.1)."""
        with self.lock:
            return {"Cookie": self.cookie_header(), "X-XSRF-TOKEN": self.xsrf_token}

    def new_session(self) -> str:
        """A fresh sign-in: new sccauth and XSRF token (the old sccauth is then unknown: 401). Returns the cookie
        header."""
        with self.lock:
            self._serial += 1
            self.sccauth = _mint("sccauth", self._serial, 96)
            self.xsrf_token = _mint("xsrf", self._serial, 31)
            self._previous_xsrf = None
            self._announce_xsrf = False
            return self.cookie_header()

    def expire_session(self) -> None:
        """The current sccauth expires: requests with it get 440 and the sign-in page (docs/wire/defender-portal.md
        §4.4: ~1 h lifetime)."""
        with self.lock:
            self._expired.add(self.sccauth)

    def rotate_xsrf(self) -> str:
        """Time-based XSRF rotation (XLR: "rotates XSRF-TOKEN roughly every 4 minutes"): a new token, announced by
        ``Set-Cookie`` on the next response to a session request; the old token is accepted until then (else no
        client could ever learn the new one). [inference] the mechanism. Returns the new (decoded) token."""
        with self.lock:
            if not self._announce_xsrf:
                self._previous_xsrf = self.xsrf_token
            self._serial += 1
            self.xsrf_token = _mint("xsrf", self._serial, 31)
            self._announce_xsrf = True
            return self.xsrf_token

    def forbid(self, *, writes_only: bool = False) -> None:
        """The signed-in user lacks the role: 403 on every request (or on writes only, a read-only user)."""
        with self.lock:
            self._forbidden = "writes" if writes_only else "all"

    def permit(self) -> None:
        with self.lock:
            self._forbidden = None

    # -- the rules --------------------------------------------------------------------------------------------

    def authenticate(self, cookie_header: str | None, xsrf_header: str | None, method: str) -> bool:
        """Check a request's session: sccauth, then XSRF. Returns whether the request carried a session."""
        cookies = parse_cookies(cookie_header)
        if not cookies:
            if self.allow_anonymous:
                return False
            raise Unauthorized()
        sccauth = cookies.get("sccauth")
        if not sccauth:
            raise Unauthorized()
        if sccauth in self._expired:
            raise SessionExpired()
        if sccauth != self.sccauth:
            raise Unauthorized()
        if method in ("GET", "HEAD") and not self.check_xsrf_on_reads:
            return True
        cookie = cookies.get("xsrf-token")
        accepted = {self.xsrf_token} | ({self._previous_xsrf} if self._previous_xsrf else set())
        if cookie is None or xsrf_header is None or xsrf_header != unquote(cookie) or xsrf_header not in accepted:
            raise XsrfRejected()
        return True

    def check_role(self, method: str) -> None:
        """The role check that follows authentication (a read-only user may still GET)."""
        if self._forbidden == "all" or (self._forbidden == "writes" and method not in ("GET", "HEAD")):
            raise Forbidden()

    def page_cookie(self, cookie_header: str | None) -> str:
        """``GET /`` (the portal's page) with the session cookies hands out the current XSRF-TOKEN cookie: how
        XDRI-F's Update-XdrConnectionSettings refreshes an expired XSRF token (docs/wire/defender-portal.md §4.3: "GET
        https://security.microsoft.com/?tid=<tid> with the same cookie jar"). No XSRF header is needed for it
        [inference: it is a page navigation]. Returns the cookie value."""
        sccauth = parse_cookies(cookie_header).get("sccauth")
        if sccauth in self._expired:
            raise SessionExpired()
        if not sccauth or sccauth != self.sccauth:
            raise SignInRequired()
        return self.xsrf_cookie

    def cookie_to_announce(self, method: str, status: int) -> str | None:
        """After answering a session request: the XSRF-TOKEN cookie value to set, if there is a new one.

        XLR: the portal rotates XSRF-TOKEN "on every state-changing response" (docs/wire/defender-portal.md §4.3): a
        successful PUT of the device groups or POST of the advanced features. [inference] the old token is refused
        from then on (no grace period is known).
        """
        if method not in ("GET", "HEAD") and 200 <= status < 300:
            self._serial += 1
            self.xsrf_token = _mint("xsrf", self._serial, 31)
            self._previous_xsrf = None
            self._announce_xsrf = True
        if not self._announce_xsrf:
            return None
        self._previous_xsrf = None
        self._announce_xsrf = False
        return self.xsrf_cookie
