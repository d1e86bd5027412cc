"""Provider settings: Pulumi stack config (namespace ``defender-air``) with environment fallbacks.

Exactly the keys of the public contract. Secrets (client secret, portal session) live only here, in
memory; ``Settings`` never prints them (``repr`` hides them) and they never reach resource state.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from .clouds import CLOUDS, Cloud, emulated_cloud
from .errors import ConfigurationError

NAMESPACE = "defender-air"
EMULATOR_TENANT_ID = "00000000-0000-0000-0000-000000000000"
# The contract's tenantId is the tenant GUID: the admin APIs address the tenant by it (``adminapi/beta/<tenantId>``)
# and tenant binding records it, so a domain name or a typo is refused here rather than by a 404 mid-update.
_GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")

# stack config key -> environment variable (None: config only / environment only).
CONFIG_KEYS: dict[str, str | None] = {
    "tenantId": "AZURE_TENANT_ID",
    "clientId": "AZURE_CLIENT_ID",
    "clientSecret": "AZURE_CLIENT_SECRET",
    "clientCertificatePath": "AZURE_CLIENT_CERTIFICATE_PATH",
    "cloud": "DEFENDER_AIR_CLOUD",
    "portalSession": "DEFENDER_AIR_PORTAL_SESSION",
    "emulatorUrl": "DEFENDER_AIR_EMULATOR_URL",
}

# The keys whose values are credentials: secret in the package schema, and kept secret in state by the native plugin.
SECRET_CONFIG_KEYS = frozenset({"clientSecret", "portalSession"})


class InvalidConfiguration(ConfigurationError):
    """The configuration is incomplete or contradictory; ``problems`` holds one sentence per problem (``check``
    reports each as its own failure)."""

    def __init__(self, problems: str | list[str]) -> None:
        if isinstance(problems, str):  # ``in_context`` rebuilds the error from its (prefixed) message
            problems = [problems]
        super().__init__(" ".join(problems) if len(problems) == 1 else
                         "Invalid provider configuration: " + " ".join(f"({n}) {p}" for n, p in
                                                                      enumerate(problems, 1)))
        self._problems = tuple(problems)

    @property
    def problems(self) -> tuple[str, ...]:
        return self._problems


@dataclass(frozen=True)
class Settings:
    tenant_id: str | None = None
    client_id: str | None = None
    client_secret: str | None = field(default=None, repr=False)
    client_certificate_path: str | None = None
    federated_token_file: str | None = None
    # GitHub Actions OIDC (environment only; set by the runner when the job has `permissions: id-token: write`).
    actions_id_token_request_url: str | None = None
    actions_id_token_request_token: str | None = field(default=None, repr=False)
    # Azure Pipelines workload identity service connection (environment only).
    azure_pipelines_service_connection_id: str | None = None
    system_access_token: str | None = field(default=None, repr=False)
    cloud_name: str = "public"
    portal_session: str | None = field(default=None, repr=False)
    emulator_url: str | None = None

    @classmethod
    def load(cls, config: Mapping[str, object] | None = None,
             environ: Mapping[str, str] | None = None) -> Settings:
        """Read every key from stack config first, then from the environment.

        ``config`` is the raw dynamic-provider configuration: keys ``defender-air:<key>``, string values
        (the engine sends the whole stack configuration, secrets already unwrapped).
        """
        config = config or {}
        environ = os.environ if environ is None else environ

        def value(key: str) -> str | None:
            raw = config.get(f"{NAMESPACE}:{key}")
            if isinstance(raw, str) and raw.strip():
                return raw.strip()
            env = CONFIG_KEYS[key]
            from_env = environ.get(env, "") if env else ""
            return from_env.strip() or None

        def env_only(name: str) -> str | None:
            return (environ.get(name) or "").strip() or None

        # Every problem is reported at once (docs/configuration.md): these two are collected with the others.
        early: list[str] = []
        cloud_name = (value("cloud") or "public").lower()
        if cloud_name not in CLOUDS:
            early.append(f"defender-air:cloud is {cloud_name!r}; use one of {', '.join(sorted(CLOUDS))} "
                         "(GCC tenants use 'public').")
        emulator_url = value("emulatorUrl")
        if emulator_url and (not emulator_url.startswith(("http://", "https://"))
                             or not emulator_url.split("://", 1)[1].strip("/")):
            early.append(f"defender-air:emulatorUrl must be an http(s) URL such as http://127.0.0.1:8765, got "
                         f"{emulator_url!r}.")
        settings = cls(
            tenant_id=value("tenantId"),
            client_id=value("clientId"),
            client_secret=value("clientSecret"),
            client_certificate_path=value("clientCertificatePath"),
            federated_token_file=env_only("AZURE_FEDERATED_TOKEN_FILE"),
            actions_id_token_request_url=env_only("ACTIONS_ID_TOKEN_REQUEST_URL"),
            actions_id_token_request_token=env_only("ACTIONS_ID_TOKEN_REQUEST_TOKEN"),
            azure_pipelines_service_connection_id=env_only("AZURESUBSCRIPTION_SERVICE_CONNECTION_ID"),
            system_access_token=env_only("SYSTEM_ACCESSTOKEN"),
            cloud_name=cloud_name if cloud_name in CLOUDS else "public",  # reported above; a placeholder meanwhile
            portal_session=value("portalSession"),
            emulator_url=emulator_url.rstrip("/") if emulator_url else None,
        )
        problems = early + settings.problems()
        if problems:
            raise InvalidConfiguration(problems)
        return settings

    def problems(self) -> list[str]:
        """What is incomplete or contradictory, knowable without a network call (docs/configuration.md, "What
        configure refuses"). "No credential at all" is not among them: azure-identity's default chain may still find
        a managed identity or an Azure CLI login, which only a token request can tell."""
        problems: list[str] = []
        if self.tenant_id and not _GUID.match(self.tenant_id):
            problems.append(
                "defender-air:tenantId (or AZURE_TENANT_ID) must be the tenant GUID "
                f"(xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx), not {self.tenant_id!r}; find it in the Entra admin center "
                "under Overview, or with `az account show --query tenantId`."
            )
        if self.emulated:
            return problems  # the emulator needs no credential: credential settings are ignored (contract)
        secret, certificate = bool(self.client_secret), bool(self.client_certificate_path)
        if secret and certificate:
            problems.append(
                "Both a client secret (defender-air:clientSecret / AZURE_CLIENT_SECRET) and a certificate "
                "(defender-air:clientCertificatePath / AZURE_CLIENT_CERTIFICATE_PATH) are set; set only one of them."
            )
        for given, what in ((secret, "A client secret"), (certificate, "A client certificate")):
            if given and not self.client_id:
                problems.append(
                    f"{what} is set but no client id: set `pulumi config set defender-air:clientId <app id>` or "
                    "AZURE_CLIENT_ID (the application (client) id of the app registration it belongs to)."
                )
        if self.client_id and not self.tenant_id:
            problems.append(
                "A client id is set but no tenant id: set `pulumi config set defender-air:tenantId <tenant GUID>` or "
                "AZURE_TENANT_ID (an app registration signs in to one tenant, and the admin APIs are addressed by it)."
            )
        if certificate and self.client_certificate_path and not Path(self.client_certificate_path).is_file():
            problems.append(
                f"The client certificate {self.client_certificate_path!r} (defender-air:clientCertificatePath / "
                "AZURE_CLIENT_CERTIFICATE_PATH) does not exist or is not a file; give the path of a PEM file "
                "holding the certificate and its private key."
            )
        return problems

    @property
    def emulated(self) -> bool:
        return self.emulator_url is not None

    @property
    def cloud(self) -> Cloud:
        return emulated_cloud(self.emulator_url) if self.emulator_url else CLOUDS[self.cloud_name]

    def require_tenant_id(self) -> str:
        if self.tenant_id:
            return self.tenant_id
        if self.emulated:
            return EMULATOR_TENANT_ID
        raise ConfigurationError(
            "No tenant id: set it with `pulumi config set defender-air:tenantId <tenant GUID>` "
            "or the AZURE_TENANT_ID environment variable, with credentials for it (docs/configuration.md); for the "
            "local emulator, set defender-air:emulatorUrl instead."
        )

    def secrets(self) -> tuple[str, ...]:
        """Every secret value, for redaction of logs and error messages."""
        return tuple(s for s in (self.client_secret, self.portal_session, self.actions_id_token_request_token,
                                 self.system_access_token) if s)
