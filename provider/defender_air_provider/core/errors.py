"""Errors the provider raises. Every message names what failed, the service's own words and what to do."""

from __future__ import annotations


class DefenderAirError(Exception):
    """Base class: the message is complete and safe to show (secrets already redacted)."""


class ConfigurationError(DefenderAirError):
    """Provider configuration (stack config or environment) is missing or invalid."""


class AuthenticationError(DefenderAirError):
    """No token could be obtained from Microsoft Entra ID."""


class ServiceError(DefenderAirError):
    """A Microsoft service answered with an error."""

    def __init__(self, message: str, *, status: int | None = None, code: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code


class NotFoundError(ServiceError):
    """The service says the object does not exist."""


class PermissionError_(ServiceError):
    """401/403: the identity lacks a permission or role, or its session/token was refused."""


class ThrottledError(ServiceError):
    """429 (or 503) persisted after the retry budget was spent."""


class OutcomeUnknownError(ServiceError):
    """A non-idempotent request was sent but no answer came back: it may or may not have been applied.

    Raised instead of retrying blindly, so the handler can re-read the object and decide.
    """
