"""From a snapshot to declarations: which resources the exported program declares, and with which inputs.

Nothing here is a second wire table. Each resource's inputs are what its handler's refresh reports for the object
(``live_inputs`` / ``live_desired`` / the advanced features' ``toggles``, the inverse of what the handler writes);
the resource definitions say which values are defaults, membership lists or enums; and the resource's own ``check``
validates the result, so the program passes ``pulumi preview``. What check refuses is decided here, per argument:

* an optional scalar or a non-membership list (``notify_users``, ``threshold``, ...) the tenant holds in a form check
  refuses is left out (not managed), with a comment saying what the tenant has;
* a required argument or a membership list (``automation_level``, ``rules``, ``recipients``, ...) cannot be left
  out without changing the object, so the resource is written commented out, with the reason.

Objects that cannot round-trip for other reasons are written the same way (commented out, with the reason): a
preset never turned on, a device group whose user group no longer exists in Entra, objects whose names the services
tell apart and this library does not (``_refuse_shared_names``). EOP and ATP preset rules that differ are declared
with ``defender_for_office365=False`` (the EOP rule only), so nothing is written to either.
"""

from __future__ import annotations

import keyword
import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any

from ..clients.alert_policies import AlertPolicy
from ..clients.device_groups import MachineGroup, UserGroup
from ..clients.device_groups.wire import real_groups
from ..clients.presets import RULE_NAMES, PresetRule
from ..definitions.enums import AutomationLevel
from ..definitions.fields import Kind, ResourceDefinition, name_key
from ..handlers.alert_policy import live_inputs as alert_policy_inputs
from ..handlers.alert_policy_catalogue import BuiltInAlertPolicy, find_built_in, identity_key, replacement_of
from ..handlers.device_group import live_inputs as device_group_inputs
from ..handlers.preset_policy_assignment import live_desired
from ..registry import RegisteredResource, resource
from .snapshot import EntraGroup, Snapshot

STEPS: dict[int, str] = {
    1: "Step 1. Prerequisites: Defender for Endpoint advanced features",
    2: "Step 2. Automation level per device group (Microsoft recommends full)",
    3: "Step 3. Alert policies that start automated investigations",
    4: "Step 4. Preset security policies",
}

BUILT_IN_POLICIES = ("Built-in policies: adopted, never created or removed. ignore_missing=True keeps a policy "
                     "Microsoft retires from failing the stack.")
CUSTOM_POLICIES = ("Custom policies: adopted by name (adopt_existing=True). Get-ProtectionAlert does not return "
                   "description, so it is not declared (not managed).")


@dataclass
class Declaration:
    """One resource of the program."""

    step: int
    resource: RegisteredResource
    name_source: str  # what the resource name is derived from (a display name)
    fallback_name: str  # the resource name when ``name_source`` gives no usable slug
    inputs: dict[str, Any]  # the arguments, by name; rendered in the definition's order
    section: str | None = None  # a sub-heading inside the step
    notes: list[str] = field(default_factory=list)  # comment lines above the resource
    item_notes: dict[tuple[str, int], str] = field(default_factory=dict)  # (argument, list index) -> comment
    declared: bool = True  # False: written commented out (it cannot round-trip), ``notes`` say why
    problems: list[str] = field(default_factory=list)  # what stderr reports about it
    resource_name: str = ""  # set by ``assign_names``
    variable: str = ""

    @property
    def definition(self) -> ResourceDefinition:
        return self.resource.definition

    def leave_out(self, why: str) -> None:
        """Written commented out: it cannot round-trip."""
        self.declared = False
        self.notes.append(f"Not declared: {why}")
        self.problems.append(why)


def declarations(snapshot: Snapshot) -> list[Declaration]:
    """Every resource, in the program's order: by step, then a fixed order inside each (never the services')."""
    found = [
        _advanced_features(snapshot),
        *_device_groups(snapshot),
        *_alert_policies(snapshot),
        *_presets(snapshot),
    ]
    for declaration in found:
        _validate(declaration)
    _refuse_shared_names(found)
    assign_names(found)
    return found


def _refuse_shared_names(found: list[Declaration]) -> None:
    """Objects the services tell apart by name but this library does not: declared as they are, the program would
    fail (the SDK refuses two resources claiming one name) or, worse, adopt the wrong object.

    * Custom alert policies: the service compares names case-insensitively but exactly, a trailing zero-width space
      included (docs/wire/security-compliance.md §5.4); the provider finds a custom policy by ``identity_key``
      (without it) and the SDK claims names the same way. Either one could be adopted for the other: all are left
      out. (A custom policy named as a built-in is left out by check already.)
    * Device groups: the portal keeps leading and trailing spaces (docs/wire/defender-portal.md §3.8), the SDK claims
      ``display_name`` without them. The provider finds a group by its exact name, so the first in the program's
      order is declared and the others are left out.
    """
    policies: dict[str, list[Declaration]] = {}
    for declaration in found:
        if declaration.declared and declaration.definition.name == "AlertPolicy":
            policies.setdefault(identity_key(str(declaration.inputs["name"])), []).append(declaration)
    for same in (group for group in policies.values() if len(group) > 1):
        for declaration in same:
            others = ", ".join(repr(other.inputs["name"]) for other in same if other is not declaration)
            declaration.leave_out(
                f"the tenant also has the alert policy {others}, whose name differs only in case or a zero-width "
                "space, so this library cannot tell the two apart and could adopt the wrong one. Rename one of them "
                "in the portal, then export again.")
    groups: dict[str, Declaration] = {}
    for declaration in found:
        if declaration.declared and declaration.definition.name == "DeviceGroup":
            name = str(declaration.inputs["display_name"])
            first = groups.setdefault(name_key(name), declaration)
            if first is not declaration:
                declaration.leave_out(
                    f"its name differs from that of the device group {first.inputs['display_name']!r} only in "
                    "surrounding spaces, and a program cannot declare both (the SDK compares display names without "
                    "them). Rename one of them in the portal, then export again.")


# ---------------------------------------------------------------------------------------------- step 1
def _advanced_features(snapshot: Snapshot) -> Declaration:
    toggles = {name: value for name, value in snapshot.advanced_features.toggles().items() if value is not None}
    declaration = Declaration(1, resource("EndpointAdvancedFeatures"), "endpoint advanced features",
                              "endpoint-advanced-features", toggles)
    if not toggles:
        declaration.notes.append("The tenant's settings object has none of the toggles this resource manages.")
    return declaration


# ---------------------------------------------------------------------------------------------- step 2
def _device_groups(snapshot: Snapshot) -> list[Declaration]:
    groups = snapshot.device_groups
    found: list[Declaration] = []
    ungrouped = groups.ungrouped()
    if ungrouped is not None:
        found.append(_device_group(snapshot, ungrouped, resource("DefaultDeviceGroup"), "ungrouped devices",
                                   "ungrouped-devices"))
    for group in real_groups(list(groups.items)):  # by rank, as the portal orders them
        declaration = _device_group(snapshot, group, resource("DeviceGroup"), group.name, f"device-group-{group.id}")
        declaration.inputs["rank"] = groups.rank_of(group)
        declaration.inputs["adopt_existing"] = True
        found.append(declaration)
    return found


def _device_group(snapshot: Snapshot, group: MachineGroup, registered: RegisteredResource, name_source: str,
                  fallback: str) -> Declaration:
    user_groups, item_notes, missing = _user_groups(snapshot, group.user_groups)
    inputs = device_group_inputs(group, user_groups)
    if "rules" in inputs:
        inputs["rules"] = sorted(inputs["rules"], key=lambda r: (str(r["property"]), str(r["operator"]),
                                                                  repr(r["value"])))
    declaration = Declaration(2, registered, name_source, fallback, inputs, item_notes=item_notes)
    declaration.notes.append(f"MachineGroupId {group.id}.")
    level = inputs["automation_level"]
    if level not in {member.value for member in AutomationLevel}:
        declaration.leave_out(
            f"the group's automation level is the portal's value {level}, which no source names, so it can be "
            "neither declared nor kept (docs/device-groups.md). Pick a level in the portal, then export again; or "
            "uncomment this resource with the level you want (pulumi up then writes it).")
    for group_id in missing:
        declaration.leave_out(
            f"user group {group_id} is assigned to it in the portal but no longer exists in Entra, so the "
            "resource would fail to create. Remove the assignment in the portal (or uncomment this resource "
            "without that id: pulumi up then removes it), then export again.")
    return declaration


def _user_groups(snapshot: Snapshot, assigned: list[UserGroup]) -> tuple[list[str], dict[tuple[str, int], str],
                                                                          list[str]]:
    """Display names where Entra has exactly this group by that name, object IDs otherwise (with a comment)."""
    entries = [snapshot.entra_group(g) for g in assigned]
    values: list[tuple[str, str | None]] = []
    missing: list[str] = []
    for entry in entries:
        if entry.unique_name is not None:
            values.append((entry.unique_name, None))
            continue
        if entry.exists is False:
            missing.append(entry.object_id)
        values.append((entry.object_id, _id_note(entry)))
    values.sort(key=lambda v: (v[0].casefold(), v[0]))
    notes = {("user_groups", index): note for index, (_, note) in enumerate(values) if note}
    return [value for value, _ in values], notes, missing


def _id_note(entry: EntraGroup) -> str | None:
    name = entry.portal_name
    if entry.exists is False:
        return f"{name!r}: no longer in Entra" if name else "no longer in Entra"
    if len(entry.same_name) > 1:
        return f"{name!r} ({len(entry.same_name)} Entra groups have this name)"
    if entry.current_name and entry.current_name != name:
        return f"{entry.current_name!r} (the portal still shows {name!r})" if name else repr(entry.current_name)
    if entry.same_name:
        return f"{name!r} (another Entra group has this name now)"
    return repr(name) if name else None


# ---------------------------------------------------------------------------------------------- step 3
def _alert_policies(snapshot: Snapshot) -> list[Declaration]:
    def order(policy: AlertPolicy) -> tuple[str, str, str]:
        return identity_key(policy.name), policy.name, policy.immutable_id.lower()

    built_in = sorted((p for p in snapshot.alert_policies if p.is_built_in), key=order)
    custom = sorted((p for p in snapshot.alert_policies if not p.is_built_in), key=order)
    return [*(_built_in(p) for p in built_in), *(_custom(p) for p in custom)]


def _built_in(policy: AlertPolicy) -> Declaration:
    inputs = alert_policy_inputs(policy)
    inputs["ignore_missing"] = True
    declaration = Declaration(3, resource("AlertPolicy"), policy.name, f"alert-policy-{policy.immutable_id[:8]}",
                              inputs, section=BUILT_IN_POLICIES)
    catalogued = find_built_in(policy.name)
    declaration.notes.extend(_catalogue_notes(catalogued))
    return declaration


def _catalogue_notes(policy: BuiltInAlertPolicy | None) -> list[str]:
    if policy is None:
        return ["A built-in this library's catalogue does not know: were Microsoft to remove it, a new stack "
                "would fail to create it (an existing stack keeps it with present=False)."]
    notes = []
    if policy.air:
        notes.append("Starts automated investigations (AIR): keep it enabled.")
    if policy.scuba:
        notes.append(f"CISA ScubaGear requires it enabled ({', '.join(policy.scuba)}).")
    replacement = replacement_of(policy)
    if replacement is not None:
        notes.append(f"Microsoft replaced it with {replacement.display_name!r}; it may go away.")
    if policy.retired:
        notes.append("Microsoft retired it in 2024 (MC822720).")
    return notes


def _custom(policy: AlertPolicy) -> Declaration:
    inputs = alert_policy_inputs(policy)
    inputs["adopt_existing"] = True
    declaration = Declaration(3, resource("AlertPolicy"), policy.name, f"alert-policy-{policy.immutable_id[:8]}",
                              inputs, section=CUSTOM_POLICIES)
    return declaration


# ---------------------------------------------------------------------------------------------- step 4
def _presets(snapshot: Snapshot) -> list[Declaration]:
    return [_preset(snapshot, preset) for preset in ("standard", "strict")]


def _preset(snapshot: Snapshot, preset: str) -> Declaration:
    registered = resource("PresetPolicyAssignment")
    eop = snapshot.eop_rules.get(preset)
    if eop is None:
        declaration = Declaration(4, registered, f"{preset} preset", f"{preset}-preset",
                                  {"preset": preset, "enabled": True})
        declaration.leave_out(
            f"the {preset.capitalize()} preset was never turned on in this tenant (there is no EOP rule "
            f"{RULE_NAMES[preset]!r}), and only the Defender portal can create it. Turn it on once in the portal "
            "(Email & collaboration > Policies & rules > Threat policies > Preset security policies), then export "
            "again.")
        return declaration
    atp = snapshot.atp_rules.get(preset)
    differs = _atp_difference(eop, atp, snapshot.atp_unreadable)
    inputs = live_desired(eop, defender_for_office365=differs is None).inputs()
    declaration = Declaration(4, registered, f"{preset} preset", f"{preset}-preset", inputs)
    if differs is not None:
        declaration.notes.append(
            f"defender_for_office365=False: {differs}. Only the EOP rule is managed, so pulumi up writes nothing; "
            "set it to True to make the ATP rule match the EOP rule (pulumi up then writes the ATP rule).")
        declaration.problems.append(f"{differs}; exported with defender_for_office365=False")
    return declaration


def _atp_difference(eop: PresetRule, atp: PresetRule | None, unreadable: str | None) -> str | None:
    """Why the ATP rule cannot be declared identical to the EOP rule, or None when it is."""
    if unreadable is not None:
        return (f"the ATP rules could not be read ({unreadable}; a tenant without Defender for Office 365, or an "
                "identity without the role to read them)")
    if atp is None:
        return "the tenant has no ATP rule for this preset (no Defender for Office 365?)"
    if atp.enabled != eop.enabled:
        return (f"the ATP rule is {'on' if atp.enabled else 'off'} while the EOP rule is "
                f"{'on' if eop.enabled else 'off'}")
    if not atp.conditions.matches(eop.conditions):
        return "the ATP rule's recipients differ from the EOP rule's"
    return None


# ---------------------------------------------------------------------------------------------- validation
def _validate(declaration: Declaration) -> None:
    """Keep only what the program should say, then let the resource's own check decide (see the module docstring).
    The inputs become check's normalised values (enums in their canonical spelling)."""
    definition = declaration.definition
    inputs = _pruned(definition, declaration.inputs)
    if not declaration.declared:
        declaration.inputs = inputs
        return
    provider = declaration.resource.provider()
    # Arguments left unmanaged on the way are moot if the resource ends up commented out: only its reason is said.
    original, notes, problems = dict(inputs), len(declaration.notes), len(declaration.problems)

    def leave_out(why: str) -> None:
        del declaration.notes[notes:], declaration.problems[problems:]
        declaration.inputs = original
        declaration.leave_out(why)

    for _ in range(len(definition.inputs) + 1):
        result = provider.check({}, dict(inputs))
        failures = list(result.failures or [])
        if not failures:
            # Pruned again: check fills the empty lists of a nested object back in (``users=[]``).
            declaration.inputs = _pruned(definition, {name: (result.inputs or {}).get(name, value)
                                                      for name, value in inputs.items()})
            return
        failure = failures[0]
        root = re.split(r"[.\[]", failure.property, maxsplit=1)[0]
        argument = next((f for f in definition.inputs if f.name == root), None)
        if argument is None or argument.required or argument.membership or argument.default is not None:
            leave_out(f"the tenant's value is refused by the resource's check: {failure.reason}")
            return
        declaration.notes.append(f"{root} is not declared (not managed): the tenant has {inputs[root]!r}, and "
                                 f"{failure.reason}")
        declaration.problems.append(f"{root} left unmanaged: {failure.reason}")
        inputs.pop(root)
    leave_out("its values could not be made to pass the resource's check")


def _pruned(definition: ResourceDefinition, inputs: dict[str, Any]) -> dict[str, Any]:
    """What a person would write: no unset or empty value, no default (except those that make the program clearer:
    a preset's and a built-in policy's ``enabled``), lists sorted where their order means nothing."""
    out: dict[str, Any] = {}
    for argument in definition.inputs:
        value = inputs.get(argument.name)
        if value is None or value == "" or value == [] or value == {}:
            continue
        if argument.kind is Kind.OBJECT and isinstance(value, dict):
            value = {k: sorted(v, key=str.casefold) for k, v in value.items() if v}
            if not value:
                continue
        if argument.kind is Kind.STRING_LIST and isinstance(value, list):
            value = sorted(dict.fromkeys(value), key=lambda v: (v.casefold(), v)) \
                if argument.name != "user_groups" else value
        if argument.kind is Kind.OBJECT_LIST and isinstance(value, list):
            value = [_sorted_values(item) for item in value]
        if argument.default is not None and value == argument.default and argument.name != "enabled":
            continue
        out[argument.name] = value
    return out


def _sorted_values(item: Any) -> Any:
    """A nested object whose list value is a set (a device-group rule's OS platforms), sorted."""
    if not isinstance(item, dict):
        return item
    return {k: sorted(v, key=lambda s: (str(s).casefold(), str(s))) if isinstance(v, list) else v
            for k, v in item.items()}


# ---------------------------------------------------------------------------------------------- names
RESERVED = frozenset({"air", "pulumi"})
# Python's soft keywords, fixed here rather than taken from ``keyword.issoftkeyword``: ``type`` is one from Python 3.12
# on, and the same tenant must give the same program whatever Python runs the export.
SOFT_KEYWORDS = frozenset({"_", "case", "match", "type"})


def slug(text: str) -> str:
    """``Finance laptops`` -> ``finance-laptops`` (ASCII letters and digits, dashes between words)."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")


def variable_of(resource_name: str) -> str:
    """A valid Python name for the resource: keywords and the program's own imports get a trailing underscore, a
    leading digit a prefix."""
    name = resource_name.replace("-", "_")
    if name[:1].isdigit():
        name = f"n{name}"
    if keyword.iskeyword(name) or name in SOFT_KEYWORDS or name in RESERVED:
        name = f"{name}_"
    return name


def assign_names(found: list[Declaration]) -> None:
    """Resource names from display names, unique in the program (``finance-laptops``, ``finance-laptops-2``, in the
    program's order, which is fixed), and a Python variable for each."""
    taken: set[str] = set()
    variables: set[str] = set()
    for declaration in found:
        base = slug(declaration.name_source) or declaration.fallback_name
        name, counter = base, 1
        while name in taken:
            counter += 1
            name = f"{base}-{counter}"
        taken.add(name)
        declaration.resource_name = name
        variable, counter = variable_of(name), 1
        while variable in variables:
            counter += 1
            variable = f"{variable_of(name)}_{counter}"
        variables.add(variable)
        declaration.variable = variable
