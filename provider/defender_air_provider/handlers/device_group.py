"""``DeviceGroup`` and ``DefaultDeviceGroup``: Defender for Endpoint device groups and their automation level.

The portal API replaces the whole collection on every write, so every write goes through
``DeviceGroupStore.write``: a fresh read, a change to the managed group only, one PUT, and a wait until the
change is visible. The resource id is the portal's MachineGroupId.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pulumi.dynamic import CheckFailure, CheckResult, CreateResult, ReadResult, UpdateResult

from ..clients.device_groups import DesiredGroup, Groups, MachineGroup, Rule, UnmappableLevelError, UserGroup
from ..clients.device_groups.wire import MAX_VALUES_PER_PROPERTY, rules_key
from ..core.errors import DefenderAirError
from ..core.redaction import get_logger
from ..definitions.device_group import DEFAULT_DEVICE_GROUP, DEVICE_GROUP
from . import context
from .base import AirDiffResult, AirProvider, configuration_failures, failures_named
from .fields import changed_inputs, check_inputs, decode
from .values import as_int, fold, is_unknown, str_list

LOG = get_logger()
DEFAULT_ID = "default"  # the id ``DefaultDeviceGroup.get`` takes (docs/sdk.md, "Reading an existing object")
SEMI_CORE_REFUSAL = (
    "automation_level 'semi_core_folders' (Semi - require approval for core folders) cannot be set yet: no public "
    "source gives the portal's wire value for it, and guessing could set another level. Use 'semi_all_folders' "
    "or 'semi_non_temp_folders', or set it in the Defender portal (docs/device-groups.md)."
)


class DeviceGroupError(DefenderAirError):
    pass


# ---------------------------------------------------------------------------------------------- inputs
@dataclass(frozen=True)
class Spec:
    """A resource's checked inputs, typed (check normalised them; numbers may still be engine floats)."""

    display_name: str | None
    automation_level: str
    description: str | None
    rules: tuple[Rule, ...]
    rank: int | None
    user_groups: tuple[str, ...]

    @classmethod
    def from_props(cls, props: dict[str, Any]) -> Spec:
        return cls(
            # Kept exactly as written: the portal keeps leading spaces (docs/wire/defender-portal.md §3.8).
            display_name=str(props["display_name"]) if props.get("display_name") is not None else None,
            automation_level=str(props.get("automation_level")),
            description=props.get("description") if isinstance(props.get("description"), str) else None,
            rules=tuple(_rule(r) for r in props.get("rules") or [] if isinstance(r, dict)),
            rank=as_int(props.get("rank")),
            user_groups=tuple(str_list(props.get("user_groups"))),
        )

    def desired(self, user_groups: list[UserGroup] | None, *, default_group: bool = False) -> DesiredGroup:
        """What to write: ``user_groups`` None = leave the assignment as it is (unchanged and resolved before)."""
        return DesiredGroup(
            automation_level=self.automation_level,
            name=None if default_group else self.display_name,
            description=None if default_group else self.description,
            rules=None if default_group else self.rules,
            user_groups=None if user_groups is None else tuple(user_groups),
            rank=None if default_group else self.rank,
        )

    def refuse_unmappable_level(self) -> None:
        """Before any call: a level with no known wire value is refused, never guessed."""
        try:
            self.desired(None).level_value  # noqa: B018
        except UnmappableLevelError:
            raise DeviceGroupError(SEMI_CORE_REFUSAL if self.automation_level == "semi_core_folders"
                                   else f"unknown automation_level {self.automation_level!r}") from None


def _rule(raw: dict[str, Any]) -> Rule:
    value = raw.get("value")
    return Rule(str(raw.get("property")), str(raw.get("operator")),
                tuple(str(v) for v in value) if isinstance(value, list) else str(value))


def _rules_equal(old: Any, new: Any) -> bool:
    def rules(value: Any) -> list[Rule]:
        return [_rule(r) for r in value or [] if isinstance(r, dict)]
    return rules_key(rules(old)) == rules_key(rules(new))


def _check_rules(rules: Any) -> list[CheckFailure]:
    """What the portal allows beyond each value's own type (checked by the definition)."""
    if not isinstance(rules, list):
        return []
    failures: list[CheckFailure] = []
    counts: dict[str, int] = {}
    for index, rule in enumerate(rules):
        where = f"rules[{index}]"
        if not isinstance(rule, dict) or is_unknown(rule):
            continue
        prop, op, val = rule.get("property"), rule.get("operator"), rule.get("value")
        if is_unknown(prop) or is_unknown(op) or is_unknown(val):
            continue
        if op == "in" and prop != "os":
            failures.append(CheckFailure(f"{where}.operator", f"{where}: operator 'in' is only for property 'os'."))
        elif prop == "os" and op != "in":
            failures.append(CheckFailure(f"{where}.operator", f"{where}: property 'os' takes operator 'in' with a "
                                         "list of OS platform names (the only form the portal is known to use)."))
        if op == "in" and not (isinstance(val, list) and val):
            failures.append(CheckFailure(f"{where}.value", f"{where}.value must be a non-empty list of OS "
                                         "platform names such as WindowsServer2022."))
        elif (op != "in" and isinstance(val, list)) or (isinstance(val, str) and not val.strip()):
            failures.append(CheckFailure(f"{where}.value", f"{where}.value must be a non-empty string."))
        key = "os" if op == "in" else str(prop)
        counts[key] = counts.get(key, 0) + 1
    for prop, count in counts.items():
        if prop == "os" and count > 1:
            failures.append(CheckFailure("rules", "rules: put all OS platforms in one 'os' rule (a list value)."))
        elif count > MAX_VALUES_PER_PROPERTY:
            failures.append(CheckFailure("rules", f"rules: {count} values for property '{prop}'; the portal allows "
                                         f"at most {MAX_VALUES_PER_PROPERTY} per property."))
    return failures


def _needs(inputs: dict[str, Any]) -> tuple[str, ...]:
    """A portal session always; the tenant id too where user groups are resolved through Microsoft Graph."""
    return ("portal", "tenant") if inputs.get("user_groups") else ("portal",)


def _check_level(value: Any) -> list[CheckFailure]:
    if value == "semi_core_folders":
        return [CheckFailure("automation_level", SEMI_CORE_REFUSAL)]
    return []


def _check_user_groups(value: Any) -> list[CheckFailure]:
    if not isinstance(value, list):
        return []
    failures, seen = [], set()
    for item in value:
        if not isinstance(item, str):
            continue
        if item.strip().lower() in seen:
            failures.append(CheckFailure("user_groups", f"user_groups: {item!r} is listed twice."))
        seen.add(item.strip().lower())
    return failures


def _without_failed(failures: list[CheckFailure], more: list[CheckFailure]) -> list[CheckFailure]:
    """Resource rules add to the definition's failures, but never a second one for a value (or a rule, such as
    ``rules[0]``) that already failed."""
    failed = {_subject(f.property) for f in failures}
    return failures + [f for f in more if _subject(f.property) not in failed]


def _subject(path: str) -> str:
    """``rules[0].operator`` -> ``rules[0]``; ``automation_level`` -> itself."""
    return path.split(".", 1)[0]


# ---------------------------------------------------------------------------------------------- helpers
def _resolve(names: tuple[str, ...]) -> list[UserGroup]:
    return context.current().entra_groups.resolve(names) if names else []


def _live_user_groups(props: dict[str, Any], live: list[UserGroup]) -> tuple[list[str], list[str]]:
    """(user_groups, user_group_ids) for a read. Keep the names the user wrote while they still resolve to the live
    assignment; otherwise show the live object IDs (a group recreated under the same name has a new ID), so the
    diff reveals the drift."""
    declared, declared_ids = str_list(props.get("user_groups")), str_list(props.get("user_group_ids"))
    live_ids = [g.object_id for g in live]
    if fold(declared_ids) == fold(live_ids):
        return declared, declared_ids
    return live_ids, live_ids


def _ungrouped(groups: Groups) -> MachineGroup:
    found = groups.ungrouped()
    if found is None:
        raise DeviceGroupError("the portal returned no 'Ungrouped devices (default)' group")
    return found


def _outputs(spec: Spec, props: dict[str, Any], group: MachineGroup, groups: Groups,
             resolved: list[UserGroup]) -> dict[str, Any]:
    out: dict[str, Any] = {
        "automation_level": spec.automation_level,
        "user_groups": list(spec.user_groups),
        "user_group_ids": [g.object_id for g in resolved],
        "group_id": str(group.id),
    }
    if not group.is_ungrouped:
        out.update({
            "display_name": props.get("display_name"),
            "description": spec.description if spec.description is not None else group.description,
            "rules": [r.to_output() for r in spec.rules],
            "rank": groups.rank_of(group),
            "requested_rank": spec.rank,
            "adopt_existing": bool(props.get("adopt_existing")),
        })
    return out


def live_inputs(group: MachineGroup, user_groups: list[str]) -> dict[str, Any]:
    """The settings of ``group`` as the portal has them, as inputs (refresh reports these; ``defender-air export``
    declares them). ``user_groups``: how to name its user access (object IDs or display names)."""
    if group.is_ungrouped:
        return {"automation_level": group.automation_level, "user_groups": user_groups}
    return {
        "display_name": group.name,
        "automation_level": group.automation_level,
        "description": group.description,
        "rules": [r.to_output() for r in group.rules],
        "user_groups": user_groups,
    }


# ---------------------------------------------------------------------------------------------- providers
class DeviceGroupProvider(AirProvider):
    def check(self, _olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        inputs, failures = check_inputs(DEVICE_GROUP, news)
        more = (_check_level(inputs.get("automation_level")) + _check_rules(inputs.get("rules"))
                + _check_user_groups(inputs.get("user_groups")))
        return CheckResult(inputs, configuration_failures(_needs(inputs)) + _without_failed(failures, more))

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> AirDiffResult:
        def rank_met(old: Any, new: Any) -> bool:
            # The actual rank (``rank``) or the requested one, while the group still sits there.
            return as_int(old) == as_int(new) or (
                as_int(olds.get("requested_rank")) == as_int(new) and olds.get("rank_in_place") is not False)

        # adopt_existing is a create-time instruction: flipping it later changes nothing in the portal.
        changed = changed_inputs(DEVICE_GROUP, olds, news, compare={"rules": _rules_equal, "rank": rank_met},
                                 ignore=("adopt_existing",))
        return AirDiffResult(changed)

    def create(self, props: dict[str, Any]) -> CreateResult:
        spec = Spec.from_props(decode(DEVICE_GROUP, props))
        assert spec.display_name is not None
        name = spec.display_name
        with failures_named(DEVICE_GROUP.name, name, "create"):
            spec.refuse_unmappable_level()
            resolved = _resolve(spec.user_groups)
            desired = spec.desired(resolved)

            def change(groups: Groups) -> tuple[Groups, Callable[[Groups], bool]]:
                target = groups.by_name(name)
                if target is not None and not props.get("adopt_existing"):
                    raise DeviceGroupError(
                        f"a device group named '{target.name}' already exists (MachineGroupId {target.id}). Set "
                        "adopt_existing=True to take it over (it is then updated to match this resource), or choose "
                        "another display_name.")
                changed = groups.with_new_group(desired) if target is None else groups.with_settings(target, desired)
                return changed, lambda now: now.matches(now.by_name(name), desired)

            groups = context.current().device_groups.write(change)
            group = groups.by_name(name)
            assert group is not None
            return CreateResult(str(group.id), _outputs(spec, props, group, groups, resolved))

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        with failures_named(DEVICE_GROUP.name, props.get("display_name") or id_, "read"):
            store = context.current().device_groups
            groups = store.read()
            if groups.by_id(id_) is None:
                groups = store.fresh()  # confirm with an uncached read before telling the engine it is gone
        group = groups.by_id(id_)
        if group is None or group.is_ungrouped:
            return ReadResult(None, {})
        user_groups, user_group_ids = _live_user_groups(props, group.user_groups)
        requested = as_int(props.get("requested_rank"))
        live = {**live_inputs(group, user_groups), "adopt_existing": bool(props.get("adopt_existing"))}
        outputs = {
            **live,
            "rank": groups.rank_of(group),
            "requested_rank": requested,
            "rank_in_place": groups.rank_in_place(group, requested),
            "group_id": str(group.id),
            "user_group_ids": user_group_ids,
        }
        # ``rank`` stays out of the refreshed inputs: unset means "keep whatever rank it has".
        return ReadResult(id_, outputs, {**live, **({"rank": requested} if requested is not None else {})})

    def update(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        spec = Spec.from_props(decode(DEVICE_GROUP, news))
        name = spec.display_name or str(olds.get("display_name"))
        with failures_named(DEVICE_GROUP.name, name, "update"):
            spec.refuse_unmappable_level()
            old = Spec.from_props(decode(DEVICE_GROUP, olds))
            same_groups = fold(list(old.user_groups)) == fold(list(spec.user_groups))
            resolved = ([UserGroup(i, "") for i in str_list(olds.get("user_group_ids"))] if same_groups
                        else _resolve(spec.user_groups))
            desired = spec.desired(None if same_groups else resolved)

            def change(groups: Groups) -> tuple[Groups, Callable[[Groups], bool]]:
                target = groups.by_id(id_)
                if target is None:
                    raise DeviceGroupError(f"device group {id_} no longer exists in the portal; run `pulumi refresh`.")
                clash = groups.by_name(name)
                if clash is not None and clash.id != target.id:
                    raise DeviceGroupError(f"cannot rename to '{name}': another device group (MachineGroupId "
                                           f"{clash.id}) has that name.")
                return groups.with_settings(target, desired), lambda now: now.matches(now.by_id(id_), desired)

            groups = context.current().device_groups.write(change)
            group = groups.by_id(id_)
            assert group is not None
            return UpdateResult(_outputs(spec, news, group, groups, resolved))

    def delete(self, id_: str, props: dict[str, Any]) -> None:
        with failures_named(DEVICE_GROUP.name, props.get("display_name") or id_, "delete"):
            store = context.current().device_groups

            def change(groups: Groups) -> tuple[Groups, Callable[[Groups], bool]]:
                if groups.by_id(id_) is None:
                    return groups, lambda now: True
                return groups.without(id_), lambda now: now.by_id(id_) is None

            LOG.warning("Deleting device group '%s': the portal also deletes email notification rules that were "
                        "scoped only to this group.", props.get("display_name") or id_)
            store.write(change)


class DefaultDeviceGroupProvider(AirProvider):
    """The built-in "Ungrouped devices (default)" group: always exists; create adopts, delete stops managing."""

    SUBJECT = "Ungrouped devices (default)"  # how errors name it (its id is a number nobody knows)

    def check(self, _olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        inputs, failures = check_inputs(DEFAULT_DEVICE_GROUP, news)
        more = _check_level(inputs.get("automation_level")) + _check_user_groups(inputs.get("user_groups"))
        return CheckResult(inputs, configuration_failures(_needs(inputs)) + _without_failed(failures, more))

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> AirDiffResult:
        return AirDiffResult(changed_inputs(DEFAULT_DEVICE_GROUP, olds, news))

    def _converge(self, props: dict[str, Any], known_ids: list[str] | None) -> tuple[str, dict[str, Any]]:
        spec = Spec(None, str(props.get("automation_level")), None, (), None,
                    tuple(str_list(props.get("user_groups"))))
        spec.refuse_unmappable_level()
        resolved = [UserGroup(i, "") for i in known_ids] if known_ids is not None else _resolve(spec.user_groups)
        desired = spec.desired(None if known_ids is not None else resolved, default_group=True)

        def change(groups: Groups) -> tuple[Groups, Callable[[Groups], bool]]:
            return groups.with_settings(_ungrouped(groups), desired), lambda now: now.matches(_ungrouped(now), desired)

        groups = context.current().device_groups.write(change)
        group = _ungrouped(groups)
        return str(group.id), _outputs(spec, props, group, groups, resolved)

    def create(self, props: dict[str, Any]) -> CreateResult:
        with failures_named(DEFAULT_DEVICE_GROUP.name, self.SUBJECT, "create"):
            group_id, outputs = self._converge(props, None)
            return CreateResult(group_id, outputs)

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        with failures_named(DEFAULT_DEVICE_GROUP.name, self.SUBJECT, "read"):
            group = _ungrouped(context.current().device_groups.read())
        if props.get("automation_level") is None and id_ not in (DEFAULT_ID, str(group.id)):
            # ``DefaultDeviceGroup.get`` (no state) with another id: no such group. A refresh of managed state
            # never reports the group gone: it always exists (docs/device-groups.md).
            return ReadResult(None, {})
        user_groups, ids = _live_user_groups(props, group.user_groups)
        live = live_inputs(group, user_groups)
        # The id is the group's MachineGroupId (what create returns); ``DefaultDeviceGroup.get(name, "default")``
        # reads it too.
        return ReadResult(id_, {**live, "group_id": str(group.id), "user_group_ids": ids}, live)

    def update(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        with failures_named(DEFAULT_DEVICE_GROUP.name, self.SUBJECT, "update"):
            same = fold(str_list(olds.get("user_groups"))) == fold(str_list(news.get("user_groups")))
            _, outputs = self._converge(news, str_list(olds.get("user_group_ids")) if same else None)
            return UpdateResult(outputs)

    def delete(self, _id: str, _props: dict[str, Any]) -> None:
        LOG.info("'Ungrouped devices (default)' is no longer managed; it keeps its settings")
