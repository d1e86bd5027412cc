"""Endpoints and token audiences of each Microsoft cloud, each host with its source.

This is the one place that knows Microsoft's host names. ``public`` covers the commercial cloud and
GCC (GCC tenants use the commercial endpoints for all four services).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Cloud:
    name: str
    authority_host: str
    exchange: str  # Exchange Online admin API (InvokeCommand)
    compliance: str  # Security & Compliance front door (the regional host is discovered from it)
    portal: str  # Defender portal (device groups, cookie session)
    graph: str  # Microsoft Graph
    # Token audience of Security & Compliance: not always the front door's host (DoD's front door is "l5.").
    compliance_audience: str = "https://ps.compliance.protection.outlook.com"
    # Regional REST hosts are "<region>.<this>" (docs/wire/invoke-command.md §3.3).
    compliance_regional_domain: str = "ps.compliance.protection.outlook.com"
    # Audience of the GitHub Actions OIDC token exchanged with Entra ID: the value a federated identity credential
    # expects per Entra cloud (docs/wire/ci-identity.md §1.3).
    federation_audience: str = "api://AzureADTokenExchange"

    @property
    def exchange_scope(self) -> str:
        return f"{self.exchange}/.default"

    @property
    def compliance_scope(self) -> str:
        return f"{self.compliance_audience}/.default"

    @property
    def graph_scope(self) -> str:
        return f"{self.graph}/.default"


CLOUDS: dict[str, Cloud] = {
    # Exchange: ScubaGear EXORestHelper.psm1 (docs/wire/invoke-command.md §3.1); compliance: ScubaGear
    # Get-ComplianceScope and CIPP (docs/wire/invoke-command.md §3.2); portal: docs/wire/invoke-command.md §3.1; Graph:
    # Microsoft Graph national cloud deployments documentation.
    "public": Cloud(
        name="public",
        authority_host="login.microsoftonline.com",
        exchange="https://outlook.office365.com",
        compliance="https://ps.compliance.protection.outlook.com",
        portal="https://security.microsoft.com",
        graph="https://graph.microsoft.com",
    ),
    # GCC High. Exchange host: ScubaGear EXORestHelper.psm1 (docs/wire/invoke-command.md §3.1). Compliance host:
    # Microsoft's app-only auth doc (Connect-IPPSSession -ConnectionUri https://ps.compliance.protection.office365.us)
    # and ScubaGear Get-ComplianceScope. Portal host security.microsoft.us: Microsoft's "Defender for Endpoint for US
    # Government customers" page [docs/wire/invoke-command.md §3.1; unverified against a live tenant].
    "usgovhigh": Cloud(
        name="usgovhigh",
        authority_host="login.microsoftonline.us",
        exchange="https://outlook.office365.us",
        compliance="https://ps.compliance.protection.office365.us",
        portal="https://security.microsoft.us",
        graph="https://graph.microsoft.us",
        # ScubaGear Get-ComplianceScope: https://ps.compliance.protection.office365.us/.default for GCC High and DoD.
        compliance_audience="https://ps.compliance.protection.office365.us",
        compliance_regional_domain="ps.compliance.protection.office365.us",  # [inference] no gov region captured
        federation_audience="api://AzureADTokenExchangeUSGov",  # docs/wire/ci-identity.md §1.3
    ),
    # DoD. Exchange host: ScubaGear EXORestHelper.psm1. Compliance host l5.ps.compliance.protection.office365.us:
    # Microsoft's Connect-IPPSSession documentation for DoD [docs/wire/invoke-command.md §3.1]. Portal host
    # security.apps.mil and Graph host dod-graph.microsoft.us: Microsoft's US Government pages [unverified].
    "usgovdod": Cloud(
        name="usgovdod",
        authority_host="login.microsoftonline.us",
        exchange="https://outlook-dod.office365.us",
        compliance="https://l5.ps.compliance.protection.office365.us",
        portal="https://security.apps.mil",
        graph="https://dod-graph.microsoft.us",
        compliance_audience="https://ps.compliance.protection.office365.us",  # ScubaGear Get-ComplianceScope
        compliance_regional_domain="ps.compliance.protection.office365.us",  # [inference] no DoD region captured
        federation_audience="api://AzureADTokenExchangeUSGov",  # docs/wire/ci-identity.md §1.3
    ),
}


def emulated_cloud(base_url: str) -> Cloud:
    """The contract's emulator URL layout: every service under ``BASE/<service>``."""
    base = base_url.rstrip("/")
    return Cloud(
        name="emulator",
        authority_host="",
        exchange=f"{base}/exchange",
        compliance=f"{base}/compliance",
        portal=f"{base}/portal",
        graph=f"{base}/graph",
    )
