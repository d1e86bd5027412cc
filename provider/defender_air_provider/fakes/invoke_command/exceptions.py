"""The errors of the InvokeCommand protocol, one typed exception each, and their wire envelopes
(docs/wire/invoke-command.md §6).

A backend model or the responder raises one of these; the responder answers with its ``response()`` and nothing of
the request is applied. Each service adds its own (``exchange/exceptions.py``, ``compliance/exceptions.py``).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from ..base import FakeResponse
from .wire import CONTENT_TYPE

# Exception types named in the error envelopes.
ODATA_EXC = "Microsoft.Exchange.Admin.OData.Core.ODataServiceException"  # docs/wire/invoke-command.md §6
# docs/wire/invoke-command.md §6
AMBIGUOUS_EXC = "Microsoft.Exchange.AdminApi.CommandInvocation.AmbiguousParameterSetException"
# docs/wire/invoke-command.md §6
TRANSFORM_EXC = "Microsoft.Exchange.AdminApi.CommandInvocation.ParameterTransformationException"
# docs/wire/invoke-command.md §6
NOT_FOUND_EXC = "Microsoft.Exchange.Configuration.Tasks.ManagementObjectNotFoundException"
# docs/wire/invoke-command.md §6
DIRECT_INVOKE_EXC = "Microsoft.Exchange.Management.PSDirectInvoke.DirectInvokeCmdletExecutionException"
# [inference] the notes give no REST capture for these two; names chosen from PowerShell/Exchange conventions.
BINDING_EXC = "System.Management.Automation.ParameterBindingException"
VALIDATION_EXC = "Microsoft.Exchange.Management.Tasks.ValidationException"
# Error-code prefix of ManagementObjectNotFoundException details, as in the real 404 text of docs/wire/invoke-command.md
# §6.
NOT_FOUND_CODE = "Ex6F9304"


def error_response(status: int, payload: dict[str, Any]) -> FakeResponse:
    return FakeResponse(status, {"content-type": CONTENT_TYPE, "odata-version": "4.0"},
                        json.dumps(payload).encode("utf-8"))


class InvokeCommandError(Exception):
    """A service error: the request is answered with ``response()``; nothing of it is applied."""

    def response(self) -> FakeResponse:
        raise NotImplementedError


# -- routing (no cmdlet runs) ---------------------------------------------------------------------------------------

class RouteNotFound(InvokeCommandError):
    """[inference] other admin API paths ($batch, EXOModuleFile, ...) are not modelled."""

    def __init__(self, method: str, path: str) -> None:
        super().__init__(f"No route for {method} {path}")
        self.text = f"No route for {method} {path}"

    def response(self) -> FakeResponse:
        return error_response(404, {"error": {"code": "NotFound", "message": self.text}})


class MethodNotAllowed(InvokeCommandError):
    """[inference] status for a non-POST on InvokeCommand."""

    def response(self) -> FakeResponse:
        return error_response(405, {"error": {"code": "MethodNotAllowed",
                                              "message": "InvokeCommand accepts POST only"}})


# -- 400 BadRequest in the structure of the captured AmbiguousParameterSetException body (docs/wire/invoke-command.md
# §6) --------------------

class BadRequest(InvokeCommandError):
    """400 in the verbatim structure of the captured AmbiguousParameterSetException body (docs/wire/invoke-command.md
    §6).

    ``details[0].message`` is ``<code>|<exception type>|<text>`` (the code part is empty in the capture).
    """

    exception_type = VALIDATION_EXC

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.text = text

    def response(self) -> FakeResponse:
        return error_response(400, {"error": {
            "code": "BadRequest",
            "message": "Invalid Operation",
            "details": [{"code": "Client", "target": "", "message": f"|{self.exception_type}|{self.text}"}],
            "innererror": {
                "message": "Invalid Operation", "type": ODATA_EXC, "stacktrace": "",
                "internalexception": {"message": self.text, "type": self.exception_type, "stacktrace": ""},
            },
        }})


class InvalidParameters(BadRequest):
    """Parameters the cmdlet does not have, verbatim from the capture in docs/wire/invoke-command.md §6
    (docs/wire/invoke-command.md §2.2: no Set- takes them).

    [inference] several unknown names are joined with ", " (the capture names one).
    """

    exception_type = AMBIGUOUS_EXC

    def __init__(self, names: Iterable[str]) -> None:
        super().__init__("Parameter set cannot be resolved using the specified named parameters. "
                         f"Invalid cmdlet parameters specified. {', '.join(names)}")


class MissingParameters(BadRequest):
    """[inference] the PowerShell text for missing mandatory parameters; no REST capture in the notes."""

    exception_type = BINDING_EXC

    def __init__(self, names: Iterable[str]) -> None:
        super().__init__("Cannot process command because of one or more missing mandatory parameters: "
                         f"{' '.join(names)}.")


class ValidationError(BadRequest):
    """A rule of the cmdlet is violated. [inference] such errors have no REST capture; they are answered as the 400
    envelope of docs/wire/invoke-command.md §6 with a validation exception."""


class MissingEnvelope(ValidationError):
    """[inference] the answer to a body without a CmdletInput envelope."""

    def __init__(self) -> None:
        super().__init__("The request body has no CmdletInput.CmdletName.")


class ParametersNotAnObject(ValidationError):
    """[inference] the answer to ``Parameters`` that is not a JSON object."""

    def __init__(self) -> None:
        super().__init__("CmdletInput.Parameters must be an object.")


class InvalidSkipToken(ValidationError):
    """[inference] an unknown or expired skiptoken."""

    def __init__(self, token: str) -> None:
        super().__init__(f"The skip token '{token}' is not valid or has expired.")


class SkipTokenQueryMismatch(ValidationError):
    """[inference] docs/wire/invoke-command.md §5 says clients POST the same body to the nextLink; a different body is
    refused."""

    def __init__(self) -> None:
        super().__init__("The request body does not match the query of the skip token.")


class ValueTooLong(ValidationError):
    """[inference] the error text for a string parameter over its length limit (no capture in the notes)."""

    def __init__(self, name: str, limit: int, length: int) -> None:
        super().__init__(f"The length of the property is too long. The maximum length is {limit} and the length of "
                         f"the value provided is {length}. Property Name: {name}")


# -- 400 ParameterTransformationException (first captured body of docs/wire/invoke-command.md §6)
# --------------------------------------------

class ParameterTransformationError(InvokeCommandError):
    """A value that can't be converted to the parameter's type, in the structure of the first captured body
    (docs/wire/invoke-command.md §6).

    That capture has no ``details`` and carries the warnings annotations *inside* ``error``; kept as captured.
    """

    def __init__(self, parameter: str, value: Any, target_type: str, reason: str) -> None:
        self.text = (f"Cannot process argument transformation on parameter '{parameter}'. Cannot convert value "
                     f"\"{value}\" to type \"{target_type}\". Error: \"{reason}\"")
        super().__init__(self.text)

    def response(self) -> FakeResponse:
        return error_response(400, {"error": {
            "code": "BadRequest",
            "message": "Invalid Operation",
            "innererror": {
                "message": "Invalid Operation", "type": ODATA_EXC, "stacktrace": "",
                "internalexception": {"message": self.text, "type": TRANSFORM_EXC, "stacktrace": ""},
            },
            "adminapi.warnings@odata.type": "#Collection(String)",
            "@adminapi.warnings": [],
        }})


class EnumConversionError(ParameterTransformationError):
    """A value outside an enum, with the reason text of the captured QuarantineTypes body (docs/wire/invoke-command.md
    §6)."""

    def __init__(self, parameter: str, value: Any, target_type: str, names: Iterable[str]) -> None:
        super().__init__(
            parameter, value, target_type,
            f"Unable to match the identifier name {value} to a valid enumerator name. Specify one of the following "
            f"enumerator names and try again: {', '.join(names)}")


# -- errors thrown by the cmdlet itself (the real 404 body of docs/wire/invoke-command.md §6)
# ------------------------------------------------

class CmdletExecutionError(InvokeCommandError):
    """An error thrown by the cmdlet itself, in the structure of the real 404 body quoted in docs/wire/invoke-command.md
    §6.

    ``code`` is the HTTP-level code (``NotFound``, ``BadRequest``). [inference] the stack traces are elided (the
    real ones are long .NET traces) and the warnings annotations are placed inside ``error`` as in the other
    capture of docs/wire/invoke-command.md §6 (the quote does not show the nesting clearly).
    """

    def __init__(self, status: int, code: str, exception_type: str, text: str) -> None:
        super().__init__(text)
        self.status = status
        self.code = code
        self.exception_type = exception_type
        self.text = text

    def response(self) -> FakeResponse:
        prefix = NOT_FOUND_CODE if self.exception_type == NOT_FOUND_EXC else ""
        return error_response(self.status, {"error": {
            "code": self.code,
            "message": "Error executing cmdlet",
            "details": [{"code": "Client", "target": "",
                         "message": f"{prefix}|{self.exception_type}|{self.text}"}],
            "innererror": {
                "message": "Error executing cmdlet", "type": ODATA_EXC, "stacktrace": "   at ...",
                "internalexception": {
                    "message": f"Exception of type '{DIRECT_INVOKE_EXC}' was thrown.",
                    "type": DIRECT_INVOKE_EXC, "stacktrace": "   at ...",
                },
            },
            "adminapi.warnings@odata.type": "#Collection(String)",
            "@adminapi.warnings": [],
        }})


class ObjectNotFound(CmdletExecutionError):
    """404 ``NotFound`` for a missing object, with the text of the real body in docs/wire/invoke-command.md §6.

    ``server`` is the domain controller named in the text (shape of 'YQBPR01A12DC007.CANPR01A012.PROD.OUTLOOK.COM').
    """

    def __init__(self, identity: str, server: str) -> None:
        super().__init__(404, "NotFound", NOT_FOUND_EXC,
                         f"The operation couldn't be performed because object '{identity}' couldn't be found on "
                         f"'{server}'.")
