"""The procedures of the guide, each the rules around one BPMN model.

The model holds the flow; a procedure holds what the flow cannot: who may start
it and from which household state, the data it starts with, checks that need
more than one form (an override needs a reason), how it moves the household
through its life cycle, and which procedure follows when it ends.

Every module of this package registers one procedure; the registry imports
them all, so adding a procedure is adding a module (and its model in
``processes/``).
"""

from __future__ import annotations

import importlib
import pkgutil
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.errors import NotAllowed, NotFound
from engine.models import Household, ModelVersion
from fangfan import household_states


class Procedure:
    process_id: str = ""
    #: The Chinese name, for buttons and case lists.
    title: str = ""
    #: Roles that may start it by hand; empty for procedures only others start.
    starters: frozenset[str] = frozenset()
    #: Household states it may start from (guide: e.g. Q28, Q31).
    from_states: frozenset[str] = frozenset()
    #: The JSON Schema in ``forms/`` that a manual start fills in, if any.
    start_form: str | None = None

    def deployed_hash(self, session: Session) -> str:
        """The newest deployed version; new instances start on it."""
        found = session.scalar(
            select(ModelVersion.content_hash)
            .where(ModelVersion.process_id == self.process_id)
            .order_by(ModelVersion.deployed_at.desc())
            .limit(1)
        )
        if found is None:
            raise NotFound(
                f"model {self.process_id} is not deployed",
                "流程模型尚未部署，请联系流程管理员",
            )
        return found

    def may_start(self, household: Household, role: str | None) -> bool:
        """Whether the page should offer this procedure to an official of ``role``."""
        return role in self.starters and household.status in self.from_states

    def check_start(
        self, session: Session, household: Household, official, data: dict
    ) -> None:
        """Refuse, with the reason, a start the role or the household's state forbids.

        ``official`` is None when another procedure starts this one.
        """
        if official is not None and official.role not in self.starters:
            raise NotAllowed(
                f"role {official.role} may not start {self.process_id}",
                f"您的岗位不能发起“{self.title}”",
            )
        if household.status not in self.from_states:
            raise household_states.refuse(household, f"发起“{self.title}”")

    def case_began(self, workflow_data: dict):
        """The day the case began, the earliest date its forms may record.

        None means the day the instance started; identification says the day
        the risk clue was found, which may be earlier.
        """
        return None

    def start_data(
        self, session: Session, household: Household, data: dict, now: datetime
    ) -> dict:
        return dict(data)

    def on_start(self, household: Household, now: datetime) -> None:
        pass

    def check_task(
        self, task_name: str, data: dict, workflow_data: dict, task_data: dict
    ) -> list:
        return []

    def on_task_completed(
        self, household: Household, task_name: str, data: dict, workflow, now: datetime
    ) -> None:
        pass

    def on_engine_steps(self, household: Household, workflow, now: datetime) -> None:
        pass

    def closes_others(
        self, household: Household, workflow, task_name: str | None
    ) -> str | None:
        """Why the household's other running cases end with this step, or None.

        A removal or a rollback makes the household's other procedures moot.
        """
        return None

    def follow_ups(
        self, household: Household, workflow, task_name: str | None
    ) -> list[tuple[str, dict]]:
        """Procedures to start, in the same transaction, after a command.

        ``task_name`` is the task the command completed (None for a start or a
        timer). The assistance plan, say, starts when the county approves.
        """
        return []


def household_data(household: Household) -> dict:
    """The household as a case's data holds it: enough for conditions and pages."""
    return {
        "id": household.id,
        "head_name": household.head_name,
        "lifted_out": bool(household.lifted_out),
        "division_code": household.division_code,
        "category": household.category,
    }


def plan_after_approval(
    household: Household, task_name: str | None, trigger: str
) -> list[tuple[str, dict]]:
    """The assistance plan, started the day the county approves (guide Q18, Q23)."""
    if (
        task_name == "county_approval"
        and household.status == "monitored"
        and is_registered("assistance_plan")
    ):
        return [("assistance_plan", {"trigger": trigger})]
    return []


def review_problems(data: dict, prefix: str = "") -> list:
    """The vote rule of guide Q35 on a democratic review form whose fields are
    ``{prefix}review_result``, ``{prefix}review_votes_for`` and ``…_against``."""
    from engine.forms import FieldError

    from ..rules import vote_problem

    problem = vote_problem(
        data.get(f"{prefix}review_result"),
        data.get(f"{prefix}review_votes_for", 0),
        data.get(f"{prefix}review_votes_against", 0),
    )
    return [FieldError(f"{prefix}review_result", problem)] if problem else []


_REGISTRY: dict[str, Procedure] = {}


def register(procedure: Procedure) -> Procedure:
    _REGISTRY[procedure.process_id] = procedure
    return procedure


_loaded = False


def _load_all() -> None:
    """Import every procedure module once, whatever was imported before."""
    global _loaded
    if _loaded:
        return
    for module in pkgutil.iter_modules(__path__):
        importlib.import_module(f"{__name__}.{module.name}")
    _loaded = True


def procedure_for(process_id: str) -> Procedure:
    _load_all()
    try:
        return _REGISTRY[process_id]
    except KeyError:
        raise NotFound(f"unknown procedure {process_id}", "未知的业务流程") from None


def all_procedures() -> list[Procedure]:
    _load_all()
    return [_REGISTRY[name] for name in sorted(_REGISTRY)]


def all_process_ids() -> list[str]:
    return [procedure.process_id for procedure in all_procedures()]


def is_registered(process_id: str) -> bool:
    _load_all()
    return process_id in _REGISTRY
