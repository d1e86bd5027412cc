"""Bootstrap: the Entra ID identities pulumi-defender-air runs as, declared with pulumi-azuread.

Two app registrations, each with its service principal, admin consent for its application permissions, one
directory role and a federated identity credential for GitHub Actions (no secret to store or rotate):

- ``defender-air`` deploys: only workflows on the main branch get its token. Security Administrator, the role
  that may change the preset security policies and the threat-management alert policies.
- ``defender-air-preview`` reads: workflows of pull requests get its token. Global Reader, so a pull request can
  run ``pulumi preview``, ``pulumi refresh``, ``defender-air export`` and ``defender-air preflight`` but cannot
  change the tenant, whoever wrote it.

Both hold Exchange.ManageAsApp (the Exchange Online and Security & Compliance admin APIs) and the Microsoft Graph
permissions the library reads with: Group.Read.All (device groups' user groups) and, for preflight,
LicenseAssignment.Read.All (subscribed SKUs) and RoleManagement.Read.Directory (the app's directory roles).

Device groups and the advanced features are not covered: the Defender portal has no app-only route, they need a
signed-in user's portal session (docs/device-groups.md).

Run once per tenant, signed in (``az login``) as a Global Administrator, or as a Privileged Role Administrator
who is also an Application Administrator:

    pulumi config set tenantId <tenant GUID>
    pulumi config set githubRepository <org>/<repo>
    pulumi up

Then give the repository the variables ``AZURE_TENANT_ID``, ``AIR_DEPLOY_CLIENT_ID`` (stack output
``deployClientId``, the main branch) and ``AIR_PREVIEW_CLIENT_ID`` (``previewClientId``, pull requests), which
examples/pipelines/github-actions.yml turns into ``AZURE_CLIENT_ID`` per event. docs/permissions.md ("Set-up with
Pulumi") explains each grant and its source.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_azuread as azuread

# Office 365 Exchange Online and its application permission Exchange.ManageAsApp: Microsoft's manifest example,
# docs/wire/invoke-command.md §3.4. One grant covers Exchange Online and Security & Compliance.
EXCHANGE_ONLINE_APP_ID = "00000002-0000-0ff1-ce00-000000000000"
EXCHANGE_MANAGE_AS_APP = "dc50a0fb-09a3-484d-be87-e023b12c6440"

# Microsoft Graph and the ids of its application permissions: docs/wire/microsoft-graph.md §6.
MICROSOFT_GRAPH_APP_ID = "00000003-0000-0000-c000-000000000000"
GRAPH_PERMISSIONS = {
    "Group.Read.All": "5b567255-7703-4780-807c-7be8301ae99b",  # user_groups by name or id (§2.5)
    "LicenseAssignment.Read.All": "e2f98668-2877-4f38-a2f4-8202e0717aa1",  # preflight: subscribed SKUs (§3.1)
    "RoleManagement.Read.Directory": "483bed4a-2ad3-4361-a73b-c83ccdbdc53c",  # preflight: the app's roles (§4.2)
}

# Directory role template ids: docs/wire/microsoft-graph.md §4.1.
SECURITY_ADMINISTRATOR = "194ae4cb-b126-40b2-bd5b-6091b380977d"
GLOBAL_READER = "f2ef992c-3afb-46b9-b7cf-a126ee74c451"

# GitHub Actions OpenID Connect tokens, as Entra ID's workload identity federation expects them.
GITHUB_ISSUER = "https://token.actions.githubusercontent.com"
TOKEN_EXCHANGE_AUDIENCE = "api://AzureADTokenExchange"


@dataclass(frozen=True)
class Identity:
    """One app registration: who gets its token (GitHub subject) and what it may do (directory role)."""

    key: str
    display_name: str
    role_name: str
    role_template_id: str
    subject: str
    description: str


def declare(identity: Identity, provider: azuread.Provider, exchange_online: pulumi.Output[str],
            microsoft_graph: pulumi.Output[str]) -> azuread.Application:
    opts = pulumi.ResourceOptions(provider=provider)
    app = azuread.Application(
        f"{identity.key}-app",
        display_name=identity.display_name,
        description=identity.description,
        sign_in_audience="AzureADMyOrg",
        required_resource_accesses=[
            azuread.ApplicationRequiredResourceAccessArgs(
                resource_app_id=EXCHANGE_ONLINE_APP_ID,
                resource_accesses=[azuread.ApplicationRequiredResourceAccessResourceAccessArgs(
                    id=EXCHANGE_MANAGE_AS_APP, type="Role")],
            ),
            azuread.ApplicationRequiredResourceAccessArgs(
                resource_app_id=MICROSOFT_GRAPH_APP_ID,
                resource_accesses=[azuread.ApplicationRequiredResourceAccessResourceAccessArgs(id=role_id, type="Role")
                                   for role_id in GRAPH_PERMISSIONS.values()],
            ),
        ],
        opts=opts,
    )
    principal = azuread.ServicePrincipal(f"{identity.key}-service-principal", client_id=app.client_id, opts=opts)

    # Admin consent: one app role assignment per application permission, on the API's service principal.
    azuread.AppRoleAssignment(f"{identity.key}-exchange-manage-as-app", app_role_id=EXCHANGE_MANAGE_AS_APP,
                              principal_object_id=principal.object_id, resource_object_id=exchange_online, opts=opts)
    for name, role_id in GRAPH_PERMISSIONS.items():
        azuread.AppRoleAssignment(f"{identity.key}-graph-{name.lower().replace('.', '-')}", app_role_id=role_id,
                                  principal_object_id=principal.object_id, resource_object_id=microsoft_graph,
                                  opts=opts)

    azuread.DirectoryRoleAssignment(f"{identity.key}-{identity.role_name.lower().replace(' ', '-')}",
                                    role_id=identity.role_template_id, principal_object_id=principal.object_id,
                                    opts=opts)
    azuread.ApplicationFederatedIdentityCredential(
        f"{identity.key}-github",
        application_id=app.id,
        display_name=f"github-{identity.key}",
        description=f"GitHub Actions: {identity.subject}",
        issuer=GITHUB_ISSUER,
        subject=identity.subject,
        audiences=[TOKEN_EXCHANGE_AUDIENCE],
        opts=opts,
    )
    return app


config = pulumi.Config()
tenant_id = config.require("tenantId")
repository = config.require("githubRepository")  # <org>/<repo>
branch = config.get("githubBranch") or "main"
app_name = config.get("appName") or "defender-air"

entra = azuread.Provider("entra", tenant_id=tenant_id)
invoke = pulumi.InvokeOptions(provider=entra)
# Microsoft's own service principals, read, never managed: a stack must not own (or delete) them.
exchange_online = azuread.get_service_principal_output(client_id=EXCHANGE_ONLINE_APP_ID, opts=invoke).object_id
microsoft_graph = azuread.get_service_principal_output(client_id=MICROSOFT_GRAPH_APP_ID, opts=invoke).object_id

deploy = declare(Identity("deploy", app_name, "Security Administrator", SECURITY_ADMINISTRATOR,
                          f"repo:{repository}:ref:refs/heads/{branch}",
                          f"pulumi-defender-air: pulumi up from {repository}@{branch}"),
                 entra, exchange_online, microsoft_graph)
preview = declare(Identity("preview", f"{app_name}-preview", "Global Reader", GLOBAL_READER,
                           f"repo:{repository}:pull_request",
                           f"pulumi-defender-air: read-only, for pull requests of {repository}"),
                  entra, exchange_online, microsoft_graph)

pulumi.export("tenantId", tenant_id)
pulumi.export("deployClientId", deploy.client_id)
pulumi.export("previewClientId", preview.client_id)
