"""Civil-affairs lists: monthly department alerts (guide Q8), quarterly cross-check
(Q29, Q17), through the functions, the CLI, the drop folder and the pages."""

from __future__ import annotations

import csv
import io
import re
import threading
from datetime import date, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from engine import clock
from engine.clock import local_date
from engine.models import (
    CivilAffairsCrossCheck,
    CivilAffairsImport,
    DepartmentAlert,
    Household,
    HouseholdMember,
    Instance,
)
from engine.runtime import Official
from fangfan.civil_affairs import (
    AlreadyScreened,
    ListRefused,
    cross_check,
    import_monthly,
    record_no_risk,
    start_identification,
    sweep_drop_folder,
)
from fangfan.civil_affairs.alerts import PAGE_SIZE
from fangfan.civil_affairs.lists import FORMULA_STARTS, MAX_ROWS, to_csv
from fangfan.cli import main
from fangfan.demo_data import (
    COUNTY_CODE,
    TOWN_CODE,
    VILLAGE2_CODE,
    VILLAGE_CODE,
    demo_households,
    valid_id_number,
)

from .identification_steps import (
    democratic_review,
    home_verification,
    identify_household,
    report_new_household,
)

HEADER = "身份证号,姓名,村级区划代码,救助类别,起始年月"
MONTH = "2026-11"
OTHER_COUNTY_VILLAGE = "371322001030"  # 富民社区居民委员会, 郯城县
OTHER_COUNTY = "371322000000"
TOWN = Official("town", "town_official", TOWN_CODE)
VILLAGE = Official("village", "village_cadre", VILLAGE_CODE)


def csv_bytes(*rows: str, encoding: str = "utf-8") -> bytes:
    return "\n".join((HEADER, *rows)).encode(encoding)


def row(id_number: str, name: str = "张秀兰", village: str = VILLAGE_CODE,
        kind: str = "低保", start: str = MONTH) -> str:  # fmt: skip
    return f"{id_number},{name},{village},{kind},{start}"


def run_import(fangfan, content: bytes, month: str = MONTH, name="list.csv"):
    return import_monthly(
        fangfan.sessions, content, name, month, COUNTY_CODE, "dept", "cli"
    )


def count(fangfan, model) -> int:
    with fangfan.sessions() as session:
        return session.scalar(select(func.count()).select_from(model))


def alerts(fangfan) -> list[DepartmentAlert]:
    with fangfan.sessions() as session:
        return list(
            session.scalars(select(DepartmentAlert).order_by(DepartmentAlert.id))
        )


def registered_member(fangfan) -> tuple[str, int]:
    """A demo household's non-head member: (ID number, household id)."""
    with fangfan.sessions() as session:
        household = session.scalar(
            select(Household).where(Household.division_code == VILLAGE_CODE).limit(1)
        )
        member = household.members[-1]
        return member["id_number"], household.id


# -- Q8: the monthly list becomes department alerts -------------------------------


def test_q8_new_allowance_recipients_become_alerts_for_their_town_and_village(
    fangfan, desks, new_id_number
):
    member_id, household_id = registered_member(fangfan)
    stranger = new_id_number()

    result = run_import(
        fangfan,
        csv_bytes(
            row(member_id, "李桂英"),
            row(stranger, "王国华", VILLAGE2_CODE, "特困", "2026-10"),
        ),
    )

    assert (result.alerts_created, result.skipped, result.rejected) == (2, [], [])
    first, second = alerts(fangfan)
    assert first.household_id == household_id and first.status == "pending"
    assert first.assistance_type == "minimum_allowance" and first.month == MONTH
    assert second.household_id is None and second.assistance_type == "extreme_hardship"
    assert second.source_file == "list.csv" and second.start_month == "2026-10"

    village_page = desks["village"].get("/alerts").text
    assert "李桂英" in village_page and "王国华" not in village_page
    assert "王国华" in desks["village2"].get("/alerts").text
    assert 'id="alert-count">1<' in village_page
    town_page = desks["town"].get("/alerts").text
    assert "李桂英" in town_page and "王国华" not in town_page
    assert "启动识别" in town_page


def test_q8_no_alert_while_the_household_has_a_running_case(
    fangfan, desks, new_id_number
):
    head = new_id_number()
    case = report_new_household(desks["town"], head)

    result = run_import(fangfan, csv_bytes(row(head)))

    assert result.alerts_created == 0
    (skipped,) = result.skipped
    assert skipped.row == 2 and f"正在办理的案件（#{case}）" in skipped.message
    assert count(fangfan, DepartmentAlert) == 0


def test_q8_no_second_alert_while_one_waits_nor_twice_in_a_month(
    fangfan, new_id_number
):
    person = new_id_number()
    october = csv_bytes(row(person, start="2026-10"))
    run_import(fangfan, october, month="2026-10", name="oct.csv")

    waiting = run_import(fangfan, october + b"\n" + row(new_id_number()).encode())
    assert "已有待研判的部门预警" in waiting.skipped[0].message

    alert = alerts(fangfan)[0]
    record_no_risk(fangfan.sessions, alert.id, "已核实，收入稳定", VILLAGE)
    again = run_import(fangfan, csv_bytes(row(person, start="2026-09")), "2026-10")
    assert "2026-10已有部门预警" in again.skipped[0].message

    november = run_import(fangfan, csv_bytes(row(person)), month=MONTH)
    assert november.alerts_created == 1, "screened last month: this month's alerts"


def test_q8_no_alert_for_a_household_already_monitored(fangfan, desks, new_id_number):
    household_id = identify_household(fangfan, desks, new_id_number)
    with fangfan.sessions() as session:
        head = session.get(Household, household_id).head_id_number

    result = run_import(fangfan, csv_bytes(row(head)))

    assert result.alerts_created == 0
    assert "已是监测对象" in result.skipped[0].message


def test_q8_per_row_error_report_names_row_field_and_reason(fangfan, new_id_number):
    good, other = new_id_number(), new_id_number()
    bad_digit = good[:17] + ("0" if good[17] != "0" else "1")

    result = run_import(
        fangfan,
        csv_bytes(
            row(good),
            row(bad_digit),
            row(new_id_number(), village="371321101999"),
            row(new_id_number(), village=TOWN_CODE),
            row(new_id_number(), village=OTHER_COUNTY_VILLAGE),
            row(new_id_number(), kind="低保户"),
            row(new_id_number(), start="2026-13"),
            row(new_id_number(), name=""),
            row(good, name="重复的人"),
            row(other, start="2027-01"),
            "只有两列,张三",
        ),
    )

    assert result.alerts_created == 1
    found = {(o.row, o.field): o.message for o in result.rejected}
    assert found[(3, "身份证号")] == "身份证号校验位错误"
    assert "不存在" in found[(4, "村级区划代码")]
    assert "不是村级区划代码" in found[(5, "村级区划代码")]
    assert "不在本县" in found[(6, "村级区划代码")]
    assert "救助类别“低保户”无效" in found[(7, "救助类别")]
    assert "无效" in found[(8, "起始年月")]
    assert found[(9, "姓名")] == "姓名不能为空"
    assert "与第2行身份证号重复" in found[(10, "身份证号")]
    assert "晚于名单月份" in found[(11, "起始年月")]
    assert "应有5列" in found[(12, "整行")]
    with fangfan.sessions() as session:
        record = session.get(CivilAffairsImport, result.import_id)
        assert (record.rows_total, record.alerts_created) == (11, 1)
        assert (record.rows_skipped, record.rows_rejected) == (0, 10)
        assert len(record.report) == 10


@pytest.mark.parametrize(
    "content, reason",
    [
        ("姓名,身份证号,村级区划代码,救助类别,起始年月\n".encode(), "表头不符"),
        (b"", "文件为空"),
        (HEADER.encode() + b"\n", "没有数据行"),
        (HEADER.encode("gb18030") + b"\n\xff\xfe\xff,x\n", "编码无法识别"),
        (b"PK\x03\x04\x00\x00binary", "二进制"),
    ],
    ids=["wrong-header", "empty", "header-only", "bad-encoding", "binary"],
)
def test_q8_bad_file_is_refused_whole_and_nothing_is_written(fangfan, content, reason):
    with pytest.raises(ListRefused) as refused:
        run_import(fangfan, content)

    assert reason in refused.value.message_zh
    assert count(fangfan, CivilAffairsImport) == 0
    assert count(fangfan, DepartmentAlert) == 0


def test_q8_list_over_the_row_limit_is_refused_whole(fangfan, new_id_number):
    person = row(new_id_number())
    with pytest.raises(ListRefused, match="more than"):
        run_import(fangfan, csv_bytes(*([person] * (MAX_ROWS + 1))))
    assert count(fangfan, DepartmentAlert) == 0


def test_q8_excel_exports_are_read_in_utf8_with_bom_and_gb18030(fangfan, new_id_number):
    with_bom = b"\xef\xbb\xbf" + csv_bytes(row(new_id_number(), "赵玉春"))
    gb = csv_bytes(row(new_id_number(), "钱德文"), encoding="gb18030")

    assert run_import(fangfan, with_bom, name="a.csv").alerts_created == 1
    assert run_import(fangfan, gb, name="b.csv").alerts_created == 1
    assert [a.name for a in alerts(fangfan)] == ["赵玉春", "钱德文"]


def test_q8_the_same_file_is_imported_once(fangfan, new_id_number):
    content = csv_bytes(row(new_id_number()))
    run_import(fangfan, content)

    with pytest.raises(ListRefused) as refused:
        run_import(fangfan, content)
    assert "同一文件已于" in refused.value.message_zh
    assert count(fangfan, CivilAffairsImport) == 1


def test_q8_month_and_county_of_the_import_are_checked(fangfan, new_id_number):
    content = csv_bytes(row(new_id_number()))
    with pytest.raises(ListRefused, match="future"):
        run_import(fangfan, content, month="2099-01")
    with pytest.raises(ListRefused, match="bad county"):
        import_monthly(fangfan.sessions, content, "x", MONTH, TOWN_CODE, "d", "cli")


# -- Q8: screening ------------------------------------------------------------------


def pending_alert(fangfan, id_number: str, village=VILLAGE_CODE) -> int:
    run_import(fangfan, csv_bytes(row(id_number, "孙秀英", village)), name=id_number)
    return alerts(fangfan)[-1].id


def test_q8_screening_starts_identification_from_the_prefilled_clue_page(
    fangfan, desks, new_id_number
):
    person = new_id_number()
    alert_id = pending_alert(fangfan, person)
    village = desks["village"]

    page = village.get(f"/alerts/{alert_id}/identify")
    assert page.status_code == 200
    assert f'value="{person}"' in page.text and "部门预警" in page.text
    response = village.post(
        f"/alerts/{alert_id}/identify",
        {
            "household_id": "new",
            "head_name": "孙秀英",
            "head_id_number": person,
            "division_code": VILLAGE_CODE,
            "source": "alert",
            "description": "新增低保，入户核实",
        },
    )

    assert response.status_code == 302, response.text
    (alert,) = alerts(fangfan)
    assert alert.status == "identification_started" and alert.screened_by == "village"
    with fangfan.sessions() as session:
        case = session.get(Instance, alert.instance_id)
        household = session.get(Household, case.household_id)
        assert household.status == "in_identification"
        assert household.head_id_number == person
    assert f"/cases/{alert.instance_id}" in response.headers["Location"]
    assert "部门预警" in desks["village"].get(f"/cases/{alert.instance_id}").text


def test_q8_alert_of_a_registered_member_opens_identification_of_that_household(
    fangfan, desks
):
    member_id, household_id = registered_member(fangfan)
    alert_id = pending_alert(fangfan, member_id)

    page = desks["town"].get(f"/alerts/{alert_id}/identify").text
    assert f'<option value="{household_id}" selected' in page
    wrong = start_identification_as_town(fangfan, alert_id, household_id + 1)
    assert isinstance(wrong, Exception) and "请选择该农户" in wrong.message_zh
    assert alerts(fangfan)[0].status == "pending", "a refused start leaves it waiting"

    instance_id = start_identification_as_town(fangfan, alert_id, household_id)
    assert alerts(fangfan)[0].instance_id == instance_id


def start_identification_as_town(fangfan, alert_id, household):
    clue = {"source": "alert", "description": "新增低保"}
    try:
        return start_identification(fangfan, alert_id, household, clue, TOWN)
    except Exception as error:  # the test looks at the refusal
        return error


def test_q8_no_risk_needs_a_reason_and_is_recorded(fangfan, desks, new_id_number):
    alert_id = pending_alert(fangfan, new_id_number())
    town = desks["town"]

    empty = town.post(f"/alerts/{alert_id}/no-risk", {"reason": "  "})
    assert empty.status_code == 400 and "须填写理由" in empty.text
    assert alerts(fangfan)[0].status == "pending"

    done = town.post(f"/alerts/{alert_id}/no-risk", {"reason": "子女赡养，收入稳定"})
    assert done.status_code == 302
    (alert,) = alerts(fangfan)
    assert (alert.status, alert.no_risk_reason) == ("no_risk", "子女赡养，收入稳定")
    again = town.post(f"/alerts/{alert_id}/no-risk", {"reason": "再次"})
    assert again.status_code == 409 and "不能重复研判" in again.text


def _status(fangfan, household_id: int) -> str:
    with fangfan.sessions() as session:
        return session.get(Household, household_id).status


def test_q8_an_alert_makes_an_ordinary_household_a_clue_until_screened(fangfan, desks):
    """The alert is a risk clue awaiting screening (风险线索待核实); screened as no
    risk, the household is ordinary again."""
    member_id, household_id = registered_member(fangfan)
    assert _status(fangfan, household_id) == "ordinary"

    alert_id = pending_alert(fangfan, member_id)
    assert _status(fangfan, household_id) == "clue"
    assert "风险线索待核实" in desks["town"].get(f"/households/{household_id}").text

    record_no_risk(fangfan.sessions, alert_id, "子女赡养，收入稳定", TOWN)
    assert _status(fangfan, household_id) == "ordinary"


def test_q8_identification_from_an_alert_settles_the_clue(fangfan, desks):
    member_id, household_id = registered_member(fangfan)
    alert_id = pending_alert(fangfan, member_id)

    start_identification_as_town(fangfan, alert_id, household_id)
    assert _status(fangfan, household_id) == "in_identification"
    with fangfan.sessions() as session:
        household = session.get(Household, household_id)
        assert household.status_before == "ordinary", "not identified: ordinary"


def test_q8_a_case_started_another_way_leaves_the_waiting_alert_its_clue(
    fangfan, desks, new_id_number
):
    """Identification started from the clue page, not from the alert, and not
    identified: the alert still waits, so the household is a clue again."""
    member_id, household_id = registered_member(fangfan)
    pending_alert(fangfan, member_id)
    with fangfan.sessions() as session:
        head = session.get(Household, household_id).head_id_number

    town = desks["town"]
    response = town.report_clue(
        {
            "household_id": str(household_id),
            "source": "screening",
            "description": "干部排查：户主住院",
        }
    )
    assert response.status_code == 302, response.text
    assert _status(fangfan, household_id) == "in_identification"
    steps = (
        ("town", "home_verification", home_verification(head, new_id_number())),
        ("village", "democratic_review", democratic_review()),
        (
            "town",
            "town_review",
            {"town_decision": "reject", "town_reasons": "收入稳定"},
        ),
    )
    for desk, step, fields in steps:
        answer = desks[desk].complete(household_id, step, fields)
        assert answer.status_code == 302, answer.text

    assert _status(fangfan, household_id) == "clue"
    assert alerts(fangfan)[-1].status == "pending"


def test_q8_officials_outside_the_division_or_role_cannot_screen(
    fangfan, desks, new_id_number
):
    alert_id = pending_alert(fangfan, new_id_number())

    assert desks["village2"].get(f"/alerts/{alert_id}/identify").status_code == 403
    outside = desks["village2"].post(f"/alerts/{alert_id}/no-risk", {"reason": "x"})
    assert outside.status_code == 403
    county = desks["county"].post(f"/alerts/{alert_id}/no-risk", {"reason": "x"})
    assert county.status_code == 403 and "镇级、村级" in county.text
    assert alerts(fangfan)[0].status == "pending"


@pytest.mark.parametrize("village_starts_identification", [True, False])
def test_q8_two_officials_screening_at_once_exactly_one_wins(
    fangfan, new_id_number, village_starts_identification
):
    alert_id = pending_alert(fangfan, new_id_number())
    barrier = threading.Barrier(2)
    outcomes = {}

    def no_risk(official):
        barrier.wait()
        try:
            record_no_risk(fangfan.sessions, alert_id, "无风险", official)
            outcomes[official.username] = "won"
        except AlreadyScreened as error:
            outcomes[official.username] = error.message_zh

    def identify(official):
        barrier.wait()
        try:
            start_identification(
                fangfan,
                alert_id,
                {
                    "division_code": VILLAGE_CODE,
                    "head_name": "孙秀英",
                    "head_id_number": alerts(fangfan)[0].id_number,
                    "members": [],
                },
                {"source": "alert", "description": "新增低保"},
                official,
            )
            outcomes[official.username] = "won"
        except AlreadyScreened as error:
            outcomes[official.username] = error.message_zh

    threads = [
        threading.Thread(target=no_risk, args=(TOWN,)),
        threading.Thread(
            target=identify if village_starts_identification else no_risk,
            args=(VILLAGE,),
        ),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)

    assert len(outcomes) == 2 and list(outcomes.values()).count("won") == 1, outcomes
    loser = next(v for v in outcomes.values() if v != "won")
    assert "不能重复研判" in loser
    (alert,) = alerts(fangfan)
    started = alert.status == "identification_started"
    assert count(fangfan, Instance) == (1 if started else 0), "no orphan case"


# -- the upload page ----------------------------------------------------------------


def upload(desk, url: str, content: bytes, with_csrf: bool = True, **fields):
    data = {**fields, "file": (io.BytesIO(content), "civil-affairs-2026-11.csv")}
    if with_csrf:
        data["csrf_token"] = desk.csrf()
    return desk.client.post(url, data=data, content_type="multipart/form-data")


def test_q8_county_department_uploads_the_list_and_downloads_the_report(
    fangfan, desks, new_id_number
):
    dept = desks["dept"]
    content = csv_bytes(row(new_id_number(), "周明"), row("123", "吴强"))

    refused = upload(dept, "/civil-affairs/imports", content, False, month=MONTH)
    assert refused.status_code == 400 and count(fangfan, DepartmentAlert) == 0

    page = upload(dept, "/civil-affairs/imports", content, month=MONTH)
    assert page.status_code == 200
    assert (
        'id="alerts-created">1<' in page.text and 'id="rows-rejected">1<' in page.text
    )
    assert "身份证号应为18位" in page.text
    (record,) = _imports(fangfan)
    report = dept.get(f"/civil-affairs/imports/{record.id}/report.csv")
    assert report.headers["Content-Type"].startswith("text/csv")
    lines = list(csv.reader(io.StringIO(report.data.decode("utf-8-sig"))))
    assert lines[0] == ["行号", "身份证号", "姓名", "处理结果", "字段", "说明"]
    assert lines[1][:5] == ["3", "123", "吴强", "错误", "身份证号"]

    bad = upload(dept, "/civil-affairs/imports", b"a,b\n1,2\n", month=MONTH)
    assert bad.status_code == 400 and "表头不符" in bad.text
    too_long = csv_bytes(*[row(new_id_number())] * (MAX_ROWS + 1))
    assert len(too_long) > 1024 * 1024, "above the app's default request limit"
    long = upload(dept, "/civil-affairs/imports", too_long, month=MONTH)
    assert long.status_code == 400 and "超过20000行上限" in long.text
    assert desks["town"].get("/civil-affairs/imports").status_code == 403
    assert desks["town"].get(report.request.path).status_code == 403


def _imports(fangfan):
    with fangfan.sessions() as session:
        return list(session.scalars(select(CivilAffairsImport)))


# -- CLI and scheduler ---------------------------------------------------------------


def test_cli_imports_the_monthly_list_and_writes_the_report(
    fangfan, tmp_path, new_id_number
):
    listed = tmp_path / "list.csv"
    listed.write_bytes(csv_bytes(row(new_id_number()), row("bad")))
    report = tmp_path / "report.csv"
    runner = CliRunner()
    env = {"DATABASE_URL": fangfan.url}

    result = runner.invoke(
        main,
        [
            "civil-affairs",
            "import",
            str(listed),
            "--month",
            MONTH,
            "--county",
            "371321",
            "--report",
            str(report),
        ],  # fmt: skip
        env=env,
    )
    assert result.exit_code == 0, result.output
    assert "1 alerts, 0 skipped, 1 rejected" in result.output
    assert "身份证号" in report.read_bytes().decode("utf-8-sig")

    again = runner.invoke(
        main,
        [
            "civil-affairs",
            "import",
            str(listed),
            "--month",
            MONTH,
            "--county",
            COUNTY_CODE,
        ],  # fmt: skip
        env=env,
    )
    assert again.exit_code == 1 and "already imported" in again.output


def test_scheduler_takes_each_dropped_file_once(fangfan, tmp_path, new_id_number):
    (tmp_path / f"{COUNTY_CODE}-{MONTH}.csv").write_bytes(
        csv_bytes(row(new_id_number()))
    )
    (tmp_path / f"{COUNTY_CODE}-2026Q4.csv").write_bytes(
        csv_bytes(row(new_id_number()))
    )
    (tmp_path / "notes.txt").write_text("not a list")

    first = sweep_drop_folder(fangfan.sessions, str(tmp_path))
    second = sweep_drop_folder(fangfan.sessions, str(tmp_path))

    assert (first["imported"], first["cross_checked"]) == (1, 1)
    assert (second["imported"], second["cross_checked"], second["known"]) == (0, 0, 2)
    assert count(fangfan, DepartmentAlert) == 1
    assert count(fangfan, CivilAffairsCrossCheck) == 1


def test_scheduler_skips_the_drop_folder_when_unset(fangfan, monkeypatch):
    monkeypatch.delenv("FANGFAN_CIVIL_AFFAIRS_DIR", raising=False)
    assert sweep_drop_folder(fangfan.sessions)["imported"] == 0


# -- Q29, Q17: the quarterly cross-check ---------------------------------------------


def test_q29_quarterly_cross_check_lists_consistency_missed_and_lost(
    fangfan, desks, new_id_number
):
    monitored_id = identify_household(
        fangfan, desks, new_id_number, **{"members.1.safety_net": "minimum_allowance"}
    )
    with fangfan.sessions() as session:
        monitored = session.get(Household, monitored_id)
        head, spouse = (m["id_number"] for m in monitored.members)
    stranger, waiting = new_id_number(), new_id_number()
    pending_alert(fangfan, waiting)
    demo_member = demo_households()[1]["members"][0]["id_number"]

    report_id = cross_check(
        fangfan.sessions,
        csv_bytes(row(head, "测试户主"), row(stranger, "冯海"), row(waiting),
                  row(demo_member, "演示户主", VILLAGE2_CODE, "特困"), row("x")),
        "q4.csv", "2026q4", COUNTY_CODE, "county", "web",
    )  # fmt: skip

    with fangfan.sessions() as session:
        report = session.get(CivilAffairsCrossCheck, report_id).report
        assert session.get(HouseholdMember, demo_member) is not None
    (consistent,) = report["consistent"]
    assert consistent["household_id"] == monitored_id
    assert "入户核实未登记农村低保" in consistent["note"]
    assert {r["id_number"] for r in report["missed"]} == {stranger, demo_member}
    (lost,) = report["lost"]
    assert lost["id_number"] == spouse and "请核实是否已退出" in lost["note"]
    assert "第6行" in report["problems"][0]["note"]

    county = desks["county"]
    page = county.get(f"/civil-affairs/cross-checks/{report_id}")
    assert page.status_code == 200 and "可能应纳未纳" in page.text
    download = county.get(f"/civil-affairs/cross-checks/{report_id}.csv")
    text = download.data.decode("utf-8-sig")
    assert text.startswith("类别,身份证号") and stranger in text
    assert (
        desks["town"].get(f"/civil-affairs/cross-checks/{report_id}").status_code == 403
    )


def test_q29_cross_check_through_the_page_and_the_cli(
    fangfan, desks, tmp_path, new_id_number
):
    content = csv_bytes(row(new_id_number()))
    page = upload(
        desks["county"], "/civil-affairs/cross-checks", content, quarter="2026Q4"
    )
    assert page.status_code == 302 and "/civil-affairs/cross-checks/" in page.location

    bad = upload(
        desks["county"], "/civil-affairs/cross-checks", content, quarter="2026Q5"
    )
    assert bad.status_code == 400 and "季度应写作" in bad.text

    listed = tmp_path / "q.csv"
    listed.write_bytes(content)
    result = CliRunner().invoke(
        main,
        [
            "civil-affairs",
            "cross-check",
            str(listed),
            "--quarter",
            "2026Q4",
            "--county",
            "371321",
        ],  # fmt: skip
        env={"DATABASE_URL": fangfan.url},
    )
    assert result.exit_code == 0, result.output
    assert "可能应纳未纳" in result.output and "1 missed" in result.output


def test_q8_readme_sample_file_imports_into_the_demo(fangfan, desks):
    sample = Path(__file__).resolve().parent.parent / "data/samples"
    content = (sample / "civil-affairs-2026-11.csv").read_bytes()

    page = upload(desks["dept"], "/civil-affairs/imports", content, month=MONTH)

    assert (
        'id="alerts-created">6<' in page.text and 'id="rows-rejected">1<' in page.text
    )
    linked = [alert for alert in alerts(fangfan) if alert.household_id]
    assert len(linked) == 1, "one row is a member of a seeded demo household"
    assert desks["village"].get("/alerts").text.count('data-alert="') == 4


def test_q8_a_refused_start_leaves_the_alert_waiting(fangfan, desks):
    member_id, household_id = registered_member(fangfan)
    alert_id = pending_alert(fangfan, member_id)
    other = desks["town"].report_clue(
        {"household_id": str(household_id), "source": "screening", "description": "x"}
    )
    assert other.status_code == 302

    refused = desks["town"].post(
        f"/alerts/{alert_id}/identify",
        {"household_id": str(household_id), "description": "新增低保"},
    )

    assert refused.status_code == 409 and "识别认定中" in refused.text
    assert alerts(fangfan)[0].status == "pending"
    assert count(fangfan, Instance) == 1
    done = desks["town"].post(f"/alerts/{alert_id}/no-risk", {"reason": "已在识别中"})
    assert done.status_code == 302


# -- issue #4 tester's findings: paging, limits, future quarter, formulas, roles ----


def many_alerts(fangfan, how_many: int) -> None:
    """``how_many`` alerts in 岸堤村, of made-up people born a day apart."""
    people = [
        row(valid_id_number("371323", date(1950, 1, 1) + timedelta(days=n), "501"))
        for n in range(how_many)
    ]
    assert run_import(fangfan, csv_bytes(*people), name="many.csv").alerts_created


def shown(page) -> list[int]:
    return [int(n) for n in re.findall(r'data-alert="(\d+)"', page.text)]


def test_q8_alerts_page_shows_every_alert_page_by_page_keeping_the_filter(
    fangfan, desks
):
    many_alerts(fangfan, 2 * PAGE_SIZE + 30)
    ids = [alert.id for alert in alerts(fangfan)]
    for alert_id in ids[:5]:
        record_no_risk(fangfan.sessions, alert_id, "收入稳定", VILLAGE)
    village = desks["village"]

    first = village.get("/alerts")
    assert "共 225 条" in first.text and "第 1/3 页" in first.text
    assert shown(first) == ids[5 : 5 + PAGE_SIZE]
    assert (
        "/alerts?status=pending&amp;page=2" in first.text and "上一页" not in first.text
    )
    last = village.get("/alerts?status=pending&page=3")
    assert shown(last) == ids[5 + 2 * PAGE_SIZE :] and "下一页" not in last.text
    assert "/alerts?status=pending&amp;page=2" in last.text

    everything = village.get("/alerts?status=all&page=3")
    assert "共 230 条" in everything.text and len(shown(everything)) == 30
    assert "/alerts?status=all&amp;page=2" in everything.text
    screened = village.get("/alerts?status=no_risk&page=2")
    assert "共 5 条" in screened.text and shown(screened) == ids[:5]


@pytest.mark.parametrize(
    "page, expected",
    [("0", 1), ("-3", 1), ("abc", 1), ("2.5", 1), ("", 1), ("99", 2), ("9" * 40, 2)],
)
def test_q8_alerts_page_out_of_range_shows_the_first_or_last_page(
    fangfan, desks, page, expected
):
    many_alerts(fangfan, PAGE_SIZE + 1)

    response = desks["village"].get(f"/alerts?page={page}")

    assert response.status_code == 200
    assert f"第 {expected}/2 页" in response.text
    assert len(shown(response)) == (PAGE_SIZE if expected == 1 else 1)


def test_q8_no_risk_from_a_later_page_returns_to_that_page(fangfan, desks):
    many_alerts(fangfan, PAGE_SIZE + 2)
    last = alerts(fangfan)[-1].id

    done = desks["village"].post(
        f"/alerts/{last}/no-risk", {"reason": "收入稳定", "status": "all", "page": "2"}
    )

    assert done.status_code == 302
    assert done.headers["Location"].endswith("/alerts?status=all&page=2")


def test_an_upload_over_the_limit_is_told_the_limit_of_that_page(fangfan, desks):
    dept = desks["dept"]
    seven_mb = b"x" * (7 * 1024 * 1024)

    imports = upload(dept, "/civil-affairs/imports", seven_mb, month=MONTH)
    assert imports.status_code == 413 and "超过 4 MB" in imports.text
    checks = upload(dept, "/civil-affairs/cross-checks", seven_mb, quarter="2026Q4")
    assert checks.status_code == 413 and "超过 4 MB" in checks.text
    elsewhere = dept.post("/alerts/1/no-risk", {"reason": "很长" * 400_000})
    assert elsewhere.status_code == 413 and "超过 1 MB" in elsewhere.text
    assert count(fangfan, CivilAffairsImport) == 0


def next_quarter(fangfan) -> str:
    with fangfan.sessions() as session:
        today = local_date(clock.now(session))
    quarter = (today.month - 1) // 3 + 1
    return f"{today.year + 1}Q1" if quarter == 4 else f"{today.year}Q{quarter + 1}"


def test_q29_a_quarter_not_yet_begun_is_refused_on_page_cli_and_drop_folder(
    fangfan, desks, tmp_path, new_id_number
):
    future = next_quarter(fangfan)
    content = csv_bytes(row(new_id_number()))

    with pytest.raises(ListRefused, match="future") as refused:
        cross_check(fangfan.sessions, content, "q.csv", future, COUNTY_CODE, "x", "cli")
    assert refused.value.message_zh == f"文件未比对：季度{future}尚未到来"
    page = upload(
        desks["county"], "/civil-affairs/cross-checks", content, quarter=future
    )
    assert page.status_code == 400 and f"季度{future}尚未到来" in page.text
    listed = tmp_path / "q.csv"
    listed.write_bytes(content)
    cli = CliRunner().invoke(
        main,
        ["civil-affairs", "cross-check", str(listed), "--quarter", future,
         "--county", COUNTY_CODE],
        env={"DATABASE_URL": fangfan.url},
    )  # fmt: skip
    assert cli.exit_code == 1 and "尚未到来" in cli.output
    dropped = tmp_path / "drop"
    dropped.mkdir()
    (dropped / f"{COUNTY_CODE}-{future}.csv").write_bytes(content)
    assert sweep_drop_folder(fangfan.sessions, str(dropped))["refused"] == 1
    assert count(fangfan, CivilAffairsCrossCheck) == 0

    with fangfan.sessions.begin() as session:
        clock.advance(session, days=93)
    cross_check(fangfan.sessions, content, "q.csv", future, COUNTY_CODE, "x", "cli")
    assert count(fangfan, CivilAffairsCrossCheck) == 1, "its turn came"


def test_csv_downloads_escape_cells_that_excel_would_run_as_formulas(
    fangfan, desks, new_id_number
):
    content = csv_bytes(
        row("=1+1", "@SUM(A:A)"), row("+CMD|' /C CALC'!A0", "-2+3"), row("x", "赵六")
    )
    result = run_import(fangfan, content)
    report_id = cross_check(
        fangfan.sessions, content, "q.csv", "2026Q4", COUNTY_CODE, "x", "cli"
    )

    imported = desks["dept"].get(
        f"/civil-affairs/imports/{result.import_id}/report.csv"
    )
    checked = desks["county"].get(f"/civil-affairs/cross-checks/{report_id}.csv")
    for download in (imported, checked):
        cells = {
            cell
            for line in csv.reader(io.StringIO(download.data.decode("utf-8-sig")))
            for cell in line
        }
        assert {"'=1+1", "'@SUM(A:A)", "'+CMD|' /C CALC'!A0", "'-2+3"} <= cells
        assert not any(cell.startswith(FORMULA_STARTS) for cell in cells)
        assert "赵六" in cells


def test_csv_cells_starting_with_a_tab_or_carriage_return_are_escaped_too():
    content = to_csv(
        {"a": "甲", "b": "乙", "c": "丙"}, [{"a": "\tx", "b": "\r=1", "c": 7}]
    )

    (line,) = list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))[1:]
    assert line == ["'\tx", "'\r=1", "7"]


def test_q8_a_name_starting_like_a_formula_is_a_row_error(fangfan, new_id_number):
    names = ["@SUM(A:A)", "=王五", "+赵六", "-钱七", "李-明"]
    result = run_import(fangfan, csv_bytes(*(row(new_id_number(), n) for n in names)))

    assert result.alerts_created == 1, "a hyphen inside a name is allowed"
    assert [(o.row, o.field, o.message) for o in result.rejected] == [
        (number, "姓名", "姓名不能以=、+、-、@开头") for number in (2, 3, 4, 5)
    ]


def test_q29_every_role_that_reads_a_report_finds_it_in_the_list(
    fangfan, desks, new_id_number
):
    ours = cross_check(
        fangfan.sessions, csv_bytes(row(new_id_number())), "a.csv", "2026Q4",
        COUNTY_CODE, "county", "web",
    )  # fmt: skip
    theirs = cross_check(
        fangfan.sessions,
        csv_bytes(row(new_id_number(), village=OTHER_COUNTY_VILLAGE)),
        "b.csv", "2026Q4", OTHER_COUNTY, "other", "web",
    )  # fmt: skip

    for reader, sees_theirs in [
        ("county", False), ("dept", False), ("auditor", False),
        ("city", True), ("province", True),
    ]:  # fmt: skip
        page = desks[reader].get("/civil-affairs/cross-checks")
        assert page.status_code == 200, reader
        assert f"/civil-affairs/cross-checks/{ours}" in page.text, reader
        assert (f"/civil-affairs/cross-checks/{theirs}" in page.text) == sees_theirs
        opened = desks[reader].get(f"/civil-affairs/cross-checks/{ours}")
        assert opened.status_code == 200, reader
        uploads = 'id="cross-check-form"' in page.text
        assert uploads == (reader in ("county", "dept")), reader

    assert "季度民政数据比对报告" in desks["city"].get("/alerts").text
    refused = upload(
        desks["city"], "/civil-affairs/cross-checks", b"x", quarter="2026Q4"
    )
    assert refused.status_code == 403
    assert desks["town"].get("/civil-affairs/cross-checks").status_code == 403
    assert desks["town"].get(f"/civil-affairs/cross-checks/{ours}").status_code == 403
    assert count(fangfan, CivilAffairsCrossCheck) == 2
