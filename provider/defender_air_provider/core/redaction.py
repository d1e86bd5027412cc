"""Redaction of secrets from every log line and error message.

Two layers: exact known values (client secret, portal session and its cookie values, every access token
the provider obtained) and patterns for anything shaped like a credential (bearer tokens, JWTs, the
portal's ``sccauth``/``XSRF-TOKEN`` cookies and header).
"""

from __future__ import annotations

import logging
import os
import re
import threading

MASK = "***"

_PATTERNS = (
    re.compile(r"(?i)(bearer\s+)[A-Za-z0-9\-._~+/]+=*"),
    re.compile(r"eyJ[A-Za-z0-9_\-]{5,}\.[A-Za-z0-9_\-]{5,}\.[A-Za-z0-9_\-]*"),  # JWT
    re.compile(r"(?i)((?:sccauth|xsrf-token|x-xsrf-token|estsauthpersistent)\s*[=:]\s*)[^;,\s\"']+"),
    re.compile(r"(?i)(client_secret=)[^&\s\"']+"),
)


class Redactor:
    """Thread-safe set of secret values plus credential patterns."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._values: set[str] = set()

    def add(self, *values: str | None) -> None:
        with self._lock:
            for value in values:
                # Short values would mask ordinary words; real secrets are long.
                if value and len(value) >= 6:
                    self._values.add(value)
                    for part in re.split(r"[;,\s]+", value):  # cookie strings: mask each cookie too
                        _, _, cookie_value = part.partition("=")
                        if len(cookie_value) >= 6:
                            self._values.add(cookie_value)

    def __call__(self, text: str) -> str:
        with self._lock:
            values = sorted(self._values, key=len, reverse=True)
        for value in values:
            text = text.replace(value, MASK)
        for pattern in _PATTERNS:
            text = pattern.sub(lambda m: (m.group(1) if m.groups() else "") + MASK, text)
        return text


REDACTOR = Redactor()


class RedactingFilter(logging.Filter):
    """Applies the process-wide redactor to the fully formatted message of every record."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        record.msg = REDACTOR(message)
        record.args = None
        return True


def get_logger(name: str = "defender_air") -> logging.Logger:
    """The provider's logger: stderr (the engine shows a provider's stderr as its logs), always redacted.

    INFO and above by default (retries, adoption notes); ``DEFENDER_AIR_LOG_LEVEL`` changes it.
    """
    logger = logging.getLogger(name)
    if not any(isinstance(f, RedactingFilter) for f in logger.filters):
        logger.addFilter(RedactingFilter())
        handler = logging.StreamHandler()  # stderr
        handler.setFormatter(logging.Formatter("defender-air %(levelname)s: %(message)s"))
        logger.addHandler(handler)
        level, problem = log_level(os.environ.get("DEFENDER_AIR_LOG_LEVEL"))
        logger.setLevel(level)
        logger.propagate = True  # tests capture through the root logger too
        if problem:
            logger.warning("%s", problem)
    return logger


LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


def log_level(raw: str | None) -> tuple[str, str | None]:
    """``DEFENDER_AIR_LOG_LEVEL`` -> (level, warning). The logger is built when the package is imported, so a bad
    value must not raise (``Logger.setLevel`` raises ValueError on an unknown name): it falls back to INFO, with a
    warning naming the value."""
    value = (raw or "").strip().upper()
    if not value:
        return "INFO", None
    if value == "WARN":
        return "WARNING", None
    if value in LEVELS:
        return value, None
    return "INFO", (f"DEFENDER_AIR_LOG_LEVEL={raw!r} is not a log level; using INFO (use one of "
                    f"{', '.join(LEVELS)}).")
