"""Errors the provider raises. Every message names what failed, the service's own words and what to do.

Clients classify a service's answer once, into one of the typed errors below; handlers decide by type, never
by searching message text. Each service error carries the operation (cmdlet or endpoint) and the service's own
exception type, where it gave one.
"""

from __future__ import annotations

from typing import TypeVar


class DefenderAirError(Exception):
    """Base class: the message is complete and safe to show (secrets already redacted)."""

    #: Set on an error that already names its resource and operation (``handlers.base.failures_named``).
    in_resource_context: bool = False

    def in_context(self, prefix: str) -> DefenderAirError:
        """The same kind of error with ``prefix`` before its message (raise it ``from`` this one)."""
        return _named(type(self)(f"{prefix}: {self}"))


class ConfigurationError(DefenderAirError):
    """Provider configuration (stack config or environment) is missing or invalid."""

    @property
    def problems(self) -> tuple[str, ...]:
        """One sentence per problem (``check`` reports each as its own failure): here the one message."""
        return (str(self),)


class AuthenticationError(DefenderAirError):
    """No token could be obtained from Microsoft Entra ID."""


class ServiceError(DefenderAirError):
    """A Microsoft service answered with an error.

    ``operation``: the cmdlet (``Set-ProtectionAlert``) or endpoint (``PUT machine_groups``) that failed;
    ``exception_type``: the service's own exception type (``ManagementObjectNotFoundException``), where given.
    """

    def __init__(self, message: str, *, status: int | None = None, code: str | None = None,
                 operation: str | None = None, exception_type: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.operation = operation
        self.exception_type = exception_type

    def in_context(self, prefix: str) -> ServiceError:
        return _named(type(self)(f"{prefix}: {self}", status=self.status, code=self.code, operation=self.operation,
                                 exception_type=self.exception_type))


E = TypeVar("E", bound=DefenderAirError)


def _named(error: E) -> E:
    error.in_resource_context = True
    return error


class NotFound(ServiceError):
    """The service says the object does not exist."""


class AlreadyExists(ServiceError):
    """A create was refused because an object with that identity exists already."""


class InvalidRequest(ServiceError):
    """The service refused the request's parameters or values (a 400 that is none of the above)."""


class PermissionDenied(ServiceError):
    """401/403: the identity lacks a permission or role, or its session/token was refused."""


class SessionExpired(PermissionDenied):
    """The Defender portal session is missing, expired or was refused: a person must get a fresh one."""


class LicenceRequired(ServiceError):
    """The tenant's licence does not include what was asked (e.g. aggregated alert policies without E5)."""


class Throttled(ServiceError):
    """429 (or 503) persisted after the retry budget was spent."""


class OutcomeUnknown(ServiceError):
    """A non-idempotent request was sent but no answer came back: it may or may not have been applied.

    Raised instead of retrying blindly, so the handler can re-read the object and decide.
    """
