"""The ``POST /adminapi/beta/{tenant}/InvokeCommand`` endpoint: request envelope, cmdlet table, paging
(docs/wire/invoke-command.md §2-docs/wire/invoke-command.md §5).

A service's responder subclasses ``InvokeCommandResponse`` and supplies its cmdlet table (``lookup_cmdlet``), its
403 for an unknown cmdlet (``unknown_cmdlet``) and ``run``: parse the cmdlet's parameters, call the backend, render
the objects. This class turns a request into that call and the result into the OData envelope, pages it and serves
later pages from ``@odata.nextLink``.
"""

from __future__ import annotations

import json
import re
import secrets
import threading
import uuid
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from ..base import FakeRequest, FakeResponse
from .exceptions import (
    InvalidParameters,
    InvalidSkipToken,
    InvokeCommandError,
    MethodNotAllowed,
    MissingEnvelope,
    ParametersNotAnObject,
    RouteNotFound,
    SkipTokenQueryMismatch,
)
from .wire import CONTENT_TYPE, cmdlet_name, parse_max_page_size, select

# docs/wire/invoke-command.md §2.3: "Prefer: odata.maxpagesize={n} (n ≤ 1000, the default)"
DEFAULT_MAX_PAGE_SIZE = 1000
INVOKE_PATH = re.compile(r"^/adminapi/beta/([^/]+)/InvokeCommand/?$", re.IGNORECASE)


class CmdletSpec:
    """One known cmdlet: its name and its parameters (matched case-insensitively)."""

    def __init__(self, name: str, params: Iterable[str]) -> None:
        self.name = name
        self.params = {p.lower(): p for p in params}


@dataclass
class CmdletOutput:
    """What a cmdlet returns: ``value`` (the objects), ``@adminapi.warnings`` and other top-level annotations."""

    value: list[dict[str, Any]]
    warnings: list[str] = field(default_factory=list)
    annotations: dict[str, Any] = field(default_factory=dict)


SpecT = TypeVar("SpecT", bound=CmdletSpec)


class InvokeCommandResponse(Generic[SpecT]):
    """The InvokeCommand responder shared by the Exchange and Security & Compliance fakes.

    ``lock`` is the backend's: a request runs under it from parsing to rendering. ``max_page_size`` is the
    server-side cap on a page (default 1000); a plain attribute, lower it in tests.
    """

    MAX_PAGE_SIZE = DEFAULT_MAX_PAGE_SIZE
    _MAX_PAGE_TOKENS = 512  # continuation snapshots kept for nextLink (oldest dropped first)

    def __init__(self, lock: threading.RLock, *, max_page_size: int | None = None) -> None:
        self.lock = lock
        self.max_page_size = max_page_size or self.MAX_PAGE_SIZE
        self._pages: OrderedDict[str, tuple[str, list[dict[str, Any]]]] = OrderedDict()

    # -- what a service supplies ------------------------------------------------------------------------------

    def lookup_cmdlet(self, name: str) -> SpecT | None:
        raise NotImplementedError

    def unknown_cmdlet(self, name: str) -> InvokeCommandError:
        """The service's error for a cmdlet it doesn't have (its 403 differs per service, docs/wire/invoke-command.md
        §6)."""
        raise NotImplementedError

    def run(self, request: FakeRequest, cmdlet: SpecT, params: dict[str, Any]) -> CmdletOutput:
        """Carry out ``cmdlet`` with ``params`` (canonical parameter names); raise an InvokeCommandError to refuse."""
        raise NotImplementedError

    # -- ServiceFake ------------------------------------------------------------------------------------------

    def operation(self, request: FakeRequest) -> str:
        """The cmdlet name as sent in the body (a nextLink page repeats the body, so the same cmdlet)."""
        name = cmdlet_name(request)
        if name:
            return name
        return f"{request.method} {request.path.rstrip('/').rsplit('/', 1)[-1] or '/'}"

    def handle(self, request: FakeRequest) -> FakeResponse:
        try:
            match = INVOKE_PATH.match(request.path)
            if match is None:
                raise RouteNotFound(request.method, request.path)
            if request.method.upper() != "POST":
                raise MethodNotAllowed()
            with self.lock:
                return self._invoke(request, match.group(1))
        except InvokeCommandError as error:
            return error.response()

    def forget_pages(self) -> None:
        """Drop every paging snapshot (the tenant's state was replaced)."""
        with self.lock:
            self._pages.clear()

    # -- the call ---------------------------------------------------------------------------------------------

    def _invoke(self, request: FakeRequest, tenant: str) -> FakeResponse:
        try:
            body = request.json()
        except (ValueError, UnicodeDecodeError):
            body = None
        cmdlet_input = body.get("CmdletInput") if isinstance(body, dict) else None
        if not isinstance(cmdlet_input, dict) or not isinstance(cmdlet_input.get("CmdletName"), str):
            raise MissingEnvelope()
        raw_params = cmdlet_input.get("Parameters")
        if raw_params is None:
            raw_params = {}
        if not isinstance(raw_params, dict):
            raise ParametersNotAnObject()

        requested = str(cmdlet_input["CmdletName"])
        cmdlet = self.lookup_cmdlet(requested)
        if cmdlet is None:
            raise self.unknown_cmdlet(requested)

        selected = [s.strip() for s in request.query.get("$select", "").split(",") if s.strip()] or None
        signature = json.dumps({"cmdlet": cmdlet.name.lower(),
                                "params": {k.lower(): v for k, v in raw_params.items()}}, sort_keys=True)
        page_size = min(parse_max_page_size(request) or self.max_page_size, self.max_page_size)

        token = request.query.get("$skiptoken")
        if token is not None:
            return self._next_page(request, tenant, token, signature, page_size)

        unknown = [k for k in raw_params if k.lower() not in cmdlet.params]
        if unknown:
            # docs/wire/invoke-command.md §2.2 / §6.2: unknown parameter → 400 AmbiguousParameterSet
            raise InvalidParameters(unknown)
        params = {cmdlet.params[k.lower()]: v for k, v in raw_params.items()}

        output = self.run(request, cmdlet, params)
        items = [select(item, selected) for item in output.value]
        page, rest = items[:page_size], items[page_size:]
        next_link = self._remember_page(request, tenant, signature, rest) if rest else None
        return self._envelope(request, tenant, page, output, next_link, page_size)

    # -- paging (docs/wire/invoke-command.md §5)
    # ----------------------------------------------------------------------------------------

    def _remember_page(self, request: FakeRequest, tenant: str, signature: str,
                       rest: list[dict[str, Any]]) -> str:
        """Keep the remainder of a result and return the ``@odata.nextLink`` that serves it.

        The token is opaque (docs/wire/invoke-command.md §5 only says clients POST the same body to the nextLink).
        [inference] the service snapshots the result: later changes don't shift the pages a client is walking.
        """
        token = secrets.token_urlsafe(12)
        self._pages[token] = (signature, rest)
        while len(self._pages) > self._MAX_PAGE_TOKENS:
            self._pages.popitem(last=False)
        return f"{request.base_url}/adminapi/beta/{tenant}/InvokeCommand?$skiptoken={token}"

    def _next_page(self, request: FakeRequest, tenant: str, token: str, signature: str,
                   page_size: int) -> FakeResponse:
        """A later page: served from the snapshot (already narrowed by the first call's ``$select``)."""
        stored = self._pages.get(token)
        if stored is None:
            raise InvalidSkipToken(token)
        original, rest = stored
        if original != signature:
            raise SkipTokenQueryMismatch()
        page, remaining = rest[:page_size], rest[page_size:]
        next_link = self._remember_page(request, tenant, signature, remaining) if remaining else None
        # Tokens stay valid until evicted, so a client may retry a page after a dropped connection.
        return self._envelope(request, tenant, page, CmdletOutput([]), next_link, page_size)

    @staticmethod
    def _envelope(request: FakeRequest, tenant: str, page: list[dict[str, Any]], output: CmdletOutput,
                  next_link: str | None, page_size: int) -> FakeResponse:
        body: dict[str, Any] = {
            "@odata.context": f"{request.base_url}/adminapi/beta/{tenant}/$metadata"
                              "#Collection(Exchange.GenericHashTable)",
            "adminapi.warnings@odata.type": "#Collection(String)",
            "@adminapi.warnings": list(output.warnings),
            **output.annotations,
            "value": page,
        }
        if next_link is not None:
            body["@odata.nextLink"] = next_link
        headers = {
            "content-type": CONTENT_TYPE,
            "odata-version": "4.0",  # docs/wire/invoke-command.md §4 response headers
            "preference-applied": f'odata.include-annotations="*",odata.maxpagesize={page_size}',
            "request-id": str(uuid.uuid4()),
        }
        return FakeResponse(200, headers, json.dumps(body).encode("utf-8"))


class ServedOnTheWire:
    """What an ``InvokeCommand`` fake adds to its backend to be mounted by ``FakeTenant``: it answers through its
    responder (``self.responder``), which also owns the page size, and forgets open pages when state is loaded."""

    responder: InvokeCommandResponse[Any]
    lock: threading.RLock

    @property
    def max_page_size(self) -> int:
        return self.responder.max_page_size

    @max_page_size.setter
    def max_page_size(self, value: int) -> None:
        self.responder.max_page_size = value

    def operation(self, request: FakeRequest) -> str:
        return self.responder.operation(request)

    def handle(self, request: FakeRequest) -> FakeResponse:
        return self.responder.handle(request)

    def forget_pages(self) -> None:
        self.responder.forget_pages()
