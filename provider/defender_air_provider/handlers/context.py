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
from functools import cached_property

from ..clients.alert_policies import AlertPoliciesClient
from ..clients.compliance import regional_base_url
from ..clients.invoke_command import InvokeCommandClient
from ..clients.presets import PresetRulesClient
from ..core.credentials import TokenSource, token_source_for
from ..core.http import HttpClient, RetryPolicy
from ..core.redaction import REDACTOR, get_logger
from ..core.settings import Settings

LOG = get_logger()

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
                 page_size: int = 1000) -> None:
        self.settings = settings
        self.tokens = tokens or token_source_for(settings)
        self.sleep = sleep
        self.retry = retry or RetryPolicy()
        self.page_size = page_size
        REDACTOR.add(*settings.secrets())

    @cached_property
    def exchange_http(self) -> HttpClient:
        return HttpClient(service="Exchange Online admin API", tokens=self.tokens,
                          scope=self.settings.cloud.exchange_scope, retry=self.retry, sleep=self.sleep)

    @cached_property
    def exchange(self) -> InvokeCommandClient:
        return InvokeCommandClient(
            self.exchange_http, base_url=self.settings.cloud.exchange,
            tenant_id=self.settings.require_tenant_id(), service="Exchange Online",
            permission_hint=EXCHANGE_PERMISSION_HINT, page_size=self.page_size,
            on_warning=lambda text: LOG.warning("%s", text),
        )

    @cached_property
    def presets(self) -> PresetRulesClient:
        return PresetRulesClient(self.exchange)

    @cached_property
    def compliance(self) -> InvokeCommandClient:
        cloud = self.settings.cloud
        http = HttpClient(service="Security & Compliance admin API", tokens=self.tokens,
                          scope=cloud.compliance_scope, retry=self.retry, sleep=self.sleep)
        return InvokeCommandClient(
            http, base_url=cloud.compliance, tenant_id=self.settings.require_tenant_id(),
            service="Security & Compliance", permission_hint=COMPLIANCE_PERMISSION_HINT,
            page_size=self.page_size, on_warning=lambda text: LOG.warning("%s", text),
            # Under the emulator BASE/compliance is the regional host already: no discovery (contract).
            follow_region=None if self.settings.emulated else (
                lambda location: regional_base_url(location, cloud.compliance)),
        )

    @cached_property
    def alert_policies(self) -> AlertPoliciesClient:
        return AlertPoliciesClient(self.compliance, sleep=self.sleep)


_LOCK = threading.Lock()
_CONTEXT: ProviderContext | None = None


def configure(config: Mapping[str, object]) -> None:
    """Called from every provider's ``configure``: (re)build the context from stack config + environment."""
    global _CONTEXT
    settings = Settings.load(config)
    with _LOCK:
        if _CONTEXT is None or _CONTEXT.settings != settings:
            _CONTEXT = ProviderContext(settings)


def current() -> ProviderContext:
    """The context; without ``configure`` (older engines) it is built from the environment alone."""
    global _CONTEXT
    with _LOCK:
        if _CONTEXT is None:
            _CONTEXT = ProviderContext(Settings.load({}))
        return _CONTEXT


def install(context: ProviderContext | None) -> None:
    """Tests: use this context (None: forget it)."""
    global _CONTEXT
    with _LOCK:
        _CONTEXT = context
