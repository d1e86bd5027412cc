"""Shared plumbing of the service fakes: request/response records, fault injection, request log, auth.

The fakes are written from ``docs/wire`` (not from our clients), so a misunderstanding in a client
cannot be mirrored by its fake. This module imports nothing of the clients, handlers or core.

A fake service is a backend model (state and rules) behind a thin ``handle(FakeRequest) -> FakeResponse``.
Two adapters put the same fake on the wire: ``tests/fakes_transport.py`` (respx, in-process; test-only, so the
installed package never needs respx) and ``server.py``
(the localhost emulator).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol


@dataclass
class FakeRequest:
    """One HTTP request as a fake service sees it.

    ``path`` is relative to the service root (``/adminapi/beta/<tenant>/InvokeCommand``), ``base_url`` is
    the absolute URL of that root as the client reached it (used to build ``@odata.nextLink``).
    ``headers`` keys are lower-case.
    """

    method: str
    path: str
    base_url: str
    query: dict[str, str] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""

    def json(self) -> Any:
        return json.loads(self.body.decode("utf-8")) if self.body else None

    def header(self, name: str, default: str | None = None) -> str | None:
        return self.headers.get(name.lower(), default)


@dataclass
class FakeResponse:
    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""

    @classmethod
    def json(cls, status: int, payload: Any, headers: Mapping[str, str] | None = None) -> FakeResponse:
        merged = {"content-type": "application/json; charset=utf-8", **dict(headers or {})}
        return cls(status, merged, json.dumps(payload).encode("utf-8"))


class DropConnection(Exception):
    """The connection is closed without a response.

    ``applied`` says whether the service had already carried out the request (a timeout after the write).
    The respx adapter raises ``httpx.ReadTimeout`` when applied, ``httpx.ConnectError`` otherwise; the
    emulator closes the socket.
    """

    def __init__(self, applied: bool) -> None:
        super().__init__("connection dropped" + (" after the request was applied" if applied else ""))
        self.applied = applied


class ServiceFake(Protocol):
    """What a fake service exposes to the tenant router."""

    name: str

    def operation(self, request: FakeRequest) -> str:
        """A short label for the request log and fault matching (a cmdlet name, ``GET machine_groups``)."""
        ...

    def handle(self, request: FakeRequest) -> FakeResponse: ...

    def to_state(self) -> dict[str, Any]: ...

    def load_state(self, state: dict[str, Any]) -> None: ...


@dataclass
class Fault:
    """One injected fault.

    kind: ``status`` (answer ``status`` with ``body``/``headers`` without applying), ``throttle`` (the same, as a
    429 with Retry-After: its own kind, so the control surface reports what was asked), ``drop`` (close the
    connection before applying), ``drop_after_apply`` (apply, then close the connection: a timeout after
    the service applied a write).
    """

    kind: str
    service: str | None  # a FakeTenant service name; None = every service (one count across them all)
    operation: str | None = None  # case-insensitive exact match on ServiceFake.operation(); None = any
    status: int = 0
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    times: int = 1
    every: int = 1  # fire on every n-th matching request only (spread faults over a run, e.g. benchmarks)
    seen: int = 0

    def matches(self, service: str, operation: str) -> bool:
        return (self.service is None or self.service == service) and (
            self.operation is None or self.operation.lower() == operation.lower()
        )


class Faults:
    """Thread-safe queue of injected faults; each fault fires ``times`` times, then is gone."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: list[Fault] = []

    def add(self, fault: Fault) -> Fault:
        with self._lock:
            self._faults.append(fault)
        return fault

    def throttle(self, service: str | None, operation: str | None = None, *, retry_after: int = 1,
                 times: int = 1, every: int = 1) -> Fault:
        body = json.dumps({"error": {"code": "TooManyRequests", "message": "Too many requests"}}).encode()
        return self.add(Fault("throttle", service, operation, 429, {"Retry-After": str(retry_after),
                                                                   "content-type": "application/json"},
                              body, times, every))

    def unavailable(self, service: str, operation: str | None = None, *, status: int = 503,
                    times: int = 1) -> Fault:
        return self.add(Fault("status", service, operation, status, {"content-type": "text/plain"},
                              b"Service Unavailable", times))

    def drop(self, service: str, operation: str | None = None, *, after_apply: bool = False,
             times: int = 1) -> Fault:
        return self.add(Fault("drop_after_apply" if after_apply else "drop", service, operation, times=times))

    def take(self, service: str, operation: str) -> Fault | None:
        with self._lock:
            for fault in self._faults:
                if fault.matches(service, operation):
                    fault.seen += 1
                    if fault.seen % fault.every:
                        continue
                    fault.times -= 1
                    if fault.times <= 0:
                        self._faults.remove(fault)
                    return fault
        return None

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    def pending(self) -> int:
        with self._lock:
            return sum(f.times for f in self._faults)


@dataclass(frozen=True)
class RecordedRequest:
    service: str
    operation: str
    method: str
    path: str
    status: int  # 0 when the connection was dropped
    body: bytes = b""
    authorization: str | None = None
    cookie: str | None = None


class RequestLog:
    """Every request that reached a fake, in order (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: list[RecordedRequest] = []

    def record(self, entry: RecordedRequest) -> None:
        with self._lock:
            self._entries.append(entry)

    @property
    def entries(self) -> list[RecordedRequest]:
        with self._lock:
            return list(self._entries)

    def count(self, service: str | None = None, operation: str | None = None) -> int:
        return sum(
            1 for e in self.entries
            if (service is None or e.service == service)
            and (operation is None or e.operation.lower() == operation.lower())
        )

    def operations(self, service: str | None = None) -> list[str]:
        return [e.operation for e in self.entries if service is None or e.service == service]

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


class BearerAuth:
    """Bearer-token check shared by the token-authenticated fakes.

    Any non-empty bearer token is accepted (the emulator needs no credential) unless it was revoked, which
    is how tests make a token "expire". The real services answer 401 for a missing or expired token
    (docs/wire/invoke-command.md §6.4: "401 when the app has no role"); the body shape for an expired token is not in
    the notes, so the one used by the fakes is an inference.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._revoked: set[str] = set()

    def revoke(self, token: str) -> None:
        with self._lock:
            self._revoked.add(token)

    def rejects(self, request: FakeRequest) -> FakeResponse | None:
        value = request.header("authorization") or ""
        scheme, _, token = value.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return _unauthorized("The request has no bearer token.")
        with self._lock:
            if token in self._revoked:
                return _unauthorized("The access token has expired.")
        return None


def _unauthorized(message: str) -> FakeResponse:
    # [inference] shape of the 401 body; the notes only give the status code.
    return FakeResponse.json(
        401,
        {"error": {"code": "Unauthorized", "message": message}},
        {"WWW-Authenticate": 'Bearer error="invalid_token"'},
    )
