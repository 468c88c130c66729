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


def script_functions() -> dict:
    """The rules that BPMN scripts, conditions and DMN cells may call."""
    return {
        "net_income_per_capita_fen": net_income_per_capita_fen,
    }
