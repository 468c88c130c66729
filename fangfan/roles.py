"""The roles of domain.md, their Chinese names and the level they work at.

A BPMN lane names the role that does its tasks, by code or by Chinese name.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Role:
    code: str
    label: str
    #: The division level its officials belong to: 1 province … 5 village.
    level: int


ROLES: tuple[Role, ...] = (
    Role("village_cadre", "村级", 5),
    Role("town_official", "镇级", 4),
    Role("county_bureau", "县级乡村振兴部门", 3),
    Role("county_approver", "县级审批", 3),
    Role("county_department", "县级行业部门", 3),
    Role("hotline_operator", "12317热线", 3),
    Role("city_bureau", "市乡村振兴局", 2),
    Role("province_bureau", "省乡村振兴局", 1),
    Role("auditor", "审计督查", 3),
    Role("process_owner", "流程管理员", 1),
)

BY_CODE = {role.code: role for role in ROLES}
BY_LABEL = {role.label: role for role in ROLES}

#: Roles that may record a risk clue and so start an identification (guide Q34;
#: Q42: the 12317 hotline takes applications and reports by phone).
CLUE_TAKERS = frozenset(
    {"village_cadre", "town_official", "county_bureau", "hotline_operator"}
)


def role_for_lane(lane_name: str | None) -> Role | None:
    """The role a lane stands for, whether the lane is named by code or label."""
    if not lane_name:
        return None
    name = lane_name.strip()
    return BY_CODE.get(name) or BY_LABEL.get(name)
