"""Made-up demo data for one real county, 沂南县 in 临沂市.

The demo runs on the real division codes, so that jurisdiction, breadcrumbs and
the 2% view behave as they would in production; only the people are invented.
Every name, ID number, phone number and bank account here is generated, and the
generation is seeded, so the demo and the tests see the same households on
every run.
"""

from __future__ import annotations

import random
from datetime import date, timedelta

from fangfan.rules import id_check_digit

#: One password for every demo account; the demo is not a production system.
DEMO_PASSWORD = "fangfan2023"

PROVINCE_CODE = "370000000000"  # 山东省
CITY_CODE = "371300000000"  # 临沂市
COUNTY_CODE = "371321000000"  # 沂南县
REGION6 = COUNTY_CODE[:6]

TOWN_CODE = "371321101000"  # 岸堤镇
VILLAGE_CODE = "371321101200"  # 岸堤村村民委员会
TOWN2_CODE = "371321102000"  # 孙祖镇
VILLAGE2_CODE = "371321102268"  # 孙祖村村民委员会

#: The made-up households live in the two demo villages, each of which has a
#: village cadre's account, so every demo case can be worked to its end.
HOUSEHOLD_VILLAGES = (VILLAGE_CODE, VILLAGE2_CODE)

#: Ages are computed against this date, not today, so the data never drift.
REFERENCE_DATE = date(2024, 1, 1)

_SURNAMES = "王李张刘陈杨赵黄周吴徐孙马朱胡郭何高林罗郑梁宋谢韩唐冯于董萧"
_GIVEN_CHARS = "国建志秀兰英华明玉春桂芳海军平红德文伟丽敏静强磊洪涛霞凤成立云"

RELATIONS = ("head", "spouse", "child", "parent", "grandchild", "other")
RESIDENCE_TYPES = ("rural", "urban", "collective")
LABOUR_CAPACITIES = ("full", "weak", "half", "none")


def demo_users() -> list[dict]:
    """One account per role, plus a second village cadre in another town.

    The second cadre (``village2``, 孙祖镇) exists to show division isolation:
    it must not see the cases of ``village`` (岸堤镇), while ``town`` sees only
    its own town's and ``county`` sees both.
    """
    accounts = (
        ("village", "岸堤村村干部", "village_cadre", VILLAGE_CODE),
        ("town", "岸堤镇干部", "town_official", TOWN_CODE),
        ("county", "沂南县乡村振兴局", "county_bureau", COUNTY_CODE),
        ("approver", "沂南县委农业农村委员会", "county_approver", COUNTY_CODE),
        ("dept", "沂南县民政局", "county_department", COUNTY_CODE),
        ("hotline", "沂南县12317热线", "hotline_operator", COUNTY_CODE),
        ("auditor", "沂南县审计督查", "auditor", COUNTY_CODE),
        ("city", "临沂市乡村振兴局", "city_bureau", CITY_CODE),
        ("province", "山东省乡村振兴局", "province_bureau", PROVINCE_CODE),
        ("owner", "流程管理员", "process_owner", PROVINCE_CODE),
        ("village2", "孙祖村村干部", "village_cadre", VILLAGE2_CODE),
    )
    return [
        {
            "username": username,
            "password": DEMO_PASSWORD,
            "display_name": display_name,
            "role": role,
            "division_code": division_code,
        }
        for username, display_name, role, division_code in accounts
    ]


def valid_id_number(region6: str, birth: date, serial3: str) -> str:
    """A resident ID (GB 11643) with the right check character.

    The third serial digit is odd for men and even for women, as in real IDs.
    """
    if len(region6) != 6 or not region6.isdigit():
        raise ValueError("region6 must be six digits")
    if len(serial3) != 3 or not serial3.isdigit():
        raise ValueError("serial3 must be three digits")

    first17 = f"{region6}{birth:%Y%m%d}{serial3}"
    return first17 + id_check_digit(first17)


def _name(rng: random.Random, surname: str | None = None) -> str:
    surname = surname or rng.choice(_SURNAMES)
    given_length = rng.choice((1, 2, 2))
    return surname + "".join(rng.choice(_GIVEN_CHARS) for _ in range(given_length))


def _birth(rng: random.Random, age_low: int, age_high: int) -> date:
    age_days = rng.randint(age_low * 365 + 1, age_high * 365 + 364)
    return REFERENCE_DATE - timedelta(days=age_days)


def _age(birth: date) -> int:
    before_birthday = (REFERENCE_DATE.month, REFERENCE_DATE.day) < (
        birth.month,
        birth.day,
    )
    return REFERENCE_DATE.year - birth.year - before_birthday


def _id_number(rng: random.Random, birth: date, male: bool, used: set[str]) -> str:
    """A fresh ID: households.head_id_number is unique, so none may repeat."""
    while True:
        sex_digit = rng.choice("13579" if male else "02468")
        serial3 = f"{rng.randint(0, 99):02d}{sex_digit}"
        number = valid_id_number(REGION6, birth, serial3)
        if number not in used:
            used.add(number)
            return number


def _labour(rng: random.Random, age: int) -> str:
    """Labour capacity that fits the age, with some illness among adults."""
    if age < 16:
        return "none"
    if age < 60:
        return rng.choices(LABOUR_CAPACITIES, weights=(7, 1, 1, 1))[0]
    return rng.choices(LABOUR_CAPACITIES, weights=(1, 3, 3, 3))[0]


def _member(
    rng: random.Random,
    relation: str,
    birth: date,
    male: bool,
    used: set[str],
    surname: str | None = None,
) -> dict:
    age = _age(birth)
    residence = "rural"
    if relation == "child" and 18 <= age <= 24 and rng.random() < 0.5:
        residence = "collective"  # a student whose registration moved to school
    elif relation in ("child", "other") and rng.random() < 0.15:
        residence = "urban"

    return {
        "name": _name(rng, surname),
        "id_number": _id_number(rng, birth, male, used),
        "relation": relation,
        "residence_type": residence,
        "labour_capacity": _labour(rng, age),
    }


def _members(rng: random.Random, used: set[str]) -> list[dict]:
    """A household of plausible shape: head, maybe spouse, children, parents."""
    head_male = rng.random() < 0.8
    head_birth = _birth(rng, 30, 75)
    head_age = _age(head_birth)
    surname = rng.choice(_SURNAMES)
    members = [_member(rng, "head", head_birth, head_male, used, surname)]

    if rng.random() < 0.8:
        spouse_birth = head_birth + timedelta(days=rng.randint(-4 * 365, 4 * 365))
        members.append(_member(rng, "spouse", spouse_birth, not head_male, used))

    child_high = min(head_age - 20, 40)
    for _ in range(rng.choice((0, 1, 1, 2, 2, 3)) if child_high > 0 else 0):
        birth = _birth(rng, max(child_high - 15, 0), child_high)
        members.append(_member(rng, "child", birth, rng.random() < 0.5, used, surname))

    if head_age < 55 and rng.random() < 0.5:
        birth = _birth(rng, head_age + 22, min(head_age + 35, 95))
        members.append(_member(rng, "parent", birth, rng.random() < 0.5, used, surname))

    if head_age > 55 and rng.random() < 0.4:
        birth = _birth(rng, 2, 12)
        members.append(
            _member(rng, "grandchild", birth, rng.random() < 0.5, used, surname)
        )

    if rng.random() < 0.1:
        birth = _birth(rng, 20, 70)
        members.append(_member(rng, "other", birth, rng.random() < 0.5, used))
    return members


def demo_households(count: int = 12, seed: int = 2023) -> list[dict]:
    """Made-up households in the villages of the two demo towns.

    The same seed always gives the same households. Every third household is
    lifted-out and the others ordinary, so both kinds of identification path
    (with and without the data cross-check, guide Q34) appear in any demo.
    """
    rng = random.Random(seed)
    used: set[str] = set()
    households = []
    for index in range(count):
        members = _members(rng, used)
        head = members[0]

        households.append(
            {
                "head_name": head["name"],
                "head_id_number": head["id_number"],
                "phone": rng.choice(("13", "15")) + f"{rng.randint(0, 10**9 - 1):09d}",
                "bank_account": "62" + f"{rng.randint(0, 10**17 - 1):017d}",
                "lifted_out": index % 3 == 0,
                "division_code": HOUSEHOLD_VILLAGES[index % len(HOUSEHOLD_VILLAGES)],
                "members": members,
            }
        )
    return households
