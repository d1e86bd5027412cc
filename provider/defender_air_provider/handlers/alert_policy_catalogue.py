"""The shipped catalogue of built-in (system) Office 365 alert policies.

Source: shared/research/wire-details.md part C — a real ``Get-ProtectionAlert`` export (ScubaGear sample) and
test stubs. ``ImmutableId`` is the same in every tenant and stable across renames (C2), so built-ins are
recognised by it first and by name second. Names marked ``ZWSP`` end in U+200B on the wire (C1); matching
ignores it, but calls use the service's exact name.

Flags:
* ``air``: "Automated investigation = Yes" in Microsoft's alert-policies article (APDOC) — these start
  automated investigations; "If these alerts are disabled or replaced by custom alerts, AIR isn't triggered".
* ``orca242``: in Maester's ORCA-242 list ("Important protection alerts responsible for AIR activities").
* ``scuba``: the ScubaGear policies that require it enabled: MS.DEFENDER.5.1 (Rego ``RequiredAlerts``) and/or
  MS.SECURITYSUITE.4.1 (SecuritySuiteConfig.rego); the two lists differ by one policy each (anchors.md §2,
  o365-policies.md §3.5).
"""

from __future__ import annotations

from dataclasses import dataclass

ZWSP = "\u200b"


@dataclass(frozen=True)
class BuiltInAlertPolicy:
    name: str  # exact wire name (with its trailing ZWSP where the service has one)
    immutable_id: str
    threat_type: str
    severity: str
    category: str
    aggregation_type: str = "None"
    air: bool = False
    orca242: bool = False
    scuba: tuple[str, ...] = ()
    retired: bool = False  # MC822720: removed by Microsoft in 2024; may be absent from a tenant

    @property
    def display_name(self) -> str:
        return without_zwsp(self.name)


_B = BuiltInAlertPolicy
_TM = "ThreatManagement"

CATALOGUE: tuple[BuiltInAlertPolicy, ...] = (
    _B("A Tenant Allow Block List entry has been found malicious", "5ba37278-d17b-4674-bde7-d19ad231e324",
       "Activity", "Informational", _TM),
    _B("A potentially malicious URL click was detected", "a74bb32a-541b-47fb-adfd-f8c62ce3d59b",
       "MaliciousUrlClick", "High", _TM, air=True, orca242=True, scuba=("MS.DEFENDER.5.1", "MS.SECURITYSUITE.4.1")),
    _B("A user clicked through to a potentially malicious URL" + ZWSP, "5453b67e-6c81-4a46-b96c-08d97b58d4ac",
       "MaliciousUrlClick", "High", _TM, air=True, orca242=True),
    _B("Admin Submission Result Completed", "ae9b83dd-6039-4ea9-b675-6b0ac3bf4a41",
       "Activity", "Informational", _TM),
    _B("Admin triggered manual investigation of email", "cfb0af3a-7410-445c-a872-45f95c45f0de",
       "Activity", "Informational", _TM, air=True),
    _B("Admin triggered user compromise investigation", "845686e4-f843-42cf-36d7-08d8e2eca19c",
       "Activity", "Medium", _TM, air=True),
    _B("Administrative action submitted by an Administrator", "da9eb28a-4238-43d5-bc01-0e02842ecffe",
       "Activity", "Informational", _TM, air=True),
    _B("Creation of forwarding/redirect rule", "d59a8fd4-1272-41ee-9408-86f7bcf72479",
       "Activity", "Informational", _TM),
    _B("Email messages containing malicious URL removed after delivery" + ZWSP,
       "8e6ba277-ef39-404e-aaf1-294f6d9a2b88", "Malicious", "Informational", _TM, air=True, orca242=True),
    _B("Email messages containing malicious file removed after delivery" + ZWSP,
       "4b1820ec-39dc-45f3-abf6-5ee80df51fd2", "Malicious", "Informational", _TM, air=True, orca242=True),
    _B("Email messages containing malware removed after delivery", "0179b3f7-3fda-40c3-8f24-278563978dbb",
       "Malware", "Informational", _TM, air=True, orca242=True),
    _B("Email messages containing phish URLs removed after delivery", "ea8169fa-0678-4751-8854-aebea7adeceb",
       "Phish", "Informational", _TM, air=True, orca242=True),
    _B("Email messages from a campaign removed after delivery" + ZWSP, "c8522cbb-9368-4e25-4ee9-08d8d899dfab",
       "Malicious", "Informational", _TM, air=True, orca242=True),
    _B("Email messages removed after delivery" + ZWSP, "b8f6b088-5487-4c70-037c-08d8d71a43fe",
       "Malicious", "Informational", _TM, air=True, orca242=True),
    _B("Email reported by user as junk", "a0e277be-7157-4907-874e-93e7b5170657", "Activity", "Low", _TM),
    _B("Email reported by user as malware or phish", "b26a5770-0c38-434a-9380-3a3c2c27bbb3",
       "Activity", "Low", _TM, air=True, orca242=True),
    _B("Email reported by user as not junk", "79b0a077-8446-4d8c-b335-d89cdcd60b08", "Activity", "Low", _TM),
    _B("Email sending limit exceeded", "2cc44934-4d16-420b-b4e8-74a77fd0ab24", "Activity", "Medium", _TM),
    _B("Failed exact data match upload", "cafdbfad-0084-4052-8371-ea098aab3f64", "Activity", "High", _TM),
    _B("Form blocked due to potential phishing attempt", "3d408d75-3093-40de-8611-9d1a273a11dc",
       "Activity", "High", _TM),
    _B("Form flagged and confirmed as phishing", "2d161684-8def-403c-9df6-f20c66c64161", "Activity", "High", _TM),
    _B("HVE A potentially malicious URL click was detected", "ece0f2ff-7944-4cde-8348-39da34d1ebab",
       "MaliciousUrlClick", "High", _TM),
    _B("MIP AutoLabel simulation completed", "dac59cbc-1d3b-4f5e-91e0-02d780c53915", "Activity", "Low", _TM),
    _B("Malware not zapped because ZAP is disabled", "a5c402b2-eba9-4f9d-a0dd-a0c65db97200",
       "Malware", "Medium", _TM, orca242=True, retired=True),
    _B("Messages containing malicious entity not removed after delivery", "663e723a-4a74-47d9-9690-9638f0d496af",
       "Malicious", "Medium", _TM, air=True),
    _B("Phish delivered due to an ETR override", "ce5b94b7-eafb-4b3f-8d44-a0a86245e62b",
       "Phish", "Informational", _TM, orca242=True, retired=True),
    _B("Phish delivered due to an IP allow policy", "8bd89c8d-1425-45ba-838a-e15fb89808d2",
       "Phish", "Informational", _TM, retired=True),
    _B("Phish not zapped because ZAP is disabled", "c2a1f0cd-a669-49bc-a22b-e501350935e3",
       "Phish", "Medium", _TM, retired=True),
    _B("Potential Nation-State Activity", "3b3085a4-553a-4b61-bbf1-691fa4e0bf76", "Activity", "High", _TM),
    _B("Purview policy simulation completed", "7b99aef6-dca7-43b5-828a-96679dd553fc", "Activity", "Low", _TM),
    _B("Remediation action taken by admin on emails or URL or sender", "39c5b427-a54f-4c38-a799-8541c5a105a8",
       "Activity", "Informational", _TM, air=True),
    _B("Removed an entry in Tenant Allow/Block List", "d0d83ae6-5fbc-4400-8863-9276921a9cad",
       "Activity", "Informational", _TM),
    _B("Retention Auto-labeling Policy Simulation Completed", "a8f4ff90-ee7d-4813-a629-42c9db2204dd",
       "Activity", "Low", _TM),
    _B("Successful exact data match upload", "55272906-f9a5-4adf-9395-0abeec18aee1", "Activity", "Low", _TM),
    _B("Suspicious Email Forwarding Activity", "bfd48f06-0865-41a6-85ff-adb746423ebf", "Activity", "High", _TM,
       orca242=True, scuba=("MS.DEFENDER.5.1", "MS.SECURITYSUITE.4.1")),
    _B("Suspicious connector activity", "8bb9c6c8-dc12-40e1-5bb8-08da05b13393", "Activity", "High", _TM,
       scuba=("MS.DEFENDER.5.1", "MS.SECURITYSUITE.4.1")),
    _B("Suspicious email sending patterns detected", "be215649-fba8-4339-9ddd-05991a43b948",
       "Activity", "Medium", _TM, air=True, orca242=True, scuba=("MS.DEFENDER.5.1", "MS.SECURITYSUITE.4.1")),
    _B("Suspicious tenant sending patterns observed", "05b9e850-6d9d-4bab-a5c0-f54db2e7e887",
       "Activity", "High", _TM),
    _B("Teams call reported by user as not security risk", "329e7f8b-7d02-449b-80ac-64c8dfdf652b",
       "Activity", "Low", _TM),
    _B("Teams call reported by user as security risk", "cc12ef13-3561-431d-9c2a-767e244f20f1",
       "Activity", "Low", _TM),
    _B("Teams message reported by user as not security risk", "45c82c87-fd14-4974-8736-eeb5e81ee918",
       "Activity", "Low", _TM),
    _B("Teams message reported by user as security risk", "34c03748-ee5d-415e-bb65-9fbac7d3a358",
       "Activity", "Low", _TM, orca242=True),
    _B("Tenant Allow/Block List entry is about to expire", "d063f1c3-572d-40ea-a32c-f339cab57a33",
       "Activity", "Informational", _TM),
    _B("Tenant restricted from sending email", "a7032ff5-7eee-412b-805b-d1295c7e0932", "Activity", "High", _TM,
       scuba=("MS.SECURITYSUITE.4.1",)),
    _B("Tenant restricted from sending unprovisioned email", "5ed2d687-9bd3-49e7-9b56-b7dc0d9af5cb",
       "Activity", "High", _TM, scuba=("MS.DEFENDER.5.1", "MS.SECURITYSUITE.4.1")),
    _B("User requested to release a quarantined message", "34116cef-7761-4cdf-a30b-5aa944d93d74",
       "Activity", "Informational", _TM),
    _B("User restricted from sending email", "7a4e7306-bbcb-401f-b112-8ca5f798a230", "Activity", "High", _TM,
       air=True, scuba=("MS.DEFENDER.5.1",)),
    _B("User restricted from sharing forms and collecting responses", "f86c81d5-272e-4825-a957-366e964f702c",
       "Activity", "High", _TM),
    _B("eDiscovery search started or exported", "6fdc5710-3998-47f0-afbb-57cefd7378ae",
       "Activity", "Informational", _TM),
    _B("Elevation of Exchange admin privilege", "17d51759-88e1-40c1-8df3-20bcf2e43057",
       "Activity", "Low", "AccessGovernance"),
    _B("Compliance Manager Default Alert Policy", "ed5f5244-a3e4-4bf7-895c-b49ef27ded46",
       "Activity", "Medium", "ComplianceManager"),
    _B("Unusual volume of external file sharing", "d0ec2b5e-b51e-4b83-a232-972d3971d370",
       "Activity", "Medium", "DataGovernance", "AnomalousAggregation"),
    _B("Messages have been delayed", "37a4e852-e711-45ca-b0f4-b076bae3adfd", "MailFlow", "High", "MailFlow",
       "CustomAggregation", scuba=("MS.DEFENDER.5.1", "MS.SECURITYSUITE.4.1")),
    _B("Reply-all storm detected", "ce504573-4841-4e45-81e2-21e8a11ba221", "MailFlow", "High", "MailFlow",
       "CustomAggregation"),
    _B("Noisy Alert Policy Throttled", "22847b42-7f1e-40b7-a81a-5f134946c52d", "Activity", "High", "Others"),
    _B("Noisy Alert Policy Throttled Warning", "99d9b569-462e-4ebd-a51c-d004144f3b5a", "Activity", "High", "Others"),
)


def without_zwsp(name: str) -> str:
    """The name as people write it: without the trailing zero-width space some built-ins carry (C1)."""
    return name.rstrip(ZWSP)


def identity_key(name: str) -> str:
    """How names compare: case-insensitive, ignoring the trailing zero-width space some built-ins carry."""
    return without_zwsp(name.strip()).strip().casefold()


_BY_KEY = {identity_key(p.name): p for p in CATALOGUE}


def find_built_in(name: str) -> BuiltInAlertPolicy | None:
    return _BY_KEY.get(identity_key(name))


AIR_TRIGGERS: tuple[BuiltInAlertPolicy, ...] = tuple(p for p in CATALOGUE if p.air)
