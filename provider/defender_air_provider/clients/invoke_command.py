"""Client of the admin API's ``InvokeCommand`` endpoint (Exchange Online and Security & Compliance).

Microsoft does not publish this contract; the wire facts are in ``docs/wire/invoke-command.md``:
the ``CmdletInput`` envelope (docs/wire/invoke-command.md §2.2), the headers a production client sends
(docs/wire/invoke-command.md §2.3, ScubaGear's minimal set), results in ``value`` with warnings in
``@adminapi.warnings`` (docs/wire/invoke-command.md §4), paging by POSTing the
same body to ``@odata.nextLink`` (docs/wire/invoke-command.md §5) and the error envelope whose ``details[].message``
reads
``<ErrCode>|<ExceptionType>|<text>`` (docs/wire/invoke-command.md §6).
"""

from __future__ import annotations

import re
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..core.errors import (
    AlreadyExists,
    InvalidRequest,
    LicenceRequired,
    NotFound,
    PermissionDenied,
    ServiceError,
    Throttled,
)
from ..core.http import HttpClient, HttpResponse
from ..core.redaction import REDACTOR

MAX_PAGE_SIZE = 1000  # the service's maximum for odata.maxpagesize (docs/wire/invoke-command.md §2.3)
MAX_PAGES = 1000  # a guard against a service that keeps answering with the same nextLink


@dataclass
class CommandResult:
    values: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class ServiceFailure:
    """The parts of an error envelope (docs/wire/invoke-command.md §6)."""

    code: str | None
    exception: str | None
    message: str


def parse_failure(response: HttpResponse) -> ServiceFailure:
    """Split the error envelope; fall back to the raw text (403s may be NUL bytes, docs/wire/invoke-command.md §6)."""
    payload = response.json()
    error = payload.get("error") if isinstance(payload, dict) else None
    if not isinstance(error, dict):
        text = response.text.strip() or f"HTTP {response.status} with no error body"
        return ServiceFailure(None, None, text[:500])
    code = error.get("code") if isinstance(error.get("code"), str) else None
    for detail in error.get("details") or []:
        message = detail.get("message") if isinstance(detail, dict) else None
        if isinstance(message, str) and message.count("|") >= 2:
            _, exception, text = message.split("|", 2)
            return ServiceFailure(code, exception.rsplit(".", 1)[-1] or None, text.strip())
        if isinstance(message, str) and message:
            return ServiceFailure(code, None, message)
    inner = ((error.get("innererror") or {}).get("internalexception") or {}) if isinstance(
        error.get("innererror"), dict) else {}
    if isinstance(inner, dict) and inner.get("message"):
        inner_type = str(inner.get("type") or "").rsplit(".", 1)[-1] or None
        return ServiceFailure(code, inner_type, str(inner["message"]))
    return ServiceFailure(code, None, str(error.get("message") or f"HTTP {response.status}"))


class InvokeCommandClient:
    """Runs cmdlets over REST. Knows nothing of Pulumi; returns plain dicts and warnings."""

    def __init__(self, http: HttpClient, *, base_url: str, tenant_id: str, service: str,
                 permission_hint: str, page_size: int = MAX_PAGE_SIZE,
                 on_warning: Callable[[str], None] | None = None,
                 follow_region: Callable[[str], str] | None = None) -> None:
        self._http = http
        self._endpoint = f"{base_url.rstrip('/')}/adminapi/beta/{tenant_id}/InvokeCommand"
        self._service = service
        self._permission_hint = permission_hint
        self._page_size = max(1, min(page_size, MAX_PAGE_SIZE))
        self._on_warning = on_warning
        # Security & Compliance: the front door answers the first request with a redirect to the tenant's
        # region (docs/wire/invoke-command.md §3.3). ``follow_region`` maps that Location to the regional base URL; the
        # first request runs under a lock so the region is discovered once per process and then reused.
        self._follow_region = follow_region
        self._region_known = follow_region is None
        self._region_lock = threading.Lock()
        self._tenant_id = tenant_id

    def invoke(self, cmdlet: str, parameters: dict[str, Any] | None = None, *, idempotent: bool,
               target: str | None = None) -> CommandResult:
        """Run ``cmdlet`` and return every page of ``value``.

        ``idempotent``: whether repeating the call is harmless (Get-/Set-/Enable-); decides retries after a
        lost answer. ``target`` names the object for a 404 message.
        """
        if not self._region_known:
            with self._region_lock:
                if not self._region_known:
                    return self._run(cmdlet, parameters, idempotent, target)
        return self._run(cmdlet, parameters, idempotent, target)

    def _run(self, cmdlet: str, parameters: dict[str, Any] | None, idempotent: bool,
             target: str | None) -> CommandResult:
        body = {"CmdletInput": {"CmdletName": cmdlet, "Parameters": parameters or {}}}
        result = CommandResult()
        url: str | None = self._endpoint
        pages = redirects = 0
        while url is not None and pages < MAX_PAGES:
            pages += 1
            response = self._http.send("POST", url, json_body=body, headers=self._headers(cmdlet),
                                       idempotent=idempotent, what=cmdlet)
            if response.status in (301, 302, 307, 308) and self._follow_region and redirects < 2:
                url = self._move_to_region(cmdlet, response)
                pages -= 1
                redirects += 1
                continue
            if not self._region_known and response.status >= 500:
                raise self._region_error(cmdlet, response)
            self._region_known = True
            if response.status >= 400:
                raise self._error(cmdlet, response, target)
            payload = response.json()
            if not isinstance(payload, dict):
                raise ServiceError(
                    f"{self._service}: {cmdlet} answered HTTP {response.status} with a body that is not JSON. "
                    "The admin API may be unavailable; try again later.", status=response.status,
                )
            values = payload.get("value")
            if isinstance(values, list):
                result.values.extend(v for v in values if isinstance(v, dict))
            result.warnings.extend(str(w) for w in payload.get("@adminapi.warnings") or [] if w)
            next_link = payload.get("@odata.nextLink")
            url = next_link if isinstance(next_link, str) and next_link else None
        if self._on_warning:
            for warning in result.warnings:
                self._on_warning(f"{self._service}: {cmdlet}: {REDACTOR(warning)}")
        return result

    def _move_to_region(self, cmdlet: str, response: HttpResponse) -> str:
        assert self._follow_region is not None
        location = response.headers.get("location") or ""
        try:
            regional = self._follow_region(location).rstrip("/")
        except ValueError as exc:
            raise ServiceError(
                f"{self._service}: region discovery for {cmdlet} failed: the front door redirected to "
                f"{location!r} ({exc}).", status=response.status) from None
        self._endpoint = f"{regional}/adminapi/beta/{self._tenant_id}/InvokeCommand"
        self._region_known = True
        return self._endpoint

    def _region_error(self, cmdlet: str, response: HttpResponse) -> ServiceError:
        failure = parse_failure(response)
        return ServiceError(REDACTOR(
            f"{self._service}: region discovery failed for tenant {self._tenant_id} (HTTP {response.status} from "
            f"the front door on {cmdlet}): {failure.message}. Check defender-air:tenantId and that the app can "
            f"use Security & Compliance PowerShell ({self._permission_hint})"), status=response.status)

    def _headers(self, cmdlet: str) -> dict[str, str]:
        # ScubaGear's production set (docs/wire/invoke-command.md §2.3): JSON instead of the module's default CLIXML.
        return {
            "Accept": "application/json",
            "Prefer": f"odata.maxpagesize={self._page_size}",
            "X-ResponseFormat": "json",
            "X-CmdletName": cmdlet,
            "client-request-id": str(uuid.uuid4()),
        }

    def _error(self, cmdlet: str, response: HttpResponse, target: str | None) -> ServiceError:
        """The one place that classifies an error answer into a typed error (docs/wire/invoke-command.md §6)."""
        failure = parse_failure(response)
        status = response.status
        where = f"{self._service}: {cmdlet}"
        detail = failure.message + (f" ({failure.exception})" if failure.exception else "")
        typed: dict[str, Any] = {"status": status, "code": failure.code, "operation": cmdlet,
                                 "exception_type": failure.exception}
        # A refusal first, whatever exception it names: the 403 for a cmdlet the caller may not run names the cmdlet
        # (docs/wire/invoke-command.md §6.4), possibly as PowerShell's CommandNotFoundException, and is no missing
        # object.
        if status in (401, 403):
            message = f"{where} was refused (HTTP {status}): {detail}. {self._permission_hint}"
            return PermissionDenied(REDACTOR(message), **typed)
        if status == 404 or (failure.exception or "").endswith("NotFoundException") or (
                status == 400 and _NOT_FOUND_EXCEPTION.search(failure.message)):
            what = f"'{target}'" if target else "the object"
            return NotFound(REDACTOR(f"{where}: {what} was not found: {detail}"), **typed)
        if status in (429, 503):
            message = (f"{where} is still throttled (HTTP {status}) after retries: {detail}. "
                       "Run again later or lower pulumi's --parallel.")
            return Throttled(REDACTOR(message), **typed)
        message = REDACTOR(f"{where} failed (HTTP {status}): {detail}")
        # Neither refusal has an exception type of its own: both come as a validation exception, told apart by the
        # service's text (docs/wire/invoke-command.md §6; security-compliance.md §3.1 for the E5 text, whose HTTP
        # status was never captured, so it is matched at any status).
        if _LICENCE_REQUIRED.search(failure.message):
            return LicenceRequired(message, **typed)
        if status == 400 and _ALREADY_EXISTS.search(failure.message):
            return AlreadyExists(message, **typed)
        if status == 400:
            return InvalidRequest(message, **typed)
        return ServiceError(message, **typed)


# A NotFound exception type named only inside the text (docs/wire/security-compliance.md §6.3 [inference]).
_NOT_FOUND_EXCEPTION = re.compile(r"\b\w+NotFoundException\b")
_ALREADY_EXISTS = re.compile(r"\balready exists\b", re.IGNORECASE)
_LICENCE_REQUIRED = re.compile(r"requires an? (?:Office|Microsoft) 365 E5", re.IGNORECASE)
