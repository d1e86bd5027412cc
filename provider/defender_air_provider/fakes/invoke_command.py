"""Shared plumbing of the ``InvokeCommand`` fakes (Exchange Online and Security & Compliance).

Both admin APIs speak the same protocol (o365-policies.md §1 for Exchange; §2 says Security & Compliance is
"the same InvokeCommand protocol on a regional host"), so the request envelope, the OData response envelope,
the error envelopes, paging and PowerShell-style parameter conversion live here once. Section references
(§1.6 ...) point into ``shared/research/o365-policies.md``. Everything the notes mark as INFERENCE, or say
nothing about, is tagged ``[inference]``.

Written from the research notes only; imports nothing of the clients, handlers or core.

Wire summary (§1.2-§1.8):
- ``POST /adminapi/beta/{tenant}/InvokeCommand`` with ``{"CmdletInput":{"CmdletName":..,"Parameters":{..}}}``.
  Routing is on the body's CmdletName, case-insensitively; ``X-CmdletName`` is accepted, not required.
- Success: ``{"@odata.context":..,"adminapi.warnings@odata.type":"#Collection(String)",
  "@adminapi.warnings":[..],"value":[..]}`` (+ ``@odata.nextLink`` when paged).
- Missing object: 404 ``NotFound`` with ``details[0].message`` =
  ``<code>|...ManagementObjectNotFoundException|<text>``; bad/unknown parameter: 400 ``BadRequest``.
- Unknown cmdlet: 403, whose body differs per service (each fake supplies its own answer).
"""

from __future__ import annotations

import json
import re
import secrets
import threading
import uuid
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from datetime import datetime, timezone
from typing import Any, Generic, TypeVar

from .base import FakeRequest, FakeResponse

CONTENT_TYPE = "application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8"
DEFAULT_MAX_PAGE_SIZE = 1000  # §1.4: "Prefer: odata.maxpagesize={n} (n ≤ 1000, the default)"

# Exception types used in error envelopes.
ODATA_EXC = "Microsoft.Exchange.Admin.OData.Core.ODataServiceException"  # §1.8
AMBIGUOUS_EXC = "Microsoft.Exchange.AdminApi.CommandInvocation.AmbiguousParameterSetException"  # §1.8
TRANSFORM_EXC = "Microsoft.Exchange.AdminApi.CommandInvocation.ParameterTransformationException"  # §1.8
NOT_FOUND_EXC = "Microsoft.Exchange.Configuration.Tasks.ManagementObjectNotFoundException"  # §1.8
DIRECT_INVOKE_EXC = "Microsoft.Exchange.Management.PSDirectInvoke.DirectInvokeCmdletExecutionException"  # §1.8
# [inference] the notes give no REST capture for these two; names chosen from PowerShell/Exchange conventions.
BINDING_EXC = "System.Management.Automation.ParameterBindingException"
VALIDATION_EXC = "Microsoft.Exchange.Management.Tasks.ValidationException"
# Error-code prefix of ManagementObjectNotFoundException details, as in the real 404 text of §1.8.
NOT_FOUND_CODE = "Ex6F9304"

INVOKE_PATH = re.compile(r"^/adminapi/beta/([^/]+)/InvokeCommand/?$", re.IGNORECASE)


class CmdletError(Exception):
    """Raised anywhere inside a cmdlet to answer with ``response`` (nothing is applied)."""

    def __init__(self, response: FakeResponse) -> None:
        super().__init__(response.status)
        self.response = response


# ---------------------------------------------------------------------------------------------------------------
# Error envelopes (§1.8)
# ---------------------------------------------------------------------------------------------------------------

def error_response(status: int, payload: dict[str, Any]) -> FakeResponse:
    return FakeResponse(status, {"content-type": CONTENT_TYPE, "odata-version": "4.0"},
                        json.dumps(payload).encode("utf-8"))


def bad_request(exception_type: str, text: str, code: str = "") -> FakeResponse:
    """400 in the verbatim structure of the captured AmbiguousParameterSetException body (§1.8).

    ``details[0].message`` is ``<code>|<exception type>|<text>`` (the code part is empty in the capture).
    """
    return error_response(400, {"error": {
        "code": "BadRequest",
        "message": "Invalid Operation",
        "details": [{"code": "Client", "target": "", "message": f"{code}|{exception_type}|{text}"}],
        "innererror": {
            "message": "Invalid Operation", "type": ODATA_EXC, "stacktrace": "",
            "internalexception": {"message": text, "type": exception_type, "stacktrace": ""},
        },
    }})


def invalid_parameters(names: Iterable[str]) -> FakeResponse:
    """400 for parameters the cmdlet does not have, verbatim from the capture in §1.8.

    [inference] several unknown names are joined with ", " (the capture names one).
    """
    text = ("Parameter set cannot be resolved using the specified named parameters. "
            f"Invalid cmdlet parameters specified. {', '.join(names)}")
    return bad_request(AMBIGUOUS_EXC, text)


def transformation_error(parameter: str, value: Any, target_type: str, reason: str) -> FakeResponse:
    """400 for a value that can't be converted, in the structure of the first captured body in §1.8.

    That capture has no ``details`` and carries the warnings annotations *inside* ``error``; kept as captured.
    """
    text = (f"Cannot process argument transformation on parameter '{parameter}'. Cannot convert value "
            f"\"{value}\" to type \"{target_type}\". Error: \"{reason}\"")
    return error_response(400, {"error": {
        "code": "BadRequest",
        "message": "Invalid Operation",
        "innererror": {
            "message": "Invalid Operation", "type": ODATA_EXC, "stacktrace": "",
            "internalexception": {"message": text, "type": TRANSFORM_EXC, "stacktrace": ""},
        },
        "adminapi.warnings@odata.type": "#Collection(String)",
        "@adminapi.warnings": [],
    }})


def enum_error(parameter: str, value: Any, target_type: str, names: Iterable[str]) -> FakeResponse:
    """400 for a value outside an enum, with the reason text of the captured QuarantineTypes body (§1.8)."""
    return transformation_error(
        parameter, value, target_type,
        f"Unable to match the identifier name {value} to a valid enumerator name. Specify one of the following "
        f"enumerator names and try again: {', '.join(names)}")


def execution_error(status: int, code: str, exception_type: str, text: str) -> FakeResponse:
    """An error thrown by the cmdlet itself, in the structure of the real 404 body quoted in §1.8.

    ``code`` is the HTTP-level code (``NotFound``, ``BadRequest``). [inference] the stack traces are elided (the
    real ones are long .NET traces) and the warnings annotations are placed inside ``error`` as in the other
    capture of §1.8 (the quote does not show the nesting clearly).
    """
    prefix = NOT_FOUND_CODE if exception_type == NOT_FOUND_EXC else ""
    return error_response(status, {"error": {
        "code": code,
        "message": "Error executing cmdlet",
        "details": [{"code": "Client", "target": "", "message": f"{prefix}|{exception_type}|{text}"}],
        "innererror": {
            "message": "Error executing cmdlet", "type": ODATA_EXC, "stacktrace": "   at ...",
            "internalexception": {
                "message": f"Exception of type '{DIRECT_INVOKE_EXC}' was thrown.",
                "type": DIRECT_INVOKE_EXC, "stacktrace": "   at ...",
            },
        },
        "adminapi.warnings@odata.type": "#Collection(String)",
        "@adminapi.warnings": [],
    }})


def not_found(identity: str, server: str) -> FakeResponse:
    """404 ``NotFound`` for a missing object, with the text of the real body in §1.8.

    ``server`` is the domain controller named in the text (shape of 'YQBPR01A12DC007.CANPR01A012.PROD.OUTLOOK.COM').
    """
    text = f"The operation couldn't be performed because object '{identity}' couldn't be found on '{server}'."
    return execution_error(404, "NotFound", NOT_FOUND_EXC, text)


def missing_parameters(names: Iterable[str]) -> FakeResponse:
    # [inference] the PowerShell text for missing mandatory parameters; no REST capture in the notes.
    return bad_request(BINDING_EXC, "Cannot process command because of one or more missing mandatory "
                                    f"parameters: {' '.join(names)}.")


# ---------------------------------------------------------------------------------------------------------------
# Wire helpers
# ---------------------------------------------------------------------------------------------------------------

def wire_datetime(moment: datetime) -> str:
    """ISO-8601 with 7 fractional digits and an offset, as in the Burp capture of §1.6."""
    moment = moment.astimezone(timezone.utc)
    return f"{moment:%Y-%m-%dT%H:%M:%S}.{moment.microsecond:06d}0+00:00"


def parse_max_page_size(request: FakeRequest) -> int | None:
    """``odata.maxpagesize=N`` from ``Prefer`` (or ``X-Prefer``, seen in the Burp capture of §1.6).

    CIPP writes it with blanks (``odata.maxpagesize = 1000;odata.continue-on-error``, §1.2), so both
    separators and blanks are tolerated.
    """
    for header in ("prefer", "x-prefer"):
        value = request.header(header)
        if not value:
            continue
        for item in re.split(r"[;,]", value):
            key, _, raw = item.partition("=")
            if key.strip().lower() == "odata.maxpagesize":
                try:
                    size = int(raw.strip().strip('"'))
                except ValueError:
                    continue
                if size > 0:
                    return size
    return None


def annotated(obj: dict[str, Any], guid_keys: Iterable[str] = (), datetime_keys: Iterable[str] = ()) -> dict[
        str, Any]:
    """Add the OData type annotations of §1.6 in front of the properties that carry them.

    - string collections: ``Prop@odata.type: "#Collection(String)"``;
    - GUIDs: ``Prop@data.type: "System.Guid"`` and ``Prop@odata.type: "#Guid"``;
    - DateTimes: ``Prop@data.type: "System.DateTime"``.
    [inference] a null collection carries no annotation (the capture only shows non-null collections), and
    Int32 properties carry none (OData's default numeric type; the capture annotates only #Int16).
    """
    guids = set(guid_keys)
    dates = set(datetime_keys)
    out: dict[str, Any] = {}
    for key, value in obj.items():
        if isinstance(value, list):
            out[f"{key}@odata.type"] = "#Collection(String)"
        elif key in guids and value is not None:
            out[f"{key}@data.type"] = "System.Guid"
            out[f"{key}@odata.type"] = "#Guid"
        elif key in dates and value is not None:
            out[f"{key}@data.type"] = "System.DateTime"
        out[key] = value
    return out


def select(obj: dict[str, Any], names: list[str] | None) -> dict[str, Any]:
    """Apply ``?$select=Prop1,Prop2`` (§1.2), keeping each selected property's annotations."""
    if not names:
        return obj
    wanted = {name.lower() for name in names}
    return {key: value for key, value in obj.items() if key.split("@", 1)[0].lower() in wanted}


def cmdlet_name(request: FakeRequest) -> str | None:
    """``CmdletInput.CmdletName`` of the body as sent, or None when the body has no envelope."""
    try:
        body = request.json()
    except (ValueError, UnicodeDecodeError):
        return None
    if isinstance(body, dict):
        cmdlet_input = body.get("CmdletInput")
        if isinstance(cmdlet_input, dict) and isinstance(cmdlet_input.get("CmdletName"), str):
            return str(cmdlet_input["CmdletName"])
    return None


# ---------------------------------------------------------------------------------------------------------------
# Parameter conversion (PowerShell argument transformation, §1.3: array = multi-valued, string, true = switch)
# ---------------------------------------------------------------------------------------------------------------

def require(params: Mapping[str, Any], *names: str) -> None:
    missing = [n for n in names if params.get(n) in (None, "")]
    if missing:
        raise CmdletError(missing_parameters(missing))


def as_identity(params: Mapping[str, Any], name: str, target_type: str) -> str:
    value = params.get(name)
    if isinstance(value, (str, int)) and not isinstance(value, bool):
        return str(value)
    raise CmdletError(transformation_error(name, value, target_type,
                                           "A single value is expected."))  # [inference] reason text


def as_string_list(name: str, value: Any, target_type: str) -> list[str] | None:
    """A multi-valued parameter: JSON array (or one string) → values; null or [] → cleared (§1.3)."""
    if value is None:
        return None
    if isinstance(value, str):
        value = [value]
    if isinstance(value, list) and all(isinstance(v, str) and v.strip() for v in value):
        return [v.strip() for v in value] or None
    # [inference] e.g. a {"Add":..,"Remove":..} hashtable (§1.3) for a parameter that takes a plain array.
    raise CmdletError(transformation_error(name, value, target_type, "Expected a list of non-empty strings."))


def as_int(name: str, value: Any, target_type: str = "System.Int32") -> int:
    # Integral floats are accepted (PowerShell converts 1.0 to 1); so are numeric strings.
    integral_float = isinstance(value, float) and value.is_integer()
    numeric_text = isinstance(value, str) and re.fullmatch(r"\s*-?\d+\s*", value) is not None
    if (isinstance(value, int) and not isinstance(value, bool)) or integral_float or numeric_text:
        return int(value)
    raise CmdletError(transformation_error(name, value, target_type, "Input string was not in a correct format."))


def as_bool(name: str, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false", "$true", "$false"):
        return value.strip().lower().lstrip("$") == "true"
    raise CmdletError(transformation_error(
        name, value, "System.Boolean",
        "Cannot convert value \"System.String\" to type \"System.Boolean\". Boolean parameters accept only "
        "Boolean values and numbers, such as $True, $False, 1 or 0."))


def as_text(name: str, value: Any, limit: int | None = None) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise CmdletError(transformation_error(name, value, "System.String", "A string is expected."))
    if limit is not None and len(value) > limit:
        # [inference] the error text (no capture in the notes).
        raise CmdletError(bad_request(
            VALIDATION_EXC, f"The length of the property is too long. The maximum length is {limit} and "
                            f"the length of the value provided is {len(value)}. Property Name: {name}"))
    return value


def as_enum(name: str, value: Any, names: Iterable[str], target_type: str) -> str:
    """An enum parameter: matched case-insensitively (PowerShell enum conversion), stored in its canonical case."""
    allowed = list(names)
    if isinstance(value, str):
        for candidate in allowed:
            if candidate.lower() == value.strip().lower():
                return candidate
    raise CmdletError(enum_error(name, value, target_type, allowed))


# ---------------------------------------------------------------------------------------------------------------
# The endpoint: envelope parsing, cmdlet table lookup, paging
# ---------------------------------------------------------------------------------------------------------------

class CmdletSpec:
    """One known cmdlet: its name and its parameters (matched case-insensitively)."""

    def __init__(self, name: str, params: Iterable[str]) -> None:
        self.name = name
        self.params = {p.lower(): p for p in params}


SpecT = TypeVar("SpecT", bound=CmdletSpec)


class InvokeCommandFake(Generic[SpecT]):
    """The ``POST /adminapi/beta/{tenant}/InvokeCommand`` responder shared by the fakes.

    A subclass supplies the model: ``_lookup_cmdlet`` (its cmdlet table), ``_unknown_cmdlet`` (the service's
    403) and ``_run`` (the cmdlet's effect and its ``value``). This class turns a request into a call and the
    result into the OData envelope, pages it and serves later pages from ``@odata.nextLink``.

    ``max_page_size`` is the server-side cap on a page (default 1000); a plain attribute, lower it in tests.
    """

    name: str
    MAX_PAGE_SIZE = DEFAULT_MAX_PAGE_SIZE
    _MAX_PAGE_TOKENS = 512  # continuation snapshots kept for nextLink (oldest dropped first)

    def __init__(self, *, max_page_size: int | None = None) -> None:
        self._lock = threading.RLock()
        self.max_page_size = max_page_size or self.MAX_PAGE_SIZE
        self._pages: OrderedDict[str, tuple[str, list[dict[str, Any]]]] = OrderedDict()
        # Replication lag (o365-policies.md §1.8: right after New-* a read can 404): object Guid -> Get calls that
        # still don't see it.
        self._lagging: dict[str, int] = {}

    def _hidden_by_lag(self, obj: dict[str, Any]) -> bool:
        """Whether this Get call still can't see ``obj`` (just created); counts the call down."""
        remaining = self._lagging.get(obj["Guid"], 0)
        if remaining <= 0:
            return False
        if remaining == 1:
            del self._lagging[obj["Guid"]]
        else:
            self._lagging[obj["Guid"]] = remaining - 1
        return True

    # -- what a subclass supplies ----------------------------------------------------------------------------

    def _lookup_cmdlet(self, name: str) -> SpecT | None:
        raise NotImplementedError

    def _unknown_cmdlet(self, name: str) -> FakeResponse:
        raise NotImplementedError

    def _run(self, request: FakeRequest, cmdlet: SpecT, params: dict[str, Any], warnings: list[str],
             extra: dict[str, Any]) -> list[dict[str, Any]]:
        """Carry out ``cmdlet``; return ``value``; add warnings and extra top-level annotations in place."""
        raise NotImplementedError

    # -- ServiceFake ------------------------------------------------------------------------------------------

    def operation(self, request: FakeRequest) -> str:
        """The cmdlet name as sent in the body (a nextLink page repeats the body, so the same cmdlet)."""
        name = cmdlet_name(request)
        if name:
            return name
        return f"{request.method} {request.path.rstrip('/').rsplit('/', 1)[-1] or '/'}"

    def handle(self, request: FakeRequest) -> FakeResponse:
        match = INVOKE_PATH.match(request.path)
        if match is None:
            # [inference] other admin API paths ($batch, EXOModuleFile, ...) are not modelled.
            return error_response(404, {"error": {"code": "NotFound",
                                                  "message": f"No route for {request.method} {request.path}"}})
        if request.method.upper() != "POST":
            # [inference] status for a non-POST on InvokeCommand.
            return error_response(405, {"error": {"code": "MethodNotAllowed",
                                                  "message": "InvokeCommand accepts POST only"}})
        tenant = match.group(1)
        try:
            with self._lock:
                return self._invoke(request, tenant)
        except CmdletError as error:
            return error.response

    def _forget_pages(self) -> None:
        self._pages.clear()

    def _invoke(self, request: FakeRequest, tenant: str) -> FakeResponse:
        try:
            body = request.json()
        except (ValueError, UnicodeDecodeError):
            body = None
        cmdlet_input = body.get("CmdletInput") if isinstance(body, dict) else None
        if not isinstance(cmdlet_input, dict) or not isinstance(cmdlet_input.get("CmdletName"), str):
            # [inference] the answer to a body without a CmdletInput envelope.
            return bad_request(VALIDATION_EXC, "The request body has no CmdletInput.CmdletName.")
        raw_params = cmdlet_input.get("Parameters")
        if raw_params is None:
            raw_params = {}
        if not isinstance(raw_params, dict):
            return bad_request(VALIDATION_EXC, "CmdletInput.Parameters must be an object.")  # [inference]

        requested = str(cmdlet_input["CmdletName"])
        cmdlet = self._lookup_cmdlet(requested)
        if cmdlet is None:
            return self._unknown_cmdlet(requested)

        selected = [s.strip() for s in request.query.get("$select", "").split(",") if s.strip()] or None
        signature = json.dumps({"cmdlet": cmdlet.name.lower(),
                                "params": {k.lower(): v for k, v in raw_params.items()}}, sort_keys=True)
        page_size = min(parse_max_page_size(request) or self.max_page_size, self.max_page_size)

        token = request.query.get("$skiptoken")
        if token is not None:
            return self._next_page(request, tenant, token, signature, page_size)

        unknown = [k for k in raw_params if k.lower() not in cmdlet.params]
        if unknown:
            return invalid_parameters(unknown)  # §1.3 / §1.8: unknown parameter → 400 AmbiguousParameterSet
        params = {cmdlet.params[k.lower()]: v for k, v in raw_params.items()}

        warnings: list[str] = []
        extra: dict[str, Any] = {}
        value = self._run(request, cmdlet, params, warnings, extra)
        items = [select(item, selected) for item in value]
        page, rest = items[:page_size], items[page_size:]
        next_link = self._remember_page(request, tenant, signature, rest) if rest else None
        return self._envelope(request, tenant, page, warnings, extra, next_link, page_size)

    # -- paging (§1.7) ----------------------------------------------------------------------------------------

    def _remember_page(self, request: FakeRequest, tenant: str, signature: str,
                       rest: list[dict[str, Any]]) -> str:
        """Keep the remainder of a result and return the ``@odata.nextLink`` that serves it.

        The token is opaque (§1.7 only says clients POST the same body to the nextLink). [inference] the
        service snapshots the result: later changes don't shift the pages a client is walking.
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
            # [inference] an unknown or expired skiptoken.
            return bad_request(VALIDATION_EXC, f"The skip token '{token}' is not valid or has expired.")
        original, rest = stored
        if original != signature:
            # [inference] §1.7 says clients POST the same body to the nextLink; a different body is refused.
            return bad_request(VALIDATION_EXC, "The request body does not match the query of the skip token.")
        page, remaining = rest[:page_size], rest[page_size:]
        next_link = self._remember_page(request, tenant, signature, remaining) if remaining else None
        # Tokens stay valid until evicted, so a client may retry a page after a dropped connection.
        return self._envelope(request, tenant, page, [], {}, next_link, page_size)

    @staticmethod
    def _envelope(request: FakeRequest, tenant: str, page: list[dict[str, Any]], warnings: list[str],
                  extra: dict[str, Any], next_link: str | None, page_size: int) -> FakeResponse:
        body: dict[str, Any] = {
            "@odata.context": f"{request.base_url}/adminapi/beta/{tenant}/$metadata"
                              "#Collection(Exchange.GenericHashTable)",
            "adminapi.warnings@odata.type": "#Collection(String)",
            "@adminapi.warnings": list(warnings),
            **extra,
            "value": page,
        }
        if next_link is not None:
            body["@odata.nextLink"] = next_link
        headers = {
            "content-type": CONTENT_TYPE,
            "odata-version": "4.0",  # §1.6 response headers
            "preference-applied": f'odata.include-annotations="*",odata.maxpagesize={page_size}',
            "request-id": str(uuid.uuid4()),
        }
        return FakeResponse(200, headers, json.dumps(body).encode("utf-8"))
