"""Device groups and their automation level for automated investigation and remediation (AIR).

* Tier 0 servers (domain controllers, PKI, identity servers, tagged "Tier0") on semi-automation: every
  remediation waits for an analyst's approval, so nothing on them changes without a person.
* Everything else Full, as Microsoft recommends: a catch-all "Servers" group and the built-in
  "Ungrouped devices (default)" group.
* Only the SOC and the Tier 0 admins see the Tier 0 group.
"""

import pulumi

import pulumi_defender_air as air

SERVER_OS = ["WindowsServer2025", "WindowsServer2022", "WindowsServer2019", "WindowsServer2016", "Linux"]

tier0 = air.DeviceGroup(
    "tier0-servers",
    display_name="Tier 0 servers",
    description="Domain controllers, PKI and identity servers: remediation needs approval",
    automation_level=air.AutomationLevel.SEMI_ALL_FOLDERS,
    rules=[
        air.DeviceGroupRuleArgs(property="tag", operator="equals", value="Tier0"),
        air.DeviceGroupRuleArgs(property="os", operator="in", value=SERVER_OS),
    ],
    rank=1,  # matched before the catch-all group below
    user_groups=["Tier0 Admins", "SOC Analysts"],
)

servers = air.DeviceGroup(
    "servers",
    display_name="Servers",
    description="Every other server: full automation",
    automation_level=air.AutomationLevel.FULL,
    rules=[air.DeviceGroupRuleArgs(property="os", operator="in", value=SERVER_OS)],
    rank=2,
    # Ranks are positions: create the groups in rank order, so each lands where it is declared.
    opts=pulumi.ResourceOptions(depends_on=[tier0]),
)

default = air.DefaultDeviceGroup("ungrouped-devices", automation_level=air.AutomationLevel.FULL)

pulumi.export("tier0_group_id", tier0.group_id)
pulumi.export("tier0_rank", tier0.rank)
pulumi.export("servers_group_id", servers.group_id)
