"""Stateful fake of the Defender portal's machine-groups API (device groups), behind its cookie session.

Written from ``shared/research/device-groups.md`` (§2, §3) and ``shared/research/wire-details.md`` (parts A and B)
only, never from our client, so a misunderstanding in the client cannot be mirrored here. Everything those notes
mark as inference, and everything they say nothing about that the fake had to choose, is tagged ``[inference]``.

The API (device-groups.md §2):

- ``GET /apiproxy/mtp/rbacManagementApi/rbac/machine_groups?addAadGroupNames=true&addMachineGroupCount=false``
  -> ``{"items": [...], "containsAadGroupNames": bool, "containsMachineGroupCount": bool}``
- ``PUT /apiproxy/mtp/rbacManagementApi/rbac/machine_groups`` with a JSON array of ALL groups: replaces the
  whole collection (create = an item with ``MachineGroupId: -1``; delete = the group left out [inference A3]).

The session (device-groups.md §2 "Auth", wire-details A4/B): cookies ``sccauth`` and ``XSRF-TOKEN`` plus the
header ``X-XSRF-TOKEN`` carrying the URL-DECODED ``XSRF-TOKEN`` cookie. No bearer token is involved (the tenant
router skips bearer auth for this service).

Error bodies: no source captured a body for any portal error (A4: "A machine_groups 400 body was not found"). The
fake answers JSON errors as ``{"Message": "<text>"}`` (the shape ASP.NET Web API gives an ``HttpError``)
[inference], except the 440, which is an HTML sign-in page (A4 XDRI classification) [inference].
"""

from __future__ import annotations

import base64
import copy
import hashlib
import json
import re
import threading
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any
from urllib.parse import quote, unquote

from .base import FakeRequest, FakeResponse
from .graph import SOC_ANALYSTS_ID, TIER0_ADMINS_ID

MACHINE_GROUPS_PATH = "/apiproxy/mtp/rbacManagementApi/rbac/machine_groups"
# §2/§3: the ungrouped group's Priority is Int32.MaxValue; its rank can't change (DOC-MG).
UNGROUPED_PRIORITY = 2147483647
NEW_GROUP_ID = -1  # §2: "A new group has MachineGroupId: -1"
# §3 DOC-MG: "You can add up to 10 rows (values) for each property type - tag, device name, domain."
MAX_ROWS_PER_PROPERTY = 10
# GroupRules[].Property (M2GSA map, §2): 0 MachineName, 1 Domain, 2 Tag, 3 OS, 4 Other. The 10-row limit applies to
# the first three only (DOC-MG names them); OS is one row holding a JSON list.
ROW_LIMITED_PROPERTIES: dict[int, str] = {0: "device name", 1: "domain", 2: "tag"}

# Keys in the order of the FIXTURE capture (§2); MachineGroupAssignments after them (M2GSA spec, NMC's create body).
GROUP_KEYS: tuple[str, ...] = (
    "MachineGroupId", "Name", "Description", "AutoRemediationLevel", "Priority", "LastUpdated",
    "IsUnassignedMachineGroup", "MachineCount", "GroupRules", "MachineGroupAssignments",
)
RULE_KEYS: tuple[str, ...] = ("OperatorType", "Property", "PropertyValue")
# Keys the server owns: what a PUT sends for them is ignored. [inference] LastUpdated (NMC sends a made-up
# "2024-11-01T00:00:00.000Z" for a new group) and MachineCount (a count of devices, not a setting).
SERVER_KEYS = ("LastUpdated", "MachineCount")

# The GET's query flags (NODOC: addAadGroupNames, addMachineGroupCount).
_FLAGS = {"addaadgroupnames": "addAadGroupNames", "addmachinegroupcount": "addMachineGroupCount"}
_GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")

# [inference] ASP.NET Web API's generic 500 body. Used for the XSRF failure (XLR: "the portal's CSRF middleware
# returns HTTP 500"; no body captured) and for the multi-new-group save (NMC "had issues saving"; no status given).
GENERIC_500 = "An error has occurred."

# [inference] an expired session answers with the Entra sign-in page (XDRI Get-XdrHttpFailureClass treats a body
# matching "interactive sign in|Sign in to your account|login.microsoftonline.com" as AuthExpired). The status 440
# ("Session timeout") is from XLR/XDRI's lists of reauth signals.
SIGN_IN_PAGE = (
    "<!DOCTYPE html>\n<html dir=\"ltr\" lang=\"en\"><head><title>Sign in to your account</title>\n"
    "<meta http-equiv=\"Content-Type\" content=\"text/html; charset=UTF-8\"></head>\n"
    "<body><noscript>Interactive sign in is required. JavaScript is required to sign in.</noscript>\n"
    "<form name=\"f1\" method=\"post\" action=\"https://login.microsoftonline.com/common/oauth2/v2.0/authorize\">"
    "</form>\n<script>//<![CDATA[\n$Config={\"urlPost\":\"https://login.microsoftonline.com/common/login\","
    "\"sErrorCode\":\"\",\"iMaxStackForKnockoutAsyncComponents\":10000};\n//]]></script>\n</body></html>\n"
)

# -- seed ---------------------------------------------------------------------------------------------------------

# The FIXTURE capture of device-groups.md §2, verbatim (key order, the leading space of " sevenkingdoms domain",
# the placeholder rows, the ungrouped group without GroupRules).
_FIXTURE_GROUPS: tuple[dict[str, Any], ...] = (
    {
        "MachineGroupId": 15, "Name": " sevenkingdoms domain", "Description": "", "AutoRemediationLevel": 1,
        "Priority": 1, "LastUpdated": "2025-02-18T12:09:03.3766667Z", "IsUnassignedMachineGroup": False,
        "MachineCount": 0,
        "GroupRules": [
            {"OperatorType": 0, "Property": 0, "PropertyValue": ""},
            {"OperatorType": 3, "Property": 1, "PropertyValue": "sevenkingdoms"},
            {"OperatorType": 0, "Property": 2, "PropertyValue": ""},
            {"OperatorType": 4, "Property": 3, "PropertyValue": "[\"WindowsServer2019\",\"WindowsServer2016\","
                                                                 "\"WindowsServer2012R2\",\"WindowsServer2008R2\","
                                                                 "\"WindowsServer2025\",\"WindowsServer2022\"]"},
            {"OperatorType": 0, "Property": 4, "PropertyValue": ""},
        ],
    },
    {
        "MachineGroupId": 16, "Name": "essos domain", "Description": "", "AutoRemediationLevel": 1,
        "Priority": 2, "LastUpdated": "2025-02-18T12:09:38.9833333Z", "IsUnassignedMachineGroup": False,
        "MachineCount": 0,
        "GroupRules": [
            {"OperatorType": 0, "Property": 0, "PropertyValue": ""},
            {"OperatorType": 3, "Property": 1, "PropertyValue": "essos"},
            {"OperatorType": 0, "Property": 2, "PropertyValue": ""},
            {"OperatorType": 4, "Property": 3, "PropertyValue": "[\"WindowsServer2022\",\"WindowsServer2025\","
                                                                 "\"WindowsServer2019\",\"WindowsServer2016\","
                                                                 "\"WindowsServer2012R2\",\"WindowsServer2008R2\"]"},
            {"OperatorType": 0, "Property": 4, "PropertyValue": ""},
        ],
    },
    {
        "MachineGroupId": 105, "Name": "alextesting", "Description": "", "AutoRemediationLevel": 2,
        "Priority": 3, "LastUpdated": "2026-04-01T14:20:10.7433333Z", "IsUnassignedMachineGroup": False,
        "MachineCount": 0,
        "GroupRules": [
            {"OperatorType": 0, "Property": 0, "PropertyValue": "lara"},
            {"OperatorType": 0, "Property": 0, "PropertyValue": "black"},
            {"OperatorType": 0, "Property": 1, "PropertyValue": ""},
            {"OperatorType": 0, "Property": 2, "PropertyValue": ""},
            {"OperatorType": 0, "Property": 3, "PropertyValue": ""},
            {"OperatorType": 0, "Property": 4, "PropertyValue": ""},
        ],
    },
    {
        "MachineGroupId": 13, "Name": "", "Description": "", "AutoRemediationLevel": 3,
        "Priority": UNGROUPED_PRIORITY, "LastUpdated": "2025-02-18T10:09:50.7966667Z",
        "IsUnassignedMachineGroup": True, "MachineCount": 0,
    },
)

# Two more groups, made up in the same shape (not captured):
# - "Tier0 servers": user access through Entra groups (MachineGroupAssignments, M2GSA spec), a tag rule (OperatorType
#   2 with Property 2, as in NMC's body) and an OS rule (OperatorType 4, Property 3, JSON-in-string list).
# - "Workstations": an OS-only rule, plus two keys no source shows, so a client that drops what it does not model
#   is caught: "OldMachineGroupId" (NMC sends it on create) and "DeviceValueScope" (made up: a future field).
_EXTRA_GROUPS: tuple[dict[str, Any], ...] = (
    {
        "MachineGroupId": 106, "Name": "Tier0 servers", "Description": "Domain controllers and PKI",
        "AutoRemediationLevel": 1, "Priority": 4, "LastUpdated": "2026-03-02T08:15:27.1200000Z",
        "IsUnassignedMachineGroup": False, "MachineCount": 0,
        "GroupRules": [
            {"OperatorType": 0, "Property": 0, "PropertyValue": ""},
            {"OperatorType": 0, "Property": 1, "PropertyValue": ""},
            {"OperatorType": 2, "Property": 2, "PropertyValue": "Tier0"},
            {"OperatorType": 4, "Property": 3, "PropertyValue": "[\"WindowsServer2025\",\"WindowsServer2022\"]"},
            {"OperatorType": 0, "Property": 4, "PropertyValue": ""},
        ],
        "MachineGroupAssignments": [
            {"WcdAadGroup": {"ObjectId": TIER0_ADMINS_ID, "DisplayName": "Tier0 Admins"}},
            {"WcdAadGroup": {"ObjectId": SOC_ANALYSTS_ID, "DisplayName": "SOC Analysts"}},
        ],
    },
    {
        "MachineGroupId": 107, "Name": "Workstations", "Description": "All client devices",
        "AutoRemediationLevel": 3, "Priority": 5, "LastUpdated": "2026-03-02T08:16:04.5533333Z",
        "IsUnassignedMachineGroup": False, "MachineCount": 0,
        "GroupRules": [
            {"OperatorType": 0, "Property": 0, "PropertyValue": ""},
            {"OperatorType": 0, "Property": 1, "PropertyValue": ""},
            {"OperatorType": 0, "Property": 2, "PropertyValue": ""},
            {"OperatorType": 4, "Property": 3, "PropertyValue": "[\"Windows11\",\"Windows10\",\"macOS\"]"},
            {"OperatorType": 0, "Property": 4, "PropertyValue": ""},
        ],
        "MachineGroupAssignments": [],
        "OldMachineGroupId": None,
        "DeviceValueScope": "Standard",
    },
)
# The devices each seeded group holds, reported only when the GET asks for counts. [inference] the FIXTURE (asked
# with addMachineGroupCount=false) shows 0 everywhere, read here as "not counted", not "empty".
_SEED_COUNTS = {15: 4, 16: 3, 105: 0, 106: 2, 107: 12, 13: 1}


def seed_groups() -> list[dict[str, Any]]:
    """The seeded collection (FIXTURE groups plus two made-up ones), ungrouped last, true device counts."""
    groups = [copy.deepcopy(g) for g in (*_FIXTURE_GROUPS[:3], *_EXTRA_GROUPS, _FIXTURE_GROUPS[3])]
    for group in groups:
        group["MachineCount"] = _SEED_COUNTS.get(group["MachineGroupId"], 0)
    return groups


# -- small helpers --------------------------------------------------------------------------------------------------

def wire_time(moment: datetime) -> str:
    """LastUpdated as the FIXTURE shows it: UTC, 7 fraction digits, ``Z``."""
    moment = moment.astimezone(timezone.utc)
    return f"{moment:%Y-%m-%dT%H:%M:%S}.{moment.microsecond:06d}0Z"


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _canonical(group: dict[str, Any]) -> dict[str, Any]:
    """The group with the known keys in FIXTURE order, then any other key in the order it came (kept verbatim)."""
    ordered = {key: copy.deepcopy(group[key]) for key in GROUP_KEYS if key in group}
    ordered.update({key: copy.deepcopy(value) for key, value in group.items() if key not in GROUP_KEYS})
    rules = ordered.get("GroupRules")
    if isinstance(rules, list):
        ordered["GroupRules"] = [
            {**{k: row[k] for k in RULE_KEYS if k in row}, **{k: v for k, v in row.items() if k not in RULE_KEYS}}
            if isinstance(row, dict) else row
            for row in rules
        ]
    return ordered


def _comparable(group: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in group.items() if k not in SERVER_KEYS}


def _cookies(header: str | None) -> dict[str, str]:
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


class _Rejected(Exception):
    """A PUT the server refuses; nothing of it is applied."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def _error(status: int, message: str, headers: dict[str, str] | None = None) -> FakeResponse:
    return FakeResponse.json(status, {"Message": message}, headers)


# -- the fake -------------------------------------------------------------------------------------------------------

class PortalFake:
    """The Defender portal's machine-groups API for one fake tenant, with its cookie session.

    Plain attributes (change them in tests):

    - ``propagation_reads``: after a PUT, that many following GETs still return the collection as it was before
      it (DOC-MG "may take up to several minutes"; NMC sleeps 15 s after each write). [inference] the mechanism.
    - ``allow_anonymous`` (default True): a request with no cookies at all is served (CONTRACT: the emulator needs
      no credential). A request that carries any cookie is always validated. Session tests set it False.
    - ``sccauth``, ``xsrf_token``: the valid session. ``xsrf_token`` is the DECODED token (what ``X-XSRF-TOKEN``
      must carry); ``xsrf_cookie`` is its URL-encoded cookie value.
    - ``check_xsrf_on_reads`` (default True): GETs need the XSRF header too. [inference] every source sends it on
      every call; whether the portal checks it on reads is unknown.
    - ``max_recorded_bodies``: ``put_bodies``/``get_bodies`` keep only this many latest entries.

    Session helpers: ``cookie_header()``, ``session_headers()``, ``new_session()``, ``expire_session()``,
    ``rotate_xsrf()``, ``forbid()``/``permit()``. State helpers: ``groups()``, ``group()``, ``add_group()``,
    ``edit_group()``, ``remove_group()``, ``put_bodies``, ``get_bodies``, ``last_get_body``.
    """

    name = "portal"

    def __init__(self, *, propagation_reads: int = 0, allow_anonymous: bool = True,
                 clock: Callable[[], datetime] | None = None, max_recorded_bodies: int = 256) -> None:
        self._lock = threading.RLock()
        self._clock = clock or (lambda: datetime.now(timezone.utc))
        self.propagation_reads = propagation_reads
        self.allow_anonymous = allow_anonymous
        self.check_xsrf_on_reads = True
        self.max_recorded_bodies = max_recorded_bodies
        self.put_bodies: list[bytes] = []  # raw request body of every PUT that reached the fake
        self.get_bodies: list[bytes] = []  # raw response body of every successful GET
        self._groups: list[dict[str, Any]] = [_canonical(g) for g in seed_groups()]
        self._next_id = max(g["MachineGroupId"] for g in self._groups) + 1
        self._stale: list[dict[str, Any]] | None = None  # the collection before the last PUT, while it propagates
        self._stale_reads = 0
        # Session
        self._serial = 0
        self.sccauth = ""
        self.xsrf_token = ""
        self._expired: set[str] = set()
        self._previous_xsrf: str | None = None  # still accepted until the new one was announced (rotate_xsrf)
        self._announce_xsrf = False
        self._forbidden: str | None = None  # None, "all" or "writes"
        self.new_session()

    # -- session helpers --------------------------------------------------------------------------------------

    @property
    def xsrf_cookie(self) -> str:
        """The ``XSRF-TOKEN`` cookie value: the token URL-encoded (wire-details A4: "The cookie stores the token
        URL-encoded")."""
        return quote(self.xsrf_token, safe="")

    def cookie_header(self) -> str:
        """A ``Cookie`` header for the valid session (also the ``portalSession`` string a user would paste)."""
        with self._lock:
            return f"sccauth={self.sccauth}; XSRF-TOKEN={self.xsrf_cookie}"

    def session_headers(self) -> dict[str, str]:
        """``Cookie`` plus ``X-XSRF-TOKEN`` (the decoded token), as NMC builds them (§2 "Auth")."""
        with self._lock:
            return {"Cookie": self.cookie_header(), "X-XSRF-TOKEN": self.xsrf_token}

    def new_session(self) -> str:
        """A fresh sign-in: new sccauth and XSRF token (the old sccauth is then unknown: 401). Returns the cookie
        header."""
        with self._lock:
            self._serial += 1
            self.sccauth = _mint("sccauth", self._serial, 96)
            self.xsrf_token = _mint("xsrf", self._serial, 31)
            self._previous_xsrf = None
            self._announce_xsrf = False
            return self.cookie_header()

    def expire_session(self) -> None:
        """The current sccauth expires: requests with it get 440 and the sign-in page (B6: ~1 h lifetime)."""
        with self._lock:
            self._expired.add(self.sccauth)

    def rotate_xsrf(self) -> str:
        """Time-based XSRF rotation (XLR: "rotates XSRF-TOKEN roughly every 4 minutes"): a new token, announced by
        ``Set-Cookie`` on the next response to a session request; the old token is accepted until then (else no
        client could ever learn the new one). [inference] the mechanism. Returns the new (decoded) token."""
        with self._lock:
            if not self._announce_xsrf:
                self._previous_xsrf = self.xsrf_token
            self._serial += 1
            self.xsrf_token = _mint("xsrf", self._serial, 31)
            self._announce_xsrf = True
            return self.xsrf_token

    def forbid(self, *, writes_only: bool = False) -> None:
        """The signed-in user lacks the role: 403 on every request (or on PUTs only, a read-only user)."""
        with self._lock:
            self._forbidden = "writes" if writes_only else "all"

    def permit(self) -> None:
        with self._lock:
            self._forbidden = None

    # -- state helpers ----------------------------------------------------------------------------------------

    def groups(self) -> list[dict[str, Any]]:
        """Deep copies of the stored groups in order (true MachineCount values, the current, not stale, state)."""
        with self._lock:
            return copy.deepcopy(self._groups)

    def group(self, name_or_id: str | int) -> dict[str, Any] | None:
        """A copy of the group with this MachineGroupId or exact Name (case-insensitive; spaces count)."""
        with self._lock:
            found = self._lookup(name_or_id)
            return copy.deepcopy(found) if found is not None else None

    def edit_group(self, name_or_id: str | int, **fields: Any) -> dict[str, Any]:
        """Change a group out of band (an admin in the portal), without validation; returns the new copy.

        Any key may be set, also ones no source shows (to seed fields a client does not model). LastUpdated is
        stamped unless given.
        """
        with self._lock:
            found = self._lookup(name_or_id)
            if found is None:
                raise KeyError(f"no device group {name_or_id!r}")
            found.update(copy.deepcopy(fields))
            if "LastUpdated" not in fields:
                found["LastUpdated"] = wire_time(self._clock())
            self._groups[self._groups.index(found)] = edited = _canonical(found)
            self._sort()
            return copy.deepcopy(edited)

    def add_group(self, **fields: Any) -> dict[str, Any]:
        """Create a group directly (no validation, no propagation delay), e.g. many for a benchmark.

        ``Name`` is required. Defaults: a fresh MachineGroupId, the next free rank above the ungrouped group,
        AutoRemediationLevel 3, the five placeholder rule rows. Returns the stored copy.
        """
        name = fields.get("Name")
        if not isinstance(name, str) or not name:
            raise ValueError("Name is required")
        with self._lock:
            ranks = [g["Priority"] for g in self._groups if not g.get("IsUnassignedMachineGroup")]
            group: dict[str, Any] = {
                "MachineGroupId": self._next_id, "Name": name, "Description": "", "AutoRemediationLevel": 3,
                "Priority": max(ranks, default=0) + 1, "LastUpdated": wire_time(self._clock()),
                "IsUnassignedMachineGroup": False, "MachineCount": 0,
                "GroupRules": [{"OperatorType": 0, "Property": p, "PropertyValue": ""} for p in range(5)],
            }
            group.update(copy.deepcopy(fields))
            if self._lookup_exact(group["MachineGroupId"]) is not None:
                raise ValueError(f"MachineGroupId {group['MachineGroupId']} is taken")
            self._next_id = max(self._next_id, int(group["MachineGroupId"]) + 1)
            stored = _canonical(group)
            self._groups.append(stored)
            self._sort()
            return copy.deepcopy(stored)

    def remove_group(self, name_or_id: str | int) -> bool:
        """Delete a group out of band (also the ungrouped one, which the API itself refuses)."""
        with self._lock:
            found = self._lookup(name_or_id)
            if found is None:
                return False
            self._groups.remove(found)
            return True

    @property
    def last_get_body(self) -> bytes | None:
        """The raw body of the latest successful GET (to compare unmanaged groups byte-for-byte with a PUT)."""
        with self._lock:
            return self.get_bodies[-1] if self.get_bodies else None

    def _lookup_exact(self, group_id: int) -> dict[str, Any] | None:
        return next((g for g in self._groups if g.get("MachineGroupId") == group_id), None)

    def _lookup(self, name_or_id: str | int) -> dict[str, Any] | None:
        if _is_int(name_or_id):
            return self._lookup_exact(int(name_or_id))
        wanted = str(name_or_id).casefold()
        by_name = next((g for g in self._groups if str(g.get("Name", "")).casefold() == wanted), None)
        if by_name is None and str(name_or_id).lstrip("-").isdigit():
            return self._lookup_exact(int(str(name_or_id)))
        return by_name

    def _sort(self) -> None:
        # [inference] the server returns groups ordered by Priority: the FIXTURE is in Priority order, and NMC
        # appends its new group AFTER the ungrouped one yet later reads Priority[-2] as the last real rank.
        self._groups.sort(key=lambda g: g["Priority"] if _is_int(g.get("Priority")) else UNGROUPED_PRIORITY)

    def _record(self, bodies: list[bytes], body: bytes) -> None:
        bodies.append(body)
        if len(bodies) > self.max_recorded_bodies:
            del bodies[:len(bodies) - self.max_recorded_bodies]

    # -- persistence ------------------------------------------------------------------------------------------

    def to_state(self) -> dict[str, Any]:
        """The tenant's device groups (not the session: a restarted emulator starts a fresh one)."""
        with self._lock:
            return {
                "groups": copy.deepcopy(self._groups),
                "next_id": self._next_id,
                "stale": copy.deepcopy(self._stale),
                "stale_reads": self._stale_reads,
            }

    def load_state(self, state: dict[str, Any]) -> None:
        with self._lock:
            self._groups = [_canonical(g) for g in state.get("groups", [])]
            self._sort()
            ids = [g["MachineGroupId"] for g in self._groups if _is_int(g.get("MachineGroupId"))]
            self._next_id = int(state.get("next_id", max(ids, default=0) + 1))
            self._stale = copy.deepcopy(state.get("stale"))
            self._stale_reads = int(state.get("stale_reads", 0)) if self._stale is not None else 0

    # -- ServiceFake ------------------------------------------------------------------------------------------

    @staticmethod
    def _is_machine_groups(request: FakeRequest) -> bool:
        # [inference] ASP.NET routing is case-insensitive and tolerates a trailing slash.
        return request.path.rstrip("/").lower() == MACHINE_GROUPS_PATH.lower()

    def operation(self, request: FakeRequest) -> str:
        if self._is_machine_groups(request):
            return f"{request.method.upper()} machine_groups"
        return f"{request.method.upper()} {request.path.rstrip('/').rsplit('/', 1)[-1] or '/'}"

    def handle(self, request: FakeRequest) -> FakeResponse:
        method = request.method.upper()
        with self._lock:
            if method == "GET" and request.path.strip("/") == "":
                return self._portal_page(request)
            if method == "PUT" and self._is_machine_groups(request):
                self._record(self.put_bodies, request.body)
            denied, has_session = self._authenticate(request)
            if denied is not None:
                return denied
            if self._forbidden == "all" or (self._forbidden == "writes" and method not in ("GET", "HEAD")):
                # [inference] body; it names the role (third-party blog, §2 "Who may edit") and avoids the words
                # XDRI reads as an expired session (xsrf|csrf|session|token|expired|sign in|login), as a real
                # "insufficient role" 403 must be told apart from a reauth signal (A4).
                return _error(403, "Access denied. The signed-in user does not have the 'Manage portal system "
                                   "settings' permission needed for device groups.")
            response = self._route(request, method)
            if has_session:
                self._maybe_set_cookie(request, method, response)
            return response

    def _route(self, request: FakeRequest, method: str) -> FakeResponse:
        if not self._is_machine_groups(request):
            # [inference] other apiproxy endpoints (aad_groups, advanced features, ...) are not modelled.
            return _error(404, f"No HTTP resource was found that matches the request URI '{request.path}'.")
        if method == "GET":
            return self._get(request)
        if method == "PUT":
            return self._put(request)
        # [inference] no source shows another verb on this URL (A3: no DELETE anywhere).
        return _error(405, f"The requested resource does not support http method '{method}'.",
                      {"Allow": "GET, PUT"})

    # -- session ----------------------------------------------------------------------------------------------

    def _authenticate(self, request: FakeRequest) -> tuple[FakeResponse | None, bool]:
        """(denial or None, whether the request carried a session). Order: sccauth, then XSRF (then role)."""
        cookies = _cookies(request.header("cookie"))
        if not cookies:
            if self.allow_anonymous:
                return None, False
            return self._unauthorized(), False
        sccauth = cookies.get("sccauth")
        if not sccauth:
            return self._unauthorized(), True
        if sccauth in self._expired:
            # 440 "Session timeout" (XLR: "401 Unauthorized + 440 Session timeout = reauth needed"). [inference]
            # that an expired (known) session gets 440 and an unknown one 401.
            return FakeResponse(440, {"content-type": "text/html; charset=utf-8"}, SIGN_IN_PAGE.encode()), True
        if sccauth != self.sccauth:
            return self._unauthorized(), True
        if request.method.upper() in ("GET", "HEAD") and not self.check_xsrf_on_reads:
            return None, True
        cookie = cookies.get("xsrf-token")
        header = request.header("x-xsrf-token")
        accepted = {self.xsrf_token} | ({self._previous_xsrf} if self._previous_xsrf else set())
        # XLR Update-XsrfToken: "the X-XSRF-TOKEN header must carry the DECODED value, otherwise the portal's CSRF
        # middleware returns HTTP 500". [inference] a missing cookie or header, a header that doesn't match the
        # cookie, or a token that was rotated away fail the same way.
        if cookie is None or header is None or header != unquote(cookie) or header not in accepted:
            return _error(500, GENERIC_500), True
        return None, True

    def _portal_page(self, request: FakeRequest) -> FakeResponse:
        """``GET /`` (the portal's page) with the session cookies hands out the current XSRF-TOKEN cookie: how
        XDRI-F's Update-XdrConnectionSettings refreshes an expired XSRF token (wire-details B5: "GET
        https://security.microsoft.com/?tid=<tid> with the same cookie jar"). No XSRF header is needed for it
        [inference: it is a page navigation]."""
        sccauth = _cookies(request.header("cookie")).get("sccauth")
        if sccauth in self._expired:
            return FakeResponse(440, {"content-type": "text/html; charset=utf-8"}, SIGN_IN_PAGE.encode())
        if not sccauth or sccauth != self.sccauth:
            return FakeResponse(302, {"location": "https://login.microsoftonline.com/"}, b"")  # [inference]
        secure = "; secure" if request.base_url.lower().startswith("https:") else ""
        return FakeResponse(200, {"content-type": "text/html; charset=utf-8",
                                  "Set-Cookie": f"XSRF-TOKEN={self.xsrf_cookie}; path=/{secure}; samesite=strict"},
                            b"<!DOCTYPE html><html><head><title>Microsoft Defender</title></head><body></body></html>")

    @staticmethod
    def _unauthorized() -> FakeResponse:
        # [inference] body; only the status is in the sources (A4: "401 or 440 for a missing or expired sccauth").
        return _error(401, "Authorization has been denied for this request.")

    def _maybe_set_cookie(self, request: FakeRequest, method: str, response: FakeResponse) -> None:
        if method == "PUT" and 200 <= response.status < 300:
            # XLR: the portal rotates XSRF-TOKEN "on every state-changing response". [inference] the old token is
            # refused from then on (no grace period is known).
            self._serial += 1
            self.xsrf_token = _mint("xsrf", self._serial, 31)
            self._previous_xsrf = None
            self._announce_xsrf = True
        if not self._announce_xsrf:
            return
        # The cookie attributes the brief and XLR describe; "secure" only over https, as a client would never send
        # a secure cookie back to the plain-http emulator (the real portal is https only).
        secure = "; secure" if request.base_url.lower().startswith("https:") else ""
        response.headers["Set-Cookie"] = f"XSRF-TOKEN={self.xsrf_cookie}; path=/{secure}; samesite=strict"
        self._previous_xsrf = None
        self._announce_xsrf = False

    # -- GET ----------------------------------------------------------------------------------------------------

    def _get(self, request: FakeRequest) -> FakeResponse:
        flags: dict[str, bool] = {"addAadGroupNames": False, "addMachineGroupCount": False}
        for key, value in request.query.items():
            name = _FLAGS.get(key.lower())
            if name is None:
                continue  # [inference] unknown query parameters are ignored, as ASP.NET model binding does
            if value.lower() not in ("true", "false"):
                return _error(400, f"The value '{value}' is not valid for {name}.")  # [inference]
            flags[name] = value.lower() == "true"
        collection = self._groups
        if self._stale is not None and self._stale_reads > 0:
            collection = self._stale
            self._stale_reads -= 1
            if self._stale_reads == 0:
                self._stale = None
        payload = {
            "items": [self._wire_group(g, flags["addMachineGroupCount"]) for g in collection],
            "containsAadGroupNames": flags["addAadGroupNames"],
            "containsMachineGroupCount": flags["addMachineGroupCount"],
        }
        response = FakeResponse.json(200, payload)
        self._record(self.get_bodies, response.body)
        return response

    @staticmethod
    def _wire_group(group: dict[str, Any], with_count: bool) -> dict[str, Any]:
        item = copy.deepcopy(group)
        if not with_count and "MachineCount" in item:
            item["MachineCount"] = 0  # [inference] not counted unless asked (see _SEED_COUNTS)
        # addAadGroupNames=false: NODOC only says "Include Azure AD group names in results"; no source shows what
        # is left out, so the stored WcdAadGroup.DisplayName is returned either way. [inference]
        return item

    # -- PUT ----------------------------------------------------------------------------------------------------

    def _put(self, request: FakeRequest) -> FakeResponse:
        try:
            body = json.loads(request.body.decode("utf-8")) if request.body else None
        except (ValueError, UnicodeDecodeError):
            return _error(400, "The request body is not valid JSON.")  # [inference]
        if not isinstance(body, list):
            # §2: the body is a JSON array of ALL groups. [inference] the answer to anything else.
            return _error(400, "The request body must be a JSON array of every device group.")
        try:
            replacement = self._validate(body)
        except _Rejected as rejected:
            return _error(rejected.status, rejected.message)
        previous = copy.deepcopy(self._groups)
        self._groups = replacement
        self._sort()
        if self.propagation_reads > 0:
            # Keep the oldest unpropagated view if a second write comes in while the first still propagates.
            if self._stale is None or self._stale_reads == 0:
                self._stale = previous
            self._stale_reads = self.propagation_reads
        # A4 [inference]: XDRI reads (PUT response).items, so the answer is the GET's wrapper (items only here).
        return FakeResponse.json(200, {"items": [self._wire_group(g, False) for g in self._groups]})

    def _validate(self, body: list[Any]) -> list[dict[str, Any]]:
        """Check the whole array and build the new collection; raises _Rejected (nothing applied)."""
        stored = {g["MachineGroupId"]: g for g in self._groups if _is_int(g.get("MachineGroupId"))}
        ungrouped_stored = next((g for g in self._groups if g.get("IsUnassignedMachineGroup") is True), None)
        seen_ids: set[int] = set()
        new_count = 0
        unassigned: list[dict[str, Any]] = []
        real: list[dict[str, Any]] = []
        for index, item in enumerate(body):
            if not isinstance(item, dict):
                raise _Rejected(f"Item {index} of the device group list is not an object.")  # [inference]
            self._check_fields(index, item)
            group_id = item["MachineGroupId"]
            if group_id == NEW_GROUP_ID:
                new_count += 1
            elif group_id not in stored:
                # [inference] a group that no longer exists (deleted meanwhile) can't be updated.
                raise _Rejected(f"Device group {group_id} does not exist.")
            elif group_id in seen_ids:
                raise _Rejected(f"Device group {group_id} appears more than once.")  # [inference]
            else:
                seen_ids.add(group_id)
            (unassigned if item["IsUnassignedMachineGroup"] else real).append(item)

        self._check_ungrouped(unassigned, ungrouped_stored)
        self._check_real_groups(real)
        if new_count > 1:
            # NMC: "I had issues saving more than one new device group at a time, I believe due to MachineGroupId
            # assignment." [inference] it fails as a server error (an id collision), atomically, with the generic
            # 500 body: a client can't tell it from a transient failure, as with the real portal.
            raise _Rejected(GENERIC_500, 500)

        now = wire_time(self._clock())
        replacement: list[dict[str, Any]] = []
        for item in body:
            group = _canonical(item)
            if group.get("IsUnassignedMachineGroup") and "GroupRules" in group and group["GroupRules"] is None:
                del group["GroupRules"]  # a null GroupRules on the ungrouped group is "no rules"
            old = stored.get(group["MachineGroupId"])
            if old is None:
                group["MachineGroupId"] = self._next_id
                self._next_id += 1
            group.setdefault("Description", "")  # [inference] an omitted description is an empty one
            group["MachineCount"] = old.get("MachineCount", 0) if old is not None else 0
            # "LastUpdated refreshed on changed groups"; an unchanged group keeps its stamp. [inference]
            unchanged = old is not None and _comparable(group) == _comparable(old)
            group["LastUpdated"] = old["LastUpdated"] if old is not None and unchanged else now
            replacement.append(_canonical(group))
        return replacement

    @staticmethod
    def _check_fields(index: int, item: dict[str, Any]) -> None:
        # [inference] the types a C# model would bind: ints for the ids, ranks and the opaque enums (A1/A2: any int
        # is accepted for AutoRemediationLevel, OperatorType and Property), strings for texts, PascalCase keys.
        label = f"Item {index}"
        for key in ("MachineGroupId", "AutoRemediationLevel", "Priority"):
            if not _is_int(item.get(key)):
                raise _Rejected(f"{label}: {key} is required and must be an integer.")
        if not isinstance(item.get("Name"), str):
            raise _Rejected(f"{label}: Name is required and must be a string.")
        if not isinstance(item.get("IsUnassignedMachineGroup"), bool):
            raise _Rejected(f"{label}: IsUnassignedMachineGroup is required and must be true or false.")
        if item.get("Description") is not None and not isinstance(item["Description"], str):
            raise _Rejected(f"{label}: Description must be a string.")
        assignments = item.get("MachineGroupAssignments")
        if assignments is not None:
            if not isinstance(assignments, list):
                raise _Rejected(f"{label}: MachineGroupAssignments must be a list.")
            for assignment in assignments:
                aad = assignment.get("WcdAadGroup") if isinstance(assignment, dict) else None
                object_id = aad.get("ObjectId") if isinstance(aad, dict) else None
                # M2GSA spec: WcdAadGroup.ObjectId is a GUID. [inference] the server checks its form; whether it
                # checks that the Entra group exists and holds an RBAC role (DOC-MG) is not modelled.
                if not isinstance(object_id, str) or not _GUID.match(object_id):
                    raise _Rejected(f"{label}: each MachineGroupAssignments entry needs WcdAadGroup.ObjectId, "
                                    "an Entra group object id.")

    @staticmethod
    def _check_ungrouped(unassigned: list[dict[str, Any]], stored: dict[str, Any] | None) -> None:
        # DOC-MG: "You cannot change the rank of this group or delete it. However, you can change the remediation
        # level of this group, and define the Microsoft Entra user groups that can access this group."
        # [inference] each violation is a 400 with these texts.
        if stored is None:
            return  # an out-of-band removal in a test; nothing to protect
        if not unassigned or all(g["MachineGroupId"] != stored["MachineGroupId"] for g in unassigned):
            raise _Rejected("The Ungrouped devices (default) group can't be deleted.")
        if len(unassigned) > 1:
            raise _Rejected("Only the Ungrouped devices (default) group can be unassigned.")
        group = unassigned[0]
        if group["Priority"] != UNGROUPED_PRIORITY:
            raise _Rejected("The rank of the Ungrouped devices (default) group can't be changed.")
        if group.get("GroupRules") is not None:
            raise _Rejected("The Ungrouped devices (default) group has no rules.")
        if group["Name"] != stored.get("Name") or (group.get("Description") or "") != (stored.get("Description")
                                                                                         or ""):
            raise _Rejected("The name and description of the Ungrouped devices (default) group can't be changed.")

    @staticmethod
    def _check_real_groups(real: list[dict[str, Any]]) -> None:
        ranks: dict[int, str] = {}
        names: dict[str, str] = {}
        for group in real:
            name = group["Name"]
            if not name.strip():
                raise _Rejected("A device group needs a name.")  # [inference] DOC-MG: "Enter a unique ... name"
            # [inference] uniqueness compared case-insensitively; leading spaces count (FIXTURE keeps one).
            if name.casefold() in names:
                raise _Rejected(f"A device group named '{name}' already exists. Device group names must be unique.")
            names[name.casefold()] = name
            rank = group["Priority"]
            if rank == UNGROUPED_PRIORITY or rank in ranks:
                # [inference] each real group needs its own rank; the ungrouped group's rank is reserved.
                raise _Rejected(f"Device groups '{ranks.get(rank, 'Ungrouped devices (default)')}' and '{name}' "
                                f"have the same rank ({rank}).")
            ranks[rank] = name
            rules = group.get("GroupRules")
            if not isinstance(rules, list):
                raise _Rejected(f"Device group '{name}': GroupRules must be a list.")  # [inference]
            per_property: dict[int, int] = {}
            for row in rules:
                if not (isinstance(row, dict) and _is_int(row.get("OperatorType")) and _is_int(row.get("Property"))
                        and isinstance(row.get("PropertyValue"), str)):
                    raise _Rejected(f"Device group '{name}': each rule needs an integer OperatorType and Property "
                                    "and a string PropertyValue.")  # [inference]
                if row["PropertyValue"] != "":
                    per_property[row["Property"]] = per_property.get(row["Property"], 0) + 1
            for prop, count in per_property.items():
                if prop in ROW_LIMITED_PROPERTIES and count > MAX_ROWS_PER_PROPERTY:
                    # DOC-MG's limit; [inference] the status and text of its error.
                    raise _Rejected(f"Device group '{name}' has {count} {ROW_LIMITED_PROPERTIES[prop]} values; up "
                                    f"to {MAX_ROWS_PER_PROPERTY} are allowed for each property.")
