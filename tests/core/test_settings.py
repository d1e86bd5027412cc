import pytest

from defender_air_provider.core.errors import ConfigurationError
from defender_air_provider.core.settings import EMULATOR_TENANT_ID, Settings

CONFIG_TENANT = "11111111-2222-3333-4444-555555555555"
ENV_TENANT = "66666666-7777-8888-9999-aaaaaaaaaaaa"


def test_stack_config_wins_over_environment() -> None:
    s = Settings.load({"defender-air:tenantId": CONFIG_TENANT}, {"AZURE_TENANT_ID": ENV_TENANT,
                                                                 "AZURE_CLIENT_ID": "app-from-env"})
    assert s.tenant_id == CONFIG_TENANT
    assert s.client_id == "app-from-env"


def test_every_contract_key_reads_from_its_environment_variable() -> None:
    env = {
        "AZURE_TENANT_ID": ENV_TENANT, "AZURE_CLIENT_ID": "c", "AZURE_CLIENT_SECRET": "secret-value",
        "AZURE_CLIENT_CERTIFICATE_PATH": "/cert.pem", "AZURE_FEDERATED_TOKEN_FILE": "/token",
        "DEFENDER_AIR_CLOUD": "usgovhigh", "DEFENDER_AIR_PORTAL_SESSION": "sccauth=abc; XSRF-TOKEN=def",
        "DEFENDER_AIR_EMULATOR_URL": "http://127.0.0.1:8765/",
    }
    s = Settings.load({}, env)
    assert (s.tenant_id, s.client_id, s.client_secret, s.client_certificate_path) == (ENV_TENANT, "c", "secret-value",
                                                                                      "/cert.pem")
    assert s.federated_token_file == "/token"
    assert s.cloud_name == "usgovhigh"
    assert s.portal_session == "sccauth=abc; XSRF-TOKEN=def"
    assert s.emulator_url == "http://127.0.0.1:8765"


def test_secrets_are_not_in_repr() -> None:
    s = Settings.load({"defender-air:clientSecret": "canary-secret-1234", "defender-air:clientId": "app",
                       "defender-air:tenantId": CONFIG_TENANT,
                       "defender-air:portalSession": "sccauth=canary-session"}, {})
    assert "canary" not in repr(s)
    assert set(s.secrets()) == {"canary-secret-1234", "sccauth=canary-session"}


@pytest.mark.parametrize(("cloud", "exchange", "compliance"), [
    ("public", "https://outlook.office365.com", "https://ps.compliance.protection.outlook.com"),
    ("usgovhigh", "https://outlook.office365.us", "https://ps.compliance.protection.office365.us"),
    ("usgovdod", "https://outlook-dod.office365.us", "https://l5.ps.compliance.protection.office365.us"),
])
def test_cloud_endpoint_tables(cloud: str, exchange: str, compliance: str) -> None:
    s = Settings.load({"defender-air:cloud": cloud}, {})
    assert s.cloud.exchange == exchange
    assert s.cloud.exchange_scope == f"{exchange}/.default"
    assert s.cloud.compliance == compliance


def test_unknown_cloud_is_a_clear_error() -> None:
    with pytest.raises(ConfigurationError, match="usgovhigh"):
        Settings.load({"defender-air:cloud": "china"}, {})


def test_emulator_layout_and_default_tenant() -> None:
    s = Settings.load({"defender-air:emulatorUrl": "http://127.0.0.1:9000"}, {})
    assert s.cloud.exchange == "http://127.0.0.1:9000/exchange"
    assert s.cloud.compliance == "http://127.0.0.1:9000/compliance"
    assert s.cloud.portal == "http://127.0.0.1:9000/portal"
    assert s.cloud.graph == "http://127.0.0.1:9000/graph"
    assert s.require_tenant_id() == EMULATOR_TENANT_ID


def test_missing_tenant_names_the_config_key() -> None:
    with pytest.raises(ConfigurationError, match="defender-air:tenantId"):
        Settings.load({}, {}).require_tenant_id()


def test_bad_emulator_url() -> None:
    with pytest.raises(ConfigurationError, match="emulatorUrl"):
        Settings.load({"defender-air:emulatorUrl": "localhost:8765"}, {})


# ------------------------------------------------------------------ what configure refuses (issue 10, item 3)
GUID = "11111111-2222-3333-4444-555555555555"


@pytest.mark.parametrize(("config", "expected"), [
    ({"defender-air:clientSecret": "s3cret-value", "defender-air:tenantId": GUID},
     "A client secret is set but no client id"),
    ({"defender-air:clientCertificatePath": __file__, "defender-air:tenantId": GUID},
     "A client certificate is set but no client id"),
    ({"defender-air:clientId": "app"}, "A client id is set but no tenant id"),
    ({"defender-air:clientId": "app", "defender-air:tenantId": GUID, "defender-air:clientSecret": "s3cret-value",
      "defender-air:clientCertificatePath": __file__}, "Both a client secret"),
    ({"defender-air:clientId": "app", "defender-air:tenantId": GUID,
      "defender-air:clientCertificatePath": "/does/not/exist.pem"}, "'/does/not/exist.pem' .* does not exist"),
    ({"defender-air:tenantId": "contoso.onmicrosoft.com"}, "must be the tenant GUID .* not 'contoso.onmicrosoft.com'"),
    ({"defender-air:tenantId": "not-a-guid", "defender-air:emulatorUrl": "http://127.0.0.1:8765"},
     "must be the tenant GUID"),
])
def test_incomplete_or_contradictory_configuration_is_refused(config: dict[str, str], expected: str) -> None:
    with pytest.raises(ConfigurationError, match=expected):
        Settings.load(config, {})


def test_every_problem_is_reported_at_once() -> None:
    from defender_air_provider.core.settings import InvalidConfiguration

    with pytest.raises(InvalidConfiguration) as caught:
        Settings.load({"defender-air:tenantId": "contoso", "defender-air:clientSecret": "s3cret-value"}, {})
    assert len(caught.value.problems) == 2
    assert str(caught.value).startswith("Invalid provider configuration: (1) defender-air:tenantId")


@pytest.mark.parametrize("config", [
    {},  # azure-identity's default chain (managed identity, Azure CLI) may still find a credential
    {"defender-air:tenantId": GUID},
    {"defender-air:tenantId": GUID.upper(), "defender-air:clientId": "app", "defender-air:clientSecret": "s3cret"},
    {"defender-air:tenantId": GUID, "defender-air:clientId": "app", "defender-air:clientCertificatePath": __file__},
    # Under the emulator credentials are ignored, so they are not checked; its default tenant id is a GUID.
    {"defender-air:emulatorUrl": "http://127.0.0.1:8765", "defender-air:clientSecret": "s3cret-value"},
    {"defender-air:emulatorUrl": "http://127.0.0.1:8765", "defender-air:tenantId": EMULATOR_TENANT_ID},
])
def test_complete_configuration_is_accepted(config: dict[str, str]) -> None:
    Settings.load(config, {})


def test_environment_values_are_checked_like_stack_config() -> None:
    with pytest.raises(ConfigurationError, match="AZURE_TENANT_ID"):
        Settings.load({}, {"AZURE_TENANT_ID": "contoso.com"})


def test_an_emulator_url_without_a_host_is_refused() -> None:
    with pytest.raises(ConfigurationError, match="must be an http"):
        Settings.load({"defender-air:emulatorUrl": "http://"}, {})


def test_a_bad_cloud_is_reported_together_with_the_other_problems() -> None:
    with pytest.raises(ConfigurationError) as caught:
        Settings.load({"defender-air:cloud": "china", "defender-air:tenantId": "contoso",
                       "defender-air:clientSecret": "s3cret-value"}, {})
    text = str(caught.value)
    assert "defender-air:cloud is 'china'" in text and "tenantId" in text and "client id" in text.lower()
