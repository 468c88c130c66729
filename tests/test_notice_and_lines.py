"""Village public notices keep privacy (Q38); monitoring lines by year (Q10)."""

from __future__ import annotations

from datetime import timedelta


from engine import clock, history
from engine.clock import local_date
from engine.models import Household, Instance, MonitoringLine
from engine.runtime import Official
from fangfan.demo_data import VILLAGE_CODE

from .desk import Desk
from .identification_steps import (
    DEMOCRATIC_REVIEW,
    TOWN_APPROVES,
    home_verification,
    report_new_household,
)

TOWN = Official("town", "town_official", "371321101000")


def _household_in_notice(fangfan, app, new_id_number) -> Household:
    town, village = Desk(app, "town"), Desk(app, "village")
    ids = (new_id_number(), new_id_number())
    case_id = report_new_household(town, ids[0], name="公示户主")
    with fangfan.sessions() as session:
        household_id = session.get(Instance, case_id).household_id
    with fangfan.sessions.begin() as session:
        session.get(Household, household_id).bank_account = "6228480012345678901"

    town.complete(
        household_id,
        "home_verification",
        home_verification(*ids, **{"members.1.health": "慢性肾病透析"}),
    )
    village.complete(household_id, "democratic_review", DEMOCRATIC_REVIEW)
    town.complete(household_id, "town_review", TOWN_APPROVES)
    with fangfan.sessions() as session:
        return session.get(Household, household_id)


def test_public_notice_lists_the_household_without_any_private_data(
    fangfan, app, new_id_number
):
    household = _household_in_notice(fangfan, app, new_id_number)

    page = Desk(app, "village").get(f"/notices/{VILLAGE_CODE}")

    assert page.status_code == 200
    assert "公示户主" in page.text
    private = [
        household.head_id_number,
        household.phone,
        household.bank_account,
        "慢性肾病透析",
    ]
    private += [member["id_number"] for member in household.members]
    for value in private:
        assert value and value not in page.text
    for masked_form in (
        household.head_id_number[-4:] + "<",
        household.phone[-4:] + "<",
    ):
        assert masked_form not in page.text


def test_notice_period_is_five_days_from_its_start(fangfan, app, new_id_number):
    _household_in_notice(fangfan, app, new_id_number)
    with fangfan.sessions() as session:
        today = local_date(clock.now(session))

    page = Desk(app, "village").get(f"/notices/{VILLAGE_CODE}").text

    assert f"{today} 至 {today + timedelta(days=5)}" in page


def test_notice_index_lists_villages_with_notices_in_the_jurisdiction(
    fangfan, app, new_id_number
):
    _household_in_notice(fangfan, app, new_id_number)

    assert "岸堤村" in Desk(app, "town").get("/notices").text
    assert "岸堤村" not in Desk(app, "village2").get("/notices").text
    assert Desk(app, "village2").get(f"/notices/{VILLAGE_CODE}").status_code == 403


def test_only_the_provincial_bureau_sets_the_monitoring_line(fangfan, app, desks):
    province, county = desks["province"], desks["county"]
    with fangfan.sessions() as session:
        next_year = str(local_date(clock.now(session)).year + 1)
    new_line = {"year": next_year, "yuan": "8600"}

    refused = county.post("/lines", new_line)
    accepted = province.post("/lines", new_line)
    nonsense = province.post("/lines", {"year": next_year, "yuan": "-5"})
    typo = province.post("/lines", {"year": next_year, "yuan": "86000000"})

    assert refused.status_code == 403
    assert accepted.status_code == 302
    assert nonsense.status_code == 400 and "监测线应在" in nonsense.text
    assert typo.status_code == 400
    assert "8600.00" in county.get("/lines").text
    with fangfan.sessions() as session:
        changes = [
            e
            for e in history.events_of(session, history.SYSTEM_STREAM)
            if e.kind == "line_set" and e.data["year"] == int(next_year)
        ]
    assert changes[-1].actor == "province"


def test_a_line_in_force_is_not_rewritten(fangfan, desks):
    """Guide Q10: the line is adjusted in its year's first quarter, then stands."""
    with fangfan.sessions() as session:
        today = local_date(clock.now(session))

    past = desks["province"].post(
        "/lines", {"year": str(today.year - 1), "yuan": "100"}
    )
    past_line = desks["province"].post(
        "/lines", {"year": str(today.year - 1), "yuan": "9000"}
    )

    assert past.status_code == 400
    assert past_line.status_code == 400 and "不能再修改" in past_line.text


def test_identification_reads_the_line_of_the_clues_year(fangfan, new_id_number):
    with fangfan.sessions() as session:
        this_year = local_date(clock.now(session)).year
    with fangfan.sessions.begin() as session:
        session.get(MonitoringLine, this_year - 1).amount_fen = 700000
        session.get(MonitoringLine, this_year).amount_fen = 900000
    with fangfan.sessions.begin() as session:
        household = Household(
            division_code=VILLAGE_CODE,
            head_name="跨年户",
            head_id_number=new_id_number(),
            members=[],
        )
        session.add(household)

    case_id = fangfan.engine.start(
        "identification",
        household.id,
        {
            "clue": {
                "source": "application",
                "description": "去年底申报",
                "date": f"{this_year - 1}-12-30",
            }
        },
        TOWN,
    )

    with fangfan.sessions() as session:
        started = history.events_of(session, case_id)[0]
    assert started.data["data"]["monitoring_line_fen"] == 700000
