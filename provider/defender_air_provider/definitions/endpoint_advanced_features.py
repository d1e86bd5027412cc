"""``EndpointAdvancedFeatures``: Defender for Endpoint advanced features (one settings object per tenant).

Wire names are the keys of the portal's flat settings object (docs/wire/defender-portal.md §6.4). Device
discovery is stored inverted, as ``MagellanOptOut``; the translation is the client's
(``clients/advanced_features.py``).
"""

from __future__ import annotations

from .fields import TENANT_FIELD, Field, Kind, ResourceDefinition


def _toggle(name: str, wire: str, toggle: str, more: str = "") -> Field:
    return Field(name, Kind.BOOL, f"The portal's \"{toggle}\" toggle; unset = not managed.{more}", wire=wire)


ENDPOINT_ADVANCED_FEATURES = ResourceDefinition(
    name="EndpointAdvancedFeatures",
    doc=("Defender for Endpoint advanced features (Settings > Endpoints > Advanced features), the guide's "
         "prerequisite \"automated investigation and remediation capabilities in Defender for Endpoint are "
         "configured\". Every argument is optional: unset = not managed. Create adopts the tenant's settings "
         "object and changes only the managed keys; every other key, including keys the provider does not know, "
         "is sent back unchanged. Delete stops managing (no API call). Needs `defender-air:portalSession`."),
    id_doc="`default`",
    singleton=True,
    fields=(
        _toggle("auto_resolve_investigated_alerts", "AutoResolveInvestigatedAlerts", "Automatically resolve alerts",
                " Microsoft recommends on for AIR."),
        _toggle("allow_or_block_file", "BlockListEnabled", "Allow or block file"),
        _toggle("edr_in_block_mode", "EnableWdavPassiveModeRemediation", "Enable EDR in block mode"),
        _toggle("restrict_correlation_to_device_groups", "IsolateIncidentsWithDifferentDeviceGroups",
                "Restrict correlation to within scoped device groups"),
        _toggle("custom_network_indicators", "AllowWdavNetworkBlock", "Custom network indicators"),
        _toggle("tamper_protection", "EnableWdavAntiTampering", "Tamper protection"),
        _toggle("device_discovery", "MagellanOptOut", "Device discovery",
                " Stored inverted on the portal (`MagellanOptOut`)."),
        _toggle("web_content_filtering", "WebCategoriesEnabled", "Web content filtering"),
        _toggle("download_quarantined_files", "EnableQuarantinedFileDownload", "Download quarantined files"),
        _toggle("show_user_details", "ShowUserAadProfile", "Show user details"),
        Field("automated_investigation_enabled", Kind.BOOL, "The tenant's automated investigation switch (read "
              "only; on for every tenant since 2023).", wire="IsAutomatedIrEnabled", input=False, computed=True),
        TENANT_FIELD,
    ),
)
