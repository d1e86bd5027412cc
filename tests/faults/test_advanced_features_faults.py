"""Fault scenarios for EndpointAdvancedFeatures: each ends with the settings as asked, nothing resent blindly and
no other key lost."""

from __future__ import annotations

from typing import Any

import pytest
from pulumi.dynamic import CreateResult

from defender_air_provider.core.errors import OutcomeUnknown, ServiceError, SessionExpired
from defender_air_provider.fakes.tenant import FakeTenant
from defender_air_provider.handlers import context
from defender_air_provider.handlers.endpoint_advanced_features import EndpointAdvancedFeaturesProvider
from tests.support import RecordingSleep

P = EndpointAdvancedFeaturesProvider()
SAVE = "POST advanced_features"


def outs(result: CreateResult) -> dict[str, Any]:
    assert result.outs is not None
    return result.outs


@pytest.fixture
def portal(portal_tenant: FakeTenant) -> FakeTenant:
    portal_tenant.portal.edit_advanced_features(EnableWdavPassiveModeRemediation=False, SomeFutureToggle=True)
    return portal_tenant


def test_a_lost_save_answer_is_settled_by_reading_never_resent(portal: FakeTenant) -> None:
    portal.faults.drop("portal", SAVE, after_apply=True)
    result = P.create({"edr_in_block_mode": True})
    assert outs(result)["edr_in_block_mode"] is True
    assert portal.log.count("portal", SAVE) == 1  # the save was applied once and not sent again
    settings = portal.portal.advanced_features()
    assert settings["EnableWdavPassiveModeRemediation"] is True and settings["SomeFutureToggle"] is True


def test_a_connection_that_never_reached_the_portal_is_retried(portal: FakeTenant) -> None:
    """Nothing was sent, so sending is safe (the HTTP layer's rule for every request)."""
    portal.faults.drop("portal", SAVE)
    assert outs(P.create({"edr_in_block_mode": True}))["edr_in_block_mode"] is True
    assert portal.portal.advanced_features()["EnableWdavPassiveModeRemediation"] is True
    assert len(portal.portal.advanced_features_saves) == 1


def test_a_lost_answer_with_the_change_still_invisible_is_not_resent(portal: FakeTenant) -> None:
    """Applied, the answer lost, and the portal slow to show it: no second save; the error says so."""
    portal.portal.advanced_features_propagation_reads = 50
    portal.faults.drop("portal", SAVE, after_apply=True)
    with pytest.raises(OutcomeUnknown, match="Nothing more was sent"):
        P.create({"edr_in_block_mode": True})
    assert len(portal.portal.advanced_features_saves) == 1


def test_a_slow_portal_is_waited_for(portal: FakeTenant) -> None:
    portal.portal.advanced_features_propagation_reads = 2
    result = P.create({"edr_in_block_mode": True})
    assert outs(result)["edr_in_block_mode"] is True and portal.log.count("portal", SAVE) == 1
    sleep = context.current().sleep
    assert isinstance(sleep, RecordingSleep) and len(sleep.waits) >= 2


def test_a_change_that_never_shows_is_an_error_not_a_second_save(portal: FakeTenant) -> None:
    portal.portal.advanced_features_propagation_reads = 50
    with pytest.raises(ServiceError, match="still not visible"):
        P.create({"edr_in_block_mode": True})
    assert portal.log.count("portal", SAVE) == 1


def test_429_and_503_are_survived(portal: FakeTenant) -> None:
    portal.faults.throttle("portal", "GET advanced_features", retry_after=2)
    portal.faults.unavailable("portal", SAVE)
    assert outs(P.create({"edr_in_block_mode": True}))["edr_in_block_mode"] is True
    assert portal.portal.advanced_features()["EnableWdavPassiveModeRemediation"] is True


def test_an_expired_session_writes_nothing_and_says_what_to_do(portal: FakeTenant) -> None:
    portal.portal.expire_session()
    with pytest.raises(SessionExpired, match="sccauth"):
        P.create({"edr_in_block_mode": True})
    assert portal.log.count("portal", SAVE) == 0


def test_a_refresh_that_fails_is_an_error_never_gone(portal: FakeTenant) -> None:
    portal.faults.unavailable("portal", "GET advanced_features", status=500, times=5)
    with pytest.raises(ServiceError):
        P.read("default", {"edr_in_block_mode": True})


def test_an_unreadable_tenant_context_never_fails_a_done_write(portal: FakeTenant) -> None:
    portal.faults.unavailable("portal", "GET tenant_context", status=500, times=20)
    result = outs(P.create({"edr_in_block_mode": True}))
    assert result["edr_in_block_mode"] is True and result["automated_investigation_enabled"] is None
    assert portal.portal.advanced_features()["EnableWdavPassiveModeRemediation"] is True
