"""CI sign-in end to end over loopback sockets: GitHub Actions OIDC and Azure Pipelines service connections.

The real azure-identity credentials run unchanged; only their endpoints are fakes (tests/core/ci_identity_fakes.py):
the GitHub and Azure DevOps token endpoints on plain http, Entra ID's token endpoint on TLS with a loopback
certificate passed as ``connection_verify`` (azure-identity refuses an http authority).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import unquote

import httpx
import pytest

from defender_air_provider.core import credentials as credentials_module
from defender_air_provider.core.credentials import (
    AZURE_PIPELINES,
    CERTIFICATE,
    CLIENT_SECRET,
    DEFAULT_CHAIN,
    GITHUB_ACTIONS,
    TOKEN_FILE,
    AzureIdentityTokenSource,
    GitHubActionsIdToken,
    choose_credential,
)
from defender_air_provider.core.errors import AuthenticationError
from defender_air_provider.core.http import HttpClient
from defender_air_provider.core.settings import Settings
from tests.core.ci_identity_fakes import (
    JWT_BEARER,
    REQUEST_TOKEN,
    SERVICE_CONNECTION_ID,
    SYSTEM_ACCESS_TOKEN,
    IdentityFakes,
    LoopbackServer,
    make_loopback_certificate,
)

TENANT = "11111111-2222-3333-4444-555555555555"
CLIENT = "66666666-7777-8888-9999-000000000000"
EXCHANGE = "https://outlook.office365.com/.default"
GRAPH = "https://graph.microsoft.com/.default"


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return make_loopback_certificate(tmp_path_factory.mktemp("tls"))


@pytest.fixture
def fakes(certificate: tuple[Path, Path]) -> Iterator[tuple[IdentityFakes, LoopbackServer, LoopbackServer]]:
    state = IdentityFakes()
    ci, entra = LoopbackServer(state), LoopbackServer(state, cert=certificate)
    try:
        yield state, ci, entra
    finally:
        ci.close()
        entra.close()


def github_settings(ci: LoopbackServer, **overrides: str) -> Settings:
    values = {
        "tenant_id": TENANT, "client_id": CLIENT,
        # The runner's URL carries its own query string; the audience is appended with "&".
        "actions_id_token_request_url": f"http://{ci.host}/github/idtoken?api-version=2.0",
        "actions_id_token_request_token": REQUEST_TOKEN,
        **overrides,
    }
    return Settings(**values)


def source_for(settings: Settings, entra: LoopbackServer, certificate: tuple[Path, Path]) -> AzureIdentityTokenSource:
    return AzureIdentityTokenSource(settings, credential_options={
        "authority": entra.host, "connection_verify": str(certificate[0]),
    })


# ---------------------------------------------------------------------------------------------- precedence


@pytest.mark.parametrize(("settings", "kind"), [
    (Settings(tenant_id="t", client_id="c", client_secret="s3cret-value", federated_token_file="/f",
              actions_id_token_request_url="http://x", actions_id_token_request_token="r"), CLIENT_SECRET),
    (Settings(tenant_id="t", client_id="c", client_certificate_path="/c.pem", federated_token_file="/f"), CERTIFICATE),
    (Settings(tenant_id="t", client_id="c", federated_token_file="/f", actions_id_token_request_url="http://x",
              actions_id_token_request_token="r", azure_pipelines_service_connection_id="s",
              system_access_token="a"), TOKEN_FILE),
    (Settings(tenant_id="t", client_id="c", actions_id_token_request_url="http://x", actions_id_token_request_token="r",
              azure_pipelines_service_connection_id="s", system_access_token="a"), GITHUB_ACTIONS),
    (Settings(tenant_id="t", client_id="c", azure_pipelines_service_connection_id="s", system_access_token="a"),
     AZURE_PIPELINES),
    # Half a CI configuration is not a CI configuration.
    (Settings(tenant_id="t", client_id="c", actions_id_token_request_url="http://x"), DEFAULT_CHAIN),
    (Settings(tenant_id="t", client_id="c", azure_pipelines_service_connection_id="s"), DEFAULT_CHAIN),
    (Settings(tenant_id="t"), DEFAULT_CHAIN),
])
def test_precedence(settings: Settings, kind: str) -> None:
    assert choose_credential(settings).kind == kind


def test_ci_variables_without_client_id_fall_back_to_the_default_chain_and_say_why() -> None:
    plan = choose_credential(Settings(tenant_id="t", actions_id_token_request_url="http://x",
                                      actions_id_token_request_token="r"))
    assert plan.kind == DEFAULT_CHAIN  # e.g. the Azure CLI session azure/login left behind
    assert "GitHub Actions OIDC not used" in plan.note and "clientId" in plan.note


def test_the_environment_variables_of_the_contract_are_read() -> None:
    s = Settings.load({}, {
        "ACTIONS_ID_TOKEN_REQUEST_URL": "https://runner/idtoken?api-version=2.0",
        "ACTIONS_ID_TOKEN_REQUEST_TOKEN": REQUEST_TOKEN,
        "AZURESUBSCRIPTION_SERVICE_CONNECTION_ID": SERVICE_CONNECTION_ID, "SYSTEM_ACCESSTOKEN": SYSTEM_ACCESS_TOKEN,
    })
    assert s.actions_id_token_request_url == "https://runner/idtoken?api-version=2.0"
    assert s.actions_id_token_request_token == REQUEST_TOKEN
    assert s.azure_pipelines_service_connection_id == SERVICE_CONNECTION_ID
    assert s.system_access_token == SYSTEM_ACCESS_TOKEN
    assert REQUEST_TOKEN not in repr(s) and SYSTEM_ACCESS_TOKEN not in repr(s)
    assert {REQUEST_TOKEN, SYSTEM_ACCESS_TOKEN} <= set(s.secrets())


# ---------------------------------------------------------------------------------------------- GitHub Actions


def test_github_actions_oidc_end_to_end(fakes: tuple[IdentityFakes, LoopbackServer, LoopbackServer],
                                        certificate: tuple[Path, Path], caplog: pytest.LogCaptureFixture,
                                        capfd: pytest.CaptureFixture[str]) -> None:
    state, ci, entra = fakes
    caplog.set_level(logging.DEBUG)
    source = source_for(github_settings(ci), entra, certificate)

    # The token reaches the HTTP layer's requests.
    sent: list[httpx.Request] = []

    def exchange(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(200, json={})

    http = HttpClient(service="Exchange Online admin API", tokens=source, scope=EXCHANGE,
                      transport=httpx.MockTransport(exchange))
    http.send("GET", "https://outlook.office365.com/adminapi/beta/x/InvokeCommand", idempotent=True, what="probe")

    # 1. The Actions token request: the runner's bearer, the Entra audience URL-encoded after the runner's query.
    (github,) = state.seen("/github/")
    assert github.method == "GET"
    assert github.headers["authorization"] == f"Bearer {REQUEST_TOKEN}"
    assert github.query["api-version"] == ["2.0"]
    assert github.query["audience"] == ["api://AzureADTokenExchange"]
    # 2. Entra ID got that token as a jwt-bearer client assertion for the app, at the tenant's token endpoint.
    (token_request,) = state.seen(f"/{TENANT}/oauth2/v2.0/token")
    form = {k: v[0] for k, v in token_request.form.items()}
    assert form["client_assertion"] == state.issued_assertions[0]
    assert form["client_assertion_type"] == JWT_BEARER
    assert form["client_id"] == CLIENT and form["grant_type"] == "client_credentials"
    assert unquote(form["scope"]) == EXCHANGE
    # 3. The access token Entra issued is what the HTTP layer sent.
    assert sent[0].headers["authorization"] == f"Bearer {state.issued_access_tokens[0]}"

    # A second audience needs a new access token, and so a fresh GitHub token (they live minutes; never reused).
    source.token(GRAPH)
    assert len(state.seen("/github/")) == 2
    assert state.issued_assertions[0] != state.issued_assertions[1]
    assert state.seen(f"/{TENANT}/")[1].form["client_assertion"] == [state.issued_assertions[1]]

    # The chosen credential is named once; no secret anywhere in the logs or on stderr.
    assert ("Signing in to Microsoft Entra ID with GitHub Actions OIDC (ClientAssertionCredential) "
            f"as app {CLIENT} in tenant {TENANT}.") in caplog.text
    output = caplog.text + capfd.readouterr().err
    leaked = [secret for secret in state.secrets() if secret in output]
    assert not leaked
    assert REQUEST_TOKEN not in repr(GitHubActionsIdToken("http://runner/idtoken", REQUEST_TOKEN, audience="api://x"))


def test_github_audience_follows_the_cloud(fakes: tuple[IdentityFakes, LoopbackServer, LoopbackServer],
                                           certificate: tuple[Path, Path]) -> None:
    state, ci, entra = fakes
    source_for(github_settings(ci, cloud_name="usgovhigh"), entra, certificate).token(
        "https://outlook.office365.us/.default")
    assert state.seen("/github/")[0].query["audience"] == ["api://AzureADTokenExchangeUSGov"]


def test_a_refused_github_token_request_is_a_clear_error_without_retries(
        fakes: tuple[IdentityFakes, LoopbackServer, LoopbackServer], certificate: tuple[Path, Path]) -> None:
    state, ci, entra = fakes
    state.github_status = 403
    with pytest.raises(AuthenticationError) as error:
        source_for(github_settings(ci), entra, certificate).token(EXCHANGE)
    assert "HTTP 403" in str(error.value) and "id-token: write" in str(error.value)
    assert REQUEST_TOKEN not in str(error.value)
    assert len(state.seen("/github/")) == 1  # a 4xx is not retried
    assert not state.seen(f"/{TENANT}/")


def test_a_failing_github_endpoint_is_retried(fakes: tuple[IdentityFakes, LoopbackServer, LoopbackServer]) -> None:
    state, ci, _ = fakes
    state.github_status = 503
    waits: list[float] = []
    fetch = GitHubActionsIdToken(f"http://{ci.host}/github/idtoken?api-version=2.0", REQUEST_TOKEN,
                                 audience="api://AzureADTokenExchange", sleep=waits.append)
    with pytest.raises(AuthenticationError, match="HTTP 503"):
        fetch()
    assert len(state.seen("/github/")) == 3 and waits == [1.0, 2.0]


def test_a_token_the_endpoint_did_not_issue_is_refused_by_entra(
        fakes: tuple[IdentityFakes, LoopbackServer, LoopbackServer], certificate: tuple[Path, Path],
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Guards the fake itself: the Entra fake checks the assertion, so the end-to-end test can fail."""
    _, ci, entra = fakes
    monkeypatch.setattr(GitHubActionsIdToken, "__call__", lambda self: "a-token-nobody-issued")
    with pytest.raises(AuthenticationError, match="AADSTS700211"):
        source_for(github_settings(ci), entra, certificate).token(EXCHANGE)


# ---------------------------------------------------------------------------------------------- Azure Pipelines


def test_azure_pipelines_end_to_end(fakes: tuple[IdentityFakes, LoopbackServer, LoopbackServer],
                                    certificate: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch,
                                    caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str]) -> None:
    state, ci, entra = fakes
    caplog.set_level(logging.DEBUG)
    # A predefined Azure Pipelines variable (System.OidcRequestUri); azure-identity reads it from the environment.
    monkeypatch.setenv("SYSTEM_OIDCREQUESTURI", f"http://{ci.host}/azdo/oidctoken")
    settings = Settings(tenant_id=TENANT, client_id=CLIENT, azure_pipelines_service_connection_id=SERVICE_CONNECTION_ID,
                        system_access_token=SYSTEM_ACCESS_TOKEN)
    token = source_for(settings, entra, certificate).token(EXCHANGE)

    (oidc,) = state.seen("/azdo/")
    assert oidc.method == "POST"
    assert oidc.headers["authorization"] == f"Bearer {SYSTEM_ACCESS_TOKEN}"
    assert oidc.query["serviceConnectionId"] == [SERVICE_CONNECTION_ID]
    (token_request,) = state.seen(f"/{TENANT}/oauth2/v2.0/token")
    assert token_request.form["client_assertion"] == [state.issued_assertions[0]]
    assert token_request.form["client_assertion_type"] == [JWT_BEARER]
    assert token == state.issued_access_tokens[0]

    assert "Signing in to Microsoft Entra ID with an Azure Pipelines service connection" in caplog.text
    output = caplog.text + capfd.readouterr().err
    assert not [secret for secret in state.secrets() if secret in output]


def test_azure_pipelines_outside_a_pipeline_is_a_clear_error(
        fakes: tuple[IdentityFakes, LoopbackServer, LoopbackServer], certificate: tuple[Path, Path],
        monkeypatch: pytest.MonkeyPatch) -> None:
    _, _, entra = fakes
    monkeypatch.delenv("SYSTEM_OIDCREQUESTURI", raising=False)
    settings = Settings(tenant_id=TENANT, client_id=CLIENT, azure_pipelines_service_connection_id=SERVICE_CONNECTION_ID,
                        system_access_token=SYSTEM_ACCESS_TOKEN)
    with pytest.raises(AuthenticationError, match="SYSTEM_OIDCREQUESTURI") as error:
        source_for(settings, entra, certificate).token(EXCHANGE)
    assert SYSTEM_ACCESS_TOKEN not in str(error.value)


def test_the_module_logger_is_the_redacting_one() -> None:
    assert credentials_module.LOG.name == "defender_air"
