"""``DeviceGroup`` and ``DefaultDeviceGroup``: Defender for Endpoint device groups and their automation level."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, overload

import pulumi

from defender_air_provider.definitions.device_group import DEFAULT_DEVICE_GROUP, DEVICE_GROUP

from ._utilities import AirResource, claim_unique, split_call
from .enums import AutomationLevel, DeviceGroupRuleOperator, DeviceGroupRuleProperty


@dataclass
class DeviceGroupRuleArgs:
    """One membership condition. Rules on the same property are ORed, different properties are ANDed.

    ``property``: ``name``, ``domain``, ``tag`` or ``os``; ``operator``: ``equals``, ``starts_with``,
    ``ends_with``, ``contains``, or ``in`` (only with ``os``; ``value`` is then a list of OS platform names such as
    ``WindowsServer2022``).
    """

    property: pulumi.Input[str | DeviceGroupRuleProperty]
    operator: pulumi.Input[str | DeviceGroupRuleOperator]
    value: pulumi.Input[str] | pulumi.Input[Sequence[pulumi.Input[str]]]


DeviceGroupRuleInput = DeviceGroupRuleArgs | Mapping[str, Any]
NESTED = {"DeviceGroupRule": DeviceGroupRuleArgs}


@dataclass(kw_only=True)
class DeviceGroupArgs:
    """The arguments of a ``DeviceGroup`` (see ``DeviceGroup`` for each one)."""

    display_name: pulumi.Input[str]
    automation_level: pulumi.Input[str | AutomationLevel]
    description: pulumi.Input[str] | None = None
    rules: pulumi.Input[Sequence[pulumi.Input[DeviceGroupRuleInput]]] | None = None
    rank: pulumi.Input[int] | None = None
    user_groups: pulumi.Input[Sequence[pulumi.Input[str]]] | None = None
    adopt_existing: pulumi.Input[bool] | None = None


class DeviceGroup(AirResource, module="air", name="DeviceGroup"):
    """A Defender for Endpoint device group with its automation level, membership rules, rank and user access.

    Written through the Defender portal's machine-groups API, which replaces the whole collection on every
    write: the provider changes only this group and sends every other group back exactly as it read it.
    Needs ``defender-air:portalSession`` (see docs/device-groups.md).
    """

    _definition = DEVICE_GROUP

    display_name: pulumi.Output[str]
    """Unique in the tenant (compared case-insensitively); changing it renames the group in place."""
    automation_level: pulumi.Output[str]
    """`full`, `semi_all_folders`, `semi_core_folders` (refused until its wire value is known), `semi_non_temp_folders` or `none`; Microsoft recommends `full`."""  # noqa: E501
    description: pulumi.Output[str | None]
    """Free text; unset = not managed."""
    rules: pulumi.Output[list[dict[str, Any]]]
    """Membership rules `{property, operator, value}`; unset = no rules (an update clears them)."""
    rank: pulumi.Output[int]
    """1 = highest; unset = keep the group's rank (a new group goes last, above "Ungrouped devices"). As an output: the group's actual rank."""  # noqa: E501
    user_groups: pulumi.Output[list[str]]
    """Entra group object IDs or display names (resolved through Microsoft Graph) allowed to see the group; empty = visible to all."""  # noqa: E501
    adopt_existing: pulumi.Output[bool]
    """Take over an existing group of the same name instead of failing."""
    group_id: pulumi.Output[str]
    """The portal's MachineGroupId (also the resource id)."""
    requested_rank: pulumi.Output[int | None]
    """The rank last asked for (`rank` shows the actual one)."""
    rank_in_place: pulumi.Output[bool | None]
    """Whether the group was at the requested rank when last read."""
    user_group_ids: pulumi.Output[list[str]]
    """The object IDs `user_groups` resolved to, as assigned on the portal."""
    tenant: pulumi.Output[str]
    """Where the resource was created: `<tenant id>@<cloud>` (`...@public`), or under the emulator `<tenant id>@<emulator URL>`; `*` for the tenant id when none is configured (portal resources). Refresh, update and delete fail, with no API call, when the provider is configured for another tenant or endpoint."""  # noqa: E501

    @overload
    def __init__(self, resource_name: str, args: DeviceGroupArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        ...

    @overload
    def __init__(
        self,
        resource_name: str,
        opts: pulumi.ResourceOptions | None = None,
        *,
        display_name: pulumi.Input[str],
        automation_level: pulumi.Input[str | AutomationLevel],
        description: pulumi.Input[str] | None = None,
        rules: pulumi.Input[Sequence[pulumi.Input[DeviceGroupRuleInput]]] | None = None,
        rank: pulumi.Input[int] | None = None,
        user_groups: pulumi.Input[Sequence[pulumi.Input[str]]] | None = None,
        adopt_existing: pulumi.Input[bool] | None = None,
    ) -> None:
        ...

    def __init__(self, resource_name: str, *args: Any, **kwargs: Any) -> None:
        values, opts = split_call(DeviceGroupArgs, args, kwargs, "DeviceGroup")
        # Two groups claiming one rank would swap places on every `pulumi up`: refuse it in the program.
        claim_unique(self._definition, values, resource_name)
        self._register(resource_name, values, opts, NESTED)

    @classmethod
    def get(cls, resource_name: str, id: pulumi.Input[str], opts: pulumi.ResourceOptions | None = None,
            ) -> DeviceGroup:
        """The existing device group whose MachineGroupId (``group_id``) is ``id``, read live."""
        return cls._read(resource_name, id, opts)


@dataclass(kw_only=True)
class DefaultDeviceGroupArgs:
    """The arguments of a ``DefaultDeviceGroup`` (see ``DefaultDeviceGroup`` for each one)."""

    automation_level: pulumi.Input[str | AutomationLevel]
    user_groups: pulumi.Input[Sequence[pulumi.Input[str]]] | None = None


class DefaultDeviceGroup(AirResource, module="air", name="DefaultDeviceGroup"):
    """The built-in "Ungrouped devices (default)" group. It always exists: create adopts it, delete stops managing
    it (no API call). Only its automation level and user access can be set."""

    _definition = DEFAULT_DEVICE_GROUP

    automation_level: pulumi.Output[str]
    """`full`, `semi_all_folders`, `semi_core_folders` (refused until its wire value is known), `semi_non_temp_folders` or `none`; Microsoft recommends `full`."""  # noqa: E501
    user_groups: pulumi.Output[list[str]]
    """Entra group object IDs or display names (resolved through Microsoft Graph) allowed to see the group; empty = visible to all."""  # noqa: E501
    group_id: pulumi.Output[str]
    """The portal's MachineGroupId of the default group."""
    user_group_ids: pulumi.Output[list[str]]
    """The object IDs `user_groups` resolved to, as assigned on the portal."""
    tenant: pulumi.Output[str]
    """Where the resource was created: `<tenant id>@<cloud>` (`...@public`), or under the emulator `<tenant id>@<emulator URL>`; `*` for the tenant id when none is configured (portal resources). Refresh, update and delete fail, with no API call, when the provider is configured for another tenant or endpoint."""  # noqa: E501

    @overload
    def __init__(self, resource_name: str, args: DefaultDeviceGroupArgs,
                 opts: pulumi.ResourceOptions | None = None) -> None:
        ...

    @overload
    def __init__(
        self,
        resource_name: str,
        opts: pulumi.ResourceOptions | None = None,
        *,
        automation_level: pulumi.Input[str | AutomationLevel],
        user_groups: pulumi.Input[Sequence[pulumi.Input[str]]] | None = None,
    ) -> None:
        ...

    def __init__(self, resource_name: str, *args: Any, **kwargs: Any) -> None:
        values, opts = split_call(DefaultDeviceGroupArgs, args, kwargs, "DefaultDeviceGroup")
        claim_unique(self._definition, {}, resource_name)
        self._register(resource_name, values, opts)

    @classmethod
    def get(cls, resource_name: str, id: pulumi.Input[str] = "default", opts: pulumi.ResourceOptions | None = None,
            ) -> DefaultDeviceGroup:
        """The tenant's "Ungrouped devices (default)" group, read live (``id``: ``default``)."""
        return cls._read(resource_name, id, opts)
