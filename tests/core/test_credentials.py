"""Credentials: which azure-identity credential is chosen, per-audience caching and refresh, clear errors."""

from __future__ import annotations

import time
from typing import Any

import pytest
from azure import identity
from azure.core.credentials import AccessToken

from defender_air_provider.core.credentials import AzureIdentityTokenSource, EmulatorTokenSource, token_source_for
from defender_air_provider.core.errors import AuthenticationError, ConfigurationError
from defender_air_provider.core.settings import Settings


class FakeCredential:
    def __init__(self, lifetime: float = 3600) -> None:
        self.calls: list[str] = []
        self.lifetime = lifetime

    def get_token(self, scope: str, **_: Any) -> AccessToken:
        self.calls.append(scope)
        return AccessToken(f"tok-{len(self.calls)}-abcdef", int(time.time() + self.lifetime))


@pytest.fixture
def chosen(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    seen: dict[str, Any] = {}
    for name in ("ClientSecretCredential", "CertificateCredential", "WorkloadIdentityCredential",
                 "DefaultAzureCredential"):
        def make(*args: Any, _name: str = name, **kwargs: Any) -> FakeCredential:
            seen.update(kind=_name, args=args, kwargs=kwargs)
            return FakeCredential()
        monkeypatch.setattr(identity, name, make)
    return seen


@pytest.mark.parametrize(("settings", "kind"), [
    (Settings(tenant_id="t", client_id="c", client_secret="s3cret-value"), "ClientSecretCredential"),
    (Settings(tenant_id="t", client_id="c", client_certificate_path="/c.pem"), "CertificateCredential"),
    (Settings(tenant_id="t", client_id="c", federated_token_file="/token"), "WorkloadIdentityCredential"),
    (Settings(tenant_id="t"), "DefaultAzureCredential"),
])
def test_credential_choice(chosen: dict[str, Any], settings: Settings, kind: str) -> None:
    AzureIdentityTokenSource(settings).token("https://outlook.office365.com/.default")
    assert chosen["kind"] == kind
    assert chosen["kwargs"].get("authority") == "login.microsoftonline.com"


def test_us_government_authority(chosen: dict[str, Any]) -> None:
    settings = Settings(tenant_id="t", client_id="c", client_secret="s3cret-value", cloud_name="usgovhigh")
    AzureIdentityTokenSource(settings).token(settings.cloud.exchange_scope)
    assert chosen["kwargs"]["authority"] == "login.microsoftonline.us"


def test_one_token_per_audience_cached_and_refreshed_before_expiry() -> None:
    credential = FakeCredential()
    source = AzureIdentityTokenSource(Settings(tenant_id="t"), credential=credential)
    a = source.token("https://outlook.office365.com/.default")
    assert source.token("https://outlook.office365.com/.default") == a
    source.token("https://graph.microsoft.com/.default")
    assert len(credential.calls) == 2
    source.token("https://outlook.office365.com/.default", force_refresh=True)
    assert len(credential.calls) == 3
    short = FakeCredential(lifetime=120)  # inside the 5-minute margin: refreshed on every use
    s2 = AzureIdentityTokenSource(Settings(tenant_id="t"), credential=short)
    s2.token("x/.default")
    s2.token("x/.default")
    assert len(short.calls) == 2


def test_secret_without_ids_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match="tenantId and defender-air:clientId"):
        AzureIdentityTokenSource(Settings(client_secret="s3cret-value")).token("x/.default")


def test_a_bad_certificate_is_a_clear_error() -> None:
    settings = Settings(tenant_id="t", client_id="c", client_certificate_path="/does/not/exist.pem")
    with pytest.raises(AuthenticationError, match="Could not get a token"):
        AzureIdentityTokenSource(settings).token("https://outlook.office365.com/.default")


@pytest.mark.parametrize(("cloud", "audience"), [
    ("public", "https://ps.compliance.protection.outlook.com/.default"),
    ("usgovhigh", "https://ps.compliance.protection.office365.us/.default"),
    ("usgovdod", "https://ps.compliance.protection.office365.us/.default"),
])
def test_compliance_audience_per_cloud(cloud: str, audience: str) -> None:
    assert Settings(cloud_name=cloud).cloud.compliance_scope == audience


def test_the_emulator_needs_no_credential() -> None:
    assert isinstance(token_source_for(Settings(emulator_url="http://127.0.0.1:1")), EmulatorTokenSource)
