"""The one list of resources: each definition with the provider class that serves it.

The SDK, the package schema, the serialized-provider test and the docs' tables read the resources from here.
Adding a resource on an existing backend: its definition (``definitions/``), its handler (``handlers/``), its
SDK class (``sdk/pulumi_defender_air/``) and one line below.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .definitions.alert_policy import ALERT_POLICY
from .definitions.device_group import DEFAULT_DEVICE_GROUP, DEVICE_GROUP
from .definitions.endpoint_advanced_features import ENDPOINT_ADVANCED_FEATURES
from .definitions.fields import ResourceDefinition
from .definitions.preset_policy_assignment import PRESET_POLICY_ASSIGNMENT

if TYPE_CHECKING:
    from .handlers.base import AirProvider


@dataclass(frozen=True)
class RegisteredResource:
    definition: ResourceDefinition
    handler: str
    """``<module under handlers>:<class>``, imported on first use of :attr:`provider`: a process that serves one
    resource type (the dynamic server, the native plugin's first Check) imports that handler only
    (docs/performance.md, "Cold start")."""

    @property
    def name(self) -> str:
        return self.definition.name

    @property
    def provider(self) -> type[AirProvider]:
        module, _, name = self.handler.partition(":")
        found: type[AirProvider] = getattr(importlib.import_module(f"{__package__}.handlers.{module}"), name)
        return found


RESOURCES: tuple[RegisteredResource, ...] = (
    RegisteredResource(PRESET_POLICY_ASSIGNMENT, "preset_policy_assignment:PresetPolicyAssignmentProvider"),
    RegisteredResource(ALERT_POLICY, "alert_policy:AlertPolicyProvider"),
    RegisteredResource(DEVICE_GROUP, "device_group:DeviceGroupProvider"),
    RegisteredResource(DEFAULT_DEVICE_GROUP, "device_group:DefaultDeviceGroupProvider"),
    RegisteredResource(ENDPOINT_ADVANCED_FEATURES, "endpoint_advanced_features:EndpointAdvancedFeaturesProvider"),
)


def resource(name: str) -> RegisteredResource:
    """The registered resource called ``name`` (``AlertPolicy``)."""
    found = next((r for r in RESOURCES if r.name == name), None)
    if found is None:
        raise KeyError(f"no resource named {name!r}; known: {', '.join(r.name for r in RESOURCES)}")
    return found
