"""What ``defender-air export`` sends (``export/snapshot.py``): reads only, one list call per kind and one Graph lookup
per distinct user-group name; it works for a read-only identity (Global Reader) that can write nothing; and a tenant
that refuses the ATP rules still exports, with both presets declared ``defender_for_office365=False``.

In-process: the fakes behind respx, either at the emulator's URL layout or at the real hosts (with a portal session).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import respx

from defender_air_provider.core.errors import PermissionDenied
from defender_air_provider.core.settings import Settings
from defender_air_provider.export.files import Export, export_tenant
from defender_air_provider.fakes.graph import CONTRACTORS_M365_ID, CONTRACTORS_SECURITY_ID, HELPDESK_ID, TIER0_ADMINS_ID
from defender_air_provider.fakes.tenant import FakeTenant
from defender_air_provider.handlers import context
from defender_air_provider.handlers.alert_policy import AlertPolicyProvider
from defender_air_provider.handlers.device_group import DefaultDeviceGroupProvider, DeviceGroupProvider
from defender_air_provider.handlers.endpoint_advanced_features import EndpointAdvancedFeaturesProvider
from defender_air_provider.handlers.preset_policy_assignment import PresetPolicyAssignmentProvider
from tests.fakes_transport import mount
from tests.support import RecordingSleep, assert_read_only, cmdlet_of

BASE = "http://emulator.test:8765"
REMOVED_ID = "b8f6b088-5487-4c70-037c-08d8d71a43fe"  # "Email messages removed after delivery", a built-in
LISTS = [
    ("compliance", "POST", "Get-ProtectionAlert"),
    ("exchange", "POST", "Get-EOPProtectionPolicyRule"),
    ("exchange", "POST", "Get-ATPProtectionPolicyRule"),
    ("portal", "GET", "GET machine_groups"),
    ("portal", "GET", "GET advanced_features"),
]


class Emulated:
    """A fake tenant at the emulator's URL layout, in-process, with a provider context for it installed."""

    def __init__(self, router: respx.MockRouter) -> None:
        self.router = router

    def tenant(self, tenant: FakeTenant | None = None) -> FakeTenant:
        tenant = tenant or FakeTenant()
        self.router.routes.clear()
        mount(self.router, tenant, emulator_base=BASE)
        context.install(context.ProviderContext(Settings(emulator_url=BASE), sleep=RecordingSleep()))
        return tenant

    def export(self) -> Export:
        return export_tenant(context.current())

    def graph_filters(self) -> list[str]:
        """The ``$filter`` of every Graph groups request, in order."""
        found = []
        for call in self.router.calls:
            url = urlsplit(str(call.request.url))
            if url.path.startswith("/graph/") and url.path.endswith("/groups"):
                found.append(parse_qs(url.query).get("$filter", [""])[0])
        return found


@pytest.fixture
def emulated() -> Iterator[Emulated]:
    with respx.mock(assert_all_called=False, assert_all_mocked=True) as router:
        try:
            yield Emulated(router)
        finally:
            context.install(None)


def calls(tenant: FakeTenant) -> list[tuple[str, str, str]]:
    return sorted((e.service, e.method, e.operation) for e in tenant.log.entries)


def assign(tenant: FakeTenant, group: str, *user_groups: tuple[str, str]) -> None:
    """Assign Entra groups (object id, the name the portal stored) to a device group, out of band."""
    tenant.portal.edit_group(group, MachineGroupAssignments=[
        {"WcdAadGroup": {"ObjectId": object_id, "DisplayName": name}} for object_id, name in user_groups])


# ---------------------------------------------------------------------------------------------- the request budget
def test_one_list_call_per_kind_and_one_graph_lookup_per_distinct_name(emulated: Emulated) -> None:
    tenant = emulated.tenant()
    # Four assigned Entra groups, three distinct names: the two "Contractors" groups share theirs.
    assign(tenant, "Workstations", (CONTRACTORS_SECURITY_ID, "Contractors"), (CONTRACTORS_M365_ID, "Contractors"),
           (TIER0_ADMINS_ID, "Tier0 Admins"))
    assigned = {a["WcdAadGroup"]["DisplayName"] for g in tenant.portal.groups()
                for a in g.get("MachineGroupAssignments") or []}
    assert assigned == {"Contractors", "Tier0 Admins", "SOC Analysts"}

    export = emulated.export()
    assert calls(tenant) == sorted([*LISTS, *[("graph", "GET", "GET groups")] * len(assigned)])  # no tenant context
    assert sorted(emulated.graph_filters()) == sorted(f"displayName eq '{name}'" for name in assigned)
    assert_read_only(tenant)
    # A name two groups share is no way to declare either: each by its object id, the name in a comment.
    lines = export.files["__main__.py"].splitlines()
    for object_id in (CONTRACTORS_SECURITY_ID, CONTRACTORS_M365_ID):
        assert f'        "{object_id}",  # \'Contractors\' (2 Entra groups have this name)' in lines
    assert '        "Tier0 Admins",' in lines


def test_a_deleted_group_is_looked_up_by_id_and_its_device_group_commented_out(emulated: Emulated) -> None:
    tenant = emulated.tenant()
    gone = "0d4e5f60-1a2b-4c3d-8e9f-a0b1c2d3e4f5"
    assign(tenant, "Workstations", (gone, "Old contractors"), (TIER0_ADMINS_ID, "Tier0 Admins"))
    export = emulated.export()
    assert sorted(e.operation for e in tenant.log.entries if e.service == "graph") == [
        "GET group", "GET groups", "GET groups", "GET groups"]
    [workstations] = [d for d in export.declarations if d.name_source == "Workstations"]
    assert not workstations.declared and any(gone in p for p in workstations.problems)
    text = export.files["__main__.py"]
    call = text[text.index("# workstations = air.DeviceGroup("):].split("\n\n", 1)[0].splitlines()
    assert call[-1] == "# )" and all(line.startswith("# ") for line in call)
    assert f'#         "{gone}",  # \'Old contractors\': no longer in Entra' in call
    assert "- DeviceGroup workstations" in text  # listed at the top of the program


def test_a_renamed_group_costs_one_lookup_by_id(emulated: Emulated) -> None:
    tenant = emulated.tenant()
    assign(tenant, "Workstations", (HELPDESK_ID, "Service Desk"))  # renamed in Entra since: the portal kept its name
    export = emulated.export()
    graph = [e.operation for e in tenant.log.entries if e.service == "graph"]
    assert sorted(graph) == ["GET group", "GET groups", "GET groups", "GET groups"]  # 3 names, then 1 id
    assert sorted(emulated.graph_filters()) == ["displayName eq 'SOC Analysts'", "displayName eq 'Service Desk'",
                                                "displayName eq 'Tier0 Admins'"]
    text = export.files["__main__.py"]
    assert f"\"{HELPDESK_ID}\",  # 'Helpdesk' (the portal still shows 'Service Desk')" in text
    assert_read_only(tenant)


def test_at_the_real_hosts_too(portal_tenant: FakeTenant) -> None:
    """With a real configuration, Security & Compliance's front door answers the list call first with its region
    (docs/wire/invoke-command.md §3.3): the same Get-ProtectionAlert, sent twice, nothing more."""
    export_tenant(context.current())
    entries = portal_tenant.log.entries
    compliance = [(e.operation, cmdlet_of(e.body)) for e in entries if e.service == "compliance"]
    assert compliance == [("region discovery", "Get-ProtectionAlert"), ("Get-ProtectionAlert", "Get-ProtectionAlert")]
    rest = sorted((e.service, e.method, e.operation) for e in entries if e.service != "compliance")
    assert rest == sorted([*LISTS[1:], ("graph", "GET", "GET groups"), ("graph", "GET", "GET groups")])
    assert all("sccauth=" in (e.cookie or "") for e in entries if e.service == "portal")
    assert_read_only(portal_tenant)


# ---------------------------------------------------------------------------------------------- Global Reader
def _refused(tenant: FakeTenant, write: Callable[[], Any]) -> PermissionDenied:
    state = json.dumps(tenant.to_state(), sort_keys=True)
    with pytest.raises(PermissionDenied) as refused:
        write()
    assert json.dumps(tenant.to_state(), sort_keys=True) == state  # nothing changed
    return refused.value


def _checked(provider: Any, inputs: dict[str, Any]) -> dict[str, Any]:
    result = provider.check({}, inputs)
    assert not result.failures, result.failures
    return dict(result.inputs)


def test_global_reader_exports_the_same_program_and_can_write_nothing(emulated: Emulated) -> None:
    emulated.tenant()
    admin = emulated.export()
    reader = emulated.tenant(FakeTenant(read_only=True))
    export = emulated.export()
    assert export.files == admin.files
    assert calls(reader) == sorted([*LISTS, ("graph", "GET", "GET groups"), ("graph", "GET", "GET groups")])

    # Every backend refuses every kind of write, each in its own way.
    reader.log.clear()
    alert = AlertPolicyProvider()
    error = _refused(reader, lambda: alert.create(_checked(alert, {"name": "Email messages removed after delivery",
                                                                   "enabled": False})))
    assert error.status == 403 and "Set-ProtectionAlert" in str(error)
    _refused(reader, lambda: alert.create(_checked(alert, {
        "name": "Mass download", "category": "DataGovernance", "threat_type": "Activity", "severity": "Low",
        "operations": ["FileDownloaded"], "aggregation_type": "None", "notify_users": ["soc@contoso.com"]})))
    preset = PresetPolicyAssignmentProvider()
    error = _refused(reader, lambda: preset.create(_checked(preset, {"preset": "strict", "enabled": True})))
    assert error.status == 403 and "Exchange Online" in str(error)
    groups = DeviceGroupProvider()
    error = _refused(reader, lambda: groups.create(_checked(groups, {
        "display_name": "Finance laptops", "automation_level": "full",
        "rules": [{"property": "tag", "operator": "equals", "value": "finance"}]})))
    assert error.status == 403 and "Defender portal" in str(error)
    default = DefaultDeviceGroupProvider()
    _refused(reader, lambda: default.create(_checked(default, {"automation_level": "none"})))
    features = EndpointAdvancedFeaturesProvider()
    _refused(reader, lambda: features.create(_checked(features, {"edr_in_block_mode": True})))

    refused = {(e.service, e.operation) for e in reader.log.entries if e.status == 403}
    assert refused == {("compliance", "Set-ProtectionAlert"), ("compliance", "New-ProtectionAlert"),
                       ("exchange", "Enable-EOPProtectionPolicyRule"), ("portal", "PUT machine_groups"),
                       ("portal", "POST advanced_features")}


def test_the_read_only_identity_can_be_lifted(emulated: Emulated) -> None:
    reader = emulated.tenant(FakeTenant(read_only=True))
    reader.set_read_only(False)
    alert = AlertPolicyProvider()
    alert.create(_checked(alert, {"name": "Email messages removed after delivery", "enabled": False}))
    policy = reader.compliance.policy(REMOVED_ID)
    assert policy is not None and policy["Disabled"] is True


# ---------------------------------------------------------------------------------------------- ATP refused
ATP_REFUSALS: list[tuple[str, Callable[[], FakeTenant]]] = [
    ("no Defender for Office 365", lambda: FakeTenant("no_defender_for_office365")),
    ("HTTP 403 to the identity", lambda: _refusing_atp()),
]


def _refusing_atp() -> FakeTenant:
    tenant = FakeTenant()
    tenant.faults.unavailable("exchange", "Get-ATPProtectionPolicyRule", status=403, times=100)
    return tenant


@pytest.mark.parametrize("make", [m for _, m in ATP_REFUSALS], ids=[n for n, _ in ATP_REFUSALS])
def test_refused_atp_rules_still_export_both_presets_eop_only(emulated: Emulated,
                                                              make: Callable[[], FakeTenant]) -> None:
    tenant = emulated.tenant(make())
    export = emulated.export()
    presets = [d for d in export.declarations if d.definition.name == "PresetPolicyAssignment"]
    assert [(d.resource_name, d.declared, d.inputs["defender_for_office365"]) for d in presets] == [
        ("standard-preset", True, False), ("strict-preset", True, False)]
    assert export.snapshot.atp_unreadable is not None and export.snapshot.atp_rules == {}
    atp_problems = [p for p in export.problems if "ATP rules could not be read" in p]
    assert len(atp_problems) == 2 and all("defender_for_office365=False" in p for p in atp_problems)
    text = export.files["__main__.py"]
    for name in ("standard_preset", "strict_preset"):
        call = text[text.index(f"\n{name} = air.PresetPolicyAssignment("):]
        call = call[:call.index("\n)\n")]
        assert "    defender_for_office365=False," in call
        notes = text[:text.index(f"\n{name} = air.PresetPolicyAssignment(")].rsplit("\n\n", 1)[-1]
        assert notes.startswith("# defender_for_office365=False: the ATP rules could not be read")
    assert tenant.log.count("exchange", "Get-ATPProtectionPolicyRule") == 1  # asked once, not retried
    assert_read_only(tenant)


def test_a_custom_policy_named_like_a_built_in_is_left_out_with_one_reason(portal_tenant: FakeTenant) -> None:
    """Microsoft retired the built-in, and someone made a custom policy of that name: the resource would be taken for
    the built-in, so it is commented out, with the one reason that matters (not first a line per argument check
    refused on the way)."""
    name = "Messages have been delayed"
    assert portal_tenant.compliance.remove_policy(name)
    portal_tenant.compliance.add_custom(Name=name, Category="MailFlow", ThreatType="Activity", Severity="Low",
                                        NotifyUser=["secops@contoso.onmicrosoft.com"])
    export = export_tenant(context.current())
    [declaration] = [d for d in export.declarations if d.inputs.get("name") == name]
    assert not declaration.declared
    assert len(declaration.problems) == 1 and "built-in alert policy" in declaration.problems[0]
    assert declaration.inputs["adopt_existing"] is True and declaration.inputs["severity"] == "Low"
    assert "left unmanaged" not in "\n".join(export.problems)
