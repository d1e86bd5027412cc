import logging

import pytest

from defender_air_provider.core.redaction import MASK, Redactor, get_logger


def test_known_values_and_their_cookie_parts_are_masked() -> None:
    r = Redactor()
    r.add("sccauth=CANARYsccauthVALUE; XSRF-TOKEN=CANARYxsrf%3Dvalue")
    text = r("cookie was CANARYsccauthVALUE and CANARYxsrf%3Dvalue")
    assert "CANARY" not in text
    assert MASK in text


@pytest.mark.parametrize("secret_text", [
    "Authorization: Bearer abc.def-ghi",
    "token eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.c2lnbmF0dXJl",
    "Cookie: sccauth=zzzzzzzz; XSRF-TOKEN=yyyyyyyy",
    "X-XSRF-TOKEN: qqqqqqqq",
    "client_secret=shhhhhhh&grant_type=x",
])
def test_credential_shapes_are_masked_without_knowing_them(secret_text: str) -> None:
    out = Redactor()(secret_text)
    for fragment in ("abc.def", "c2lnbmF0dXJl", "zzzzzzzz", "yyyyyyyy", "qqqqqqqq", "shhhhhhh"):
        assert fragment not in out


def test_logger_output_is_redacted(caplog: pytest.LogCaptureFixture) -> None:
    logger = get_logger()
    from defender_air_provider.core.redaction import REDACTOR
    REDACTOR.add("log-canary-secret-42")
    with caplog.at_level(logging.INFO, logger=logger.name):
        logger.warning("failed with %s", "log-canary-secret-42 and Bearer tok.en")
    assert "log-canary-secret-42" not in caplog.text
    assert "tok.en" not in caplog.text


@pytest.mark.parametrize("value", ["verbose", "5", "", " debug ", "warn"])
def test_a_bad_log_level_never_breaks_import(value: str) -> None:
    """``DEFENDER_AIR_LOG_LEVEL`` is read when the package is imported: a bad value falls back to INFO with a
    warning (Logger.setLevel raised ValueError, so `import pulumi_defender_air` failed)."""
    import subprocess
    import sys

    code = ("import logging, pulumi_defender_air; "
            "print(logging.getLevelName(logging.getLogger('defender_air').level))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                          env={**__import__("os").environ, "DEFENDER_AIR_LOG_LEVEL": value})
    assert done.returncode == 0, done.stderr
    expected = {"verbose": "INFO", "5": "INFO", "": "INFO", " debug ": "DEBUG", "warn": "WARNING"}[value]
    assert done.stdout.strip() == expected
    if value in ("verbose", "5"):
        assert f"DEFENDER_AIR_LOG_LEVEL={value!r} is not a log level; using INFO" in done.stderr
    else:
        assert "not a log level" not in done.stderr
