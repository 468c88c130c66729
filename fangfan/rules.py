"""The domain rules that are not flow, in one place.

The engine's script environment (BPMN scripts, gateway conditions, DMN cells)
and the web layer both call these functions, so a rule of the guide is written
once. Money is integer fen throughout: the workflow serializer cannot store
``Decimal``, and floats would round wrongly.
"""

from __future__ import annotations

import re
from datetime import date

#: The three categories of monitored household (guide Q3), code → Chinese.
CATEGORIES = {
    "unstable": "脱贫不稳定户",
    "marginal": "边缘易致贫户",
    "severe_hardship": "严重困难户",
}

#: What the classification table proposes when no category fits (guide Q11, Q13).
NOT_IDENTIFIED = "not_identified"

#: The income items of guide Q12 that add up, and the one that is deducted.
INCOME_ITEMS = ("wages_fen", "business_fen", "transfer_fen", "property_fen")
DEDUCTED_ITEMS = ("business_costs_fen",)

_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK_CHARS = "10X98765432"
_ID_PATTERN = re.compile(r"^\d{17}[\dX]$")


def net_income_per_capita_fen(income: dict, member_count: int) -> int:
    """Net income per capita per guide Q12, in fen, rounded down.

    Wages, business income, transfers (rural pension, support from children
    included) and property income, less business costs, over the members.
    Insurance payouts and eligible out-of-pocket costs are recorded apart and
    are not part of it.
    """
    if member_count < 1:
        raise ValueError("a household has at least one member")

    total = sum(int(income.get(item, 0)) for item in INCOME_ITEMS)
    total -= sum(int(income.get(item, 0)) for item in DEDUCTED_ITEMS)
    return total // member_count


def id_check_digit(first17: str) -> str:
    """The GB 11643 check character for the first 17 digits of a resident ID."""
    total = sum(int(digit) * weight for digit, weight in zip(first17, _ID_WEIGHTS))
    return _ID_CHECK_CHARS[total % 11]


def id_number_problem(id_number: str) -> str | None:
    """Why an 18-character resident ID (GB 11643) is invalid, or None if it is valid."""
    if not isinstance(id_number, str) or not _ID_PATTERN.match(id_number):
        return "身份证号应为18位，前17位为数字，末位为数字或X"

    try:
        date(int(id_number[6:10]), int(id_number[10:12]), int(id_number[12:14]))
    except ValueError:
        return "身份证号中的出生日期无效"

    if id_check_digit(id_number[:17]) != id_number[17]:
        return "身份证号校验位错误"
    return None


def name_problem(name: str) -> str | None:
    """Why a person's name cannot be right, or None.

    Names are printed on public notices (Q38): a name with digits in it may
    carry an ID or phone number onto the notice board. A leading = + - @ is
    no name but a formula to the spreadsheet an official opens a list in.
    """
    if not name or not name.strip():
        return "姓名不能为空"
    if len(name) > 20:
        return "姓名过长"
    if re.search(r"\d|[０-９]", name):
        return "姓名中不能含数字"
    if name.strip().startswith(("=", "+", "-", "@")):
        return "姓名不能以=、+、-、@开头"
    return None


def mask_id_number(id_number: str | None) -> str:
    """An ID number for lists: region and last four kept (guide Q38)."""
    if not id_number:
        return ""
    return id_number[:4] + "*" * (len(id_number) - 8) + id_number[-4:]


def mask_phone(phone: str | None) -> str:
    if not phone:
        return ""
    return phone[:3] + "*" * max(len(phone) - 7, 0) + phone[-4:]


def division_level(code: str) -> int:
    """1 province, 2 city, 3 county, 4 town, 5 village, from the code's zeros."""
    if code[2:] == "0" * 10:
        return 1
    if code[4:] == "0" * 8:
        return 2
    if code[6:] == "0" * 6:
        return 3
    if code[9:] == "000":
        return 4
    return 5


_PREFIX_LENGTH = {1: 2, 2: 4, 3: 6, 4: 9, 5: 12}


def jurisdiction_prefix(code: str) -> str:
    """The code prefix shared by every division inside this one."""
    return code[: _PREFIX_LENGTH[division_level(code)]]


def within(code: str, jurisdiction_code: str) -> bool:
    """Whether division ``code`` lies inside ``jurisdiction_code``."""
    return code.startswith(jurisdiction_prefix(jurisdiction_code))


def yuan(fen: int | None) -> str:
    """Fen as a yuan amount for display: 123456 → '1234.56'."""
    if fen is None:
        return ""
    sign = "-" if fen < 0 else ""
    whole, cents = divmod(abs(int(fen)), 100)
    return f"{sign}{whole}.{cents:02d}"


#: Assistance measures (guide Q19–Q21): code → (Chinese, development measure,
#: runs for a term that continues after elimination).
MEASURE_TYPES = {
    "employment": ("务工就业", True, False),
    "public_welfare_job": ("公益性岗位", True, True),
    "workshop_job": ("帮扶车间就业", True, False),
    "skills_training": ("提升劳动能力的技能培训", True, False),
    "industry": ("产业帮扶（扩大生产或转变经营方式）", True, False),
    "microcredit": ("小额信贷", True, True),
    "land_and_assets": ("开发利用土地、房屋等生产资料", True, False),
    "work_relief": ("以工代赈", True, False),
    "minimum_allowance": ("农村低保", False, False),
    "extreme_hardship_support": ("特困供养", False, False),
    "medical_aid": ("医疗保障与救助", False, False),
    "education_support": ("教育帮扶（含雨露计划）", False, True),
    "housing_safety": ("住房安全保障", False, False),
    "drinking_water": ("饮水安全保障", False, False),
    "temporary_assistance": ("临时救助", False, False),
    "cash_or_goods": ("直接发放钱物", False, False),
    "shares_and_dividends": ("入股分红", False, False),
    "training_without_capacity": ("对提升劳动能力无直接作用的培训", False, False),
    "other": ("其他", False, False),
}

#: The safety net (兜底保障) of a household without labour (guide Q20, Q29).
SAFETY_NET_MEASURES = frozenset({"minimum_allowance", "extreme_hardship_support"})

#: Labour capacities that count as labour for the plan rule (Q20: full, weak
#: and half labour should get development measures where conditions allow).
LABOUR = frozenset({"full", "weak", "half"})


def has_labour(members: list[dict]) -> bool:
    """Whether any member can work; a household where none can is 整户无劳动能力."""
    return any(m.get("labour_capacity") in LABOUR for m in members)


def plan_problems(
    measures: list[dict], members: list[dict], willing: bool
) -> list[str]:
    """Why an assistance plan breaks guide Q20/Q21, in Chinese; empty when it holds.

    A household with full labour that is willing needs at least one development
    measure (for weak and half labour Q20 asks only to explore one), and handing
    out cash or goods, shares and dividends, and training
    that raises no capacity are not development measures. A household without
    labour needs the safety net.
    """
    problems = []
    if not measures:
        problems.append("帮扶计划至少包含一项帮扶措施（指南第18问）")

    types = {m.get("type") for m in measures}
    full_labour = any(m.get("labour_capacity") == "full" for m in members)
    if (
        full_labour
        and willing
        and not any(MEASURE_TYPES.get(t, ("", False, False))[1] for t in types)
    ):
        problems.append(
            "有劳动能力、有意愿的监测对象至少落实一项产业就业等开发式帮扶措施；"
            "直接发钱发物、入股分红和对提升劳动能力没有直接作用的培训不属于"
            "开发式帮扶（指南第20、21问）"
        )
    if not has_labour(members) and not types & SAFETY_NET_MEASURES:
        problems.append("无劳动能力的家庭应落实低保或特困供养等兜底保障（指南第20问）")
    return problems


def category_problem(category: str | None, lifted_out: bool) -> str | None:
    """Why a category does not fit the household (guide Q3), or None.

    脱贫不稳定户 are lifted-out households and 边缘易致贫户 ordinary ones;
    严重困难户 may be either.
    """
    if category == "unstable" and not lifted_out:
        return (
            "脱贫不稳定户仅适用于脱贫户；一般农户应认定为边缘易致贫户或"
            "严重困难户（指南第3问）"
        )
    if category == "marginal" and lifted_out:
        return (
            "边缘易致贫户仅适用于一般农户；脱贫户应认定为脱贫不稳定户或"
            "严重困难户（指南第3问）"
        )
    return None


def vote_problem(result: str | None, votes_for: int, votes_against: int) -> str | None:
    """Why a democratic review's result contradicts its vote (guide Q35), or None."""
    if votes_for + votes_against == 0:
        return "评议票数不能全为0"
    if result == "agree" and votes_for <= votes_against:
        return "赞成票未过半，评议结果不能为同意"
    if result == "disagree" and votes_for > votes_against:
        return "赞成票已过半，评议结果不能为不同意"
    return None


def script_functions() -> dict:
    """The rules that BPMN scripts, conditions and DMN cells may call."""
    return {
        "net_income_per_capita_fen": net_income_per_capita_fen,
    }
