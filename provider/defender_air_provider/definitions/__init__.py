"""One declarative definition per resource (plain data); see ``fields.py``."""

from .alert_policy import ALERT_POLICY
from .device_group import DEFAULT_DEVICE_GROUP, DEVICE_GROUP, DEVICE_GROUP_RULE
from .fields import Field, Kind, ObjectType, ResourceDefinition
from .preset_policy_assignment import PRESET_POLICY_ASSIGNMENT, RECIPIENT_SCOPE

__all__ = [
    "ALERT_POLICY",
    "DEFAULT_DEVICE_GROUP",
    "DEVICE_GROUP",
    "DEVICE_GROUP_RULE",
    "PRESET_POLICY_ASSIGNMENT",
    "RECIPIENT_SCOPE",
    "Field",
    "Kind",
    "ObjectType",
    "ResourceDefinition",
]
