"""Layer 4: examples/bootstrap (the Entra ID app registrations, with pulumi-azuread) under Pulumi's mocks.

The program is run as the other examples are (tests/programs/test_examples.py); the mocks answer pulumi-azuread's
computed outputs (client and object ids) and its ``getServicePrincipal`` data source, so the assertions can follow
each grant to the principal and the API it links. The ids asserted here are the sourced ones: Exchange.ManageAsApp
from Microsoft's manifest example (docs/wire/invoke-command.md §3.4), the role template ids from
docs/wire/microsoft-graph.md §4.1, the Graph permission ids from docs/wire/microsoft-graph.md §6.
"""

from __future__ import annotations

import runpy
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pulumi
import pulumi.runtime
import pytest

from tests.harness.engine import Registration, capture_registrations

# The example imports pulumi_azuread: it is in the test extra (pyproject.toml), not a dependency of the library.

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "bootstrap"
PROJECT = "defender-air-bootstrap"
TENANT = "11111111-2222-3333-4444-555555555555"
REPOSITORY = "contoso/air-config"

EXCHANGE_ONLINE = "00000002-0000-0ff1-ce00-000000000000"
MANAGE_AS_APP = "dc50a0fb-09a3-484d-be87-e023b12c6440"
GRAPH = "00000003-0000-0000-c000-000000000000"
GRAPH_ROLES = {
    "Group.Read.All": "5b567255-7703-4780-807c-7be8301ae99b",
    "LicenseAssignment.Read.All": "e2f98668-2877-4f38-a2f4-8202e0717aa1",
    "RoleManagement.Read.Directory": "483bed4a-2ad3-4361-a73b-c83ccdbdc53c",
}
SECURITY_ADMINISTRATOR = "194ae4cb-b126-40b2-bd5b-6091b380977d"
GLOBAL_READER = "f2ef992c-3afb-46b9-b7cf-a126ee74c451"

APPLICATION = "azuread:index/application:Application"
SERVICE_PRINCIPAL = "azuread:index/servicePrincipal:ServicePrincipal"
APP_ROLE_ASSIGNMENT = "azuread:index/appRoleAssignment:AppRoleAssignment"
DIRECTORY_ROLE_ASSIGNMENT = "azuread:index/directoryRoleAssignment:DirectoryRoleAssignment"
FEDERATED_CREDENTIAL = "azuread:index/applicationFederatedIdentityCredential:ApplicationFederatedIdentityCredential"

def _outputs(args: pulumi.runtime.MockResourceArgs) -> Mapping[str, Any]:
    """What Entra ID computes: an application's client id and object id, a service principal's object id."""
    if args.typ == APPLICATION:
        return {"clientId": f"{args.name}-client-id", "objectId": f"{args.name}-object-id"}
    if args.typ == SERVICE_PRINCIPAL:
        return {"objectId": f"{args.name}-object-id"}
    return {}


def _calls(args: pulumi.runtime.MockCallArgs) -> Mapping[str, Any]:
    """``getServicePrincipal``: Microsoft's own service principals, found by client id."""
    assert args.token == "azuread:index/getServicePrincipal:getServicePrincipal", args.token
    client_id = args.args["clientId"]
    return {"clientId": client_id, "objectId": f"sp-of-{client_id}", "id": f"sp-of-{client_id}"}


def run_bootstrap(config: Mapping[str, str]) -> list[Registration]:
    def program() -> None:
        pulumi.runtime.set_all_config({f"{PROJECT}:{key}": value for key, value in config.items()})
        runpy.run_path(str(EXAMPLE / "__main__.py"), run_name="__main__")

    return capture_registrations(program, project=PROJECT, outputs=_outputs, calls=_calls)


@pytest.fixture(scope="module")
def regs() -> dict[str, Registration]:
    return {r.name: r for r in run_bootstrap({"tenantId": TENANT, "githubRepository": REPOSITORY})}


def _of_type(regs: Mapping[str, Registration], type_token: str) -> dict[str, Registration]:
    return {name: r for name, r in regs.items() if r.type_token == type_token}


def test_the_project_files_are_there() -> None:
    assert (EXAMPLE / "Pulumi.yaml").read_text(encoding="utf-8").startswith(f"name: {PROJECT}\n")
    requirements = (EXAMPLE / "requirements.txt").read_text(encoding="utf-8").split()
    assert any(line.startswith("pulumi-azuread>=") for line in requirements)


def test_every_resource_goes_to_the_configured_tenant(regs: dict[str, Registration]) -> None:
    (entra,) = [r for r in regs.values() if r.type_token == "pulumi:providers:azuread"]
    assert entra.inputs["tenantId"] == TENANT
    managed = [r for r in regs.values() if r.type_token.startswith("azuread:")]
    assert len(managed) == 2 * 8  # per app: application, principal, 4 consents, 1 role, 1 credential
    assert all(r.request is not None and "pulumi:providers:azuread::entra::" in r.request.provider for r in managed)


def test_two_apps_ask_for_exchange_manage_as_app_and_the_graph_reads(regs: dict[str, Registration]) -> None:
    apps = _of_type(regs, APPLICATION)
    assert {r.inputs["displayName"] for r in apps.values()} == {"defender-air", "defender-air-preview"}
    for app in apps.values():
        assert app.inputs["signInAudience"] == "AzureADMyOrg"
        asked = {access["resourceAppId"]: [(a["id"], a["type"]) for a in access["resourceAccesses"]]
                 for access in app.inputs["requiredResourceAccesses"]}
        assert asked == {EXCHANGE_ONLINE: [(MANAGE_AS_APP, "Role")],
                         GRAPH: [(role_id, "Role") for role_id in GRAPH_ROLES.values()]}


def test_admin_consent_is_one_app_role_assignment_per_permission_on_the_api(regs: dict[str, Registration]) -> None:
    principals = _of_type(regs, SERVICE_PRINCIPAL)
    assert {r.inputs["clientId"] for r in principals.values()} == {"deploy-app-client-id", "preview-app-client-id"}
    grants = _of_type(regs, APP_ROLE_ASSIGNMENT)
    for key in ("deploy", "preview"):
        mine = {(g.inputs["resourceObjectId"], g.inputs["appRoleId"]) for g in grants.values()
                if g.inputs["principalObjectId"] == f"{key}-service-principal-object-id"}
        assert mine == {(f"sp-of-{EXCHANGE_ONLINE}", MANAGE_AS_APP),
                        *((f"sp-of-{GRAPH}", role_id) for role_id in GRAPH_ROLES.values())}
    assert len(grants) == 2 * (1 + len(GRAPH_ROLES))


def test_main_deploys_as_security_administrator_and_pull_requests_only_read(regs: dict[str, Registration]) -> None:
    roles = {r.inputs["principalObjectId"]: r.inputs["roleId"]
             for r in _of_type(regs, DIRECTORY_ROLE_ASSIGNMENT).values()}
    assert roles == {"deploy-service-principal-object-id": SECURITY_ADMINISTRATOR,
                     "preview-service-principal-object-id": GLOBAL_READER}

    credentials = {r.inputs["applicationId"]: r.inputs for r in _of_type(regs, FEDERATED_CREDENTIAL).values()}
    assert set(credentials) == {"deploy-app-id", "preview-app-id"}  # the applications' resource ids
    for credential in credentials.values():
        assert credential["issuer"] == "https://token.actions.githubusercontent.com"
        assert credential["audiences"] == ["api://AzureADTokenExchange"]
    assert credentials["deploy-app-id"]["subject"] == f"repo:{REPOSITORY}:ref:refs/heads/main"
    assert credentials["preview-app-id"]["subject"] == f"repo:{REPOSITORY}:pull_request"


def test_the_branch_and_the_names_come_from_config() -> None:
    regs = run_bootstrap({"tenantId": TENANT, "githubRepository": REPOSITORY, "githubBranch": "release",
                          "appName": "air-prod"})
    subjects = {r.inputs["subject"] for r in regs if r.type_token == FEDERATED_CREDENTIAL}
    assert subjects == {f"repo:{REPOSITORY}:ref:refs/heads/release", f"repo:{REPOSITORY}:pull_request"}
    assert {r.inputs["displayName"] for r in regs if r.type_token == APPLICATION} == {"air-prod", "air-prod-preview"}


def test_the_repository_and_the_tenant_are_required() -> None:
    with pytest.raises(pulumi.ConfigMissingError, match="githubRepository"):
        run_bootstrap({"tenantId": TENANT})
    with pytest.raises(pulumi.ConfigMissingError, match="tenantId"):
        run_bootstrap({"githubRepository": REPOSITORY})
