"""Access tokens, one per audience, cached and refreshed before they expire.

``TokenSource`` is the interface the HTTP layer uses, so tests inject a fake one. The real one wraps
azure-identity's *synchronous* credentials (its async ones need aiohttp; our CRUD methods are sync):
explicit client secret or certificate where configured, otherwise workload identity (federated token
file, for CI pipelines), otherwise ``DefaultAzureCredential`` (environment, workload identity, managed
identity, Azure CLI).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any, Protocol

from .errors import AuthenticationError, ConfigurationError
from .redaction import REDACTOR
from .settings import Settings

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

    def __init__(self, settings: Settings, credential: Any | None = None) -> None:
        self._settings = settings
        self._credential = credential
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
        # Imported here: azure-identity is slow to import and check/diff never need it (cold start).
        from azure import identity

        s = self._settings
        authority = s.cloud.authority_host or None
        kwargs: dict[str, Any] = {"authority": authority} if authority else {}
        if s.client_secret or s.client_certificate_path:
            if not (s.tenant_id and s.client_id):
                raise ConfigurationError(
                    "A client secret or certificate needs defender-air:tenantId and defender-air:clientId "
                    "(or AZURE_TENANT_ID and AZURE_CLIENT_ID)."
                )
            if s.client_secret:
                return identity.ClientSecretCredential(s.tenant_id, s.client_id, s.client_secret, **kwargs)
            return identity.CertificateCredential(
                s.tenant_id, s.client_id, certificate_path=s.client_certificate_path, **kwargs
            )
        if s.federated_token_file and s.client_id and s.tenant_id:
            return identity.WorkloadIdentityCredential(
                tenant_id=s.tenant_id, client_id=s.client_id, token_file_path=s.federated_token_file, **kwargs
            )
        return identity.DefaultAzureCredential(exclude_interactive_browser_credential=True, **kwargs)


def token_source_for(settings: Settings) -> TokenSource:
    return EmulatorTokenSource() if settings.emulated else AzureIdentityTokenSource(settings)
