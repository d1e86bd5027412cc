"""Access tokens, one per audience, cached and refreshed before they expire.

``TokenSource`` is the interface the HTTP layer uses, so tests inject a fake one. The real one wraps
azure-identity's *synchronous* credentials (its async ones need aiohttp; our CRUD methods are sync). Which
credential is used is decided once, in ``choose_credential``, in this order (docs/configuration.md, "CI
pipelines"):

1. client secret, 2. client certificate (explicit configuration always wins);
3. ``AZURE_FEDERATED_TOKEN_FILE`` (a token file someone wrote on purpose: Kubernetes, a custom CI step);
4. GitHub Actions OIDC (the runner's token endpoint; the token is fetched fresh for every Entra request);
5. an Azure Pipelines workload identity service connection;
6. ``DefaultAzureCredential`` (environment, workload identity, managed identity, Azure CLI).

3 to 5 need a client id and a tenant id; without them the default chain is used (for example the Azure CLI
session that ``azure/login`` or the ``AzureCLI@2`` task left behind).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import quote

import httpx
import tenacity

from .errors import AuthenticationError, ConfigurationError
from .redaction import REDACTOR, get_logger
from .settings import Settings

LOG = get_logger()

# Refresh this long before expiry so a token never expires in flight.
REFRESH_MARGIN_SECONDS = 300


class TokenSource(Protocol):
    def token(self, scope: str, *, force_refresh: bool = False) -> str:
        """A bearer token for ``scope`` (``https://host/.default``); ``force_refresh`` after a 401."""
        ...


@dataclass
class _Cached:
    token: str
    expires_on: float


class EmulatorTokenSource:
    """Under the emulator no credential is needed: a placeholder bearer token (contract)."""

    def token(self, scope: str, *, force_refresh: bool = False) -> str:
        return "emulator-placeholder-token"


class AzureIdentityTokenSource:
    """Tokens from azure-identity, cached per scope; thread-safe (gRPC worker threads share it)."""

    def __init__(self, settings: Settings, credential: Any | None = None, *,
                 credential_options: Mapping[str, Any] | None = None) -> None:
        self._settings = settings
        self._credential = credential
        self._credential_options = dict(credential_options or {})
        self._lock = threading.Lock()
        self._cache: dict[str, _Cached] = {}

    def token(self, scope: str, *, force_refresh: bool = False) -> str:
        with self._lock:
            cached = self._cache.get(scope)
            if cached and not force_refresh and cached.expires_on - time.time() > REFRESH_MARGIN_SECONDS:
                return cached.token
            try:
                credential = self._credential or self._build_credential()
                self._credential = credential
                access = credential.get_token(scope, tenant_id=self._settings.tenant_id)
            except ConfigurationError:
                raise
            except Exception as exc:  # azure-identity raises several types; all mean "no token"
                raise AuthenticationError(
                    f"Could not get a token for {scope} from Microsoft Entra ID: {REDACTOR(str(exc))}. "
                    "Check defender-air:tenantId/clientId and the credential (client secret, certificate, "
                    "workload identity or `az login`)."
                ) from None
            REDACTOR.add(access.token)
            self._cache[scope] = _Cached(access.token, float(access.expires_on))
            return access.token

    def _build_credential(self) -> Any:
        plan = choose_credential(self._settings)
        REDACTOR.add(*self._settings.secrets())
        # Names the credential, never a secret: client and tenant ids are identifiers, not credentials, and say
        # which federated credential Entra ID will look for.
        s = self._settings
        who = f" as app {s.client_id} in tenant {s.tenant_id}" if s.client_id and s.tenant_id else ""
        LOG.info("Signing in to Microsoft Entra ID with %s (%s)%s%s.", plan.kind, plan.credential_class, who,
                 f"; {plan.note}" if plan.note else "")
        return build_credential(plan, self._settings, self._credential_options)


# What each credential is called in messages: the user's words first, azure-identity's class second.
CLIENT_SECRET = "a client secret"
CERTIFICATE = "a client certificate"
TOKEN_FILE = "a federated token file (AZURE_FEDERATED_TOKEN_FILE)"
GITHUB_ACTIONS = "GitHub Actions OIDC"
AZURE_PIPELINES = "an Azure Pipelines service connection"
DEFAULT_CHAIN = "the azure-identity default chain"


@dataclass(frozen=True)
class CredentialPlan:
    """Which credential the settings select, and why (``note``: a CI path that was seen but could not be used)."""

    kind: str
    credential_class: str
    note: str = ""


def choose_credential(settings: Settings) -> CredentialPlan:
    """The precedence order of the module docstring. Pure: no I/O, so it is tested and documented exactly."""
    s = settings
    if s.client_secret or s.client_certificate_path:
        if not (s.tenant_id and s.client_id):
            raise ConfigurationError(
                "A client secret or certificate needs defender-air:tenantId and defender-air:clientId "
                "(or AZURE_TENANT_ID and AZURE_CLIENT_ID)."
            )
        if s.client_secret:
            return CredentialPlan(CLIENT_SECRET, "ClientSecretCredential")
        return CredentialPlan(CERTIFICATE, "CertificateCredential")
    ids = bool(s.tenant_id and s.client_id)
    missing_ids = "defender-air:clientId and defender-air:tenantId (AZURE_CLIENT_ID, AZURE_TENANT_ID) are not both set"
    skipped: list[str] = []
    if s.federated_token_file:
        if ids:
            return CredentialPlan(TOKEN_FILE, "WorkloadIdentityCredential")
        skipped.append("AZURE_FEDERATED_TOKEN_FILE")
    if s.actions_id_token_request_url and s.actions_id_token_request_token:
        if ids:
            return CredentialPlan(GITHUB_ACTIONS, "ClientAssertionCredential")
        skipped.append("GitHub Actions OIDC")
    if s.azure_pipelines_service_connection_id and s.system_access_token:
        if ids:
            return CredentialPlan(AZURE_PIPELINES, "AzurePipelinesCredential")
        skipped.append("the Azure Pipelines service connection")
    note = f"{' and '.join(skipped)} not used: {missing_ids}" if skipped else ""
    return CredentialPlan(DEFAULT_CHAIN, "DefaultAzureCredential", note)


def build_credential(plan: CredentialPlan, settings: Settings, options: Mapping[str, Any] | None = None) -> Any:
    """The azure-identity credential of ``plan``.

    ``options`` are extra keyword arguments for the credential (tests point ``authority`` at a loopback Entra
    fake and pass ``connection_verify``; azure-identity accepts only https authorities).
    """
    # Imported here: azure-identity is slow to import and check/diff never need it (cold start).
    from azure import identity

    s = settings
    kwargs: dict[str, Any] = {"authority": s.cloud.authority_host} if s.cloud.authority_host else {}
    kwargs.update(options or {})
    tenant_id, client_id = s.tenant_id or "", s.client_id or ""
    if plan.kind == CLIENT_SECRET:
        return identity.ClientSecretCredential(tenant_id, client_id, s.client_secret or "", **kwargs)
    if plan.kind == CERTIFICATE:
        return identity.CertificateCredential(tenant_id, client_id, certificate_path=s.client_certificate_path,
                                              **kwargs)
    if plan.kind == TOKEN_FILE:
        return identity.WorkloadIdentityCredential(tenant_id=tenant_id, client_id=client_id,
                                                   token_file_path=s.federated_token_file, **kwargs)
    if plan.kind == GITHUB_ACTIONS:
        id_token = GitHubActionsIdToken(s.actions_id_token_request_url or "", s.actions_id_token_request_token or "",
                                        audience=s.cloud.federation_audience)
        # azure-identity calls the function each time it needs a new access token (not per request: it caches
        # access tokens), so a GitHub token, valid for minutes, is never reused after it could have expired.
        return identity.ClientAssertionCredential(tenant_id, client_id, id_token, **kwargs)
    if plan.kind == AZURE_PIPELINES:
        # AzurePipelinesCredential posts to SYSTEM_OIDCREQUESTURI (a predefined Azure Pipelines variable) with the
        # service connection id and System.AccessToken, then uses the answer as the client assertion
        # (docs/wire/ci-identity.md §2.1).
        return identity.AzurePipelinesCredential(
            tenant_id=tenant_id, client_id=client_id,
            service_connection_id=s.azure_pipelines_service_connection_id or "",
            system_access_token=s.system_access_token or "", **kwargs)
    return identity.DefaultAzureCredential(exclude_interactive_browser_credential=True, **kwargs)


class GitHubActionsIdToken:
    """The job's OIDC token from the GitHub Actions token endpoint, as a client assertion for Entra ID.

    Wire (docs/wire/ci-identity.md §1.1): ``GET $ACTIONS_ID_TOKEN_REQUEST_URL&audience=<url-encoded audience>``
    with ``Authorization: Bearer $ACTIONS_ID_TOKEN_REQUEST_TOKEN``; the answer is JSON ``{"value": "<JWT>"}``.
    Called by azure-identity whenever it requests a new access token. ``repr`` shows no token.
    """

    def __init__(self, request_url: str, request_token: str, *, audience: str, timeout: float = 30.0,
                 attempts: int = 3, sleep: Callable[[float], None] = time.sleep,
                 transport: httpx.BaseTransport | None = None) -> None:
        self._request_url = request_url
        self._request_token = request_token
        self.audience = audience
        self._timeout = timeout
        self._attempts = max(1, attempts)
        self._sleep = sleep
        self._transport = transport
        REDACTOR.add(request_token)

    def __repr__(self) -> str:
        return f"GitHubActionsIdToken(audience={self.audience!r})"

    @property
    def url(self) -> str:
        # The runner's URL already carries a query (api-version); the toolkit appends "&audience=" to it and
        # URL-encodes the audience (docs/wire/ci-identity.md §1.1). "?" only if a URL ever comes without one.
        separator = "&" if "?" in self._request_url else "?"
        return f"{self._request_url}{separator}audience={quote(self.audience, safe='')}"

    def __call__(self) -> str:
        headers = {"Authorization": f"Bearer {self._request_token}", "Accept": "application/json"}
        with httpx.Client(timeout=self._timeout, transport=self._transport, follow_redirects=False) as client:
            retrying = tenacity.Retrying(
                stop=tenacity.stop_after_attempt(self._attempts),
                wait=tenacity.wait_exponential(multiplier=1),  # 1 s, 2 s, ...
                retry=tenacity.retry_if_result(_worth_retrying),
                retry_error_callback=lambda state: state.outcome.result() if state.outcome else None,
                sleep=self._sleep,
            )
            outcome = retrying(_get, client, self.url, headers)
        if isinstance(outcome, httpx.Response) and outcome.status_code == 200:
            return self._token_from(outcome)
        last = f"HTTP {outcome.status_code}" if isinstance(outcome, httpx.Response) else outcome
        raise AuthenticationError(
            f"The GitHub Actions token endpoint (ACTIONS_ID_TOKEN_REQUEST_URL) gave no OIDC token: {last}. "
            "The job needs `permissions: id-token: write`, and the app registration a federated credential "
            f"for this repository with audience {self.audience}."
        )

    def _token_from(self, response: httpx.Response) -> str:
        try:
            value = response.json().get("value")
        except (ValueError, AttributeError):
            value = None
        if not isinstance(value, str) or not value:
            raise AuthenticationError(
                "The GitHub Actions token endpoint answered without a token (no \"value\" in its JSON).")
        REDACTOR.add(value)
        return value


def _get(client: httpx.Client, url: str, headers: dict[str, str]) -> httpx.Response | str:
    """One request to the token endpoint: its answer, or what went wrong on the way."""
    try:
        return client.get(url, headers=headers)
    except httpx.TransportError as exc:
        return f"no answer ({type(exc).__name__})"


def _worth_retrying(outcome: httpx.Response | str | None) -> bool:
    """No answer, 429 and 5xx are tried again; any other 4xx means the request is wrong (an expired request token,
    no id-token permission)."""
    if not isinstance(outcome, httpx.Response):
        return True
    return outcome.status_code == 429 or outcome.status_code >= 500


def token_source_for(settings: Settings) -> TokenSource:
    return EmulatorTokenSource() if settings.emulated else AzureIdentityTokenSource(settings)
