"""The county bureau's page of timer incidents (定时任务异常) and its retry.

A timer whose firing fails ``TIMER_ATTEMPTS`` times becomes an incident; the
county bureau sees those of its county, with the error explained in Chinese,
and may ask for another try; auditors only read. Failing timers are made with
the failing probe model of ``tests/test_timer_service.py``.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select

from engine.models import Division, Household, TimerIncident, WaitingTimer
from engine.runtime import Official
from engine.timers import INCIDENT_OPEN, INCIDENT_RETRIED, TIMER_ATTEMPTS
from engine.timers import timer_backoff
from tests.test_timer_service import FAILING, TOWN, VILLAGE, _later, probes


def _failing_case(fangfan, name: str, village: str = VILLAGE, official=TOWN) -> int:
    """A failing probe case of a household named ``name``; due in an hour."""
    with fangfan.sessions.begin() as session:
        household = Household(
            division_code=village,
            head_name=name,
            head_id_number=f"I{abs(hash((name, village))) % 10**17:017d}",
            members=[],
        )
        session.add(household)
    return fangfan.engine.start(FAILING, household.id, {}, official)


def _fail(fangfan, times: int, first_attempt: int = 1) -> None:
    """Let the sweep fail ``times`` times, waiting out each back-off."""
    for attempt in range(first_attempt, first_attempt + times):
        assert fangfan.engine.fire_due_timers() == 0
        _later(fangfan, timer_backoff(attempt) + 1)


def _other_county(fangfan) -> tuple[str, Official]:
    """A real village outside 沂南县 (371321), and a town official there."""
    with fangfan.sessions() as session:
        village = session.scalar(
            select(Division.code)
            .where(Division.level == 5, Division.code.like("371322%"))
            .order_by(Division.code)
            .limit(1)
        )
    return village, Official("town2", "town_official", village[:9] + "000")


def _timer_row(fangfan, case_id: int) -> WaitingTimer:
    with fangfan.sessions() as session:
        return session.scalars(
            select(WaitingTimer).where(WaitingTimer.instance_id == case_id)
        ).one()


def _incident(fangfan, case_id: int) -> TimerIncident:
    with fangfan.sessions() as session:
        return session.scalars(
            select(TimerIncident).where(TimerIncident.instance_id == case_id)
        ).one()


@pytest.fixture
def incident_case(fangfan):
    """A case of 沂南县 whose timer has failed TIMER_ATTEMPTS times."""
    with probes(fangfan):
        case_id = _failing_case(fangfan, "故障户")
        _later(fangfan, 3601)
        _fail(fangfan, TIMER_ATTEMPTS)
        yield case_id


def test_a_timer_becomes_an_incident_on_its_fifth_failure_and_shows_to_the_county(
    fangfan, desks
):
    with probes(fangfan):
        case_id = _failing_case(fangfan, "故障户")
        _later(fangfan, 3601)

        _fail(fangfan, TIMER_ATTEMPTS - 1)
        page = desks["county"].get("/incidents")
        assert page.status_code == 200
        assert "辖区内没有定时任务异常" in page.text

        _fail(fangfan, 1, first_attempt=TIMER_ATTEMPTS)
        page = desks["county"].get("/incidents")

    assert f'href="/cases/{case_id}"' in page.text
    assert "故障户" in page.text
    assert "probe timer" in page.text
    assert "division by zero" in page.text, "the error as stored, in English"
    assert "除以零" in page.text, "and what it means, in Chinese"
    assert "待处理" in page.text
    assert ">重试</button>" in page.text
    assert "定时任务异常</a>" in page.text, "the nav link"


def test_the_incident_page_shows_only_incidents_within_the_division(fangfan, desks):
    village, official = _other_county(fangfan)
    with probes(fangfan):
        ours = _failing_case(fangfan, "本县故障户")
        theirs = _failing_case(fangfan, "外县故障户", village, official)
        _later(fangfan, 3601)
        _fail(fangfan, TIMER_ATTEMPTS)

    for reader in ("county", "auditor"):
        page = desks[reader].get("/incidents")
        assert page.status_code == 200
        assert f'href="/cases/{ours}"' in page.text
        assert f'href="/cases/{theirs}"' not in page.text
        assert "外县故障户" not in page.text


def test_the_process_owner_reads_every_incident_to_mend_the_model(
    fangfan, desks, incident_case
):
    page = desks["owner"].get("/incidents")

    assert f'href="/cases/{incident_case}"' in page.text
    assert "重试</button>" not in page.text
    assert (
        desks["owner"]
        .post(f"/incidents/{_incident(fangfan, incident_case).id}/retry", {})
        .status_code
        == 403
    )


def test_auditors_read_the_incidents_without_a_retry_button(
    fangfan, desks, incident_case
):
    page = desks["auditor"].get("/incidents")

    assert f'href="/cases/{incident_case}"' in page.text
    assert "重试</button>" not in page.text
    assert "定时任务异常</a>" in page.text


def test_officials_of_other_roles_do_not_see_the_incident_page(fangfan, desks):
    page = desks["town"].get("/incidents")

    assert page.status_code == 403
    assert "定时任务异常</a>" not in desks["town"].get("/").text


def test_retry_lets_the_next_sweep_try_the_timer_again_and_keeps_the_record(
    fangfan, desks, incident_case
):
    before = _incident(fangfan, incident_case)
    assert _timer_row(fangfan, incident_case).next_attempt_at is not None

    response = desks["county"].post(f"/incidents/{before.id}/retry", {})

    assert response.status_code == 302
    row = _timer_row(fangfan, incident_case)
    assert (row.attempts, row.next_attempt_at) == (0, None)
    retried = _incident(fangfan, incident_case)
    assert retried.status == INCIDENT_RETRIED
    assert (retried.retries, retried.retried_by) == (1, "county")
    assert retried.first_failed_at == before.first_failed_at
    assert retried.attempts == TIMER_ATTEMPTS
    page = desks["county"].get("/incidents")
    assert "已重试，等待下次执行" in page.text
    assert "已重试 1 次" in page.text

    # The next sweep tries at once (no clock move); the model still fails,
    # so the incident is open again and counts the failure.
    assert fangfan.engine.fire_due_timers() == 0
    assert _timer_row(fangfan, incident_case).attempts == 1
    reopened = _incident(fangfan, incident_case)
    assert reopened.status == INCIDENT_OPEN
    assert reopened.attempts == TIMER_ATTEMPTS + 1
    assert reopened.retries == 1


@pytest.mark.parametrize("who", ["auditor", "town"])
def test_retry_is_refused_to_other_roles(fangfan, desks, incident_case, who):
    incident = _incident(fangfan, incident_case)

    response = desks[who].post(f"/incidents/{incident.id}/retry", {})

    assert response.status_code == 403
    assert _timer_row(fangfan, incident_case).attempts == TIMER_ATTEMPTS
    assert _incident(fangfan, incident_case).status == INCIDENT_OPEN


def test_retry_without_the_csrf_token_changes_nothing(fangfan, desks, incident_case):
    incident = _incident(fangfan, incident_case)

    response = desks["county"].client.post(f"/incidents/{incident.id}/retry")

    assert response.status_code == 400
    assert _timer_row(fangfan, incident_case).attempts == TIMER_ATTEMPTS
    assert _incident(fangfan, incident_case).status == INCIDENT_OPEN


def test_retry_of_an_incident_in_another_county_is_refused(fangfan, desks):
    village, official = _other_county(fangfan)
    with probes(fangfan):
        theirs = _failing_case(fangfan, "外县故障户", village, official)
        _later(fangfan, 3601)
        _fail(fangfan, TIMER_ATTEMPTS)
    incident = _incident(fangfan, theirs)

    response = desks["county"].post(f"/incidents/{incident.id}/retry", {})

    assert response.status_code == 403
    assert _incident(fangfan, theirs).status == INCIDENT_OPEN


def test_retry_of_an_unknown_incident_is_not_found(fangfan, desks):
    assert desks["county"].post("/incidents/999999/retry", {}).status_code == 404
