"""Device groups on the wire: the portal's machine-group objects and the meaning of their integers.

This is the one place that translates between device-group settings and the portal's PascalCase objects
(docs/wire/defender-portal.md). Every value names its source; what no
source confirms is marked [inference].
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

# Int32.MaxValue on "Ungrouped devices (default)" (FIXTURE, docs/wire/defender-portal.md §3.6)
UNGROUPED_PRIORITY = 2147483647
NEW_GROUP_ID = -1  # a group to create (NMC, XDRI: "MachineGroupId = -1")

# AutoRemediationLevel: M2GSA Export-MDEWebFilteringConfig.ps1 (0 NoAutomatedResponse, 1 SemiRequireApprovalAll,
# 2 SemiRequireApprovalNonTemp, 3 FullAutomated). "Semi - require approval for core folders" has no wire value
# in any source (docs/wire/defender-portal.md §3.1: only 0-3 exist in any source), so it maps to
# None and is refused rather than guessed (docs/device-groups.md).
AUTOMATION_LEVELS: dict[str, int | None] = {
    "full": 3,
    "semi_all_folders": 1,
    "semi_core_folders": None,
    "semi_non_temp_folders": 2,
    "none": 0,
}
LEVEL_NAMES = {value: name for name, value in AUTOMATION_LEVELS.items() if value is not None}

# GroupRules[].Property: M2GSA (0 MachineName, 1 Domain, 2 Tag, 3 OS, 4 Other). Property 4 has no UI counterpart
# and every example sends it only as an empty placeholder row (docs/wire/defender-portal.md §3.3): never populated here.
PROPERTIES = {"name": 0, "domain": 1, "tag": 2, "os": 3}
OTHER_PROPERTY = 4
PROPERTY_NAMES = {value: name for name, value in PROPERTIES.items()}

# GroupRules[].OperatorType: no source maps it (docs/wire/defender-portal.md §3.4). 4 is the list-membership operator,
# seen only with OS and a JSON-in-string list (NMC, FIXTURE). For 0-3 [inference]: the order in which the only prose
# source lists the UI's operators ("starts with, ends with, equals, and contains", french365connection) fits every
# captured value: 0 on machine names and on the placeholder rows (the UI's first, default choice), 2 on a tag
# ("Privileged", equals), 3 on a bare domain label ("sevenkingdoms", contains). Unverified against a live portal;
# docs/device-groups.md tells users to check one group in the portal after the first apply.
OPERATORS = {"starts_with": 0, "ends_with": 1, "equals": 2, "contains": 3, "in": 4}
OPERATOR_NAMES = {value: name for name, value in OPERATORS.items()}
MAX_VALUES_PER_PROPERTY = 10  # DOC-MG: "You can add up to 10 rows (values) for each property type"


@dataclass(frozen=True)
class Rule:
    """One membership condition. ``value`` is a tuple for ``os in``. Unknown wire ints show as their number."""

    property: str
    operator: str
    value: str | tuple[str, ...]

    def to_output(self) -> dict[str, Any]:
        value: Any = list(self.value) if isinstance(self.value, tuple) else self.value
        return {"property": self.property, "operator": self.operator, "value": value}

    def key(self) -> tuple[str, str, Any]:
        """Rows of one property are ORed and unordered; OS lists are sets."""
        value = frozenset(v.lower() for v in self.value) if isinstance(self.value, tuple) else self.value
        return (self.property, self.operator, value)


def rules_to_wire(rules: list[Rule]) -> list[dict[str, Any]]:
    """Flat rows, grouped by property 0..4, with the empty placeholder row the portal sends for an unused
    property (every captured example carries one row per property, docs/wire/defender-portal.md §3.2)."""
    rows: list[dict[str, Any]] = []
    for prop in (*PROPERTIES.values(), OTHER_PROPERTY):
        mine = [r for r in rules if PROPERTIES.get(r.property) == prop]
        if not mine:
            rows.append({"OperatorType": 0, "Property": prop, "PropertyValue": ""})
        for rule in mine:
            # The OS list travels as a JSON array inside the string (NMC, FIXTURE), compact.
            value = rule.value
            text = json.dumps(list(value), separators=(",", ":")) if isinstance(value, tuple) else value
            rows.append({"OperatorType": OPERATORS[rule.operator], "Property": prop, "PropertyValue": text})
    return rows


def rules_from_wire(rows: Any) -> list[Rule]:
    """Rows -> rules, without the placeholder rows; unknown ints round-trip as their number."""
    rules: list[Rule] = []
    for row in rows if isinstance(rows, list) else []:
        if not isinstance(row, dict):
            continue
        text = row.get("PropertyValue")
        if text in (None, ""):
            continue  # placeholder
        prop, op = row.get("Property"), row.get("OperatorType")
        operator = OPERATOR_NAMES.get(op, str(op)) if isinstance(op, int) else str(op)
        value: str | tuple[str, ...] = str(text)
        if operator == "in":
            try:
                parsed = json.loads(str(text))
                value = tuple(str(v) for v in parsed) if isinstance(parsed, list) else str(text)
            except json.JSONDecodeError:
                value = str(text)
        name = PROPERTY_NAMES.get(prop, str(prop)) if isinstance(prop, int) else str(prop)
        rules.append(Rule(name, operator, value))
    return rules


@dataclass(frozen=True)
class UserGroup:
    object_id: str
    display_name: str


def assignments_to_wire(groups: list[UserGroup]) -> list[dict[str, Any]]:
    # M2GSA Convert spec: MachineGroupAssignments[].WcdAadGroup.{ObjectId, DisplayName}; no other field is known.
    return [{"WcdAadGroup": {"ObjectId": g.object_id, "DisplayName": g.display_name}} for g in groups]


def assignments_from_wire(item: dict[str, Any]) -> list[UserGroup]:
    groups = []
    for assignment in item.get("MachineGroupAssignments") or []:
        aad = assignment.get("WcdAadGroup") if isinstance(assignment, dict) else None
        if isinstance(aad, dict) and aad.get("ObjectId"):
            groups.append(UserGroup(str(aad["ObjectId"]), str(aad.get("DisplayName") or "")))
    return groups


@dataclass(frozen=True)
class MachineGroup:
    """A group as read: the raw item (kept verbatim for writing back) plus what we model of it."""

    raw: dict[str, Any]

    @property
    def id(self) -> int:
        return int(self.raw.get("MachineGroupId", NEW_GROUP_ID))

    @property
    def name(self) -> str:
        return str(self.raw.get("Name") or "")

    @property
    def is_ungrouped(self) -> bool:
        return bool(self.raw.get("IsUnassignedMachineGroup"))

    @property
    def priority(self) -> int:
        value = self.raw.get("Priority")
        return int(value) if isinstance(value, (int, float)) else UNGROUPED_PRIORITY

    @property
    def automation_level(self) -> str:
        level = self.raw.get("AutoRemediationLevel")
        return LEVEL_NAMES.get(level, str(level)) if isinstance(level, int) else str(level)

    @property
    def description(self) -> str:
        return str(self.raw.get("Description") or "")

    @property
    def rules(self) -> list[Rule]:
        return rules_from_wire(self.raw.get("GroupRules"))

    @property
    def user_groups(self) -> list[UserGroup]:
        return assignments_from_wire(self.raw)


def new_group_item(name: str, priority: int) -> dict[str, Any]:
    """A new group in the shape NMC and XDRI send (docs/wire/defender-portal.md §2.5); the portal assigns the id."""
    return {
        "MachineGroupId": NEW_GROUP_ID,
        "Name": name,
        "Description": "",
        "AutoRemediationLevel": AUTOMATION_LEVELS["full"],
        "Priority": priority,
        "IsUnassignedMachineGroup": False,
        "MachineCount": 0,
        "LastUpdated": "1970-01-01T00:00:00.000Z",
        "GroupRules": rules_to_wire([]),
        "MachineGroupAssignments": [],
        "OldMachineGroupId": None,
    }


def is_new_group(item: dict[str, Any]) -> bool:
    return item.get("MachineGroupId") == NEW_GROUP_ID


def real_groups(items: list[dict[str, Any]]) -> list[MachineGroup]:
    """The groups other than "Ungrouped devices", highest rank first."""
    return sorted((MachineGroup(i) for i in items if not MachineGroup(i).is_ungrouped), key=lambda g: g.priority)


def place(items: list[dict[str, Any]], target: dict[str, Any], rank: int | None) -> None:
    """Give ``target`` its Priority. Without a rank (a new group) it goes last, above Ungrouped devices. With a
    rank the group moves there; the others keep their relative order and, where they can, their Priority values
    (only those that would collide are shifted down)."""
    others = [g.raw for g in real_groups(items) if g.raw is not target]
    if rank is None:
        target["Priority"] = max([int(o["Priority"]) for o in others] or [0]) + 1
        return
    order = others[:]
    order.insert(min(rank, len(order) + 1) - 1, target)
    previous = 0
    for item in order:
        if item is target or int(item.get("Priority", 0)) <= previous:
            item["Priority"] = previous + 1
        previous = int(item["Priority"])


@dataclass(frozen=True)
class DesiredGroup:
    """The settings a resource manages on one group. ``None`` = not managed: ``name`` on the default group,
    ``description`` when unset, ``rules`` on the default group (it has none), ``user_groups`` when unchanged and
    already resolved, ``rank`` when unset. ``rank`` is a position among the groups, placed by ``place``."""

    automation_level: str
    name: str | None = None
    description: str | None = None
    rules: tuple[Rule, ...] | None = None
    user_groups: tuple[UserGroup, ...] | None = None
    rank: int | None = None

    @property
    def level_value(self) -> int:
        value = AUTOMATION_LEVELS.get(self.automation_level)
        if value is None:
            raise UnmappableLevelError(self.automation_level)
        return value


class UnmappableLevelError(ValueError):
    """An automation level with no known wire value (``semi_core_folders``)."""


def differences(group: MachineGroup, desired: DesiredGroup) -> set[str]:
    """The one test of "already as desired" for a group's own settings (its rank depends on the others): the
    wire keys whose value differs from what ``desired`` manages. Names compare case-insensitively; rules as an
    unordered set; user access by object id."""
    found = set()
    if desired.name is not None and group.name.lower() != desired.name.lower():
        found.add("Name")
    if desired.description is not None and group.description != desired.description:
        found.add("Description")
    if group.raw.get("AutoRemediationLevel") != desired.level_value:
        found.add("AutoRemediationLevel")
    if desired.rules is not None and not group.is_ungrouped and rules_key(group.rules) != rules_key(desired.rules):
        found.add("GroupRules")
    if desired.user_groups is not None and {g.object_id.lower() for g in group.user_groups} != \
            {g.object_id.lower() for g in desired.user_groups}:
        found.add("MachineGroupAssignments")
    return found


def apply_settings(item: dict[str, Any], desired: DesiredGroup) -> None:
    """Write the managed settings onto ``item``; a field whose value is already right is left exactly as read."""
    changed = differences(MachineGroup(item), desired)
    if "Name" in changed:
        item["Name"] = desired.name
    if "Description" in changed:
        item["Description"] = desired.description
    if "AutoRemediationLevel" in changed:
        item["AutoRemediationLevel"] = desired.level_value
    if "GroupRules" in changed:
        item["GroupRules"] = rules_to_wire(list(desired.rules or ()))
    if "MachineGroupAssignments" in changed:
        item["MachineGroupAssignments"] = assignments_to_wire(list(desired.user_groups or ()))


def same_id(item: dict[str, Any], group_id: str | int) -> bool:
    return str(item.get("MachineGroupId")) == str(group_id)


def rules_key(rules: list[Rule] | tuple[Rule, ...]) -> list[tuple[str, str, Any]]:
    return sorted((r.key() for r in rules), key=repr)


def rank_of(items: list[dict[str, Any]], group_id: int) -> int | None:
    """1-based position among the real groups by Priority (DOC-MG: rank 1 is the highest)."""
    for position, group in enumerate(real_groups(items), start=1):
        if group.id == group_id:
            return position
    return None
