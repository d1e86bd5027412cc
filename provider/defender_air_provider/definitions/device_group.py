"""``DeviceGroup`` and ``DefaultDeviceGroup``: Defender for Endpoint device groups (the portal's machine groups).

Wire names are the keys of a machine-group object (docs/wire/defender-portal.md §2.3); how values translate to the
portal's integers is ``clients/device_groups/wire.py``'s job.
"""

from __future__ import annotations

from .enums import AutomationLevel, DeviceGroupRuleOperator, DeviceGroupRuleProperty
from .fields import TENANT_FIELD, Field, Kind, ObjectType, ResourceDefinition

DEVICE_GROUP_RULE = ObjectType(
    name="DeviceGroupRule",
    doc=("One membership condition. Rules on the same property are ORed, different properties are ANDed. "
         "`operator` `in` goes only with `property` `os`, and then `value` is a list of OS platform names such as "
         "`WindowsServer2022`."),
    fields=(
        Field("property", Kind.STRING, "What the rule looks at: `name`, `domain`, `tag` or `os`.", wire="Property",
              enum=DeviceGroupRuleProperty, required=True),
        Field("operator", Kind.STRING, "`equals`, `starts_with`, `ends_with`, `contains`, or `in` (only with `os`).",
              wire="OperatorType", enum=DeviceGroupRuleOperator, required=True),
        Field("value", Kind.STRING_OR_LIST, "The value to compare with; a list of OS platform names for `in`.",
              wire="PropertyValue", required=True),
    ),
)

_AUTOMATION_LEVEL_DOC = ("`full`, `semi_all_folders`, `semi_core_folders` (refused until its wire value is known), "
                         "`semi_non_temp_folders` or `none`; Microsoft recommends `full`.")
_USER_GROUPS_DOC = ("Entra group object IDs or display names (resolved through Microsoft Graph) allowed to see the "
                    "group; empty = visible to all.")
_USER_GROUP_IDS_DOC = "The object IDs `user_groups` resolved to, as assigned on the portal."

DEVICE_GROUP = ResourceDefinition(
    name="DeviceGroup",
    unique=("display_name", "rank"),
    doc=("A Defender for Endpoint device group with its automation level, membership rules, rank and user access. "
         "Written through the Defender portal's machine-groups API, which replaces the whole collection on every "
         "write: the provider changes only this group and sends every other group back exactly as it read it. "
         "Needs `defender-air:portalSession`."),
    id_doc="the portal's numeric MachineGroupId, as a string (`group_id`)",
    nested=(DEVICE_GROUP_RULE,),
    fields=(
        Field("display_name", Kind.STRING, "Unique in the tenant (compared case-insensitively); changing it renames "
              "the group in place.", wire="Name", required=True, case_insensitive=True),
        Field("automation_level", Kind.STRING, _AUTOMATION_LEVEL_DOC, wire="AutoRemediationLevel",
              enum=AutomationLevel, required=True),
        Field("description", Kind.STRING, "Free text; unset = not managed.", wire="Description"),
        Field("rules", Kind.OBJECT_LIST, "Membership rules `{property, operator, value}`; unset = no rules (an "
              "update clears them).", wire="GroupRules", object_type=DEVICE_GROUP_RULE, membership=True),
        # A position among the groups, not the portal's sparse ``Priority`` value: no wire name of its own.
        Field("rank", Kind.INT, "1 = highest; unset = keep the group's rank (a new group goes last, above "
              "\"Ungrouped devices\"). As an output: the group's actual rank.", minimum=1,
              computed=True),
        Field("user_groups", Kind.STRING_LIST, _USER_GROUPS_DOC, wire="MachineGroupAssignments", membership=True,
              case_insensitive=True),
        Field("adopt_existing", Kind.BOOL, "Take over an existing group of the same name instead of failing.",
              default=False),
        Field("group_id", Kind.STRING, "The portal's MachineGroupId (also the resource id).", wire="MachineGroupId",
              input=False, computed=True),
        Field("requested_rank", Kind.INT, "The rank last asked for (`rank` shows the actual one).", input=False,
              computed=True, advanced=True),
        Field("rank_in_place", Kind.BOOL, "Whether the group was at the requested rank when last read.",
              input=False, computed=True, advanced=True),
        Field("user_group_ids", Kind.STRING_LIST, _USER_GROUP_IDS_DOC, input=False, computed=True),
        TENANT_FIELD,
    ),
)

DEFAULT_DEVICE_GROUP = ResourceDefinition(
    name="DefaultDeviceGroup",
    doc=("The built-in \"Ungrouped devices (default)\" group. It always exists: create adopts it, delete stops "
         "managing it (no API call). Only its automation level and user access can be set."),
    id_doc="`default` (the group's MachineGroupId is also accepted)",
    singleton=True,
    fields=(
        Field("automation_level", Kind.STRING, _AUTOMATION_LEVEL_DOC, wire="AutoRemediationLevel",
              enum=AutomationLevel, required=True),
        Field("user_groups", Kind.STRING_LIST, _USER_GROUPS_DOC, wire="MachineGroupAssignments", membership=True,
              case_insensitive=True),
        Field("group_id", Kind.STRING, "The portal's MachineGroupId of the default group.", wire="MachineGroupId",
              input=False, computed=True),
        Field("user_group_ids", Kind.STRING_LIST, _USER_GROUP_IDS_DOC, input=False, computed=True),
        TENANT_FIELD,
    ),
)
