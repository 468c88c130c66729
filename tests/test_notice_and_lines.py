"""Village public notices keep privacy (Q38); monitoring lines by year (Q10)."""

from __future__ import annotations

from datetime import timedelta


from engine import clock, history
from engine.clock import local_date
from engine.models import Household, Instance
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


def test_only_the_provincial_bureau_sets_the_monitoring_line(fangfan, app):
    province, county = Desk(app, "province"), Desk(app, "county")

    refused = county.post("/lines", {"year": "2030", "yuan": "9000"})
    accepted = province.post("/lines", {"year": "2030", "yuan": "9000"})
    nonsense = province.post("/lines", {"year": "2030", "yuan": "-5"})

    assert refused.status_code == 403
    assert accepted.status_code == 302
    assert nonsense.status_code == 400 and "监测线应为正数" in nonsense.text
    assert "9000.00" in county.get("/lines").text
    with fangfan.sessions() as session:
        changes = [
            e
            for e in history.events_of(session, history.SYSTEM_STREAM)
            if e.kind == "line_set" and e.data["year"] == 2030
        ]
    assert [c.actor for c in changes] == ["province"]


def test_identification_reads_the_line_of_the_clues_year(fangfan, new_id_number):
    with fangfan.sessions() as session:
        this_year = local_date(clock.now(session)).year
    fangfan.set_monitoring_line(this_year - 1, 700000)
    fangfan.set_monitoring_line(this_year, 900000)
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
