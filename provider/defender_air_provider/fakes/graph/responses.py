"""The Microsoft Graph responder: ``GET /v1.0/groups/{id}`` and ``GET /v1.0/groups`` with ``$filter``, ``$select``,
``$top`` and ``@odata.nextLink`` paging. Bearer auth is enforced by ``FakeTenant`` before a request gets here.

Thin: parse the path and the query options, call ``GraphBackend``, render the objects and Graph's error envelope.

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
import uuid
from datetime import timezone
from typing import Any
from urllib.parse import quote, unquote

from ..base import FakeRequest, FakeResponse
from ..records import get_wire, to_wire
from .exceptions import (
    ExpiredPageToken,
    GraphError,
    InvalidFilter,
    InvalidObjectIdentifier,
    InvalidPageSize,
    InvalidVersion,
    MethodNotModelled,
    ResourceNotFound,
    SegmentNotFound,
    UnknownProperty,
    UnsupportedQuery,
)
from .models import (
    DEFAULT_PROPERTIES,
    FILTERABLE_BOOLS,
    FILTERABLE_STRINGS,
    DirectoryBackend,
    EntraGroup,
    GraphBackend,
)

# Graph's JSON responses carry this content type (observed on every v1.0 response; Graph docs' examples show the
# short form "application/json"). Clients must only check for "application/json".
CONTENT_TYPE = "application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8"

# Graph docs "Paging": the default page size of /groups is 100; group-list: "$top ... 1 and 999".
DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 999
VERSIONS = ("v1.0", "beta")

_GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_GROUP_PATH = re.compile(r"^/(?P<version>[^/]+)/groups(?:/(?P<id>[^/]+))?(?P<rest>/.*)?$", re.IGNORECASE)
# OData string literal: single quotes, a quote inside doubled (OData ABNF, "Use query parameters: escaping").
_EQ_STRING = re.compile(r"^\s*(?P<prop>\w+)\s+eq\s+'(?P<value>(?:[^']|'')*)'\s*$", re.IGNORECASE)
# "<prop> eq '..." that is not one well-formed literal: an unescaped quote ended it early.
_BROKEN_LITERAL = re.compile(r"^\s*\w+\s+eq\s+'", re.IGNORECASE)
_EQ_BOOL = re.compile(r"^\s*(?P<prop>\w+)\s+eq\s+(?P<value>true|false)\s*$", re.IGNORECASE)


class GraphResponse:
    """Microsoft Graph ``/groups`` (read-only) for one ``GraphBackend``.

    ``page_size`` (the server's default page size, 100) is a plain attribute.
    """

    def __init__(self, backend: GraphBackend, *, page_size: int = DEFAULT_PAGE_SIZE) -> None:
        self.backend = backend
        self.page_size = page_size

    def operation(self, request: FakeRequest) -> str:
        match = _GROUP_PATH.match(request.path.rstrip("/"))
        if match is not None and not match.group("rest"):
            return f"{request.method.upper()} group" if match.group("id") else f"{request.method.upper()} groups"
        return f"{request.method.upper()} {request.path.rstrip('/').rsplit('/', 1)[-1] or '/'}"

    def handle(self, request: FakeRequest) -> FakeResponse:
        try:
            match = _GROUP_PATH.match(request.path.rstrip("/"))
            if match is None or match.group("version") not in VERSIONS:
                segments = request.path.strip("/").split("/")
                if segments[0] not in VERSIONS:
                    raise InvalidVersion(segments[0])
                raise SegmentNotFound(segments[1] if len(segments) > 1 else "")
            if match.group("rest"):
                raise SegmentNotFound(match.group("rest").strip("/").split("/")[0])  # navigation properties
            if request.method.upper() != "GET":
                raise MethodNotModelled(request.method)
            with self.backend.lock:
                if match.group("id"):
                    return self._get(request, match.group("version"), match.group("id"))
                return self._list(request, match.group("version"))
        except GraphError as error:
            return self._error(request, error)

    # -- GET /groups/{id} -------------------------------------------------------------------------------------

    def _get(self, request: FakeRequest, version: str, group_id: str) -> FakeResponse:
        if not _GUID.match(group_id):
            raise InvalidObjectIdentifier(group_id)
        selected = _select(request)
        group = self.backend.get_group(group_id)
        context = f"{request.base_url}/{version}/$metadata#groups{_context_select(selected)}/$entity"
        return self._json(request, 200, {"@odata.context": context, **_project(group, selected)})

    # -- GET /groups ------------------------------------------------------------------------------------------

    def _list(self, request: FakeRequest, version: str) -> FakeResponse:
        selected = _select(request)
        matches = self.backend.list_groups(_filter(request))
        top = self._top(request)
        offset = 0
        token = request.query.get("$skiptoken")
        if token is not None:
            decoded = _decode_token(token)
            if decoded is None:
                raise ExpiredPageToken()
            offset = decoded
        page = matches[offset:offset + top]
        payload: dict[str, Any] = {
            "@odata.context": f"{request.base_url}/{version}/$metadata#groups{_context_select(selected)}",
            "value": [_project(g, selected) for g in page],
        }
        if offset + top < len(matches):
            # Graph docs "Paging": follow @odata.nextLink as is; it repeats the query with a $skiptoken. The token
            # is opaque (here: the offset, encoded). Kept query options are those the client sent.
            kept = [(k, v) for k, v in request.query.items() if k != "$skiptoken"]
            kept.append(("$skiptoken", _encode_token(offset + top)))
            query = "&".join(f"{k}={quote(v, safe=',$')}" for k, v in kept)
            payload["@odata.nextLink"] = f"{request.base_url}/{version}/groups?{query}"
        return self._json(request, 200, payload)

    def _top(self, request: FakeRequest) -> int:
        raw = request.query.get("$top")
        if raw is None:
            return self.page_size
        try:
            value = int(raw)
        except ValueError:
            value = 0
        if not 1 <= value <= MAX_PAGE_SIZE:
            raise InvalidPageSize(raw, MAX_PAGE_SIZE)
        return value

    # -- wire helpers -----------------------------------------------------------------------------------------

    @staticmethod
    def _headers(request: FakeRequest) -> dict[str, str]:
        # Every Graph response carries request-id and echoes client-request-id (Graph docs "Error responses":
        # include them when reporting an issue).
        request_id = str(uuid.uuid4())
        return {"content-type": CONTENT_TYPE, "request-id": request_id,
                "client-request-id": request.header("client-request-id") or request_id}

    def _json(self, request: FakeRequest, status: int, payload: Any,
              headers: dict[str, str] | None = None) -> FakeResponse:
        merged = {**(headers or self._headers(request))}
        return FakeResponse(status, merged, json.dumps(payload).encode("utf-8"))

    def _error(self, request: FakeRequest, error: GraphError) -> FakeResponse:
        """Graph's error envelope (Error responses): ``{"error": {"code", "message", "innerError": {...}}}``."""
        headers = self._headers(request)
        inner = {
            # Graph's innerError date has no fraction and no zone designator (as in the docs' examples).
            "date": self.backend.clock().astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S"),
            "request-id": headers["request-id"],
            "client-request-id": headers["client-request-id"],
        }
        return self._json(request, error.status,
                          {"error": {"code": error.code, "message": error.message, "innerError": inner}}, headers)


def _filter(request: FakeRequest) -> tuple[str, str | bool] | None:
    """``$filter=<property> eq <literal>`` as (property, value); None without a filter."""
    expression = request.query.get("$filter")
    if expression is None:
        return None
    string = _EQ_STRING.match(expression)
    if string is not None:
        prop = _canonical_property(string.group("prop"), FILTERABLE_STRINGS)
        if prop is not None:
            return prop, string.group("value").replace("''", "'")  # OData: '' inside a literal is one quote
    boolean = _EQ_BOOL.match(expression)
    if boolean is not None:
        prop = _canonical_property(boolean.group("prop"), FILTERABLE_BOOLS)
        if prop is not None:
            return prop, boolean.group("value").lower() == "true"
    if _unbalanced_quotes(expression) or (string is None and _BROKEN_LITERAL.match(expression)):
        problem = "There is an unterminated string literal" if _unbalanced_quotes(expression) else "Syntax error"
        raise InvalidFilter(problem, expression)
    raise UnsupportedQuery(expression)


def _select(request: FakeRequest) -> list[str] | None:
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
            raise UnknownProperty(part)
        if prop not in selected:
            selected.append(prop)
    return selected or None


def _context_select(selected: list[str] | None) -> str:
    # "@odata.context": ".../$metadata#groups(id,displayName)" when $select was given (OData minimal metadata).
    return f"({','.join(selected)})" if selected else ""


def _project(group: EntraGroup, selected: list[str] | None) -> dict[str, Any]:
    # With $select Graph returns only the selected properties (not even id unless asked for).
    if selected is None:
        return to_wire(group)
    return {p: copy.deepcopy(get_wire(group, p)) for p in selected}


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


# == Licences, the app's service principal and its directory roles (docs/wire/microsoft-graph.md §3-§4) =============

# GET /v1.0/subscribedSkus (§3.1, subscribedsku-list: no $filter, no paging).
_SKUS_PATH = re.compile(r"^/(?P<version>v1\.0|beta)/subscribedSkus$", re.IGNORECASE)
# [inference] the page names no call for the app's service principal; Graph's servicePrincipal-get documents the
# alternate key form GET /servicePrincipals(appId='{appId}'), which the fake answers, and also the list with
# $filter=appId eq '{appId}'.
_SP_BY_APP_ID = re.compile(r"^/(?P<version>v1\.0|beta)/servicePrincipals\(appId='(?P<app>[^']*)'\)$",
                           re.IGNORECASE)
_SP_LIST = re.compile(r"^/(?P<version>v1\.0|beta)/servicePrincipals$", re.IGNORECASE)
# §4.2 documents transitiveRoleAssignments with $filter=principalId eq '{id}'; [inference] roleAssignments (v1.0,
# unifiedRoleAssignment list) answers the same filter with the direct assignments, which the fake also serves.
_ROLES_PATH = re.compile(
    r"^/(?P<version>v1\.0|beta)/roleManagement/directory/(?P<set>transitiveRoleAssignments|roleAssignments)$",
    re.IGNORECASE)
_EQ_PROPERTY = re.compile(r"^\s*(?P<prop>\w+)\s+eq\s+'(?P<value>[^']*)'\s*$", re.IGNORECASE)


class DirectoryResponse:
    """The responder for subscribed SKUs, service principals by appId and role assignments (read-only)."""

    def __init__(self, backend: DirectoryBackend, errors: GraphResponse) -> None:
        self.backend = backend
        self.errors = errors  # renders Graph's error envelope and headers

    def operation(self, request: FakeRequest) -> str | None:
        path = unquote(request.path.rstrip("/"))
        method = request.method.upper()
        if _SKUS_PATH.match(path):
            return f"{method} subscribedSkus"
        if _SP_BY_APP_ID.match(path) or _SP_LIST.match(path):
            return f"{method} servicePrincipals"
        match = _ROLES_PATH.match(path)
        if match:
            return f"{method} {match.group('set')}"
        return None

    def handle(self, request: FakeRequest) -> FakeResponse:
        path = unquote(request.path.rstrip("/"))
        try:
            if request.method.upper() != "GET":
                raise MethodNotModelled(request.method)
            with self.backend.lock:
                if (match := _SKUS_PATH.match(path)) is not None:
                    return self._collection(request, match.group("version"), "subscribedSkus",
                                            [to_wire(s) for s in self.backend.list_skus()])
                if (match := _SP_BY_APP_ID.match(path)) is not None:
                    principal = self.backend.service_principal_by_app_id(match.group("app"))
                    context = f"{request.base_url}/{match.group('version')}/$metadata#servicePrincipals/$entity"
                    return self.errors._json(request, 200, {"@odata.context": context, **to_wire(principal)})
                if (match := _SP_LIST.match(path)) is not None:
                    app_id = _eq_filter(request, "appId")
                    try:
                        found = [to_wire(self.backend.service_principal_by_app_id(app_id))] if app_id else []
                    except ResourceNotFound:
                        found = []
                    return self._collection(request, match.group("version"), "servicePrincipals", found)
                if (match := _ROLES_PATH.match(path)) is not None:
                    principal_id = _eq_filter(request, "principalId")
                    return self._collection(request, match.group("version"), match.group("set"),
                                            [to_wire(a) for a in self.backend.role_assignments(principal_id)])
            raise SegmentNotFound(path.strip("/").split("/")[-1])
        except GraphError as error:
            return self.errors._error(request, error)

    def _collection(self, request: FakeRequest, version: str, name: str, values: list[dict[str, Any]]) -> FakeResponse:
        return self.errors._json(request, 200, {"@odata.context": f"{request.base_url}/{version}/$metadata#{name}",
                                                "value": values})


def _eq_filter(request: FakeRequest, prop: str) -> str | None:
    """``$filter=<prop> eq '<value>'`` -> value; None without a filter; UnsupportedQuery for anything else."""
    expression = request.query.get("$filter")
    if expression is None:
        return None
    match = _EQ_PROPERTY.match(expression)
    if match is None or match.group("prop").lower() != prop.lower():
        raise UnsupportedQuery(expression)
    return match.group("value")
