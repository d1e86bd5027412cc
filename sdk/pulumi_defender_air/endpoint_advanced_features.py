"""``EndpointAdvancedFeatures``: Defender for Endpoint advanced features (one settings object per tenant)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, overload

import pulumi

from defender_air_provider.definitions.endpoint_advanced_features import ENDPOINT_ADVANCED_FEATURES

from ._utilities import AirResource, claim_unique, split_call


@dataclass(kw_only=True)
class EndpointAdvancedFeaturesArgs:
    """The arguments of ``EndpointAdvancedFeatures`` (see ``EndpointAdvancedFeatures`` for each one)."""

    auto_resolve_investigated_alerts: pulumi.Input[bool] | None = None
    allow_or_block_file: pulumi.Input[bool] | None = None
    edr_in_block_mode: pulumi.Input[bool] | None = None
    restrict_correlation_to_device_groups: pulumi.Input[bool] | None = None
    custom_network_indicators: pulumi.Input[bool] | None = None
    tamper_protection: pulumi.Input[bool] | None = None
    device_discovery: pulumi.Input[bool] | None = None
    web_content_filtering: pulumi.Input[bool] | None = None
    download_quarantined_files: pulumi.Input[bool] | None = None
    show_user_details: pulumi.Input[bool] | None = None


class EndpointAdvancedFeatures(AirResource, module="air", name="EndpointAdvancedFeatures"):
    """Defender for Endpoint advanced features (Settings > Endpoints > Advanced features).

    Every argument is optional: unset = not managed. Create adopts the tenant's settings object and changes only
    the managed toggles; every other key, including keys the provider does not know, is sent back unchanged.
    Delete stops managing (no API call). Needs ``defender-air:portalSession`` (see docs/device-groups.md).
    """

    _definition = ENDPOINT_ADVANCED_FEATURES

    auto_resolve_investigated_alerts: pulumi.Output[bool | None]
    """The portal's "Automatically resolve alerts" toggle; unset = not managed. Microsoft recommends on for AIR."""
    allow_or_block_file: pulumi.Output[bool | None]
    """The portal's "Allow or block file" toggle; unset = not managed."""
    edr_in_block_mode: pulumi.Output[bool | None]
    """The portal's "Enable EDR in block mode" toggle; unset = not managed."""
    restrict_correlation_to_device_groups: pulumi.Output[bool | None]
    """The portal's "Restrict correlation to within scoped device groups" toggle; unset = not managed."""
    custom_network_indicators: pulumi.Output[bool | None]
    """The portal's "Custom network indicators" toggle; unset = not managed."""
    tamper_protection: pulumi.Output[bool | None]
    """The portal's "Tamper protection" toggle; unset = not managed."""
    device_discovery: pulumi.Output[bool | None]
    """The portal's "Device discovery" toggle; unset = not managed. Stored inverted on the portal (`MagellanOptOut`)."""
    web_content_filtering: pulumi.Output[bool | None]
    """The portal's "Web content filtering" toggle; unset = not managed."""
    download_quarantined_files: pulumi.Output[bool | None]
    """The portal's "Download quarantined files" toggle; unset = not managed."""
    show_user_details: pulumi.Output[bool | None]
    """The portal's "Show user details" toggle; unset = not managed."""
    automated_investigation_enabled: pulumi.Output[bool | None]
    """The tenant's automated investigation switch (read only; on for every tenant since 2023)."""
    tenant: pulumi.Output[str]
    """Where the resource was created: `<tenant id>@<cloud>` (`...@public`), or under the emulator `<tenant id>@<emulator URL>`; `*` for the tenant id when none is configured (portal resources). Refresh, update and delete fail, with no API call, when the provider is configured for another tenant or endpoint."""  # noqa: E501

    @overload
    def __init__(self, resource_name: str, args: EndpointAdvancedFeaturesArgs,
                 opts: pulumi.ResourceOptions | None = None) -> None:
        ...

    @overload
    def __init__(
        self,
        resource_name: str,
        opts: pulumi.ResourceOptions | None = None,
        *,
        auto_resolve_investigated_alerts: pulumi.Input[bool] | None = None,
        allow_or_block_file: pulumi.Input[bool] | None = None,
        edr_in_block_mode: pulumi.Input[bool] | None = None,
        restrict_correlation_to_device_groups: pulumi.Input[bool] | None = None,
        custom_network_indicators: pulumi.Input[bool] | None = None,
        tamper_protection: pulumi.Input[bool] | None = None,
        device_discovery: pulumi.Input[bool] | None = None,
        web_content_filtering: pulumi.Input[bool] | None = None,
        download_quarantined_files: pulumi.Input[bool] | None = None,
        show_user_details: pulumi.Input[bool] | None = None,
    ) -> None:
        ...

    def __init__(self, resource_name: str, *args: Any, **kwargs: Any) -> None:
        values, opts = split_call(EndpointAdvancedFeaturesArgs, args, kwargs, "EndpointAdvancedFeatures")
        # One settings object per tenant: two resources would undo each other's toggles on every `pulumi up`.
        claim_unique(self._definition, {}, resource_name)
        self._register(resource_name, values, opts)

    @classmethod
    def get(cls, resource_name: str, id: pulumi.Input[str] = "default", opts: pulumi.ResourceOptions | None = None,
            ) -> EndpointAdvancedFeatures:
        """The tenant's advanced features, read live (``id``: ``default``)."""
        return cls._read(resource_name, id, opts)
