"""The procedures of the guide, each the rules around one BPMN model.

The model holds the flow; a procedure holds what the flow cannot: who may start
it, the data it starts with, checks that need more than one form (an override
needs a reason), and how it moves the household through its life cycle.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.errors import NotFound
from engine.models import Household, ModelVersion


class Procedure:
    process_id: str = ""
    #: Roles that may start it.
    starters: frozenset[str] = frozenset()

    def deployed_hash(self, session: Session) -> str:
        """The newest deployed version; new instances start on it."""
        found = session.scalar(
            select(ModelVersion.content_hash)
            .where(ModelVersion.process_id == self.process_id)
            .order_by(ModelVersion.deployed_at.desc())
            .limit(1)
        )
        if found is None:
            raise NotFound(f"model {self.process_id} is not deployed",
                           "流程模型尚未部署，请联系流程管理员")
        return found

    def check_start(self, session: Session, household: Household, official,
                    data: dict) -> None:
        pass

    def start_data(self, session: Session, household: Household, data: dict,
                   now: datetime) -> dict:
        return dict(data)

    def on_start(self, household: Household, now: datetime) -> None:
        pass

    def check_task(self, task_name: str, data: dict, workflow_data: dict,
                   task_data: dict) -> list:
        return []

    def on_task_completed(self, household: Household, task_name: str, data: dict,
                          workflow, now: datetime) -> None:
        pass

    def on_engine_steps(self, household: Household, workflow, now: datetime) -> None:
        pass


_REGISTRY: dict[str, Procedure] = {}


def register(procedure: Procedure) -> Procedure:
    _REGISTRY[procedure.process_id] = procedure
    return procedure


def procedure_for(process_id: str) -> Procedure:
    if not _REGISTRY:
        from . import identification  # noqa: F401  (registers itself)
    try:
        return _REGISTRY[process_id]
    except KeyError:
        raise NotFound(f"unknown procedure {process_id}", "未知的业务流程") from None


def all_process_ids() -> list[str]:
    procedure_for("identification")
    return sorted(_REGISTRY)
