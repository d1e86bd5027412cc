"""The one HTTP layer every client uses: httpx with timeouts, bounded retry and redaction.

Retry rules (the same for every backend):

* 429 and 503 are retried for every request: the service refused it, nothing was applied. ``Retry-After``
  (seconds or HTTP date) is honoured; otherwise exponential backoff with jitter.
* A connection that could not be opened is retried for every request (nothing was sent), except where retrying
  cannot help: a host name that does not exist (DNS answers "no such name", not "try again") and a refused
  connection to a loopback address (the emulator or another local process is not running; six attempts only cost
  ~13 s before the same answer). The error names the host and the cause (``ConnectFailure``).
* 502, 504, a read timeout or a dropped connection *after* the request was sent are retried only for
  idempotent requests. For a non-idempotent one the outcome is unknown, so ``OutcomeUnknown`` is raised
  and the handler re-reads the object to decide (never a blind second write).
* 401 on a token-authenticated request: the token is refreshed once and the request repeated.
* Other 4xx are never retried.
"""

from __future__ import annotations

import email.utils
import ipaddress
import json
import random
import socket
import ssl
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx
import tenacity

from .credentials import TokenSource
from .errors import OutcomeUnknown, ServiceError
from .redaction import REDACTOR, get_logger

LOG = get_logger()

_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
_SENT_NO_ANSWER = (httpx.ReadTimeout, httpx.WriteTimeout, httpx.RemoteProtocolError, httpx.ReadError,
                   httpx.WriteError)


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 6
    base_delay: float = 0.5  # first backoff step, seconds
    max_delay: float = 30.0  # cap of one backoff step
    max_retry_after: float = 120.0  # cap of one server-requested wait


@dataclass
class HttpResponse:
    """A fully read response. ``body`` is empty where the service sent an undecodable body."""

    status: int
    headers: Mapping[str, str]
    body: bytes
    url: str

    def json(self) -> Any:
        try:
            return json.loads(self.body.decode("utf-8-sig")) if self.body.strip(b"\x00 \r\n\t") else None
        except (UnicodeDecodeError, json.JSONDecodeError):
            return None

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace").strip("\x00")


@dataclass(frozen=True)
class ConnectFailure:
    """Why a connection to ``host`` failed, in a user's words, and whether trying again can help."""

    host: str
    port: int | None
    cause: str  # "connection refused", "name not resolved", ...
    detail: str  # the system's own words ("[Errno 111] Connection refused")
    permanent: bool

    @classmethod
    def of(cls, exc: BaseException, url: httpx.URL) -> ConnectFailure:
        host, port = url.host, url.port or (443 if url.scheme == "https" else 80)
        detail = str(exc) or type(exc).__name__
        # httpx raises ConnectError ``from`` httpcore's, which is raised ``from`` the socket's OSError: the OSError's
        # type says what happened (its text differs between platforms).
        for cause in _chain(exc):
            if isinstance(cause, socket.gaierror):
                # EAI_NONAME: the name does not exist; EAI_AGAIN and others: the resolver could not answer now.
                permanent = cause.errno == getattr(socket, "EAI_NONAME", -2)
                return cls(host, port, "name not resolved", str(cause), permanent)
            if isinstance(cause, ConnectionRefusedError):
                return cls(host, port, "connection refused", str(cause), _is_loopback(host))
            if isinstance(cause, ssl.SSLCertVerificationError):
                # The server's certificate does not verify: trying again cannot change it.
                return cls(host, port, "certificate not trusted", str(cause), True)
            if isinstance(cause, ssl.SSLError):
                return cls(host, port, "TLS handshake failed", str(cause), False)
            if isinstance(cause, (TimeoutError, httpx.TimeoutException)):
                return cls(host, port, "connection timed out", str(cause) or type(cause).__name__, False)
        return cls(host, port, "connection failed", detail, False)

    def message(self, service: str, what: str, emulator_url: str | None, attempts: int) -> str:
        where = f"{self.host}:{self.port}" if self.port else self.host
        tried = "" if attempts <= 1 else f" failed after {attempts} attempts:"
        text = f"{service}: {what}{tried} could not connect to {where}: {self.cause} ({self.detail})."
        if emulator_url is not None:
            return text + f" Is the emulator running at {emulator_url}? Start it with `defender-air emulator" + (
                f" --port {self.port}`" if self.port else "`") + " or correct defender-air:emulatorUrl."
        if self.cause == "name not resolved":
            return text + " Check the host name (defender-air:cloud) and this machine's DNS and proxy settings."
        return text + " Check network access to the service (firewall, proxy) and try again."


def _chain(exc: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in seen:
        seen.append(current)
        current = current.__cause__ or current.__context__
    return seen


def _is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class _Retry(Exception):
    def __init__(self, reason: str, response: HttpResponse | None = None, retry_after: float | None = None,
                 connect: ConnectFailure | None = None):
        super().__init__(reason)
        self.reason = reason
        self.response = response
        self.retry_after = retry_after
        self.connect = connect


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """``Retry-After`` is either delta-seconds or an HTTP date (RFC 9110 §10.2.3)."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


@dataclass
class HttpClient:
    """One backend's HTTP client. Thread-safe: httpx.Client is, and the token source is."""

    service: str  # "Exchange Online admin API", ... (for messages)
    tokens: TokenSource | None = None
    scope: str | None = None
    timeout: float = 60.0
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    transport: httpx.BaseTransport | None = None
    sleep: Callable[[float], None] = time.sleep
    default_headers: Mapping[str, str] = field(default_factory=dict)
    emulator_url: str | None = None  # set under the emulator: a connection error then asks whether it is running

    def __post_init__(self) -> None:
        self._client = httpx.Client(
            timeout=httpx.Timeout(self.timeout, connect=min(self.timeout, 15.0)),
            transport=self.transport,
            follow_redirects=False,  # redirects carry meaning (region discovery) and must keep auth
            headers={"User-Agent": "pulumi-defender-air", **dict(self.default_headers)},
        )

    def close(self) -> None:
        self._client.close()

    def send(self, method: str, url: str, *, json_body: Any = None, headers: Mapping[str, str] | None = None,
             idempotent: bool, what: str) -> HttpResponse:
        """Send with the retry rules above. ``what`` names the operation in errors ("Get-ProtectionAlert")."""
        state = {"force_refresh": False, "refreshed": False}

        def attempt() -> HttpResponse:
            request_headers = dict(headers or {})
            if self.tokens is not None and self.scope is not None:
                token = self.tokens.token(self.scope, force_refresh=state["force_refresh"])
                request_headers["Authorization"] = f"Bearer {token}"
            state["force_refresh"] = False
            try:
                request = self._client.build_request(method, url, json=json_body, headers=request_headers)
                response = _read(self._client.send(request, stream=True))
            except _NOT_SENT as exc:
                failure = ConnectFailure.of(exc, httpx.URL(url))
                if failure.permanent:
                    raise ServiceError(failure.message(self.service, what, self.emulator_url, 1),
                                       operation=what) from None
                raise _Retry(f"{failure.cause} ({failure.host})", connect=failure) from None
            except _SENT_NO_ANSWER as exc:
                if idempotent:
                    raise _Retry(f"no answer ({type(exc).__name__})") from None
                raise OutcomeUnknown(
                    f"{self.service}: {what} was sent but no answer came back ({type(exc).__name__}); "
                    "it may or may not have been applied."
                ) from None
            status = response.status
            if status == 401 and self.tokens is not None and not state["refreshed"]:
                state["force_refresh"] = state["refreshed"] = True
                raise _Retry("token refused (401)", response, retry_after=0.0)
            if status in (429, 503):
                raise _Retry(f"HTTP {status}", response, parse_retry_after(response.headers.get("retry-after")))
            if status in (502, 504):
                if idempotent:
                    raise _Retry(f"HTTP {status}", response)
                raise OutcomeUnknown(
                    f"{self.service}: {what} got HTTP {status} from a gateway; it may or may not have been "
                    "applied.", status=status,
                )
            return response

        retrying = tenacity.Retrying(
            stop=tenacity.stop_after_attempt(self.retry.max_attempts),
            wait=self._wait,
            retry=tenacity.retry_if_exception_type(_Retry),
            sleep=self.sleep,
            before_sleep=lambda rs: LOG.info(
                "%s: %s: %s; retry %d of %d", self.service, what,
                _reason(rs), rs.attempt_number, self.retry.max_attempts - 1,
            ),
            reraise=True,
        )
        try:
            return retrying(attempt)
        except _Retry as last:
            if last.response is not None:
                return last.response  # the client maps the final status (429 -> Throttled, ...)
            if last.connect is not None:
                raise ServiceError(last.connect.message(self.service, what, self.emulator_url, self.retry.max_attempts),
                                   operation=what) from None
            raise ServiceError(
                f"{self.service}: {what} failed after {self.retry.max_attempts} attempts: {last.reason}. "
                "Check network access to the service and try again.", operation=what,
            ) from None

    def _wait(self, retry_state: tenacity.RetryCallState) -> float:
        exc = retry_state.outcome.exception() if retry_state.outcome else None
        if isinstance(exc, _Retry) and exc.retry_after is not None:
            return min(exc.retry_after, self.retry.max_retry_after)
        backoff = min(self.retry.max_delay, self.retry.base_delay * 2 ** (retry_state.attempt_number - 1))
        return random.uniform(backoff / 2, backoff)  # jitter keeps parallel workers apart


def _reason(retry_state: tenacity.RetryCallState) -> str:
    exc = retry_state.outcome.exception() if retry_state.outcome else None
    return exc.reason if isinstance(exc, _Retry) else str(exc)


def _read(raw: httpx.Response) -> HttpResponse:
    try:
        body = raw.read()
    except httpx.DecodingError:
        # Exchange answers some 403s with NUL bytes declared as gzip (docs/wire/invoke-command.md §6.4): keep the
        # status.
        body = b""
    finally:
        raw.close()
    return HttpResponse(raw.status_code, raw.headers, body, REDACTOR(str(raw.request.url)))
