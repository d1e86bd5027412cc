"""The localhost emulator: a ``FakeTenant`` on the stdlib HTTP server (no dependency beyond Python).

Layout (docs/emulator.md): ``BASE/<service>/<real path>`` goes to
``tenant.dispatch(service, ...)`` with the service root ``BASE/<service>``, so ``@odata.nextLink`` links point
back into the emulator. A small control surface under ``/_emulator/`` lets out-of-process tests and
benchmarks read the request log and inject faults:

- ``GET /_emulator/health`` -> ``{"ok": true}``
- ``GET /_emulator/requests`` -> the request log (service, operation, method, path, status; never bodies or
  credentials)
- ``POST /_emulator/requests/clear``
- ``POST /_emulator/faults`` with ``{"kind","service","operation","status","retry_after","times"}``
- ``POST /_emulator/faults/clear``
- ``GET /_emulator/state`` -> the tenant's whole state (the same JSON as the ``--state`` file)

The server logs nothing per request: request lines would be noise in test output, and headers (which carry
bearer tokens and portal cookies) must never be written anywhere.
"""

from __future__ import annotations

import contextlib
import json
import socket
import sys
import threading
import traceback
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from .base import DropConnection, FakeRequest, FakeResponse, Fault
from .tenant import FakeTenant

CONTROL_PREFIX = "/_emulator"
# How often the serve loop checks for stop(): short, so stopping (each test's teardown) takes milliseconds.
_POLL_INTERVAL = 0.02
FAULT_KINDS = ("status", "throttle", "drop", "drop_after_apply")


class _Server(ThreadingHTTPServer):
    daemon_threads = True  # a hung client connection must not keep the process alive after stop()
    tenant: FakeTenant


class _IPv6Server(_Server):
    address_family = socket.AF_INET6


class _Handler(BaseHTTPRequestHandler):
    # HTTP/1.1 keeps connections alive, as the real services do; every answer carries Content-Length.
    protocol_version = "HTTP/1.1"
    # Headers and body go out in separate writes; with Nagle's algorithm on, the body then waits for the
    # client's delayed ACK (~40 ms per request on keep-alive connections), which would skew benchmarks.
    disable_nagle_algorithm = True
    server: _Server

    # Quiet: no per-request lines on stderr (and so never a header value).
    def log_message(self, format: str, *args: Any) -> None:
        return

    def do_GET(self) -> None:
        self._handle()

    def do_POST(self) -> None:
        self._handle()

    def do_PUT(self) -> None:
        self._handle()

    def do_PATCH(self) -> None:
        self._handle()

    def do_DELETE(self) -> None:
        self._handle()

    # -- plumbing ----------------------------------------------------------------------------------------------

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";", 1)[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline().strip():  # trailers
                        pass
                    break
                chunks.append(self.rfile.read(size))
                self.rfile.readline()  # CRLF after each chunk
            return b"".join(chunks)
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def _send(self, response: FakeResponse) -> None:
        self.send_response(response.status)
        for key, value in response.headers.items():
            if key.lower() not in ("content-length", "connection", "transfer-encoding"):
                self.send_header(key, value)
        self.send_header("Content-Length", str(len(response.body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(response.body)

    def _drop(self) -> None:
        # Close without a response: the client sees the connection end (a "timeout" of the real service).
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)

    def _handle(self) -> None:
        split = urlsplit(self.path)
        body = self._read_body()
        try:
            if split.path == CONTROL_PREFIX or split.path.startswith(CONTROL_PREFIX + "/"):
                self._send(self._control(split.path[len(CONTROL_PREFIX):], body))
                return
            service, _, tail = split.path.lstrip("/").partition("/")
            host = self.headers.get("Host") or _authority(str(self.server.server_address[0]),
                                                          int(self.server.server_address[1]))
            request = FakeRequest(
                method=self.command,
                path="/" + tail,
                # The service root as the client reached it, so nextLinks work behind 0.0.0.0 or a proxy.
                base_url=f"http://{host}/{service}",
                query=dict(parse_qsl(split.query, keep_blank_values=True)),
                headers={k.lower(): v for k, v in self.headers.items()},
                body=body,
            )
            try:
                response = self.server.tenant.dispatch(service, request)
            except DropConnection:
                self._drop()
                return
            self._send(response)
        except Exception as error:  # an emulator bug must answer, not hang the client
            traceback.print_exc(file=sys.stderr)  # a traceback carries no request headers
            self._send(FakeResponse.json(500, {"error": {"code": "EmulatorError", "message": str(error)}}))

    # -- control surface ---------------------------------------------------------------------------------------

    def _control(self, path: str, body: bytes) -> FakeResponse:
        tenant = self.server.tenant
        route = (self.command, path.rstrip("/") or "/")
        if route == ("GET", "/health"):
            return FakeResponse.json(200, {"ok": True})
        if route == ("GET", "/requests"):
            return FakeResponse.json(200, [
                {"service": e.service, "operation": e.operation, "method": e.method, "path": e.path,
                 "status": e.status}
                for e in tenant.log.entries
            ])
        if route == ("POST", "/requests/clear"):
            tenant.log.clear()
            return FakeResponse.json(200, {"ok": True})
        if route == ("POST", "/faults"):
            try:
                fault = add_fault(tenant, json.loads(body.decode("utf-8") or "{}"))
            except (ValueError, TypeError) as error:
                return FakeResponse.json(400, {"error": {"code": "BadRequest", "message": str(error)}})
            return FakeResponse.json(200, {"ok": True, "kind": fault.kind, "service": fault.service,
                                           "operation": fault.operation, "times": fault.times})
        if route == ("POST", "/faults/clear"):
            tenant.faults.clear()
            return FakeResponse.json(200, {"ok": True})
        if route == ("GET", "/state"):
            return FakeResponse.json(200, tenant.to_state())
        return FakeResponse.json(404, {"error": {"code": "NotFound", "message": f"no control route {path!r}"}})


def add_fault(tenant: FakeTenant, spec: dict[str, Any]) -> Fault:
    """Add a fault from its JSON description (the ``POST /_emulator/faults`` body).

    kind: ``status`` (answer ``status``; 429 gets a Retry-After of ``retry_after`` seconds, default 1),
    ``throttle`` (429 with Retry-After), ``drop`` (close before applying), ``drop_after_apply`` (apply, then
    close). ``operation`` is the log's operation label (a cmdlet name); omitted = any request of the service.
    """
    if not isinstance(spec, dict):
        raise TypeError("the fault must be a JSON object")
    kind = spec.get("kind")
    service = spec.get("service")
    if kind not in FAULT_KINDS:
        raise ValueError(f"kind must be one of {', '.join(FAULT_KINDS)}")
    if not isinstance(service, str) or not service:
        raise ValueError("service is required (exchange, compliance, portal, graph)")
    operation = spec.get("operation")
    if operation is not None and not isinstance(operation, str):
        raise ValueError("operation must be a string")
    times = int(spec.get("times", 1))
    if times < 1:
        raise ValueError("times must be at least 1")
    retry_after = int(spec.get("retry_after", 1))
    faults = tenant.faults
    if kind == "throttle" or (kind == "status" and int(spec.get("status", 0)) == 429):
        fault = faults.throttle(service, operation, retry_after=retry_after, times=times)
        # Both answer the same 429; the fault keeps the kind that was asked, which the reply echoes.
        fault.kind = kind
        return fault
    if kind == "status":
        status = int(spec.get("status", 0))
        if not 400 <= status <= 599:
            raise ValueError("status must be an HTTP error status (400-599)")
        fault = faults.unavailable(service, operation, status=status, times=times)
        if "retry_after" in spec:
            fault.headers["Retry-After"] = str(retry_after)
        return fault
    return faults.drop(service, operation, after_apply=kind == "drop_after_apply", times=times)


def _authority(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


class EmulatorServer:
    """The emulator on ``host:port`` (port 0 picks a free port). Use ``start()``/``stop()`` or a ``with``."""

    def __init__(self, tenant: FakeTenant, host: str = "127.0.0.1", port: int = 8765) -> None:
        self.tenant = tenant
        self.host = host
        self.port = port
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._served = False  # shutdown() waits for a serve loop, so only call it when one ran

    def bind(self) -> None:
        """Open the listening socket (idempotent); after this ``url`` shows the real port."""
        if self._server is not None:
            return
        server_class = _IPv6Server if ":" in self.host else _Server
        server = server_class((self.host, self.port), _Handler)
        server.tenant = self.tenant
        self._server = server
        self.port = int(server.server_address[1])

    @property
    def url(self) -> str:
        """Base URL of the emulator, e.g. ``http://127.0.0.1:8765`` (the ``emulatorUrl`` to configure)."""
        return f"http://{_authority(self.host, self.port)}"

    def start(self) -> EmulatorServer:
        """Serve on a background (daemon) thread; returns self."""
        self.bind()
        assert self._server is not None
        if self._thread is None:
            self._thread = threading.Thread(target=self._server.serve_forever, args=(_POLL_INTERVAL,),
                                            name="defender-air-emulator", daemon=True)
            self._served = True
            self._thread.start()
        return self

    def serve_forever(self) -> None:
        """Serve on the calling thread until ``stop()`` from another thread (or KeyboardInterrupt)."""
        self.bind()
        assert self._server is not None
        self._served = True
        try:
            self._server.serve_forever(_POLL_INTERVAL)
        finally:
            self._server.server_close()

    def stop(self) -> None:
        server, thread = self._server, self._thread
        if server is None:
            return
        if self._served:
            server.shutdown()  # returns once serve_forever has left its loop (on whichever thread)
        if thread is not None:
            thread.join()
        server.server_close()
        self._server = None
        self._thread = None
        self._served = False

    def __enter__(self) -> EmulatorServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
