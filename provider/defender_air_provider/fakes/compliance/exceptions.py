"""The Security & Compliance errors of the alert policy cmdlets (docs/wire/security-compliance.md §3, §6), one
typed exception each. The shared InvokeCommand errors (missing object, bad parameter, ...) are in
``invoke_command/exceptions.py``.

[inference] rule violations (threshold, aggregation, licence, duplicate name, system-rule edits) have no REST
capture; they are answered as the 400 BadRequest envelope of docs/wire/invoke-command.md §6 with a validation exception
(``ValidationError``).
"""

from __future__ import annotations

from ..base import FakeResponse
from ..invoke_command.exceptions import CmdletExecutionError, InvokeCommandError, ValidationError, error_response

# docs/wire/security-compliance.md §6.1: the error users got from Set-ProtectionAlert on a system rule addressed by GUID
# or path.
RULE_NOT_FOUND_EXC = "Microsoft.Exchange.Management.Transport.ErrorRuleNotFoundException"

# docs/wire/security-compliance.md §3.1 licensing note, quoted with an ellipsis in the notes. [inference] the full
# wording around it.
E5_REQUIRED_TEXT = (
    "Creating advanced alert policies requires an Office 365 E5 subscription or an Office 365 E5 add-on "
    "subscription for your organization. Without one, only single event alerts can be created: use "
    "-AggregationType None.")


class OrganizationNotFound(InvokeCommandError):
    """docs/wire/invoke-command.md §3.3: "a failed region lookup: { error: { message: "Could not find the organization
    container" } } with
    status 500" (the TS client's live-mirrored fake)."""

    def response(self) -> FakeResponse:
        return FakeResponse.json(500, {"error": {"message": "Could not find the organization container"}})


class UnknownCmdlet(InvokeCommandError):
    """docs/wire/invoke-command.md §6.4: an unknown cmdlet on IPPS answers 403 Forbidden with a JSON body naming the
    cmdlet.

    [inference] the body's structure (the error envelope of docs/wire/invoke-command.md §6) and its text; the notes only
    say it is JSON and names the cmdlet.
    """

    def __init__(self, name: str) -> None:
        self.text = (f"The term '{name}' is not recognized as a cmdlet available in this session, or the caller has "
                     "no role that grants it.")
        super().__init__(self.text)

    def response(self) -> FakeResponse:
        return error_response(403, {"error": {
            "code": "Forbidden",
            "message": self.text,
            "details": [{"code": "Client", "target": "",
                         "message": f"|System.Management.Automation.CommandNotFoundException|{self.text}"}],
        }})


class RuleNotFound(CmdletExecutionError):
    """docs/wire/security-compliance.md §6.1: "There is no rule matching identity '2d161684-…'" for a system rule
    addressed by GUID, and the same for
    the path form (#8121). [inference] over REST it is the docs/wire/invoke-command.md §6 envelope with this exception
    in details; the status
    (400 or 404) is not known, so it is a flag of the backend."""

    def __init__(self, identity: str, status: int) -> None:
        super().__init__(status, "NotFound" if status == 404 else "BadRequest", RULE_NOT_FOUND_EXC,
                         f"There is no rule matching identity '{identity}'.")


class SystemRuleNotSettable(ValidationError):
    """docs/wire/security-compliance.md §3.3 / §6 [inference]: only Disabled, NotifyUser, NotificationEnabled and the
    throttle settings can be changed
    on a default policy; the real rejection text was not found."""

    def __init__(self, name: str, refused: list[str], settable: tuple[str, ...]) -> None:
        super().__init__(f"The alert policy '{name}' is a default (system) alert policy. {', '.join(refused)} can't "
                         f"be changed on a default alert policy; only {', '.join(settable)} can be changed.")


class SystemRuleNotRemovable(ValidationError):
    """[inference] default policies can be turned off, not removed (docs/wire/security-compliance.md §3.3 "can't be
    edited"); text made up."""

    def __init__(self, name: str) -> None:
        super().__init__(f"The alert policy '{name}' is a default (system) alert policy and can't be removed. Turn "
                         "it off with Set-ProtectionAlert -Disabled $true instead.")


class DuplicateAlertPolicyName(ValidationError):
    """[inference] text; alert policy names are unique (a custom policy can't share a built-in's name)."""

    def __init__(self, name: str) -> None:
        super().__init__(f"An alert policy named '{name}' already exists. Alert policy names must be unique.")


class E5Required(ValidationError):
    """docs/wire/security-compliance.md §3.1 licensing note: without Office 365 E5 only single-event alerts
    (AggregationType None) can be created."""

    def __init__(self) -> None:
        super().__init__(E5_REQUIRED_TEXT)


class OnlyWithSimpleAggregation(ValidationError):
    """docs/wire/security-compliance.md §3.1: Threshold and TimeWindow apply to SimpleAggregation only. [inference]
    text."""

    def __init__(self, parameter: str, aggregation: str) -> None:
        super().__init__(f"The {parameter} parameter can only be used when the AggregationType parameter is "
                         f"SimpleAggregation (it is {aggregation}).")


class BelowMinimum(ValidationError):
    """docs/wire/security-compliance.md §3.1: Threshold ≥ 3, TimeWindow ≥ 60 minutes. [inference] text."""

    def __init__(self, parameter: str, minimum: int, unit: str, value: int) -> None:
        super().__init__(f"The value of the {parameter} parameter must be {minimum}{unit} or greater. The value "
                         f"{value} isn't valid.")


class NotWithoutAggregation(ValidationError):
    """docs/wire/security-compliance.md §3.1: NotifyUserOnFilterMatch and AlertBy need an aggregation. [inference]
    text."""

    def __init__(self, parameter: str) -> None:
        super().__init__(f"The {parameter} parameter can't be used when the AggregationType parameter is None.")


class OperationNeedsActivity(ValidationError):
    """docs/wire/security-compliance.md §3.1: -Operation only with -ThreatType Activity. [inference] text."""

    def __init__(self, threat_type: str | None) -> None:
        super().__init__(f"The Operation parameter can only be used when the ThreatType is Activity (it is "
                         f"{threat_type}).")


class InvalidAlertBy(ValidationError):
    """docs/wire/security-compliance.md §3.1 AlertBy: "Activity: User or $null; Malware: Mail.Recipient or
    Mail.ThreatName". [inference] text."""

    def __init__(self, wrong: list[str], threat_type: str, allowed: tuple[str, ...]) -> None:
        super().__init__(f"AlertBy value {', '.join(wrong)} isn't valid for ThreatType {threat_type}. Valid values: "
                         f"{', '.join(allowed)}.")
