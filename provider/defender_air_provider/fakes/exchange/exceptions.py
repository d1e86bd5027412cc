"""The Exchange Online errors of the preset policy cmdlets (docs/wire/invoke-command.md §6, docs/wire/exchange-online.md
§3), one typed exception each.

The shared InvokeCommand errors (missing object, bad parameter, ...) are in ``invoke_command/exceptions.py``.
"""

from __future__ import annotations

from ..base import FakeResponse
from ..invoke_command.exceptions import BadRequest, InvokeCommandError, ValidationError

# docs/wire/invoke-command.md §6: "unknown cmdlet on EXO → 403, body is NUL bytes declared gzip". [inference] the number
# of bytes.
_NUL_BODY = b"\x00" * 16
# [inference] the notes give no REST capture for a duplicate rule; name chosen from Exchange conventions.
RULES_VALIDATION_EXC = "Microsoft.Exchange.Management.Transport.RulesValidationException"


class UnknownCmdlet(InvokeCommandError):
    """docs/wire/invoke-command.md §6: an unknown cmdlet on EXO answers 403 with NUL bytes declared gzip (undecodable on
    purpose)."""

    def __init__(self, name: str) -> None:
        super().__init__(name)

    def response(self) -> FakeResponse:
        return FakeResponse(403, {"content-encoding": "gzip"}, _NUL_BODY)


class DuplicateRuleName(BadRequest):
    """docs/wire/exchange-online.md §3: "If the rule already exists, the command will fail." [inference] text and type;
    rule names are unique
    per family."""

    exception_type = RULES_VALIDATION_EXC

    def __init__(self, name: str) -> None:
        super().__init__(f"A rule named '{name}' already exists. Rule names must be unique.")


class PresetPriorityFixed(ValidationError):
    """docs/wire/exchange-online.md §2: "You must use the default value" (Strict 0, Standard 1). [inference] the error
    text and type."""

    def __init__(self, preset: str, required: int, priority: int) -> None:
        super().__init__(f"The priority of the rule that's associated with the {preset.capitalize()} preset security "
                         f"policy must be {required}. The value {priority} isn't valid.")


class InvalidPriority(ValidationError):
    """[inference] a negative priority (text and type)."""

    def __init__(self, priority: int) -> None:
        super().__init__(f"The priority {priority} isn't valid.")
