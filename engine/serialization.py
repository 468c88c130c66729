"""Workflow state without its spec, and specs on their own.

SpiffWorkflow's serializer writes the whole spec into every instance: about
9 KB of a 15–21 KB instance, and the larger part of the time to restore one.
Here the spec is stored once per deployed model and the instance state holds
only the task tree and data; restoring puts the state back onto the spec object
already in memory.
"""

from __future__ import annotations

import gzip
import json
from uuid import UUID

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.serializer.default.workflow import (
    BpmnWorkflowConverter,
    WorkflowConverter,
)
from SpiffWorkflow.bpmn.serializer.workflow import BpmnWorkflowSerializer
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG

from .scripting import create_script_engine

STATE_FORMAT = "fangfan-state-1"


class SharedSpecConverter(BpmnWorkflowConverter):
    """Converts a workflow leaving out its spec; restores onto a given spec.

    ``from_dict`` expects the caller to have put the live spec objects under
    ``spec`` and ``subprocess_specs``.
    """

    def to_dict(self, workflow):
        dct = WorkflowConverter.to_dict(self, workflow)
        dct["subprocesses"] = self.mapping_to_dict(workflow.subprocesses)
        dct["bpmn_events"] = self.registry.convert(workflow.bpmn_events)
        return dct

    def from_dict(self, dct):
        workflow = self.target_class(
            dct.pop("spec"), dct.pop("subprocess_specs"), deserializing=True
        )
        workflow.tasks = self.mapping_from_dict(dct["tasks"], UUID, workflow=workflow)
        workflow.task_tree = workflow.tasks.get(UUID(dct["root"]))
        self.set_default_attributes(workflow, dct)
        self.subprocesses_from_dict(dct["subprocesses"], workflow)
        workflow.bpmn_events = self.registry.restore(dct.pop("bpmn_events", []))
        return workflow


_spec_registry = BpmnWorkflowSerializer.configure(SPIFF_CONFIG)
_spec_serializer = BpmnWorkflowSerializer(_spec_registry)

_state_config = dict(SPIFF_CONFIG)
_state_config[BpmnWorkflow] = SharedSpecConverter
_state_registry = BpmnWorkflowSerializer.configure(_state_config)


def spec_to_json(spec, subprocess_specs: dict) -> str:
    return json.dumps({
        "serializer_version": _spec_serializer.VERSION,
        "spec": _spec_registry.convert(spec),
        "subprocess_specs": {
            name: _spec_registry.convert(sub) for name, sub in subprocess_specs.items()
        },
    })


def spec_from_json(text: str) -> tuple[object, dict]:
    dct = json.loads(text)
    spec = _spec_registry.restore(dct["spec"])
    subprocess_specs = {
        name: _spec_registry.restore(sub)
        for name, sub in dct["subprocess_specs"].items()
    }
    return spec, subprocess_specs


def dump_state(workflow: BpmnWorkflow) -> bytes:
    """The workflow's state, spec left out, as gzip-compressed JSON."""
    dct = _state_registry.convert(workflow)
    dct["format"] = STATE_FORMAT
    text = json.dumps(dct, separators=(",", ":"))
    return gzip.compress(text.encode(), compresslevel=1)


def load_state(state: bytes, spec, subprocess_specs: dict) -> BpmnWorkflow:
    dct = json.loads(gzip.decompress(state))
    if dct.pop("format", None) != STATE_FORMAT:
        raise ValueError("stored state is not in a format this version reads")

    dct["spec"] = spec
    dct["subprocess_specs"] = subprocess_specs
    workflow = _state_registry.restore(dct)
    workflow.script_engine = create_script_engine()
    return workflow


def new_workflow(spec, subprocess_specs: dict) -> BpmnWorkflow:
    return BpmnWorkflow(spec, subprocess_specs, script_engine=create_script_engine())
