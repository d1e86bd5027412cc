"""``DeviceGroup`` and ``DefaultDeviceGroup``: Defender for Endpoint device groups and their automation level."""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi.dynamic

from defender_air_provider.handlers.device_group import DefaultDeviceGroupProvider, DeviceGroupProvider

from ._utilities import claim_singleton, plain_args


class AutomationLevel(str, enum.Enum):
    """Automation level of automated investigation and remediation for a device group (Microsoft recommends
    ``FULL``)."""

    FULL = "full"  # Full - remediate threats automatically
    SEMI_ALL_FOLDERS = "semi_all_folders"  # Semi - require approval for all folders
    SEMI_CORE_FOLDERS = "semi_core_folders"  # Semi - core folders: refused until its wire value is known
    SEMI_NON_TEMP_FOLDERS = "semi_non_temp_folders"  # Semi - require approval for non-temp folders
    NONE = "none"  # No automated response


@dataclass
class DeviceGroupRuleArgs:
    """One membership condition. Rules on the same property are ORed, different properties are ANDed.

    ``property``: ``name``, ``domain``, ``tag`` or ``os``; ``operator``: ``equals``, ``starts_with``,
    ``ends_with``, ``contains``, or ``in`` (only with ``os``; ``value`` is then a list of OS platform names such as
    ``WindowsServer2022``).
    """

    property: pulumi.Input[str]
    operator: pulumi.Input[str]
    value: pulumi.Input[str] | pulumi.Input[Sequence[pulumi.Input[str]]]


def _rules(rules: Any) -> Any:
    if rules is None or isinstance(rules, pulumi.Output):
        return rules
    return [plain_args(r, DeviceGroupRuleArgs, "rules[]") for r in rules]


def _level(level: Any) -> Any:
    return level.value if isinstance(level, AutomationLevel) else level


class DeviceGroup(pulumi.dynamic.Resource, module="air", name="DeviceGroup"):
    """A Defender for Endpoint device group with its automation level, membership rules, rank and user access.

    Written through the Defender portal's machine-groups API, which replaces the whole collection on every
    write: the provider changes only this group and sends every other group back exactly as it read it.
    Needs ``defender-air:portalSession`` (see docs/device-groups.md).
    """

    display_name: pulumi.Output[str]
    automation_level: pulumi.Output[str]
    description: pulumi.Output[str | None]
    rules: pulumi.Output[list[dict[str, Any]]]
    rank: pulumi.Output[int]
    user_groups: pulumi.Output[list[str]]
    adopt_existing: pulumi.Output[bool]
    group_id: pulumi.Output[str]

    def __init__(
        self,
        resource_name: str,
        *,
        display_name: pulumi.Input[str],
        automation_level: pulumi.Input[str] | AutomationLevel,
        description: pulumi.Input[str] | None = None,
        rules: pulumi.Input[Sequence[pulumi.Input[DeviceGroupRuleArgs | Mapping[str, Any]]]] | None = None,
        rank: pulumi.Input[int] | None = None,
        user_groups: pulumi.Input[Sequence[pulumi.Input[str]]] | None = None,
        adopt_existing: pulumi.Input[bool] | None = None,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        if rank is not None:
            # Two groups claiming one rank would swap places on every `pulumi up`: refuse it in the program.
            claim_singleton("DeviceGroup", rank, resource_name, "rank")
        claim_singleton("DeviceGroup", display_name, resource_name, "display_name")
        props: dict[str, Any] = {
            "display_name": display_name,
            "automation_level": _level(automation_level),
            "description": description,
            "rules": _rules(rules) if rules is not None else [],
            "rank": rank,
            "user_groups": user_groups if user_groups is not None else [],
            "adopt_existing": False if adopt_existing is None else adopt_existing,
            "group_id": None,
        }
        super().__init__(DeviceGroupProvider(), resource_name, props, opts)


class DefaultDeviceGroup(pulumi.dynamic.Resource, module="air", name="DefaultDeviceGroup"):
    """The built-in "Ungrouped devices (default)" group. It always exists: create adopts it, delete stops managing
    it (no API call). Only its automation level and user access can be set."""

    automation_level: pulumi.Output[str]
    user_groups: pulumi.Output[list[str]]
    group_id: pulumi.Output[str]

    def __init__(
        self,
        resource_name: str,
        *,
        automation_level: pulumi.Input[str] | AutomationLevel,
        user_groups: pulumi.Input[Sequence[pulumi.Input[str]]] | None = None,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        claim_singleton("DefaultDeviceGroup", "ungrouped", resource_name, "group")
        props: dict[str, Any] = {
            "automation_level": _level(automation_level),
            "user_groups": user_groups if user_groups is not None else [],
            "group_id": None,
        }
        super().__init__(DefaultDeviceGroupProvider(), resource_name, props, opts)
