"""The closed sets of strings, as str-enums (the SDK exports them; plain strings keep working).

Values are what users write and what state holds. Their wire values live with the client of each backend
(``clients/device_groups/wire.py`` for the portal's integers); alert policy values are the service's own
spellings (docs/wire/security-compliance.md §3.1).
"""

from __future__ import annotations

import enum


class Preset(str, enum.Enum):
    """A preset security policy."""

    STANDARD = "standard"
    STRICT = "strict"


class AutomationLevel(str, enum.Enum):
    """Automation level of automated investigation and remediation for a device group (Microsoft recommends
    ``FULL``)."""

    FULL = "full"  # Full - remediate threats automatically
    SEMI_ALL_FOLDERS = "semi_all_folders"  # Semi - require approval for all folders
    SEMI_CORE_FOLDERS = "semi_core_folders"  # Semi - core folders: refused until its wire value is known
    SEMI_NON_TEMP_FOLDERS = "semi_non_temp_folders"  # Semi - require approval for non-temp folders
    NONE = "none"  # No automated response


class DeviceGroupRuleProperty(str, enum.Enum):
    """What a device-group membership rule looks at."""

    NAME = "name"
    DOMAIN = "domain"
    TAG = "tag"
    OS = "os"


class DeviceGroupRuleOperator(str, enum.Enum):
    """How a device-group membership rule compares (``IN`` only with ``OS``)."""

    EQUALS = "equals"
    STARTS_WITH = "starts_with"
    ENDS_WITH = "ends_with"
    CONTAINS = "contains"
    IN = "in"


class AlertSeverity(str, enum.Enum):
    LOW = "Low"
    MEDIUM = "Medium"
    HIGH = "High"
    INFORMATIONAL = "Informational"


class AlertCategory(str, enum.Enum):
    ACCESS_GOVERNANCE = "AccessGovernance"
    COMPLIANCE_MANAGER = "ComplianceManager"
    DATA_GOVERNANCE = "DataGovernance"
    DATA_LOSS_PREVENTION = "DataLossPrevention"
    MAIL_FLOW = "MailFlow"
    OTHERS = "Others"
    PRIVACY_MANAGEMENT = "PrivacyManagement"
    SUPERVISION = "Supervision"
    THREAT_MANAGEMENT = "ThreatManagement"


class AlertThreatType(str, enum.Enum):
    ACTIVITY = "Activity"
    MALWARE = "Malware"
    PHISH = "Phish"
    MALICIOUS = "Malicious"
    MALICIOUS_URL_CLICK = "MaliciousUrlClick"
    MAIL_FLOW = "MailFlow"


class AlertAggregationType(str, enum.Enum):
    NONE = "None"
    SIMPLE_AGGREGATION = "SimpleAggregation"
    ANOMALOUS_AGGREGATION = "AnomalousAggregation"
    CUSTOM_AGGREGATION = "CustomAggregation"


class RuleState(str, enum.Enum):
    """A preset rule's state, as the service reports it."""

    ENABLED = "Enabled"
    DISABLED = "Disabled"
