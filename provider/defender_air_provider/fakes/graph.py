"""Stateful fake of the Microsoft Graph subset used to resolve Entra groups (device groups' ``user_groups``).

Modelled: ``GET /v1.0/groups/{id}`` and ``GET /v1.0/groups?$filter=displayName eq '<name>'`` with ``$select``,
``$top`` and ``@odata.nextLink`` paging. Bearer auth is enforced by ``FakeTenant`` before a request gets here.

Unlike the portal and Exchange fakes, this one is not written from a research note: these are standard,
publicly documented Graph behaviours, and each comment below names what comes from Graph's docs
(learn.microsoft.com/graph: "group-get", "group-list", "Use query parameters", "Paging", "Error responses").
Exact message texts and the codes Graph's docs do not spell out are tagged ``[inference]``.

Not modelled (outside what the provider needs): any write, ``$count``/``$search``/``$orderby``, the advanced
query mode (``ConsistencyLevel: eventual``), filters other than ``<property> eq <literal>``, members and other
navigation properties, the beta schema (``/beta`` answers exactly as ``/v1.0``), replication delay after a write
(there are no writes), 403 for a token without Group.Read.All.
"""

from __future__ import annotations

import base64
import copy
import json
import re
import threading
import uuid
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any
from urllib.parse import quote

from .base import FakeRequest, FakeResponse

# Graph's JSON responses carry this content type (observed on every v1.0 response; Graph docs' examples show the
# short form "application/json"). Clients must only check for "application/json".
CONTENT_TYPE = "application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8"

# Graph docs "Paging": the default page size of /groups is 100; group-list: "$top ... 1 and 999".
DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 999
VERSIONS = ("v1.0", "beta")

# The properties group-get returns by default (v1.0 "Properties" table, "Returned by default"), in the order of the
# docs' example response. [inference] the exact set changes over time; these are the ones the docs list today.
DEFAULT_PROPERTIES: tuple[str, ...] = (
    "id", "deletedDateTime", "classification", "createdDateTime", "creationOptions", "description",
    "displayName", "expirationDateTime", "groupTypes", "isAssignableToRole", "mail", "mailEnabled",
    "mailNickname", "membershipRule", "membershipRuleProcessingState", "onPremisesDomainName",
    "onPremisesLastSyncDateTime", "onPremisesNetBiosName", "onPremisesSamAccountName",
    "onPremisesSecurityIdentifier", "onPremisesSyncEnabled", "preferredDataLocation", "preferredLanguage",
    "proxyAddresses", "renewedDateTime", "resourceBehaviorOptions", "resourceProvisioningOptions",
    "securityEnabled", "securityIdentifier", "theme", "visibility", "onPremisesProvisioningErrors",
    "serviceProvisioningErrors",
)
# String properties a fake $filter can compare with eq (group-list: displayName, mail, mailNickname and id
# support $filter eq by default).
_FILTERABLE_STRINGS = ("id", "displayName", "mail", "mailNickname", "description")
_FILTERABLE_BOOLS = ("securityEnabled", "mailEnabled", "isAssignableToRole")

_GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_GROUP_PATH = re.compile(r"^/(?P<version>[^/]+)/groups(?:/(?P<id>[^/]+))?(?P<rest>/.*)?$", re.IGNORECASE)
# OData string literal: single quotes, a quote inside doubled (OData ABNF, "Use query parameters: escaping").
_EQ_STRING = re.compile(r"^\s*(?P<prop>\w+)\s+eq\s+'(?P<value>(?:[^']|'')*)'\s*$", re.IGNORECASE)
# "<prop> eq '..." that is not one well-formed literal: an unescaped quote ended it early.
_BROKEN_LITERAL = re.compile(r"^\s*\w+\s+eq\s+'", re.IGNORECASE)
_EQ_BOOL = re.compile(r"^\s*(?P<prop>\w+)\s+eq\s+(?P<value>true|false)\s*$", re.IGNORECASE)

TENANT_DOMAIN = "contoso.onmicrosoft.com"
_SEED_TIME = "2023-03-14T09:26:53Z"

# Seed groups (stable ids so other fakes and tests can refer to them; the portal fake's seed assigns TIER0_ADMINS
# and SOC_ANALYSTS to a device group).
TIER0_ADMINS_ID = "4f6c2d1a-8b3e-4c7d-9a10-2b5e6f7a8c01"
SOC_ANALYSTS_ID = "9d3e7b52-1c4a-4f8e-b6d2-3a7c9e1f5b02"
HELPDESK_ID = "c1a8f4e3-6d2b-4a9c-8e7f-5b3d1c9a7e03"
CONTRACTORS_SECURITY_ID = "2e7b9c4d-5f1a-4d3b-9c8e-7a6f4b2d1c04"
CONTRACTORS_M365_ID = "7a4d1e8c-3b9f-4e2a-a5c7-1d8b6e3f9a05"

SEED_GROUPS: tuple[dict[str, Any], ...] = (
    {"id": TIER0_ADMINS_ID, "displayName": "Tier0 Admins", "description": "Tier 0 administrators",
     "isAssignableToRole": True},
    {"id": SOC_ANALYSTS_ID, "displayName": "SOC Analysts", "description": "Security operations analysts"},
    {"id": HELPDESK_ID, "displayName": "Helpdesk", "description": None},
    # Two groups with the same display name: Entra display names are not unique (group resource docs), so a lookup
    # by name can find several; one security group and one Microsoft 365 group.
    {"id": CONTRACTORS_SECURITY_ID, "displayName": "Contractors", "description": "External contractors"},
    {"id": CONTRACTORS_M365_ID, "displayName": "Contractors", "description": "Contractors team site",
     "groupTypes": ["Unified"], "mailEnabled": True, "securityEnabled": False,
     "mail": f"contractors@{TENANT_DOMAIN}", "mailNickname": "contractors", "visibility": "Private",
     "proxyAddresses": [f"SMTP:contractors@{TENANT_DOMAIN}"]},
)


def _nickname(display_name: str) -> str:
    return re.sub(r"[^A-Za-z0-9]", "", display_name).lower() or "group"


def _security_identifier(group_id: str) -> str:
    # Entra security identifiers look like S-1-12-1-<4 x uint32> (group resource docs' example); derived from the id.
    words = [int.from_bytes(uuid.UUID(group_id).bytes[i:i + 4], "little") for i in range(0, 16, 4)]
    return "S-1-12-1-" + "-".join(str(w) for w in words)


class GraphFake:
    """Microsoft Graph ``/groups`` (read-only) for one fake tenant.

    ``clock`` (the innerError ``date``) and ``page_size`` (the server's default page size, 100) are plain
    attributes. Test helpers: ``add_group``, ``edit_group``, ``remove_group``, ``groups``, ``group``.
    """

    name = "graph"

    def __init__(self, *, clock: Callable[[], datetime] | None = None, page_size: int = DEFAULT_PAGE_SIZE) -> None:
        self._lock = threading.RLock()
        self._clock = clock or (lambda: datetime.now(timezone.utc))
        self.page_size = page_size
        self._groups: list[dict[str, Any]] = []
        for seed in SEED_GROUPS:
            fields = dict(seed)
            self.add_group(str(fields.pop("displayName")), id=str(fields.pop("id")), **fields)

    # -- helpers for tests ------------------------------------------------------------------------------------

    def add_group(self, display_name: str, id: str | None = None, **fields: Any) -> dict[str, Any]:
        """Create a group (a security group unless ``fields`` say otherwise); returns a copy of it."""
        group_id = (id or str(uuid.uuid4())).lower()
        if not _GUID.match(group_id):
            raise ValueError(f"{group_id!r} is not a GUID")
        group: dict[str, Any] = dict.fromkeys(DEFAULT_PROPERTIES)
        group.update({
            "id": group_id,
            "createdDateTime": _SEED_TIME,
            "displayName": display_name,
            "groupTypes": [],
            "mailEnabled": False,
            "mailNickname": _nickname(display_name),
            "proxyAddresses": [],
            "renewedDateTime": _SEED_TIME,
            "resourceBehaviorOptions": [],
            "resourceProvisioningOptions": [],
            "securityEnabled": True,
            "securityIdentifier": _security_identifier(group_id),
            "onPremisesProvisioningErrors": [],
            "serviceProvisioningErrors": [],
        })
        group.update(copy.deepcopy(fields))
        with self._lock:
            if self._find(group_id) is not None:
                raise ValueError(f"a group with id {group_id} already exists")
            self._groups.append(group)
            return copy.deepcopy(group)

    def edit_group(self, group_id: str, **fields: Any) -> dict[str, Any]:
        """Change a group out of band (an admin renaming it in Entra); returns the new copy."""
        with self._lock:
            group = self._find(group_id)
            if group is None:
                raise KeyError(f"no group {group_id!r}")
            group.update(copy.deepcopy(fields))
            return copy.deepcopy(group)

    def remove_group(self, group_id: str) -> bool:
        with self._lock:
            group = self._find(group_id)
            if group is None:
                return False
            self._groups.remove(group)
            return True

    def groups(self) -> list[dict[str, Any]]:
        with self._lock:
            return copy.deepcopy(self._groups)

    def group(self, group_id: str) -> dict[str, Any] | None:
        with self._lock:
            found = self._find(group_id)
            return copy.deepcopy(found) if found is not None else None

    def _find(self, group_id: str) -> dict[str, Any] | None:
        # Object ids are GUIDs; Graph accepts them in any case (a GUID's hex digits are case-insensitive).
        wanted = group_id.lower()
        return next((g for g in self._groups if str(g["id"]).lower() == wanted), None)

    # -- persistence ------------------------------------------------------------------------------------------

    def to_state(self) -> dict[str, Any]:
        with self._lock:
            return {"groups": copy.deepcopy(self._groups)}

    def load_state(self, state: dict[str, Any]) -> None:
        with self._lock:
            self._groups = copy.deepcopy(list(state.get("groups", [])))

    # -- ServiceFake ------------------------------------------------------------------------------------------

    def operation(self, request: FakeRequest) -> str:
        match = _GROUP_PATH.match(request.path.rstrip("/"))
        if match is not None and not match.group("rest"):
            return f"{request.method.upper()} group" if match.group("id") else f"{request.method.upper()} groups"
        return f"{request.method.upper()} {request.path.rstrip('/').rsplit('/', 1)[-1] or '/'}"

    def handle(self, request: FakeRequest) -> FakeResponse:
        match = _GROUP_PATH.match(request.path.rstrip("/"))
        if match is None or match.group("version") not in VERSIONS:
            segments = request.path.strip("/").split("/")
            if segments[0] not in VERSIONS:
                # [inference] text of Graph's answer to an unknown version segment.
                return self._error(request, 400, "BadRequest", f"Invalid version: {segments[0]}")
            # Graph answers an unknown entity set with 400 "Resource not found for the segment '<x>'." (users,
            # devices, ... exist on the real service but are not modelled here.)
            entity = segments[1] if len(segments) > 1 else ""
            return self._error(request, 400, "BadRequest", f"Resource not found for the segment '{entity}'.")
        if match.group("rest"):
            # Navigation properties (members, owners, ...) are not modelled. [inference] status and text.
            nav = match.group("rest").strip("/").split("/")[0]
            return self._error(request, 400, "BadRequest", f"Resource not found for the segment '{nav}'.")
        if request.method.upper() != "GET":
            # [inference] writes exist on the real service; the fake is read-only.
            return self._error(request, 405, "Request_BadRequest",
                               f"The fake Microsoft Graph does not model {request.method} on groups.")
        with self._lock:
            if match.group("id"):
                return self._get(request, match.group("version"), match.group("id"))
            return self._list(request, match.group("version"))

    # -- GET /groups/{id} -------------------------------------------------------------------------------------

    def _get(self, request: FakeRequest, version: str, group_id: str) -> FakeResponse:
        if not _GUID.match(group_id):
            # Graph: 400 Request_BadRequest "Invalid object identifier '<id>'." for an id that is not a GUID.
            return self._error(request, 400, "Request_BadRequest", f"Invalid object identifier '{group_id}'.")
        selected = self._select(request)
        if isinstance(selected, FakeResponse):
            return selected
        group = self._find(group_id)
        if group is None:
            # Graph's 404 for a directory object that does not exist (Error responses; the text is Graph's own).
            return self._error(request, 404, "Request_ResourceNotFound",
                               f"Resource '{group_id}' does not exist or one of its queried reference-property "
                               "objects are not present.")
        context = f"{request.base_url}/{version}/$metadata#groups{self._context_select(selected)}/$entity"
        return self._json(request, 200, {"@odata.context": context, **self._project(group, selected)})

    # -- GET /groups ------------------------------------------------------------------------------------------

    def _list(self, request: FakeRequest, version: str) -> FakeResponse:
        selected = self._select(request)
        if isinstance(selected, FakeResponse):
            return selected
        matches = self._filter(request)
        if isinstance(matches, FakeResponse):
            return matches
        top = self._top(request)
        if isinstance(top, FakeResponse):
            return top
        offset = 0
        token = request.query.get("$skiptoken")
        if token is not None:
            decoded = _decode_token(token)
            if decoded is None:
                # [inference] the directory's answer to a page token it can't use.
                return self._error(request, 400, "Directory_ExpiredPageToken",
                                   "The specified page token value has expired and can no longer be included in "
                                   "your request.")
            offset = decoded
        page = matches[offset:offset + top]
        payload: dict[str, Any] = {
            "@odata.context": f"{request.base_url}/{version}/$metadata#groups{self._context_select(selected)}",
            "value": [self._project(g, selected) for g in page],
        }
        if offset + top < len(matches):
            # Graph docs "Paging": follow @odata.nextLink as is; it repeats the query with a $skiptoken. The token
            # is opaque (here: the offset, encoded). Kept query options are those the client sent.
            kept = [(k, v) for k, v in request.query.items() if k != "$skiptoken"]
            kept.append(("$skiptoken", _encode_token(offset + top)))
            query = "&".join(f"{k}={quote(v, safe=',$')}" for k, v in kept)
            payload["@odata.nextLink"] = f"{request.base_url}/{version}/groups?{query}"
        return self._json(request, 200, payload)

    def _top(self, request: FakeRequest) -> int | FakeResponse:
        raw = request.query.get("$top")
        if raw is None:
            return self.page_size
        try:
            value = int(raw)
        except ValueError:
            value = 0
        if not 1 <= value <= MAX_PAGE_SIZE:
            # group-list docs: $top between 1 and 999. [inference] code and text of the error.
            return self._error(request, 400, "Request_BadRequest",
                               f"Invalid page size specified: '{raw}'. Must be between 1 and {MAX_PAGE_SIZE} "
                               "inclusive.")
        return value

    def _filter(self, request: FakeRequest) -> list[dict[str, Any]] | FakeResponse:
        expression = request.query.get("$filter")
        if expression is None:
            return list(self._groups)
        string = _EQ_STRING.match(expression)
        if string is not None:
            prop = _canonical_property(string.group("prop"), _FILTERABLE_STRINGS)
            if prop is not None:
                literal = string.group("value").replace("''", "'")  # OData: '' inside a literal is one quote
                # Directory string comparisons are case-insensitive (displayName eq 'tier0 admins' finds
                # "Tier0 Admins"). [inference] documented for users' UPN/mail; assumed for every string property.
                wanted = literal.casefold()
                return [g for g in self._groups if isinstance(g.get(prop), str) and g[prop].casefold() == wanted]
        boolean = _EQ_BOOL.match(expression)
        if boolean is not None:
            prop = _canonical_property(boolean.group("prop"), _FILTERABLE_BOOLS)
            if prop is not None:
                flag = boolean.group("value").lower() == "true"
                return [g for g in self._groups if g.get(prop) is flag]
        if _unbalanced_quotes(expression) or (string is None and _BROKEN_LITERAL.match(expression)):
            # OData parser error for a literal with an unescaped quote (unterminated, or text after its end).
            # [inference] exact text; the code "BadRequest" and the "Invalid filter clause" prefix are Graph's.
            problem = ("There is an unterminated string literal" if _unbalanced_quotes(expression)
                       else "Syntax error")
            return self._error(request, 400, "BadRequest", f"Invalid filter clause: {problem} in '{expression}'.")
        # [inference] Graph supports more (startswith, and/or, in, ...); the fake does not, and says so.
        return self._error(request, 400, "Request_UnsupportedQuery",
                           f"Unsupported Query. The fake Microsoft Graph models only '<property> eq <literal>', "
                           f"not '{expression}'.")

    def _select(self, request: FakeRequest) -> list[str] | FakeResponse | None:
        raw = request.query.get("$select")
        if raw is None:
            return None
        known = {p.lower(): p for p in DEFAULT_PROPERTIES}
        selected: list[str] = []
        for part in (p.strip() for p in raw.split(",")):
            if not part:
                continue
            prop = known.get(part.lower())
            if prop is None:
                # The OData layer's answer to an unknown property in $select. [inference] exact text.
                return self._error(request, 400, "BadRequest",
                                   f"Could not find a property named '{part}' on type 'microsoft.graph.group'.")
            if prop not in selected:
                selected.append(prop)
        return selected or None

    @staticmethod
    def _context_select(selected: list[str] | None) -> str:
        # "@odata.context": ".../$metadata#groups(id,displayName)" when $select was given (OData minimal metadata).
        return f"({','.join(selected)})" if selected else ""

    @staticmethod
    def _project(group: dict[str, Any], selected: list[str] | None) -> dict[str, Any]:
        # With $select Graph returns only the selected properties (not even id unless asked for).
        if selected is None:
            return copy.deepcopy(group)
        return {p: copy.deepcopy(group.get(p)) for p in selected}

    # -- wire helpers -----------------------------------------------------------------------------------------

    def _headers(self, request: FakeRequest) -> dict[str, str]:
        # Every Graph response carries request-id and echoes client-request-id (Graph docs "Error responses":
        # include them when reporting an issue).
        request_id = str(uuid.uuid4())
        return {"content-type": CONTENT_TYPE, "request-id": request_id,
                "client-request-id": request.header("client-request-id") or request_id}

    def _json(self, request: FakeRequest, status: int, payload: Any,
              headers: dict[str, str] | None = None) -> FakeResponse:
        merged = {**(headers or self._headers(request))}
        return FakeResponse(status, merged, json.dumps(payload).encode("utf-8"))

    def _error(self, request: FakeRequest, status: int, code: str, message: str) -> FakeResponse:
        """Graph's error envelope (Error responses): ``{"error": {"code", "message", "innerError": {...}}}``."""
        headers = self._headers(request)
        inner = {
            # Graph's innerError date has no fraction and no zone designator (as in the docs' examples).
            "date": self._clock().astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S"),
            "request-id": headers["request-id"],
            "client-request-id": headers["client-request-id"],
        }
        return self._json(request, status, {"error": {"code": code, "message": message, "innerError": inner}},
                          headers)


def _canonical_property(name: str, allowed: tuple[str, ...]) -> str | None:
    return next((p for p in allowed if p.lower() == name.lower()), None)


def _unbalanced_quotes(expression: str) -> bool:
    return expression.replace("''", "").count("'") % 2 == 1


def _encode_token(offset: int) -> str:
    raw = json.dumps({"o": offset}).encode("ascii")
    return "RFNwdAIA" + base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def _decode_token(token: str) -> int | None:
    if not token.startswith("RFNwdAIA"):
        return None
    body = token[len("RFNwdAIA"):]
    try:
        data = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
        offset = int(data["o"])
    except (ValueError, TypeError, KeyError):
        return None
    return offset if offset >= 0 else None
