"""The one list of resources: each definition with the provider class that serves it.

The SDK, the package schema, the serialized-provider test and the docs' tables read the resources from here.
Adding a resource on an existing backend: its definition (``definitions/``), its handler (``handlers/``), its
SDK class (``sdk/pulumi_defender_air/``) and one line below.
"""

from __future__ import annotations

from dataclasses import dataclass

from .definitions.alert_policy import ALERT_POLICY
from .definitions.device_group import DEFAULT_DEVICE_GROUP, DEVICE_GROUP
from .definitions.endpoint_advanced_features import ENDPOINT_ADVANCED_FEATURES
from .definitions.fields import ResourceDefinition
from .definitions.preset_policy_assignment import PRESET_POLICY_ASSIGNMENT
from .handlers.alert_policy import AlertPolicyProvider
from .handlers.base import AirProvider
from .handlers.device_group import DefaultDeviceGroupProvider, DeviceGroupProvider
from .handlers.endpoint_advanced_features import EndpointAdvancedFeaturesProvider
from .handlers.preset_policy_assignment import PresetPolicyAssignmentProvider


@dataclass(frozen=True)
class RegisteredResource:
    definition: ResourceDefinition
    provider: type[AirProvider]

    @property
    def name(self) -> str:
        return self.definition.name


RESOURCES: tuple[RegisteredResource, ...] = (
    RegisteredResource(PRESET_POLICY_ASSIGNMENT, PresetPolicyAssignmentProvider),
    RegisteredResource(ALERT_POLICY, AlertPolicyProvider),
    RegisteredResource(DEVICE_GROUP, DeviceGroupProvider),
    RegisteredResource(DEFAULT_DEVICE_GROUP, DefaultDeviceGroupProvider),
    RegisteredResource(ENDPOINT_ADVANCED_FEATURES, EndpointAdvancedFeaturesProvider),
)


def resource(name: str) -> RegisteredResource:
    """The registered resource called ``name`` (``AlertPolicy``)."""
    found = next((r for r in RESOURCES if r.name == name), None)
    if found is None:
        raise KeyError(f"no resource named {name!r}; known: {', '.join(r.name for r in RESOURCES)}")
    return found
