"""Commands: start an instance, complete a task, fire due timers.

Timer firing itself lives in :mod:`engine.timers`, which batches many
instances per transaction; the parts of a command below are shared with it.
Every other command runs in one database transaction: read the instance, let
SpiffWorkflow advance it, store the new state, rewrite the projections, append
the history, commit. A failure anywhere rolls all of it back. Two officials
completing one task: the instance's version column lets exactly one win.

A workflow restored for one command is kept in memory afterwards, keyed by
instance and version; the next command reuses it only when the stored version
still matches, so the database stays the truth for every process. With it are
kept the two things that version's command wrote besides the state: the last
link of the instance's history chain and its query rows (open tasks, waiting
timers). Only the engine writes those, and only in a command that bumps the
version, so for that exact version they are what the database holds; a command
that hits the cache writes only the rows that change and reads none back.
A stale link could not fork the chain anyway: (stream, seq) is the key.
"""

from __future__ import annotations

import copy
import logging
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import bindparam, delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, defer, sessionmaker

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.bpmn.specs.mixins.user_task import UserTask as UserTaskMixin
from SpiffWorkflow.exceptions import SpiffWorkflowException
from SpiffWorkflow.util.task import TaskState

from fangfan.roles import role_for_lane
from fangfan.rules import within

from . import clock, escalation, forms, history, projections
from .clock import local_date
from .errors import CommandError, Conflict, InvalidData, NotAllowed, NotFound
from .history import SYSTEM, Actor, EventKind
from .models import (
    Division,
    Household,
    HouseholdMember,
    Instance,
    OpenTask,
    WaitingTimer,
)
from .projections import Projection
from fangfan.procedures import procedure_for
from .serialization import dump_state, load_state, new_workflow
from .specs import ModelCache

log = logging.getLogger("fangfan.engine")

clock.install_timer_seam()


@dataclass(frozen=True)
class Official:
    """The user a command acts for."""

    username: str
    role: str
    division_code: str

    @property
    def actor(self) -> Actor:
        return Actor(self.username, self.role)


@dataclass
class _Step:
    """What one command did, gathered for history and the log."""

    events: list[tuple[EventKind, str | None, dict]] = field(default_factory=list)
    #: Deadlines that passed in the command, to escalate.
    passed: list[escalation.Passed] = field(default_factory=list)


@dataclass
class Live:
    """An instance as one committed command left it, valid for that version only."""

    version: int
    workflow: BpmnWorkflow | None
    #: (seq, hash) of the last event of the instance's history.
    link: tuple[int, str]
    #: What ``open_tasks`` and ``waiting_timers`` hold for the instance.
    projection: Projection


#: What a new instance replaces: nothing stored yet.
_NOTHING_STORED = Live(0, None, (0, history.GENESIS), Projection({}, {}))

# Statements built once: building and keying a statement costs more than
# running it on SQLite, and every command runs these.
_INSTANCES = Instance.__table__
_TASK_CASE = (
    select(OpenTask, Instance, Household)
    .join(Instance, Instance.id == OpenTask.instance_id)
    .join(Household, Household.id == Instance.household_id)
    .where(OpenTask.task_id == bindparam("task_id"))
    .options(defer(Instance.state))
    .with_for_update(of=Household)  # two cases of one household both move it
)


#: SET takes the columns named in the parameters.
_UPDATE_INSTANCE = update(_INSTANCES).where(
    _INSTANCES.c.id == bindparam("stored_id"),
    _INSTANCES.c.version == bindparam("stored_version"),
)


class LiveWorkflows:
    """Restored workflows by instance id, each valid for one stored version."""

    def __init__(self, size: int = 512):
        self._items: OrderedDict[int, Live] = OrderedDict()
        self._size = size
        self._lock = threading.Lock()

    def take(self, instance_id: int, version: int) -> Live | None:
        """The cached instance for exactly this version, removed from the cache.

        Taking it out means a command that fails half-way cannot leave a
        half-advanced workflow behind for the next one.
        """
        with self._lock:
            entry = self._items.pop(instance_id, None)
        if entry is None or entry.version != version:
            return None
        return entry

    def put(self, instance_id: int, live: Live) -> None:
        with self._lock:
            self._items[instance_id] = live
            self._items.move_to_end(instance_id)
            while len(self._items) > self._size:
                self._items.popitem(last=False)


class Engine:
    def __init__(
        self,
        session_factory: sessionmaker,
        models: ModelCache | None = None,
        cache_size: int = 512,
    ):
        self.sessions = session_factory
        self.models = models or ModelCache()
        self.live = LiveWorkflows(cache_size)

    # -- commands -------------------------------------------------------------

    def start(
        self, process_id: str, household: int | dict, data: dict, official: Official
    ) -> int:
        """Start ``process_id`` for a household; returns the new instance id.

        ``household`` is a household's id, or the columns of a household to
        register in the same transaction, so a refused start leaves no orphan.
        """
        try:
            return self._start(process_id, household, data, official)
        except IntegrityError:
            raise Conflict(
                "a concurrent command registered the same household",
                "该农户刚被他人登记，请从已有农户中选择后重试",
            ) from None

    def start_by_system(self, process_id: str, household_id: int, data: dict) -> int:
        """Start a procedure that the system starts on its own (the yearly
        update, guide Q39); returns the new instance id.

        The procedure's rules (household state, duplicates) apply as for any
        start; no official's role or division does, and history says "system".
        """
        started = time.perf_counter()
        with self.sessions.begin() as session:
            now = clock.now(session)
            household = self._household(session, household_id)
            cached = []
            instance = self._start_in(
                session, now, process_id, household, data, None, SYSTEM, cached
            )

        for instance_id, live in cached:
            self.live.put(instance_id, live)
        self._log("start", instance.id, household_id, "system", started)
        return instance.id

    def _start(
        self, process_id: str, household: int | dict, data: dict, official: Official
    ) -> int:
        started = time.perf_counter()
        with self.sessions.begin() as session:
            now = clock.now(session)
            household = self._household(session, household)
            if not within(household.division_code, official.division_code):
                raise NotAllowed(
                    "household outside the official's division", "该农户不在您的辖区内"
                )
            cached = []
            instance = self._start_in(
                session,
                now,
                process_id,
                household,
                data,
                official,
                official.actor,
                cached,
            )

        for instance_id, live in cached:
            self.live.put(instance_id, live)
        self._log("start", instance.id, household.id, official.username, started)
        return instance.id

    def _start_in(
        self,
        session: Session,
        now: datetime,
        process_id: str,
        household: Household,
        data: dict,
        official: Official | None,
        actor: Actor,
        cached: list,
    ) -> Instance:
        """Start an instance inside the caller's transaction.

        ``official`` is None for a procedure that another one starts when it
        ends (the assistance plan after identification): the procedure's own
        rules still apply, but not who may start it by hand.
        """
        procedure = procedure_for(process_id)
        procedure.check_start(session, household, official, data)

        model_hash = procedure.deployed_hash(session)
        spec, subprocess_specs = self.models.specs(session, model_hash)
        start_data = procedure.start_data(session, household, data, now)

        workflow = new_workflow(spec, subprocess_specs)
        workflow.data.update(copy.deepcopy(start_data))
        workflow.task_tree.data.update(copy.deepcopy(start_data))

        opening = {"model": model_hash, "process": process_id, "data": start_data}
        if procedure.start_form:
            # The start form as submitted, so that history shows what was asked
            # (start_data holds it reshaped for the model).
            opening["submitted"] = copy.deepcopy(data)
        step = _Step([(EventKind.STARTED, None, opening)])
        with clock.frozen_at(now):
            self._run_engine(workflow, step)
        procedure.on_start(household, now)

        # Inserted once the engine has run, with its first state.
        instance = Instance(
            process_id=process_id,
            model_hash=model_hash,
            household_id=household.id,
            division_code=household.division_code,
            started_at=now,
        )
        live = self._store(
            session, instance, workflow, household, step, now, actor, _NOTHING_STORED
        )
        cached.append((instance.id, live))
        self._follow_up(session, now, procedure, household, workflow, cached)
        return instance

    def _follow_up(
        self,
        session: Session,
        now: datetime,
        procedure,
        household,
        workflow: BpmnWorkflow,
        cached: list,
        task_name: str | None = None,
    ) -> None:
        """Start, in the same transaction, what the command's step leads to; and
        close the household's other cases when the step makes them moot."""
        reason = procedure.closes_others(household, workflow, task_name)
        if reason:
            current = {instance_id for instance_id, _ in cached}
            for other in session.scalars(
                select(Instance).where(
                    Instance.household_id == household.id,
                    Instance.status == "running",
                    Instance.id.not_in(current),
                )
            ):
                self._close(session, other, now, reason)

        for process_id, data in procedure.follow_ups(household, workflow, task_name):
            self._start_in(
                session, now, process_id, household, data, None, SYSTEM, cached
            )

    def _close(
        self, session: Session, instance: Instance, now: datetime, reason: str
    ) -> None:
        """End a case that another one made moot: no open tasks, no timers, a record.

        Its stored state stays as it was, for auditors; the version moves on, so
        no process acts on a cached copy of it.
        """
        titles = list(
            session.scalars(
                select(OpenTask.title).where(OpenTask.instance_id == instance.id)
            )
        )
        session.execute(delete(OpenTask).where(OpenTask.instance_id == instance.id))
        session.execute(
            delete(WaitingTimer).where(WaitingTimer.instance_id == instance.id)
        )
        escalation.close_all(session, instance, now, "案件已关闭")
        instance.status = "cancelled"
        instance.current_step = "已关闭"
        instance.updated_at = instance.completed_at = now
        instance.version += 1
        history.append(
            session,
            instance.id,
            now,
            SYSTEM,
            EventKind.CANCELLED,
            {"reason": reason, "open_steps": titles},
        )

    def complete_task(self, task_id: str, data: dict, official: Official) -> int:
        """Complete a ready human task with its form data; returns the instance id."""
        started = time.perf_counter()
        with self.sessions.begin() as session:
            now = clock.now(session)
            found = session.execute(_TASK_CASE, {"task_id": task_id}).first()
            if found is None:
                raise Conflict(
                    "task is not open (done by someone else, or gone)",
                    "该任务已办理或已不存在，请刷新待办列表",
                )
            open_task, instance, household = found
            self._authorize(open_task, official)

            procedure = procedure_for(instance.process_id)
            workflow, known = self._restore(session, instance)
            began = procedure.case_began(workflow.data) or local_date(
                instance.started_at
            )
            errors = forms.validate(open_task.form, data, local_date(now), began)
            if errors:
                raise InvalidData(errors)

            task = workflow.get_task_from_id(_uuid(task_id))
            if task is None or task.state != TaskState.READY:
                raise Conflict("task is no longer ready", "该任务已不在办理状态")

            problems = procedure.check_task(
                task.task_spec.bpmn_id, data, workflow.data, task.data
            )
            if problems:
                raise InvalidData(problems)

            submitted = copy.deepcopy(data)
            step = _Step(
                [
                    (
                        EventKind.TASK_COMPLETED,
                        task.task_spec.bpmn_id,
                        {
                            "title": task.task_spec.bpmn_name,
                            "form": open_task.form,
                            "data": submitted,
                        },
                    )
                ]
            )
            with clock.frozen_at(now):
                task.set_data(**copy.deepcopy(submitted))
                self._run(task)
                self._run_engine(workflow, step)
            procedure.on_task_completed(
                household, task.task_spec.bpmn_id, submitted, workflow, now
            )
            live = self._store(
                session, instance, workflow, household, step, now, official.actor, known
            )
            cached = [(instance.id, live)]
            self._follow_up(
                session,
                now,
                procedure,
                household,
                workflow,
                cached,
                task.task_spec.bpmn_id,
            )

        for instance_id, entry in cached:
            self.live.put(instance_id, entry)
        self._log(
            "complete",
            instance.id,
            instance.household_id,
            official.username,
            started,
            task=open_task.task_name,
        )
        return instance.id

    def fire_due_timers(self, limit: int = 200) -> int:
        """Fire every due timer, many instances per transaction: see
        :mod:`engine.timers`. Returns how many instances advanced."""
        from .timers import fire_due_timers

        return fire_due_timers(self, limit)

    def fire_timers(self, instance_id: int) -> bool:
        """Fire the due timers of one instance; False when another process did."""
        from .timers import fire_timers

        return fire_timers(self, [instance_id]).fired == 1

    # -- the parts of a command ----------------------------------------------

    def _register(self, session: Session, columns: dict) -> Household:
        """A new household in a real village, headed by someone not yet counted."""
        division = session.get(Division, columns.get("division_code"))
        if division is None or division.level != 5:
            raise InvalidData([forms.FieldError("division_code", "请选择您辖区内的村")])
        if session.get(HouseholdMember, columns["head_id_number"]) is not None:
            raise InvalidData(
                [
                    forms.FieldError(
                        "head_id_number",
                        "该身份证号已登记在其他农户中（户主或成员），请从已有农户中选择",
                    )
                ]
            )

        registered = Household(**columns)
        session.add(registered)
        session.flush()
        session.add(
            HouseholdMember(
                id_number=registered.head_id_number, household_id=registered.id
            )
        )
        return registered

    def _household(self, session: Session, household: int | dict) -> Household:
        if isinstance(household, dict):
            return self._register(session, household)

        found = session.get(Household, household, with_for_update=True)
        if found is None:
            raise NotFound("household not found", "未找到该农户")
        return found

    def _authorize(self, open_task: OpenTask, official: Official) -> None:
        if open_task.role != official.role:
            raise NotAllowed("task belongs to another role", "此任务不属于您的岗位")
        if not within(open_task.division_code, official.division_code):
            raise NotAllowed(
                "task outside the official's division", "此任务不在您的辖区内"
            )

    def _restore(
        self, session: Session, instance: Instance
    ) -> tuple[BpmnWorkflow, Live | None]:
        """The workflow at the stored version, and what is known of that version.

        From the live cache when it holds exactly this version; otherwise the
        state is read and restored, and nothing else is known.
        """
        live = self.live.take(instance.id, instance.version)
        if live is not None:
            return live.workflow, live
        spec, subprocess_specs = self.models.specs(session, instance.model_hash)
        return load_state(instance.state, spec, subprocess_specs), None

    def _run(self, task) -> None:
        try:
            task.run()
        except SpiffWorkflowException as error:
            raise CommandError(
                f"the model failed at {task.task_spec.bpmn_id}: {error}",
                "流程模型执行出错，请联系流程管理员",
            ) from error

    def _run_engine(self, workflow: BpmnWorkflow, step: _Step) -> None:
        """Run the engine's own tasks, noting the ones history should show.

        A human task the run closes without anyone doing it (a terminate end, an
        interrupting deadline) is noted too: a supervision task must not vanish
        from the record.
        """
        open_before = [
            task
            for task in projections.all_tasks(workflow)
            if task.state == TaskState.READY and task.task_spec.manual
        ]

        def noted(task):
            spec = task.task_spec
            definition = getattr(spec, "event_definition", None)
            if isinstance(definition, TimerEventDefinition):
                deadline = escalation.passed(task)
                if deadline is not None:
                    step.passed.append(deadline)
                step.events.append(
                    (
                        EventKind.TIMER_FIRED,
                        spec.bpmn_id,
                        {
                            "title": spec.bpmn_name or definition.name,
                            "due": task._get_internal_data("event_value"),
                        },
                    )
                )
            elif hasattr(spec, "dmnEngine"):
                outputs = [o.name for o in spec.dmnEngine.decision_table.outputs]
                step.events.append(
                    (
                        EventKind.DECISION,
                        spec.bpmn_id,
                        {
                            "title": spec.bpmn_name,
                            "result": {k: task.data.get(k) for k in outputs},
                        },
                    )
                )
            elif getattr(spec, "script", None):
                before = task.parent.data if task.parent is not None else {}
                changed = {k: v for k, v in task.data.items() if before.get(k) != v}
                step.events.append(
                    (
                        EventKind.COMPUTED,
                        spec.bpmn_id,
                        {"title": spec.bpmn_name, "result": changed},
                    )
                )

        try:
            workflow.do_engine_steps(did_complete_task=noted)
        except SpiffWorkflowException as error:
            raise CommandError(
                f"the model failed: {error}", "流程模型执行出错，请联系流程管理员"
            ) from error

        for task in open_before:
            if task.state == TaskState.CANCELLED:
                step.events.append(
                    (
                        EventKind.TASK_CLOSED,
                        task.task_spec.bpmn_id,
                        {
                            "title": task.task_spec.bpmn_name,
                            "reason": "流程已办结或期限已过，该环节未办理即关闭",
                        },
                    )
                )

        if workflow.completed:
            step.events.append(
                (EventKind.COMPLETED, None, {"end": _end_event_name(workflow)})
            )

    def _store(
        self,
        session: Session,
        instance: Instance,
        workflow: BpmnWorkflow,
        household: Household,
        step: _Step,
        now: datetime,
        actor: Actor,
        known: Live | None,
    ) -> Live:
        """Write state, projections and history; refuse a stale version.

        ``known`` is what the stored version holds besides its state (None when
        not known: the rows are read back). A new instance, not yet added to the
        session, is inserted with its first state. Returns the instance as now
        stored, to cache once the transaction has committed.
        """
        state = dump_state(workflow)
        tasks, timers = projections.project(
            workflow, instance.division_code, household.id, now
        )
        current = "、".join(t["title"] for t in tasks) or (
            "已办结" if workflow.completed else "等待中"
        )
        values = dict(
            state=state,
            status="completed" if workflow.completed else "running",
            current_step=current[:255],
            updated_at=now,
            completed_at=now if workflow.completed else None,
        )
        escalation_events, values["escalations_open"] = [], 0
        if instance.id is not None:
            escalation_events, values["escalations_open"] = escalation.settle(
                session, instance, workflow, step.passed, now
            )

        if instance.id is None:
            version = 1
            for name, value in values.items():
                setattr(instance, name, value)
            instance.version = version
            session.add(instance)
            session.flush()
        else:
            version = instance.version + 1
            result = session.execute(
                _UPDATE_INSTANCE,
                {
                    "stored_id": instance.id,
                    "stored_version": instance.version,
                    "version": version,
                    **values,
                },
            )
            if result.rowcount != 1:
                raise Conflict(
                    "instance changed meanwhile", "该案件刚被他人处理，请刷新后重试"
                )

        projection = projections.write(
            session, instance.id, tasks, timers, known.projection if known else None
        )

        events = []
        for kind, task_name, data in step.events:
            events.append((actor, kind, task_name, data))
            actor = SYSTEM if kind == EventKind.TASK_COMPLETED else actor
        events += [(SYSTEM, *event) for event in escalation_events]
        link = history.append_all(
            session, instance.id, now, events, known.link if known else None
        )

        session.flush()
        return Live(version, workflow, link, projection)

    def _log(
        self,
        command: str,
        instance_id: int,
        household_id: int,
        actor: str,
        started: float,
        task: str | None = None,
    ) -> None:
        log.info(
            "%s instance=%s household=%s actor=%s%s %.1fms",
            command,
            instance_id,
            household_id,
            actor,
            f" task={task}" if task else "",
            (time.perf_counter() - started) * 1000,
        )


def _uuid(task_id: str):
    from uuid import UUID

    try:
        return UUID(task_id)
    except ValueError:
        raise NotFound("no such task", "未找到该任务") from None


def _end_event_name(workflow: BpmnWorkflow) -> str | None:
    """The end the case reached: a terminate end if one ended it, else the last end.

    Parallel branches may each reach an end of their own; the terminate end
    (不予认定, 已认定为监测对象) is the one that says how the case ended.
    """
    ends = [
        t
        for t in workflow.get_tasks(state=TaskState.COMPLETED)
        if type(t.task_spec).__name__ == "EndEvent"
    ]
    terminating = [
        t
        for t in ends
        if type(getattr(t.task_spec, "event_definition", None)).__name__
        == "TerminateEventDefinition"
    ]
    chosen = terminating or sorted(ends, key=lambda t: t.last_state_change)
    return chosen[-1].task_spec.bpmn_name if chosen else None


def is_human_task(task) -> bool:
    return isinstance(task.task_spec, UserTaskMixin)


def role_of(task) -> str | None:
    role = role_for_lane(task.task_spec.lane)
    return role.code if role else None
