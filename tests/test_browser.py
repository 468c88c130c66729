"""The workbench in a real browser: headless Chromium, driven by Playwright.

The app is served on a loopback port by werkzeug in a background thread; the
tests type, click and read the page the way an official would. Cases are
prepared over HTTP with the Desk helper, so only the steps under test go
through the browser.

Chromium is Debian's (/usr/bin/chromium): Playwright's own browsers are never
downloaded. Set FANGFAN_CHROMIUM to use another binary.
"""

from __future__ import annotations

import os
import re
import threading
from datetime import date

import pytest
from werkzeug.serving import make_server

from engine.models import Instance
from fangfan.demo_data import DEMO_PASSWORD, valid_id_number
from web import create_app

from .desk import Desk
from .identification_steps import (
    OPERATOR,
    DEMOCRATIC_REVIEW,
    home_verification,
    report_new_household,
)

pytestmark = pytest.mark.browser

sync_api = pytest.importorskip("playwright.sync_api")
expect = sync_api.expect

CHROMIUM = os.environ.get("FANGFAN_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-background-networking",
    "--disable-component-update",
]
SCREENSHOTS = os.environ.get("FANGFAN_SCREENSHOTS", "/tmp")


# --- fixtures ----------------------------------------------------------------


@pytest.fixture
def server(fangfan):
    """The workbench on 127.0.0.1 at a free port; its base URL."""
    app = create_app(fangfan, secret_key="test")
    httpd = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(
        target=httpd.serve_forever, name="fangfan-http", daemon=True
    )
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_port}"
    httpd.shutdown()
    thread.join(timeout=10)
    httpd.server_close()


@pytest.fixture(scope="module")
def browser():
    if not os.path.exists(CHROMIUM):
        pytest.skip(f"no Chromium at {CHROMIUM}")
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser, server):
    context = browser.new_context(
        base_url=server, locale="zh-CN", viewport={"width": 1280, "height": 900}
    )
    context.set_default_timeout(10_000)
    tab = context.new_page()
    yield tab
    context.close()


@pytest.fixture
def desk(fangfan):
    """Desks over HTTP (Flask's test client) on the same installation."""
    app = create_app(fangfan, secret_key="test", testing=True)
    return lambda username: Desk(app, username)


# --- helpers -----------------------------------------------------------------


def log_in(page, username: str) -> None:
    page.goto("/login")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="登录").click()
    expect(page.get_by_role("heading", name=re.compile("我的待办"))).to_be_visible()


def inbox_row(page, head_name: str):
    return page.locator("#inbox tbody tr").filter(has_text=head_name)


def field(page, name: str):
    return page.locator(f'#task-form [name="{name}"]')


def fill_form(page, pairs) -> None:
    """Fill the task form from (field name, value) pairs, as a post would send them."""
    for name, value in pairs:
        control = field(page, name)
        if control.count() > 1:  # a group of checkboxes, one per option
            control.and_(page.locator(f'[value="{value}"]')).check()
            continue
        kind = control.evaluate("e => e.tagName === 'SELECT' ? 'select' : e.type")
        if kind == "select":
            control.select_option(value)
        elif kind == "checkbox":
            control.check()
        else:
            control.fill(value)


def submit(page, expect_status: int):
    with page.expect_response(lambda r: r.request.method == "POST") as posted:
        page.locator("#task-form").get_by_role("button", name="提交").click()
    assert posted.value.status == expect_status
    page.wait_for_load_state()


def household_of(fangfan, case_id: int) -> int:
    with fangfan.sessions() as session:
        return session.get(Instance, case_id).household_id


def wrong_check_digit(id_number: str) -> str:
    last = "0" if id_number[-1] != "0" else "1"
    return id_number[:-1] + last


def ids(count: int, start: int) -> list[str]:
    """Made-up IDs with valid check digits (serials 900+ stay clear of conftest's)."""
    return [
        valid_id_number("371322", date(1960 + i, 3, 1 + i), f"{start + i:03d}")
        for i in range(count)
    ]


def screenshot(page, name: str) -> None:
    page.screenshot(
        path=os.path.join(SCREENSHOTS, f"fangfan-{name}.png"), full_page=True
    )


# --- tests -------------------------------------------------------------------


def test_village_cadre_logs_in_and_completes_the_democratic_review(fangfan, page, desk):
    town = desk("town")
    head, spouse = ids(2, 901)
    case_id = report_new_household(town, head, name="浏览器评议户")
    household_id = household_of(fangfan, case_id)
    assert (
        town.complete(
            household_id, "home_verification", home_verification(head, spouse)
        ).status_code
        == 302
    )

    log_in(page, "village")
    row = inbox_row(page, "浏览器评议户")
    expect(row).to_have_count(1)
    screenshot(page, "inbox")
    row.get_by_role("link", name="村级民主评议").click()

    expect(page.get_by_role("heading", name=re.compile("村级民主评议"))).to_be_visible()
    page.get_by_label("评议方式").select_option(label="村民代表会议")
    page.get_by_label("评议日期").fill(DEMOCRATIC_REVIEW["review_held_on"])
    page.get_by_label("评议结果").select_option(label="同意纳入")
    page.get_by_label("同意票数").fill(DEMOCRATIC_REVIEW["review_votes_for"])
    page.get_by_label("反对票数").fill(DEMOCRATIC_REVIEW["review_votes_against"])
    page.get_by_label("评议情况说明").fill(
        "村民代表会议一致认为该户因病支出大，同意纳入。"
    )
    submit(page, 302)

    expect(page).to_have_url(re.compile(rf"/cases/{case_id}$"))
    expect(page.locator(".flash")).to_contain_text("已提交：村级民主评议")
    review = page.locator("#history .event.task_completed").filter(
        has_text="村级民主评议"
    )
    expect(review).to_have_count(1)
    expect(review).to_contain_text("村民代表会议")
    expect(review).to_contain_text("同意纳入")
    expect(review).to_contain_text("岸堤村村干部")

    page.get_by_role("link", name="待办", exact=True).click()
    expect(page.get_by_role("heading", name=re.compile("我的待办"))).to_be_visible()
    expect(
        page.locator(
            f'a[data-step="democratic_review"]' f'[data-household="{household_id}"]'
        )
    ).to_have_count(0)
    assert town.task_for(household_id, "town_review"), "town_review reaches the town"


def test_home_verification_form_adds_member_rows_and_shows_errors_in_chinese(
    fangfan, page, desk
):
    head, spouse = ids(2, 911)
    case_id = report_new_household(desk("town"), head, name="浏览器核实户")

    log_in(page, "town")
    inbox_row(page, "浏览器核实户").get_by_role(
        "link", name=re.compile("入户核实")
    ).click()
    expect(page.locator("#task-form")).to_be_visible()

    members = page.locator("#f-members .row-list > .row")
    expect(members).to_have_count(1)
    expect(field(page, "members.0.name")).to_have_value("浏览器核实户")
    expect(field(page, "members.0.id_number")).to_have_value(head)
    page.get_by_role("button", name="＋ 增加一行").click()
    page.get_by_role("button", name="＋ 增加一行").click()
    expect(members).to_have_count(3)
    members.nth(2).get_by_role("button", name="删除此行").click()
    expect(members).to_have_count(2)
    expect(field(page, "members.2.name")).to_have_count(0)
    expect(field(page, "members.1.name")).to_be_editable()

    bad_spouse = wrong_check_digit(spouse)
    fill_form(page, home_verification(head, bad_spouse, **{"income.wages_fen": "-100"}))
    screenshot(page, "task")
    submit(page, 400)

    errors = page.get_by_role("alert")
    expect(errors).to_contain_text("提交未成功")
    expect(errors).to_contain_text("第2项 / 身份证号：身份证号校验位错误")
    expect(errors).to_contain_text("工资性收入：不能小于 0")
    spouse_id = field(page, "members.1.id_number")
    marked = page.locator(".field.has-error")
    expect(
        marked.filter(has=page.locator('[name="members.1.id_number"]'))
    ).to_have_count(1)
    expect(marked.filter(has=page.locator('[name="income.wages_fen"]'))).to_have_count(
        1
    )
    expect(spouse_id).to_have_value(bad_spouse)
    expect(field(page, "members.0.name")).to_have_value("测试户主")
    expect(field(page, "members.1.name")).to_have_value("测试配偶")
    expect(field(page, "members.1.relation")).to_have_value("spouse")
    expect(field(page, "income.wages_fen")).to_have_value("-100.00")
    expect(field(page, "income.transfer_fen")).to_have_value("1200.50")
    expect(field(page, "consent")).to_be_checked()
    screenshot(page, "task-errors")

    spouse_id.fill(spouse)
    field(page, "income.wages_fen").fill("5000")
    submit(page, 302)

    expect(page).to_have_url(re.compile(rf"/cases/{case_id}$"))
    expect(page.locator(".flash")).to_contain_text("已提交")
    expect(page.locator("#household")).to_contain_text("2 人")


def test_case_page_renders_the_bpmn_diagram_with_the_open_step_marked(
    fangfan, page, desk
):
    head = ids(1, 921)[0]
    case_id = report_new_household(desk("town"), head, name="浏览器流程户")

    log_in(page, "town")
    page.goto(f"/cases/{case_id}")
    diagram = page.locator("#diagram[data-rendered=yes]")
    expect(diagram).to_be_attached()
    expect(diagram.locator("svg").first).to_be_visible()
    opened = diagram.locator('g.djs-element[data-element-id="home_verification"]')
    expect(opened).to_have_class(re.compile(r"\bhighlight-open\b"))
    expect(diagram.locator("g.djs-element.highlight-open")).to_have_count(1)
    screenshot(page, "case")


def test_county_bureau_sees_the_overdue_step_and_records_its_supervision(
    fangfan, page, desk
):
    """Guide Q34: home verification within 3 days; past it the county supervises."""
    head = ids(1, 931)[0]
    case_id = report_new_household(desk("town"), head, name="超期督办户")
    fangfan.advance_clock(3.25, OPERATOR)
    fangfan.engine.fire_due_timers()

    log_in(page, "county")
    row = page.locator("#escalations tbody tr").filter(has_text="超期督办户")
    expect(row).to_contain_text("已超期 6小时")
    row.get_by_role("link", name=re.compile("督办：镇村入户核实")).click()
    page.locator('#supervision-form [name="supervision_action"]').fill(
        "电话督促岸堤镇两日内完成入户核实"
    )
    with page.expect_response(lambda r: r.request.method == "POST") as posted:
        page.locator("#supervision-form").get_by_role("button").click()
    assert posted.value.status == 302
    expect(page.locator("#escalations")).to_contain_text("已登记督办措施")
    expect(page).to_have_url(re.compile(f"/cases/{case_id}$"))
    screenshot(page, "escalation")
