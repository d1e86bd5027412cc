"""Process-wide provider context: settings and API clients, built once from ``configure``.

Provider objects hold no state (they are pickled by reference into every resource's ``__provider``), so
settings, credentials and HTTP clients live here, in the provider process's memory only. The dynamic
provider server calls ``configure`` once per distinct ``__provider``; every resource class shares this
context. Tests install their own context (fake token source, no sleeping) with ``install``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from ..clients.advanced_features import AdvancedFeaturesClient, AdvancedFeaturesStore
from ..clients.alert_policies import AlertPoliciesClient
from ..clients.compliance import regional_base_url
from ..clients.device_groups import SESSION_PROCEDURE, DeviceGroupStore, MachineGroupsClient, PortalSession
from ..clients.entra_groups import EntraGroupResolver
from ..clients.invoke_command import InvokeCommandClient
from ..clients.presets import PresetRulesClient
from ..core.credentials import TokenSource, token_source_for
from ..core.errors import ConfigurationError
from ..core.http import HttpClient, RetryPolicy
from ..core.redaction import REDACTOR, get_logger
from ..core.settings import InvalidConfiguration, Settings

LOG = get_logger()
T = TypeVar("T")

EXCHANGE_PERMISSION_HINT = (
    "The app registration needs the Office 365 Exchange Online application permission Exchange.ManageAsApp "
    "(with admin consent) and its service principal needs the Entra role Security Administrator (or Exchange "
    "Administrator). A 403 also answers cmdlets the tenant's licence does not include."
)


COMPLIANCE_PERMISSION_HINT = (
    "The app registration needs the Office 365 Exchange Online application permission Exchange.ManageAsApp "
    "(with admin consent) and its service principal needs the Entra role Security Administrator (or Compliance "
    "Administrator); alert policies need the Organization Management or Security Administrator role group."
)


class ProviderContext:
    """Settings plus lazily built clients; thread-safe (gRPC worker threads share it)."""

    def __init__(self, settings: Settings, *, tokens: TokenSource | None = None,
                 sleep: Callable[[float], None] = time.sleep, retry: RetryPolicy | None = None,
                 page_size: int = 1000, clock: Callable[[], float] = time.monotonic) -> None:
        self.settings = settings
        self.tokens = tokens or token_source_for(settings)
        self.sleep = sleep
        self.clock = clock  # the read caches' and the device-group store's idea of "how old is this view"
        self.retry = retry or RetryPolicy()
        self.page_size = page_size
        # Clients are built on first use, once: gRPC worker threads race for them (functools.cached_property has
        # no lock from Python 3.12, and a second DeviceGroupStore would break the one-writer rule).
        self._lock = threading.RLock()
        self._built: dict[str, Any] = {}
        REDACTOR.add(*settings.secrets())

    def _once(self, name: str, build: Callable[[], T]) -> T:
        with self._lock:
            if name not in self._built:
                self._built[name] = build()
            return self._built[name]

    @property
    def exchange_http(self) -> HttpClient:
        return self._once("exchange_http", self._build_exchange_http)

    def _build_exchange_http(self) -> HttpClient:
        return self._http("Exchange Online admin API", self.settings.cloud.exchange_scope)

    def _http(self, service: str, scope: str | None) -> HttpClient:
        """A client for one backend with this context's retries, sleep and emulator; a bearer token for ``scope``
        (None: the portal, which is cookie-authenticated)."""
        return HttpClient(service=service, tokens=self.tokens if scope else None, scope=scope, retry=self.retry,
                          sleep=self.sleep, emulator_url=self.settings.emulator_url)

    @property
    def exchange(self) -> InvokeCommandClient:
        return self._once("exchange", self._build_exchange)

    def _build_exchange(self) -> InvokeCommandClient:
        return InvokeCommandClient(
            self.exchange_http, base_url=self.settings.cloud.exchange,
            tenant_id=self.settings.require_tenant_id(), service="Exchange Online",
            permission_hint=EXCHANGE_PERMISSION_HINT, page_size=self.page_size, on_warning=_warn,
        )

    @property
    def presets(self) -> PresetRulesClient:
        return self._once("presets", self._build_presets)

    def _build_presets(self) -> PresetRulesClient:
        return PresetRulesClient(self.exchange)

    @property
    def compliance(self) -> InvokeCommandClient:
        return self._once("compliance", self._build_compliance)

    def _build_compliance(self) -> InvokeCommandClient:
        cloud = self.settings.cloud
        return InvokeCommandClient(
            self._http("Security & Compliance admin API", cloud.compliance_scope), base_url=cloud.compliance,
            tenant_id=self.settings.require_tenant_id(), service="Security & Compliance",
            permission_hint=COMPLIANCE_PERMISSION_HINT, page_size=self.page_size, on_warning=_warn,
            # Under the emulator BASE/compliance is the regional host already: no discovery (contract).
            follow_region=None if self.settings.emulated else (
                lambda location: regional_base_url(location, cloud.compliance_regional_domain)),
        )

    @property
    def device_groups(self) -> DeviceGroupStore:
        return self._once("device_groups", self._build_device_groups)

    def _build_device_groups(self) -> DeviceGroupStore:
        client = MachineGroupsClient(self.portal_http, base_url=self.settings.cloud.portal,
                                     session=self.portal_session("Device groups"))
        return DeviceGroupStore(client, sleep=self.sleep, clock=self.clock)

    @property
    def advanced_features(self) -> AdvancedFeaturesStore:
        return self._once("advanced_features", self._build_advanced_features)

    def _build_advanced_features(self) -> AdvancedFeaturesStore:
        client = AdvancedFeaturesClient(self.portal_http, base_url=self.settings.cloud.portal,
                                        session=self.portal_session("Endpoint advanced features"))
        return AdvancedFeaturesStore(client, sleep=self.sleep)

    @property
    def portal_http(self) -> HttpClient:
        return self._once("portal_http", lambda: self._http("Defender portal", None))

    def portal_session(self, what: str) -> PortalSession | None:
        """The one cookie session every portal client shares (the portal rotates XSRF-TOKEN on writes, so two
        copies would go stale). Under the emulator no session is sent (contract)."""
        if self.settings.emulated:
            return None
        session = self._once("portal_session", lambda: PortalSession(self.settings.portal_session))
        problem = missing_session(session)
        if problem is not None:
            raise ConfigurationError(f"{what}: {problem}")
        return session

    @property
    def entra_groups(self) -> EntraGroupResolver:
        return self._once("entra_groups", self._build_entra_groups)

    def _build_entra_groups(self) -> EntraGroupResolver:
        return EntraGroupResolver(self.tokens, graph_base=self.settings.cloud.graph,
                                  scope=self.settings.cloud.graph_scope, emulator_url=self.settings.emulator_url)

    @property
    def alert_policies(self) -> AlertPoliciesClient:
        return self._once("alert_policies", self._build_alert_policies)

    def _build_alert_policies(self) -> AlertPoliciesClient:
        return AlertPoliciesClient(self.compliance, sleep=self.sleep, clock=self.clock)


def _warn(text: str) -> None:
    """A service's warning (``adminapi.warnings``), shown by `pulumi up`."""
    LOG.warning("%s", text)


def missing_session(session: PortalSession) -> str | None:
    """What is missing from a Defender portal session and how to get one; None when it has both cookies. The one
    wording, for a failed step and for a check in preview (``configuration_problems``)."""
    missing = session.missing()
    if not missing:
        return None
    return (f"No Defender portal session (the sccauth and XSRF-TOKEN cookies; missing: {', '.join(missing)}). "
            f"{SESSION_PROCEDURE} Or set DEFENDER_AIR_PORTAL_SESSION; for the local emulator, set "
            "defender-air:emulatorUrl instead.")


_LOCK = threading.Lock()
_CONTEXT: ProviderContext | None = None
# Why the last ``configure`` refused the configuration (None: it did not). Kept rather than raised from
# ``configure``: pulumi.dynamic calls ``configure`` inside the first Check and turns an exception into a gRPC error
# whose text is a whole Python traceback; kept here, every ``check`` reports it as a plain check failure (what
# `pulumi preview` prints cleanly, with no network call), and every other step raises it (``current``).
_REFUSED: ConfigurationError | None = None

_CONFIGURED = False  # ``configure`` has run (the engine's path), so what each resource needs can be checked
_ANNOUNCED: set[str] = set()  # emulator URLs this process has named on stderr already


def _announce(settings: Settings) -> None:
    """Say once per provider process that the emulator is in use (a leftover DEFENDER_AIR_EMULATOR_URL must not go
    unnoticed, issue 10). The engine calls ``configure`` once per resource type, so this is called several times;
    the log reaches stderr through the provider's one handler (``core/redaction.py: get_logger``)."""
    if settings.emulator_url is None or settings.emulator_url in _ANNOUNCED:
        return
    _ANNOUNCED.add(settings.emulator_url)
    LOG.warning("using the emulator at %s, not Microsoft's services (defender-air:emulatorUrl or "
                "DEFENDER_AIR_EMULATOR_URL is set)", settings.emulator_url)


def configure(config: Mapping[str, object]) -> None:
    """Called from every provider's ``configure``: (re)build the context from stack config + environment."""
    global _CONTEXT, _REFUSED, _CONFIGURED
    try:
        settings = Settings.load(config)
    except ConfigurationError as exc:
        with _LOCK:
            _REFUSED, _CONTEXT = exc, None
        return
    with _LOCK:
        _REFUSED, _CONFIGURED = None, True
        if _CONTEXT is None or _CONTEXT.settings != settings:
            _CONTEXT = ProviderContext(settings)
        _announce(settings)


def configuration_problems(needs: tuple[str, ...] = ()) -> list[str]:
    """One sentence per problem of the configuration ``configure`` refused; empty when there is none.

    ``needs`` names what the resource's backend requires beyond a valid configuration: ``tenant`` (the admin APIs
    are addressed by the tenant id) and ``portal`` (a Defender portal session). Those are reported only once the
    engine has configured the provider (not for a bare ``check`` in a test) and never under the emulator, so that
    `pulumi preview` already fails where `pulumi up` would, with no network call.
    """
    with _LOCK:
        refused, context = _REFUSED, _CONTEXT
    if refused is not None:
        return list(refused.problems)
    if context is None or not _CONFIGURED or context.settings.emulated:
        return []
    settings, problems = context.settings, []
    if "tenant" in needs:
        try:
            settings.require_tenant_id()
        except ConfigurationError as exc:
            problems.append(str(exc))
    if "portal" in needs:
        problem = missing_session(PortalSession(settings.portal_session))
        if problem is not None:
            problems.append(problem)
    return problems


def current() -> ProviderContext:
    """The context; without ``configure`` (older engines) it is built from the environment alone."""
    global _CONTEXT
    with _LOCK:
        if _REFUSED is not None:
            # A new error each time: the kept one is shared by the worker threads, and raising it again would chain
            # every step's traceback onto it.
            raise (InvalidConfiguration(list(_REFUSED.problems)) if isinstance(_REFUSED, InvalidConfiguration)
                   else ConfigurationError(str(_REFUSED)))
        if _CONTEXT is None:
            _CONTEXT = ProviderContext(Settings.load({}))
            _announce(_CONTEXT.settings)
        return _CONTEXT


def install(context: ProviderContext | None) -> None:
    """Tests: use this context (None: forget it)."""
    global _CONTEXT, _REFUSED, _CONFIGURED
    with _LOCK:
        _CONTEXT, _REFUSED, _CONFIGURED = context, None, False
