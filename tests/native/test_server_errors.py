"""Which errors reach the engine as our sentence alone (``native/server.py`` ``ours``): our own, directly or as the
SDK re-raises it; a bug raised while handling one of ours is a bug and keeps its traceback."""

from __future__ import annotations

from defender_air_provider.core.errors import AlreadyExists, ServiceError
from defender_air_provider.native.server import ours


def sdk_wrapped(error: BaseException) -> Exception:
    """What the SDK's servicer raises for ``error``: a new Exception raised while handling it."""
    try:
        raise error
    except BaseException as exc:
        try:
            raise Exception(f"{exc}:\n<traceback>")
        except Exception as wrapped:
            return wrapped


def test_our_error_is_found_as_is_and_behind_the_sdk_wrapper() -> None:
    error = ServiceError("DeviceGroup 'x' (create): Defender portal: ...")
    assert ours(error) is error
    assert ours(sdk_wrapped(error)) is error


def test_a_bug_while_handling_our_error_is_not_mistaken_for_it() -> None:
    try:
        try:
            raise AlreadyExists("already exists")
        except AlreadyExists:
            raise KeyError("a bug") from None
    except KeyError as bug:
        assert ours(sdk_wrapped(bug)) is None
    assert ours(sdk_wrapped(ValueError("plain bug"))) is None
