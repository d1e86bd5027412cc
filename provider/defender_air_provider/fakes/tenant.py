"""A fake Microsoft 365 tenant: the service fakes behind their URL prefixes, with shared faults and log.

The prefixes are the emulator URL layout of the contract (``BASE/exchange``, ``BASE/compliance``,
``BASE/portal``, ``BASE/graph``). ``dispatch`` is the single entry point used by both adapters, so the
in-process tests (respx) and the emulator see exactly the same behaviour.
"""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path
from typing import Any

from .base import (
    BearerAuth,
    DropConnection,
    FakeRequest,
    FakeResponse,
    Faults,
    RecordedRequest,
    RequestLog,
    ServiceFake,
)
from .compliance import ComplianceFake
from .exchange import ExchangeFake
from .graph import GraphFake
from .portal import PortalFake


class StateFileError(ValueError):
    """The emulator's ``--state`` file can't be used: unreadable, not the JSON state the emulator writes, or in a
    folder that does not exist. The message is one line that names the file and what to do."""


class FakeTenant:
    """All fakes of one tenant.

    ``scenario`` picks the Exchange seed (see ``ExchangeFake.SCENARIOS``). The ``compliance_*`` flags set up the
    Security & Compliance fake: ``compliance_e5`` (False = a tenant without Office 365 E5, where only
    single-event alert policies can be created), ``compliance_region`` (where region discovery redirects) and
    ``compliance_discovery_fails`` (the front door's failed lookup). ``graph_licences`` picks Graph's licence
    seed: ``e5`` (Microsoft 365 E5, the app a Security Administrator) or ``e3`` (Microsoft 365 E3).
    A state file, when present, wins over them.
    ``read_only`` makes the caller a read-only identity (the app and the portal's signed-in user hold Global Reader):
    every read answers as usual and every write is refused as each service refuses a role that lacks it (see
    ``set_read_only``).
    ``portal`` (device groups, advanced features, tenant context) and ``graph`` (Entra groups) start from their seeds;
    tune them by attribute.
    """

    def __init__(self, scenario: str = "presets_on", state_file: str | Path | None = None, *,
                 compliance_e5: bool = True, compliance_region: str = "nam13b",
                 compliance_discovery_fails: bool = False, graph_licences: str = "e5", read_only: bool = False) -> None:
        self.faults = Faults()
        self.log = RequestLog()
        self.auth = BearerAuth()
        self.exchange = ExchangeFake(scenario=scenario)
        self.compliance = ComplianceFake(e5=compliance_e5, region=compliance_region,
                                         discovery_fails=compliance_discovery_fails)
        # The Defender portal (device groups, advanced features, tenant context; cookie session, no bearer token) and
        # the Microsoft Graph subset that resolves Entra groups. Tune them through their attributes and helpers (e.g.
        # ``tenant.portal.propagation_reads``, ``tenant.portal.edit_tenant_context(MdeFlavor="P1")``).
        self.portal = PortalFake()
        self.graph = GraphFake(licences=graph_licences)
        if graph_licences == "e3":
            # One tenant, one story: with Microsoft 365 E3 only (Defender for Endpoint P1, no Defender for Office 365
            # P2 or Defender for Identity) the portal's tenant context shows the same workloads (flags of
            # docs/wire/defender-portal.md §7; their values for an E3 tenant are [inference]).
            self.portal.edit_tenant_context(MdeFlavor="P1", IsOatpActive=False, IsMdiActive=False, IsItpActive=False)
        self.services: dict[str, ServiceFake] = {"exchange": self.exchange, "compliance": self.compliance,
                                                 "portal": self.portal, "graph": self.graph}
        if read_only:
            self.set_read_only()
        self._state_file = Path(state_file) if state_file else None
        self._state_lock = threading.Lock()
        if self._state_file is not None:
            self._open_state_file(self._state_file)

    def _open_state_file(self, path: Path) -> None:
        """Load ``path`` when it exists, else check it can be written; raise ``StateFileError`` otherwise.

        Checked here, before serving: a state file that can't be written would only fail at the first write
        request, after the in-memory tenant had changed (a 500 on every write, and the state lost on restart).
        A missing folder is refused, not created: it is more often a mistyped path than a wish for a new folder.
        """
        if path.is_dir():
            raise StateFileError(f"state file {path} is a folder; give a file path, e.g. {path / 'tenant.json'}")
        if not path.exists():
            folder = path.parent
            if not folder.is_dir():
                raise StateFileError(f"state file {path}: the folder {folder} does not exist; create it first "
                                     "or choose another path")
            if not os.access(folder, os.W_OK | os.X_OK):
                raise StateFileError(f"state file {path}: the folder {folder} is not writable")
            return
        # An existing file too: each save writes a temporary file beside it and renames it over the file.
        if not os.access(path.parent, os.W_OK | os.X_OK):
            raise StateFileError(f"state file {path}: the folder {path.parent} is not writable (each save writes a "
                                 "temporary file there)")
        try:
            state = json.loads(path.read_text(encoding="utf-8"))
        except OSError as error:
            raise StateFileError(f"cannot read state file {path}: {error.strerror or error}") from error
        except (UnicodeDecodeError, json.JSONDecodeError) as error:
            detail = f"line {error.lineno} column {error.colno}: {error.msg}" \
                if isinstance(error, json.JSONDecodeError) else "not UTF-8 text"
            raise StateFileError(f"state file {path} is not valid JSON ({detail}); fix it, or delete it to start "
                                 "from the seed") from error
        if not isinstance(state, dict):
            raise StateFileError(f"state file {path} is not an emulator state (a JSON object keyed by service); "
                                 "delete it to start from the seed")
        try:
            self.load_state(state)
        except (KeyError, TypeError, ValueError, AttributeError) as error:
            # The fakes' loaders trust the shape they write; anything else is a hand-edited or foreign file.
            raise StateFileError(f"state file {path} is not an emulator state ({type(error).__name__}: {error}); "
                                 "delete it to start from the seed") from error

    def set_read_only(self, read_only: bool = True) -> None:
        """The caller holds a read-only role (Global Reader) on every backend, or no longer (``False``):

        - Exchange Online: the write cmdlets are "not recognized" for the caller, the same NUL-byte 403 as an unknown
          cmdlet (docs/wire/exchange-online.md §7, docs/wire/invoke-command.md §6.4);
        - Security & Compliance: the write cmdlets answer its 403 naming the cmdlet ([inference], see
          ``ComplianceResponse.lookup_cmdlet``);
        - Defender portal: 403 on every PUT/POST while GETs pass (docs/wire/defender-portal.md §2.8: "403 Forbidden
          ... means authenticated but unauthorized"; the body is ``portal.exceptions.Forbidden``'s [inference]);
        - Microsoft Graph: the fake serves reads only (no write is modelled, and the provider sends none).
        """
        self.exchange.read_only = read_only
        self.compliance.read_only = read_only
        if read_only:
            self.portal.forbid(writes_only=True)
        else:
            self.portal.permit()

    def dispatch(self, service: str, request: FakeRequest) -> FakeResponse:
        """Answer one request for ``service`` (a prefix without slash), applying auth, faults and the log."""
        fake = self.services.get(service)
        if fake is None:
            return FakeResponse.json(404, {"error": {"code": "NotFound", "message": f"no service {service!r}"}})
        operation = fake.operation(request)
        status = 0
        try:
            response = self._answer(service, fake, operation, request)
            status = response.status
            return response
        finally:
            self.log.record(RecordedRequest(
                service, operation, request.method, request.path, status, request.body,
                request.header("authorization"), request.header("cookie"),
            ))

    def _answer(self, service: str, fake: ServiceFake, operation: str, request: FakeRequest) -> FakeResponse:
        fault = self.faults.take(service, operation)
        if fault is not None and fault.kind == "drop":
            raise DropConnection(applied=False)
        if fault is not None and fault.kind in ("status", "throttle"):
            return FakeResponse(fault.status, dict(fault.headers), fault.body)
        # The portal authenticates with its own cookie session (PortalFake), not with a bearer token.
        denied = self.auth.rejects(request) if service != "portal" else None
        if denied is not None:
            return denied
        response = fake.handle(request)
        if request.method != "GET":
            self.save_state()
        if fault is not None and fault.kind == "drop_after_apply":
            raise DropConnection(applied=True)
        return response

    def to_state(self) -> dict[str, Any]:
        return {name: fake.to_state() for name, fake in self.services.items()}

    def load_state(self, state: dict[str, Any]) -> None:
        for name, fake in self.services.items():
            if name in state:
                fake.load_state(state[name])

    def save_state(self) -> None:
        """Write the state file (emulator ``--state``), atomically, after every write request."""
        if self._state_file is None:
            return
        with self._state_lock:
            tmp = self._state_file.with_suffix(self._state_file.suffix + ".tmp")
            tmp.write_text(json.dumps(self.to_state(), indent=1, ensure_ascii=False), encoding="utf-8")
            tmp.replace(self._state_file)
