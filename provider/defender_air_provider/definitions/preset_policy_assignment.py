"""``PresetPolicyAssignment``: who the Standard or Strict preset security policy applies to.

Recipients map to the rule conditions ``SentTo`` / ``SentToMemberOf`` / ``RecipientDomainIs`` and exclusions to
their ``ExceptIf`` forms, on the EOP and the ATP rule alike (docs/wire/exchange-online.md §4).
"""

from __future__ import annotations

from .enums import Preset, RuleState
from .fields import TENANT_FIELD, Field, Kind, ObjectType, ResourceDefinition

RECIPIENT_SCOPE = ObjectType(
    name="RecipientScope",
    doc=("Recipients by mailbox address (`users`), group address (`groups`) or accepted domain (`domains`). Values "
         "within one list are ORed; different lists are ANDed, as in the Defender portal."),
    fields=(
        Field("users", Kind.STRING_LIST, "SMTP addresses of mailboxes.", wire="SentTo", membership=True,
              case_insensitive=True),
        Field("groups", Kind.STRING_LIST, "SMTP addresses of groups.", wire="SentToMemberOf", membership=True,
              case_insensitive=True),
        Field("domains", Kind.STRING_LIST, "Accepted domains.", wire="RecipientDomainIs", membership=True,
              case_insensitive=True),
    ),
)

PRESET_POLICY_ASSIGNMENT = ResourceDefinition(
    name="PresetPolicyAssignment",
    unique=("preset",),
    doc=("Assigns the Standard or Strict preset security policy (EOP and Defender for Office 365 rules). The preset "
         "must have been turned on once in the Defender portal; create fails with that instruction otherwise and "
         "changes nothing. Deleting the resource turns the preset off and leaves its recipient conditions."),
    id_doc="the preset: `standard` or `strict`",
    singleton=True,
    nested=(RECIPIENT_SCOPE,),
    fields=(
        Field("preset", Kind.STRING, "`standard` or `strict`. Changing it replaces the resource: the new preset is "
              "set up first, then the old one is turned off.", enum=Preset, required=True, replaces=True,
              case_insensitive=True),
        Field("enabled", Kind.BOOL, "`False` turns the preset off (`Disable-*Rule`) and keeps its recipients.",
              wire="State", default=True),
        Field("recipients", Kind.OBJECT, "`{users, groups, domains}`; omitted or all empty = every recipient.",
              object_type=RECIPIENT_SCOPE, membership=True),
        Field("exclusions", Kind.OBJECT, "Same shape (the rules' `ExceptIf` conditions); omitted = no exclusions "
              "(existing ones are cleared).", object_type=RECIPIENT_SCOPE, membership=True),
        Field("defender_for_office365", Kind.BOOL, "Also manage the Defender for Office 365 (ATP) rule; `False` = "
              "the EOP rule only, for tenants without Defender for Office 365.", default=True),
        Field("eop_rule_state", Kind.STRING, "The EOP rule's state: `Enabled` or `Disabled`.", wire="State",
              enum=RuleState, input=False, computed=True),
        Field("atp_rule_state", Kind.STRING, "The ATP rule's state, or null when it is not managed.", wire="State",
              enum=RuleState, input=False, computed=True),
        Field("atp_rule_in_sync", Kind.BOOL, "Whether the ATP rule has the EOP rule's state and recipients (null when "
              "it is not managed).", input=False, computed=True),
        TENANT_FIELD,
    ),
)
